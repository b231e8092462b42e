package mysql_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	driver "github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
	"github.com/srbackup/srbackup/shared/source"
)

// TestRoundTripAllTypes reads the fixture's all_types table (every MariaDB
// column type with edge values and NULLs) as a shard, writes Parquet, reads
// it back with parquet-go and with DuckDB, and compares every value with
// what a separate SELECT returns from the server.
func TestRoundTripAllTypes(t *testing.T) {
	e := newEnv(t)
	if err := fixture.CreateAllTypes(e.ctx, e.db, e.name); err != nil {
		t.Fatal(err)
	}
	table := fixture.AllTypesTable
	shards, err := e.src.PlanShards(e.ctx, e.name, table, table, 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 1 {
		t.Fatalf("%d shards for a small table", len(shards))
	}
	rows, err := e.src.OpenShard(e.ctx, shards[0])
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	specs, stats, err := parquetio.Copy(e.ctx, &file, rows, parquetio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cols := rows.Columns()
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}

	kinds := map[source.Kind]bool{}
	for _, c := range cols {
		kinds[c.Kind] = true
	}
	for _, k := range []source.Kind{source.KindInt, source.KindUint, source.KindDecimal, source.KindFloat,
		source.KindDouble, source.KindBit, source.KindDate, source.KindDateTime, source.KindTimestamp,
		source.KindTime, source.KindYear, source.KindString, source.KindJSON, source.KindBytes, source.KindGeometry} {
		if !kinds[k] {
			t.Errorf("the fixture has no column of kind %s", k)
		}
	}

	want := e.selectAll(t, table, cols)
	if stats.Rows != int64(len(want)) {
		t.Fatalf("wrote %d rows, the table has %d", stats.Rows, len(want))
	}
	t.Logf("%d rows, %d columns, %d source bytes → %d Parquet bytes", stats.Rows, len(cols), stats.SourceBytes, stats.ParquetBytes)

	// parquet-go, through parquetio's restore direction.
	f, err := parquetio.OpenFile(bytes.NewReader(file.Bytes()), int64(file.Len()))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string][]string{}
	err = f.Rows(func(vals [][]byte) error {
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = textOrNull(v)
		}
		byID[row[0]] = row
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		got, ok := byID[w[0]]
		if !ok {
			t.Errorf("row id %s missing from the Parquet file", w[0])
			continue
		}
		for i, c := range cols {
			if err := sameValue(c, w[i], got[i]); err != nil {
				t.Errorf("id %s, column %s (%s): %v", w[0], c.Name, c.SourceType, err)
			}
		}
	}
	e.checkGeometry(t, table, cols, byID)

	// DuckDB.
	duck := parquettest.NewDuckDB(t)
	path := filepath.Join(t.TempDir(), "all_types.parquet")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tab := duck.Read(t, path)[0]
	if len(tab.Rows) != len(want) {
		t.Fatalf("DuckDB read %d rows, want %d", len(tab.Rows), len(want))
	}
	srcByID := map[string][][]byte{}
	for _, w := range want {
		vals := make([][]byte, len(w))
		for i, s := range w {
			if s != null {
				vals[i] = []byte(s)
			}
		}
		srcByID[w[0]] = vals
	}
	for r, row := range tab.Rows {
		id := *row[tab.Index("id")]
		for _, msg := range parquettest.CheckRow(specs, srcByID[id], &tab, r) {
			t.Errorf("DuckDB, id %s: %s", id, msg)
		}
	}
}

const null = "\x00NULL"

func textOrNull(v []byte) string {
	if v == nil {
		return null
	}
	return string(v)
}

