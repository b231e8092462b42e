package target_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/mariadb"
	"github.com/srbackup/srbackup/localstack/mariadb/mariadbtest"
	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/target"
)

// orderColumns mimic a typical OLTP table (the fixture's orders), with a
// latin1 column, a BIT(64) and a GEOMETRY added.
var orderColumns = []source.Column{
	{Name: "id", Kind: source.KindUint, Bits: 64},
	{Name: "order_date", Kind: source.KindDate},
	{Name: "customer_id", Kind: source.KindUint, Bits: 64},
	{Name: "status", Kind: source.KindString},
	{Name: "subtotal", Kind: source.KindDecimal, Precision: 14, Scale: 2},
	{Name: "ref", Kind: source.KindBytes},
	{Name: "address", Kind: source.KindString},
	{Name: "items", Kind: source.KindJSON},
	{Name: "note", Kind: source.KindString},
	{Name: "placed_at", Kind: source.KindDateTime, Scale: 6},
	{Name: "ratio", Kind: source.KindDouble},
	{Name: "tag", Kind: source.KindString},
	{Name: "flags", Kind: source.KindBit, Bits: 64},
	{Name: "spot", Kind: source.KindGeometry},
	{Name: "twice", Kind: source.KindUint, Bits: 64, Generated: true},
}

const orderDDL = `(
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  order_date DATE NULL,
  customer_id BIGINT UNSIGNED NOT NULL,
  status VARCHAR(16) NOT NULL,
  subtotal DECIMAL(14,2) NOT NULL,
  ref VARBINARY(16) NULL,
  address VARCHAR(200) NOT NULL,
  items JSON NOT NULL,
  note TEXT NULL,
  placed_at DATETIME(6) NOT NULL,
  ratio DOUBLE NOT NULL,
  tag VARCHAR(40) CHARACTER SET latin1 NULL,
  flags BIT(64) NULL,
  spot GEOMETRY NULL,
  twice BIGINT UNSIGNED AS (id * 2) VIRTUAL,
  KEY (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

var (
	statuses = []string{"pending", "paid", "shipped", "delivered", "cancelled"}
	streets  = []string{"Main Street", "Rue de Rivoli", "Hauptstraße", "Calle Mayor", "Via Roma", "High Street"}
	// Values that LOAD DATA's text format treats specially.
	tricky = []string{"", "\\N", "N", "NULL", "a\tb", "line\nbreak", "cr\r\n", "back\\slash", "nul\x00byte", "quote'\"`", "emoji 🦀 ünïcödé", "\\"}
)

