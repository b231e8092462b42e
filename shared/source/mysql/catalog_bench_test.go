package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/mariadb/mariadbtest"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/source/mysql"
)

// BenchmarkPlanTables plans every table of a database of one-row tables
// (SRBACKUP_BENCH_TABLES, default 1000) as a BACKUP's SnapshotShard does —
// DDL, columns, partitions, shards — with the catalog read per table, and
// read at once for the database (source.CatalogReader); and reads them all
// in one point-in-time snapshot, as upload workers do.
//
//	go test ./shared/source/mysql -run '^$' -bench PlanTables -benchtime 3x
func BenchmarkPlanTables(b *testing.B) {
	name, db, src, n := benchDatabase(b, "SRBACKUP_BENCH_TABLES", 1000)
	ctx := context.Background()
	for i := range n {
		for _, q := range []string{
			fmt.Sprintf("CREATE TABLE t%d (id INT PRIMARY KEY, v VARCHAR(20), j JSON)", i),
			fmt.Sprintf("INSERT INTO t%d VALUES (1, 'a', '{}')", i),
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
	}
	plan := func(b *testing.B, s source.Source) {
		for i := range n {
			table := "t" + strconv.Itoa(i)
			if _, err := s.TableDDL(ctx, name, table); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Columns(ctx, name, table); err != nil {
				b.Fatal(err)
			}
			parts, err := s.Partitions(ctx, name, table)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range parts {
				if _, err := s.PlanPartition(ctx, name, table, p, 64<<20); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	// read: every table read in one point-in-time snapshot, as a
	// point-in-time upload worker reads a share of them; read-hinted with
	// each table's planned definition and columns (source.ColumnsHinter),
	// as the worker gives them.
	type planned struct {
		ddl  string
		cols []source.Column
	}
	plans := make([]planned, n)
	for i := range plans {
		table := "t" + strconv.Itoa(i)
		ddl, err := src.TableDDL(ctx, name, table)
		if err != nil {
			b.Fatal(err)
		}
		cols, err := src.Columns(ctx, name, table)
		if err != nil {
			b.Fatal(err)
		}
		plans[i] = planned{ddl.Statement, cols}
	}
	for _, mode := range []string{"read", "read-hinted"} {
		b.Run(mode, func(b *testing.B) {
			readTables(b, ctx, src, name, n, mode == "read-hinted", func(i int) (string, []source.Column) { return plans[i].ddl, plans[i].cols })
		})
	}
	for _, mode := range []string{"per-table", "at-once"} {
		b.Run(mode, func(b *testing.B) {
			began := time.Now()
			for range b.N {
				var s source.Source = src
				if mode == "at-once" {
					var err error
					if s, err = src.WithCatalog(ctx, name); err != nil {
						b.Fatal(err)
					}
				}
				plan(b, s)
			}
			b.ReportMetric(float64(time.Since(began).Microseconds())/float64(b.N*n), "µs/table")
		})
	}
}

// benchDatabase is a benchmark's own database on the shared server, a
// pool on it, the source under test, and the size it runs at: env's
// value, or n.
func benchDatabase(b *testing.B, env string, n int) (name string, db *sql.DB, src *mysql.Source, size int) {
	b.Helper()
	size = n
	if s := os.Getenv(env); s != "" {
		var err error
		if size, err = strconv.Atoi(s); err != nil {
			b.Fatalf("%s: %v", env, err)
		}
	}
	srv := server.Server(b)
	name = mariadbtest.NewDatabase(b, srv)
	db, err := srv.Open(name)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if src, err = mysql.Open(context.Background(), srv.DSN("")); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	return name, db, src, size
}

// readTables reads tables t0…tn-1 of database name in one snapshot, hinted
// with each one's planned definition and columns when hinted.
func readTables(b *testing.B, ctx context.Context, src *mysql.Source, name string, n int, hinted bool, plan func(int) (string, []source.Column)) {
	began := time.Now()
	for range b.N {
		sn, err := src.OpenSnapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sn.Begin(ctx); err != nil {
			b.Fatal(err)
		}
		if hinted {
			for i := range n {
				ddl, cols := plan(i)
				sn.(source.ColumnsHinter).HintColumns(name, "t"+strconv.Itoa(i), ddl, cols)
			}
		}
		for i := range n {
			table := "t" + strconv.Itoa(i)
			rows, err := sn.OpenShard(ctx, source.Shard{Database: name, Table: table, Partition: table, Key: "id"})
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			if err := rows.Close(); err != nil {
				b.Fatal(err)
			}
		}
		if err := sn.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(began).Microseconds())/float64(b.N*n), "µs/table")
}
