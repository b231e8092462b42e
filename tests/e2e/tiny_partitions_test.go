package e2e

import (
	"fmt"
	"testing"
)

// TestTinyPartitions backs up a table of many one-row partitions at one
// point in time (the default): more results per worker than one
// transaction records, small files uploaded concurrently. Every partition
// gets exactly one file holding exactly its own row, and the job's
// progress counts every shard. The 10,000-partition run is the bench's
// scaling mode.
func TestTinyPartitions(t *testing.T) {
	e := newEnv(t, envOptions{})
	const parts = 300
	e.exec(fmt.Sprintf("CREATE TABLE %[1]s.tiny (id INT PRIMARY KEY, v INT) PARTITION BY HASH(id) PARTITIONS %[2]d", e.db, parts),
		fmt.Sprintf("INSERT INTO %[1]s.tiny SELECT seq, seq FROM %[1]s.seq_0_to_%[2]d", e.db, parts-1))
	rec := e.mustFinish(fmt.Sprintf(`BACKUP DATABASE %s SNAPSHOT tiny TO repo ON (TABLE tiny) PROPERTIES ("parallelism" = "2")`, e.db))
	if rec.ShardsDone != parts || rec.ShardsTotal != parts || rec.RowsDone != parts {
		t.Errorf("progress: %d/%d shards, %d rows", rec.ShardsDone, rec.ShardsTotal, rec.RowsDone)
	}
	info := e.snapshot("tiny")
	if len(info.Objects) != 1 || len(info.Objects[0].Partitions) != parts {
		t.Fatalf("objects %d, partitions %d", len(info.Objects), len(info.Objects[0].Partitions))
	}
	for _, pd := range info.Objects[0].Partitions {
		if len(pd.Files) != 1 || pd.Rows != 1 {
			t.Fatalf("partition %s: %d files, %d rows", pd.Name, len(pd.Files), pd.Rows)
		}
		// HASH(id) over parts partitions: partition pN holds id N.
		rows := e.readRows("tiny", pd.Files[0])
		if len(rows) != 1 || "p"+rows[0][0] != pd.Name {
			t.Fatalf("partition %s holds %v", pd.Name, rows)
		}
	}
}