// selectAll reads a table with a SELECT of its own, in the canonical text
// forms documented in source.Kind: utf8mb4, UTC, FLOAT widened to DOUBLE.
func (e *env) selectAll(t *testing.T, table string, cols []source.Column) [][]string {
	t.Helper()
	conn, err := e.db.Conn(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range []string{"SET NAMES utf8mb4", "SET time_zone = '+00:00'"} {
		if _, err := conn.ExecContext(e.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = q(c.Name)
		if c.Kind == source.KindFloat {
			exprs[i] = "CAST(" + q(c.Name) + " AS DOUBLE)"
		}
	}
	rows, err := conn.QueryContext(e.ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+q(e.name)+"."+q(table)+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		raw := make([]sqlRaw, len(cols))
		dest := make([]any, len(cols))
		for i := range raw {
			dest[i] = &raw[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, r := range raw {
			row[i] = r.s
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sqlRaw scans any column as its text-protocol text. The driver parses
// integers and doubles of the text protocol; they are printed back
// exactly.
type sqlRaw struct{ s string }

func (r *sqlRaw) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		r.s = null
	case []byte:
		r.s = string(v)
	case int64:
		r.s = strconv.FormatInt(v, 10)
	case uint64:
		r.s = strconv.FormatUint(v, 10)
	case float64:
		r.s = strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return fmt.Errorf("unexpected %T from the driver", v)
	}
	return nil
}

// sameValue compares a source value with the value read back: numbers by
// value (ZEROFILL and exponent spelling may differ), floats bit for bit,
// everything else byte for byte.
func sameValue(c source.Column, want, got string) error {
	if want == null || got == null {
		if want != got {
			return fmt.Errorf("source %q, read back %q", want, got)
		}
		return nil
	}
	switch c.Kind {
	case source.KindInt, source.KindUint, source.KindYear, source.KindDecimal:
		w, ok1 := new(big.Rat).SetString(want)
		g, ok2 := new(big.Rat).SetString(got)
		if !ok1 || !ok2 || w.Cmp(g) != 0 {
			return fmt.Errorf("source %s, read back %s", want, got)
		}
		if c.Kind == source.KindDecimal && got != w.FloatString(c.Scale) {
			return fmt.Errorf("read back %s, want %d fraction digits", got, c.Scale)
		}
	case source.KindFloat, source.KindDouble:
		w, err1 := strconv.ParseFloat(want, 64)
		g, err2 := strconv.ParseFloat(got, 64)
		if err1 != nil || err2 != nil || math.Float64bits(w) != math.Float64bits(g) {
			return fmt.Errorf("source %s, read back %s", want, got)
		}
	default:
		if want != got {
			return fmt.Errorf("source %q, read back %q", clip(want), clip(got))
		}
	}
	return nil
}

// checkGeometry compares the geometry values read back with ST_SRID and
// ST_AsWKB, the server's own WKB.
func (e *env) checkGeometry(t *testing.T, table string, cols []source.Column, byID map[string][]string) {
	t.Helper()
	n := 0
	for i, c := range cols {
		if c.Kind != source.KindGeometry {
			continue
		}
		rows, err := e.db.QueryContext(e.ctx, "SELECT `id`, ST_SRID("+q(c.Name)+"), ST_AsWKB("+q(c.Name)+") FROM "+q(e.name)+"."+q(table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			var srid *uint32
			var wkb []byte
			if err := rows.Scan(&id, &srid, &wkb); err != nil {
				t.Fatal(err)
			}
			got := byID[id][i]
			if srid == nil {
				if got != null {
					t.Errorf("id %s, %s: source NULL, read back %d bytes", id, c.Name, len(got))
				}
				continue
			}
			n++
			if len(got) < 4 || binary.LittleEndian.Uint32([]byte(got)) != *srid || got[4:] != string(wkb) {
				t.Errorf("id %s, %s: read back differs from SRID %d + ST_AsWKB", id, c.Name, *srid)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if n == 0 {
		t.Error("no geometry values checked")
	}
}

// TestServerStoresNoNaNOrNegativeZero verifies what the FLOAT and DOUBLE
// mapping relies on: the server refuses NaN and infinities and stores
// -0.0 as +0.0, so the text protocol's decimal text loses nothing.
func TestServerStoresNoNaNOrNegativeZero(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE f (id INT PRIMARY KEY, f FLOAT, d DOUBLE)")
	for _, v := range []string{"1e308 * 10", "-1e308 * 10", "1e39"} {
		_, err := e.db.ExecContext(e.ctx, "INSERT INTO f VALUES (1, "+v+", "+v+")")
		var me *driver.MySQLError
		if !errors.As(err, &me) {
			t.Errorf("INSERT %s: %v, want a server error", v, err)
		}
	}
	e.exec(t, "INSERT INTO f VALUES (2, SQRT(-1), SQRT(-1))", "INSERT INTO f VALUES (3, -0e0, -0e0)")
	var f, d *float64
	if err := e.db.QueryRowContext(e.ctx, "SELECT f, d FROM f WHERE id = 2").Scan(&f, &d); err != nil || f != nil || d != nil {
		t.Errorf("SQRT(-1) stored as %v, %v (%v), want NULL", f, d, err)
	}
	// ATAN2(-0.0, -1) is -π, ATAN2(+0.0, -1) is +π.
	var af, ad float64
	if err := e.db.QueryRowContext(e.ctx, "SELECT ATAN2(f, -1), ATAN2(d, -1) FROM f WHERE id = 3").Scan(&af, &ad); err != nil {
		t.Fatal(err)
	}
	if af != math.Pi || ad != math.Pi {
		t.Errorf("-0.0 stored with its sign: ATAN2 gives %v, %v", af, ad)
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
