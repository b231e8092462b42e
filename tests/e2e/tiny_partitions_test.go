package e2e

import (
	"fmt"
	"slices"
	"testing"
)

// TestTinyPartitions backs up tables of many one-row partitions at one
// point in time (the default): more results per worker than one
// transaction records, small files uploaded concurrently, and the tiny
// partitions of a table read many per statement, each row given to its
// partition. Every partition gets exactly one file holding exactly its own
// rows (compared with the source's partition), including empty
// partitions, NULLs, the values at RANGE bounds and a RANGE COLUMNS table of
// dates with a bound written loosely; a KEY-partitioned
// table, which cannot be read in groups, is read one partition at a time.
// The job's progress counts every shard. The 10,000-partition run is the
// bench's scaling mode.
func TestTinyPartitions(t *testing.T) {
	e := newEnv(t, envOptions{})
	const parts = 300
	e.exec(fmt.Sprintf("CREATE TABLE %[1]s.tiny (id INT PRIMARY KEY, v INT) PARTITION BY HASH(id) PARTITIONS %[2]d", e.db, parts),
		fmt.Sprintf("INSERT INTO %[1]s.tiny SELECT seq, seq FROM %[1]s.seq_0_to_%[2]d", e.db, parts-1),
		fmt.Sprintf(`CREATE TABLE %s.rng (k BIGINT NULL, v VARCHAR(5)) PARTITION BY RANGE (k) (
			PARTITION lo VALUES LESS THAN (-10), PARTITION neg VALUES LESS THAN (0), PARTITION small VALUES LESS THAN (10),
			PARTITION empty VALUES LESS THAN (20), PARTITION top VALUES LESS THAN MAXVALUE)`, e.db),
		fmt.Sprintf(`INSERT INTO %s.rng VALUES (NULL,'n'),(-9223372036854775808,'min'),(-11,'a'),(-10,'b'),(-1,'c'),(0,'d'),(9,NULL),(20,'e'),(9223372036854775807,'max')`, e.db),
		fmt.Sprintf(`CREATE TABLE %s.lst (k INT NULL, v INT) PARTITION BY LIST (k) (
			PARTITION pn VALUES IN (NULL, 1), PARTITION p23 VALUES IN (2, 3), PARTITION none VALUES IN (100), PARTITION pm VALUES IN (-5))`, e.db),
		fmt.Sprintf(`INSERT INTO %s.lst VALUES (NULL,1),(1,2),(2,3),(3,4),(-5,5),(NULL,6)`, e.db),
		fmt.Sprintf(`CREATE TABLE %s.hk (k INT NOT NULL, PRIMARY KEY (k)) PARTITION BY KEY (k) PARTITIONS 4`, e.db),
		fmt.Sprintf(`INSERT INTO %[1]s.hk SELECT seq FROM %[1]s.seq_1_to_10`, e.db),
		fmt.Sprintf(`CREATE TABLE %s.days (k DATE NULL, v INT) PARTITION BY RANGE COLUMNS (k) (
			PARTITION d1 VALUES LESS THAN ('2024-01-02'), PARTITION d2 VALUES LESS THAN ('2024-1-3'), PARTITION dmax VALUES LESS THAN (MAXVALUE))`, e.db),
		fmt.Sprintf(`INSERT INTO %s.days VALUES (NULL,1),('2024-01-01',2),('2024-01-02',3),('2024-01-03',4),('2030-01-01',5)`, e.db))
	rec := e.mustFinish(fmt.Sprintf(`BACKUP DATABASE %s SNAPSHOT tiny TO repo ON (TABLE tiny, TABLE rng, TABLE lst, TABLE hk, TABLE days) PROPERTIES ("parallelism" = "2")`, e.db))
	const total = parts + 5 + 4 + 4 + 3
	if rec.ShardsDone != total || rec.ShardsTotal != total || rec.RowsDone != parts+9+6+10+5 {
		t.Errorf("progress: %d/%d shards, %d rows", rec.ShardsDone, rec.ShardsTotal, rec.RowsDone)
	}
	info := e.snapshot("tiny")
	if len(info.Objects) != 5 {
		t.Fatalf("objects %d", len(info.Objects))
	}
	for _, o := range info.Objects {
		if want := e.sourcePartitions(o.Name); len(o.Partitions) != len(want) {
			t.Fatalf("%s: partitions %d, want %d", o.Name, len(o.Partitions), len(want))
		}
		for _, pd := range o.Partitions {
			if len(pd.Files) != 1 {
				t.Fatalf("%s partition %s: %d files", o.Name, pd.Name, len(pd.Files))
			}
			var got []string
			for _, r := range e.readRows("tiny", pd.Files[0]) {
				got = append(got, r[0])
			}
			slices.Sort(got)
			col := "id"
			if o.Name != "tiny" {
				col = "k"
			}
			want := e.queryStrings(fmt.Sprintf("SELECT COALESCE(CAST(%s AS CHAR), '') FROM %s.%s PARTITION (%s)", col, e.db, o.Name, quote(pd.Name)))
			if !slices.Equal(got, want) || pd.Rows != int64(len(want)) {
				t.Errorf("%s partition %s holds %q (%d rows recorded), the source %q", o.Name, pd.Name, got, pd.Rows, want)
			}
		}
	}
}
