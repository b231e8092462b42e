package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/repository"
)

// readRows reads one data file of a snapshot back and returns its rows as text.
func (e *env) readRows(label string, f repository.DataFile) [][]string {
	e.t.Helper()
	key, err := e.repo.SnapshotKey(label, f.Key)
	if err != nil {
		e.t.Fatal(err)
	}
	obj, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.repo.Bucket()), Key: aws.String(key)})
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	pf, err := parquetio.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		e.t.Fatalf("open %s: %v", f.Key, err)
	}
	var rows [][]string
	err = pf.Rows(func(values [][]byte) error {
		row := make([]string, len(values))
		for i, v := range values {
			row[i] = string(v)
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		e.t.Fatalf("read %s: %v", f.Key, err)
	}
	return rows
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestShardConsistency is behaviour 7 in "consistency" = "shard" (the
// lock-free mode): each shard is one consistent read.
// While the upload reads, a writer commits pairs of rows (+x, -x) of the
// same group, which always land in the same partition; after the upload it
// inserts more rows. Every shard must hold whole pairs only, and no row
// committed after the upload; a table nobody writes during the upload has
// exactly its row count from before the later inserts.
func TestShardConsistency(t *testing.T) {
	const basePairs, quietRows, lateRows = 10000, 500, 100
	var pool *sql.DB
	var cutoff int64 // the largest ledger id when the upload returned
	var racing int   // pairs the writer committed while the upload ran
	e := newEnv(t, wrapUpload(func(real lambda.Handler) handlerFunc {
		return func(ctx context.Context, payload []byte) ([]byte, error) {
			stop, started, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() { done <- writePairs(pool, stop, started, &racing) }()
			<-started
			out, err := real.Invoke(ctx, payload)
			close(stop)
			if werr := <-done; werr != nil {
				return nil, werr
			}
			if qerr := pool.QueryRowContext(ctx, "SELECT MAX(id) FROM ledger").Scan(&cutoff); qerr != nil {
				return nil, qerr
			}
			for range lateRows {
				if _, xerr := pool.ExecContext(ctx, "INSERT INTO ledger (grp, amount) VALUES (-1, 1)"); xerr != nil {
					return nil, xerr
				}
			}
			if _, xerr := pool.ExecContext(ctx, `INSERT INTO quiet (id, v)
				SELECT id + 100000, v FROM quiet ORDER BY id LIMIT 100`); xerr != nil {
				return nil, xerr
			}
			return out, err
		}
	}))
	var err error
	if pool, err = e.srv.Open(e.db); err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e.exec(
		"CREATE TABLE "+quote(e.db)+".ledger (grp BIGINT NOT NULL, id BIGINT NOT NULL AUTO_INCREMENT, amount BIGINT NOT NULL, PRIMARY KEY (grp, id), KEY (id)) PARTITION BY HASH (grp) PARTITIONS 4",
		"INSERT INTO "+quote(e.db)+".ledger (grp, amount) SELECT n DIV 2, IF(n % 2 = 0, 1, -1) * (n DIV 2 + 1) FROM "+numbers(2*basePairs),
		"CREATE TABLE "+quote(e.db)+".quiet (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
		"INSERT INTO "+quote(e.db)+".quiet SELECT n + 1, CONCAT('row ', n + 1) FROM "+numbers(quietRows),
	)
	rec := e.mustFinish("BACKUP DATABASE " + e.db + ` SNAPSHOT consistent TO repo ON (TABLE ledger, TABLE quiet) PROPERTIES ("consistency" = "shard")`)
	t.Logf("%d shards; the writer committed %d pairs while the upload ran", rec.ShardsTotal, racing)
	if got := e.count("quiet"); got != quietRows+100 {
		t.Fatalf("quiet has %d rows in the source, want %d", got, quietRows+100)
	}
	info := e.snapshot("consistent")
	if info.Consistency != "shard" || info.PointInTime != nil {
		t.Errorf("consistency %q, point in time %+v; want shard mode, no lock", info.Consistency, info.PointInTime)
	}
	var ledgerRows int64
	for _, o := range info.Objects {
		for _, p := range o.Partitions {
			var partRows int64
			for _, f := range p.Files {
				rows := e.readRows("consistent", f)
				if int64(len(rows)) != f.Rows {
					t.Errorf("%s: %d rows in the file, manifest says %d", f.Key, len(rows), f.Rows)
				}
				partRows += int64(len(rows))
				if o.Name == "ledger" {
					checkPairs(t, f.Key, rows, cutoff)
				}
			}
			if partRows != p.Rows {
				t.Errorf("%s %s: %d rows in its files, manifest says %d", o.Name, p.Name, partRows, p.Rows)
			}
			switch o.Name {
			case "quiet":
				if partRows != quietRows {
					t.Errorf("quiet: %d rows in the snapshot, want %d (the count when it was read)", partRows, quietRows)
				}
			case "ledger":
				ledgerRows += partRows
			}
		}
	}
	if ledgerRows < 2*basePairs || ledgerRows > 2*basePairs+2*int64(racing) {
		t.Errorf("ledger: %d rows in the snapshot, want between %d and %d", ledgerRows, 2*basePairs, 2*basePairs+2*racing)
	}
}

// numbers is a derived table of n (< 100000) rows numbered 0 to n-1 in column n.
func numbers(n int) string {
	const digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
	return "(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * d.d + 10000 * e.d AS n FROM " +
		digits + " a, " + digits + " b, " + digits + " c, " + digits + " d, " + digits + " e) AS seq WHERE n < " + strconv.Itoa(n)
}

// checkPairs checks that a ledger shard (columns grp, id, amount) holds
// whole pairs summing to zero and no row with an id above cutoff.
func checkPairs(t *testing.T, file string, rows [][]string, cutoff int64) {
	t.Helper()
	type group struct{ rows, sum int64 }
	groups := map[int64]*group{}
	for _, r := range rows {
		grp, id, amount := atoi(t, r[0]), atoi(t, r[1]), atoi(t, r[2])
		if id > cutoff || grp < 0 {
			t.Errorf("%s: row %v was committed after the upload", file, r)
		}
		g := groups[grp]
		if g == nil {
			g = &group{}
			groups[grp] = g
		}
		g.rows++
		g.sum += amount
	}
	for grp, g := range groups {
		if g.rows != 2 || g.sum != 0 {
			t.Errorf("%s: group %d has %d rows summing to %d: a torn transaction", file, grp, g.rows, g.sum)
		}
	}
}

// writePairs commits pairs (+g, -g) of group g in one transaction each until
// stop is closed, closing started after the first pair; n counts the pairs.
func writePairs(pool *sql.DB, stop, started chan struct{}, n *int) error {
	ctx := context.Background()
	for g := int64(1_000_000); ; g++ {
		tx, err := pool.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, amount := range []int64{g, -g} {
			if _, err := tx.ExecContext(ctx, "INSERT INTO ledger (grp, amount) VALUES (?, ?)", g, amount); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		*n++
		if *n == 1 {
			close(started)
		}
		select {
		case <-stop:
			return nil
		default:
		}
	}
}
