package mysql_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// BenchmarkTinyPartitions reads every partition of a table of one-row
// partitions (SRBACKUP_BENCH_PARTITIONS, default 2000) in one
// point-in-time snapshot, as a point-in-time upload worker does, one SELECT
// per partition and 1,000 per SELECT: the server's cost per tiny shard.
// SRBACKUP_BENCH_PARTITIONING=days makes it RANGE COLUMNS on a DATE, a
// partition a day, instead of HASH.
//
//	go test ./shared/source/mysql -run '^$' -bench TinyPartitions -benchtime 3x
func BenchmarkTinyPartitions(b *testing.B) {
	name, db, src, parts := benchDatabase(b, "SRBACKUP_BENCH_PARTITIONS", 2000)
	ctx := context.Background()
	stmts := []string{
		fmt.Sprintf("CREATE TABLE t (id INT PRIMARY KEY, v INT) PARTITION BY HASH(id) PARTITIONS %d", parts),
		fmt.Sprintf("INSERT INTO t SELECT seq, seq FROM seq_1_to_%d", parts),
	}
	if os.Getenv("SRBACKUP_BENCH_PARTITIONING") == "days" {
		// RANGE COLUMNS on a DATE, a partition a day: the common layout.
		var defs []string
		for p := range parts {
			day := time.Date(2000, 1, 2+p, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			defs = append(defs, fmt.Sprintf("PARTITION p%d VALUES LESS THAN ('%s')", p, day))
		}
		defs[parts-1] = fmt.Sprintf("PARTITION p%d VALUES LESS THAN (MAXVALUE)", parts-1)
		stmts = []string{
			"CREATE TABLE t (id INT, d DATE NOT NULL, v INT, PRIMARY KEY (id, d)) PARTITION BY RANGE COLUMNS (d) (" + strings.Join(defs, ", ") + ")",
			fmt.Sprintf("INSERT INTO t SELECT seq, '2000-01-01' + INTERVAL seq DAY, seq FROM seq_0_to_%d", parts-1),
		}
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%.200s: %v", q, err)
		}
	}
	shard := func(p int) source.Shard {
		return source.Shard{Database: name, Table: "t", Partition: fmt.Sprintf("p%d", p), Partitioned: true, Key: "id"}
	}
	drain := func(rows source.Rows) {
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		if err := rows.Close(); err != nil {
			b.Fatal(err)
		}
	}
	// one: a SELECT per partition; grouped: 1,000 partitions per SELECT
	// (source.GroupReader), as a point-in-time worker reads them.
	for _, group := range []int{1, 1000} {
		b.Run(map[int]string{1: "one", 1000: "grouped"}[group], func(b *testing.B) {
			began := time.Now()
			for range b.N {
				sn, err := src.OpenSnapshot(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sn.Begin(ctx); err != nil {
					b.Fatal(err)
				}
				for p := 0; p < parts; p += group {
					if group == 1 {
						rows, err := sn.OpenShard(ctx, shard(p))
						if err != nil {
							b.Fatal(err)
						}
						drain(rows)
						continue
					}
					var g []source.Shard
					for q := p; q < min(p+group, parts); q++ {
						g = append(g, shard(q))
					}
					rows, err := sn.(source.GroupReader).OpenGroup(ctx, g)
					if err != nil {
						b.Fatal(err)
					}
					drain(rows)
				}
				if err := sn.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(began).Microseconds())/float64(b.N*parts), "µs/shard")
		})
	}
}