// orderFile writes rows generated rows as a Parquet file and returns it
// with the size of their canonical text.
func orderFile(tb testing.TB, rows int) (data []byte, srcBytes int64) {
	tb.Helper()
	var out bytes.Buffer
	w, err := parquetio.NewWriter(&out, orderColumns, parquetio.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([][]byte, len(orderColumns))
	var b []byte
	for id := 1; id <= rows; id++ {
		b = b[:0]
		ends := make([]int, 0, len(vals))
		put := func() { ends = append(ends, len(b)) }
		b = strconv.AppendUint(b, uint64(id), 10)
		put()
		b = fmt.Appendf(b, "20%02d-%02d-%02d", 18+r.IntN(7), 1+r.IntN(12), 1+r.IntN(28))
		put()
		b = strconv.AppendUint(b, uint64(r.IntN(1_000_000)), 10)
		put()
		b = append(b, statuses[r.IntN(len(statuses))]...)
		put()
		sub := r.IntN(10_000_000)
		b = fmt.Appendf(b, "%d.%02d", sub/100, sub%100)
		put()
		for range 16 {
			b = append(b, byte(r.Uint32()))
		}
		put()
		b = fmt.Appendf(b, "%d %s, %05d City %d", 1+r.IntN(999), streets[r.IntN(len(streets))], r.IntN(100000), r.IntN(5000))
		put()
		b = fmt.Appendf(b, `[{"sku":"SKU-%06d","qty":%d,"price":%d.%02d}]`, r.IntN(100000), 1+r.IntN(5), r.IntN(500), r.IntN(100))
		put()
		b = append(b, tricky[id%len(tricky)]...)
		b = append(b, " please leave the parcel at the door"...)
		put()
		b = fmt.Appendf(b, "20%02d-%02d-%02d %02d:%02d:%02d.%06d", 18+r.IntN(7), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e6))
		put()
		b = strconv.AppendFloat(b, r.NormFloat64()*1e10, 'g', -1, 64)
		put()
		b = append(b, "café\tnaïve"[:r.IntN(12)]...) // latin1-representable, cut anywhere but mid-rune below
		put()
		for range 8 {
			b = append(b, byte(r.Uint32()))
		}
		put()
		b = append(b, 0xe6, 0x10, 0, 0, 1, 1, 0, 0, 0) // SRID 4326, WKB point
		for range 2 {
			b = append(b, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f)
		}
		put()
		b = strconv.AppendUint(b, uint64(2*id), 10) // generated: backed up, not loaded
		put()
		start := 0
		for i, end := range ends {
			vals[i] = b[start:end:end]
			start = end
		}
		if !isValidUTF8Cut(vals[11]) {
			vals[11] = nil
		}
		if id%7 == 0 {
			vals[1], vals[5], vals[8], vals[12], vals[13] = nil, nil, nil, nil, nil
		}
		srcBytes += int64(len(b))
		if err := w.Write(vals); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes(), srcBytes
}

func isValidUTF8Cut(b []byte) bool {
	return len(b) == 0 || b[len(b)-1] < 0x80 || bytes.HasSuffix(b, []byte("é")) || bytes.HasSuffix(b, []byte("ï"))
}

type loadEnv struct {
	srv *mariadb.Server
	db  *target.DB
	raw *sql.DB
}

func newLoadEnv(tb testing.TB) *loadEnv {
	tb.Helper()
	srv := mariadbtest.ForTest(tb)
	ctx := context.Background()
	if err := srv.CreateDatabase(ctx, "loadtest"); err != nil {
		tb.Fatal(err)
	}
	db, err := target.Open(ctx, srv.DSN(""))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	raw, err := srv.Open("loadtest")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	if err := db.Exec(ctx, target.JournalDDL("loadtest", "journal")); err != nil {
		tb.Fatal(err)
	}
	return &loadEnv{srv: srv, db: db, raw: raw}
}

// load creates table and loads data into it with method.
func (e *loadEnv) load(tb testing.TB, table string, method target.LoadMethod, data []byte) (int64, target.LoadMethod) {
	tb.Helper()
	ctx := context.Background()
	if err := e.db.Exec(ctx, "DROP TABLE IF EXISTS loadtest."+table, "CREATE TABLE loadtest."+table+" "+orderDDL,
		"DELETE FROM loadtest.journal"); err != nil {
		tb.Fatal(err)
	}
	pf, err := parquetio.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := e.db.Session(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer sess.Close()
	sess.SetLoadMethod(method)
	used, err := sess.LoadMethod(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	rows, loaded, err := sess.Load(ctx, "loadtest", table, "journal", "f1", pf)
	if err != nil || !loaded {
		tb.Fatalf("load %s with %s: loaded %v, %v", table, used, loaded, err)
	}
	// A second attempt finds the journal row and loads nothing.
	if _, again, err := sess.Load(ctx, "loadtest", table, "journal", "f1", pf); err != nil || again {
		tb.Fatalf("second load of %s: loaded %v, %v", table, again, err)
	}
	return rows, used
}

func (e *loadEnv) checksum(tb testing.TB, table string) int64 {
	tb.Helper()
	var name string
	var sum sql.NullInt64
	if err := e.raw.QueryRow("CHECKSUM TABLE loadtest."+table).Scan(&name, &sum); err != nil {
		tb.Fatal(err)
	}
	return sum.Int64
}

// TestLoadMethodsAgree loads one file with INSERTs and with LOAD DATA and
// checks both tables hold the same values; with local_infile off, the
// automatic choice falls back to INSERTs.
func TestLoadMethodsAgree(t *testing.T) {
	e := newLoadEnv(t)
	data, _ := orderFile(t, 3000)
	n1, m1 := e.load(t, "by_insert", target.LoadInsert, data)
	n2, m2 := e.load(t, "by_load", target.LoadAuto, data)
	if m1 != target.LoadInsert || m2 != target.LoadLocalData || n1 != 3000 || n2 != 3000 {
		t.Fatalf("loaded %d rows with %s and %d with %s", n1, m1, n2, m2)
	}
	if a, b := e.checksum(t, "by_insert"), e.checksum(t, "by_load"); a != b || a == 0 {
		t.Errorf("CHECKSUM TABLE: by INSERT %d, by LOAD DATA %d", a, b)
	}
	var diff int
	if err := e.raw.QueryRow(`SELECT COUNT(*) FROM by_insert a LEFT JOIN by_load b ON a.id = b.id AND a.note <=> b.note
		AND a.tag <=> b.tag AND a.ref <=> b.ref AND a.flags <=> b.flags AND ST_AsBinary(a.spot) <=> ST_AsBinary(b.spot) AND ST_SRID(a.spot) <=> ST_SRID(b.spot)
		AND a.ratio = b.ratio AND a.twice = b.twice WHERE b.id IS NULL`).Scan(&diff); err != nil || diff != 0 {
		t.Errorf("%d rows differ between the two loads (%v)", diff, err)
	}
	// local_infile off: LoadAuto falls back to INSERTs.
	if _, err := e.raw.Exec("SET GLOBAL local_infile = 0"); err != nil {
		t.Skipf("cannot turn local_infile off: %v", err)
	}
	defer e.raw.Exec("SET GLOBAL local_infile = 1")
	if _, m := e.load(t, "fallback", target.LoadAuto, data); m != target.LoadInsert {
		t.Errorf("with local_infile off, Load used %s", m)
	}
	if a, b := e.checksum(t, "by_insert"), e.checksum(t, "fallback"); a != b {
		t.Errorf("CHECKSUM TABLE: by INSERT %d, fallback %d", a, b)
	}
}

// BenchmarkLoad times Session.Load of one Parquet file of order rows into
// an empty table, by INSERT and by LOAD DATA: MB/s of canonical source
// text, and the server's CPU seconds per op (the bottleneck).
func BenchmarkLoad(b *testing.B) {
	e := newLoadEnv(b)
	rows := 200_000
	if testing.Short() {
		rows = 20_000
	}
	data, src := orderFile(b, rows)
	b.Logf("%d rows, %.1f MB source text, %.1f MB Parquet", rows, float64(src)/1e6, float64(len(data))/1e6)
	for _, m := range []target.LoadMethod{target.LoadInsert, target.LoadLocalData} {
		b.Run(string(m), func(b *testing.B) {
			b.SetBytes(src)
			var server, client time.Duration
			for b.Loop() {
				b.StopTimer()
				s0, c0 := parquettest.ProcessCPUTime(e.srv.Pid()), parquettest.CPUTime()
				b.StartTimer()
				e.load(b, "bench", m, data)
				b.StopTimer()
				server += parquettest.ProcessCPUTime(e.srv.Pid()) - s0
				client += parquettest.CPUTime() - c0
				b.StartTimer()
			}
			b.ReportMetric(server.Seconds()/float64(b.N), "server-cpu-s/op")
			b.ReportMetric(client.Seconds()/float64(b.N), "client-cpu-s/op")
		})
	}
}

// TestLoadDataIsStrict: a value the column cannot hold fails LOAD DATA
// (which LOCAL would turn into a warning) as it fails a strict INSERT, and
// nothing is kept, journal row included.
func TestLoadDataIsStrict(t *testing.T) {
	e := newLoadEnv(t)
	data, _ := orderFile(t, 50)
	ctx := context.Background()
	for _, m := range []target.LoadMethod{target.LoadInsert, target.LoadLocalData} {
		if err := e.db.Exec(ctx, "DROP TABLE IF EXISTS loadtest.narrow", "CREATE TABLE loadtest.narrow "+orderDDL,
			"ALTER TABLE loadtest.narrow MODIFY status VARCHAR(4) NOT NULL"); err != nil {
			t.Fatal(err)
		}
		pf, err := parquetio.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		sess, err := e.db.Session(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sess.SetLoadMethod(m)
		_, loaded, err := sess.Load(ctx, "loadtest", "narrow", "journal", "narrow-"+string(m), pf)
		sess.Close()
		if err == nil || loaded {
			t.Errorf("%s: a too long value loaded (loaded %v, err %v)", m, loaded, err)
		}
		var rows, journal int
		if err := e.raw.QueryRow("SELECT (SELECT COUNT(*) FROM narrow), (SELECT COUNT(*) FROM journal WHERE name = ?)", "narrow-"+string(m)).Scan(&rows, &journal); err != nil || rows != 0 || journal != 0 {
			t.Errorf("%s: after the failed load %d rows and %d journal rows (%v)", m, rows, journal, err)
		}
		t.Logf("%s: %v", m, err)
	}
}
