package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/repository"
)

// freshLoadRows is the size of the fresh-load table: the 2,000,000
// rows (343 MB) scaled down tenfold so the test stays a few seconds on a
// shared 2-core machine; SRBACKUP_FRESHLOAD_ROWS=2000000 runs the full size
// (with "shard_size" = "64MB").
func freshLoadRows(t *testing.T) (rows int, shardSize int64) {
	rows, shardSize = 200_000, 6<<20
	if s := os.Getenv("SRBACKUP_FRESHLOAD_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		rows, shardSize = n, int64(n)*64<<20/2_000_000
	}
	return rows, shardSize
}

// TestFreshLoadIsSplit backs up a table loaded just before the BACKUP,
// whose InnoDB statistics still say 16 KB (STATS_AUTO_RECALC = 0 makes
// that certain; by default InnoDB catches up within seconds): it is split
// into at least its real size / shard_size shards of at most twice the
// target, read by two workers in parallel, and Progress ends with the rows
// and bytes really read. A table without a key is read whole and named in
// the job's warnings.
func TestFreshLoadIsSplit(t *testing.T) {
	e := newEnv(t, envOptions{})
	rows, shardSize := freshLoadRows(t)
	start := time.Now()
	e.exec(fmt.Sprintf("CREATE TABLE %s.fresh (id BIGINT NOT NULL PRIMARY KEY, n INT NOT NULL, pad VARCHAR(200) NOT NULL) STATS_AUTO_RECALC = 0", quote(e.db)),
		fmt.Sprintf("INSERT INTO %[1]s.fresh SELECT seq, seq %% 1000, REPEAT('x', 150) FROM %[1]s.seq_1_to_%d", quote(e.db), rows),
		fmt.Sprintf("CREATE TABLE %s.heap (a INT, pad VARCHAR(100))", quote(e.db)),
		fmt.Sprintf("INSERT INTO %[1]s.heap SELECT seq, 'y' FROM %[1]s.seq_1_to_1000", quote(e.db)))
	t.Logf("loaded %d rows in %s", rows, time.Since(start).Round(time.Millisecond))
	var statRows, statBytes int64
	if err := e.pool().QueryRowContext(context.Background(), "SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'fresh'", e.db).Scan(&statRows, &statBytes); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	rec := e.mustFinish(fmt.Sprintf(`BACKUP DATABASE %s SNAPSHOT fresh TO repo ON (TABLE fresh, TABLE heap) PROPERTIES ("parallelism" = "2", "shard_size" = "%d")`, e.db, shardSize))
	took := time.Since(start)
	info := e.snapshot("fresh")

	// The real size, once InnoDB has looked.
	e.exec(fmt.Sprintf("ANALYZE TABLE %s.fresh", quote(e.db)))
	var realBytes int64
	if err := e.pool().QueryRowContext(context.Background(), "SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'fresh'", e.db).Scan(&realBytes); err != nil {
		t.Fatal(err)
	}
	files := tableFiles(info, "fresh")
	rowBytes := float64(realBytes) / float64(rows)
	var got int64
	sizes := make([]string, len(files))
	for i, f := range files {
		got += f.Rows
		size := float64(f.Rows) * rowBytes
		sizes[i] = fmt.Sprintf("%.1fMB", size/(1<<20))
		if size > 2*float64(shardSize) {
			t.Errorf("file %s holds about %.0f bytes, the target is %d", f.Key, size, shardSize)
		}
	}
	if want := realBytes / shardSize; int64(len(files)) < want {
		t.Errorf("%d shards for %d bytes at a shard size of %d: want at least %d", len(files), realBytes, shardSize, want)
	}
	if got != int64(rows) {
		t.Errorf("the files hold %d rows, the table %d", got, rows)
	}
	if info.PointInTime == nil || info.PointInTime.Workers != 2 {
		t.Errorf("point in time %+v: want two workers reading in parallel", info.PointInTime)
	}
	if rec, _ = e.store.Get(context.Background(), rec.Spec.JobID); rec.RowsDone != int64(rows)+1000 || rec.RowsTotal != rec.RowsDone ||
		rec.BytesDone != rec.BytesTotal || rec.BytesDone == 0 {
		t.Errorf("progress: rows %d/%d bytes %d/%d", rec.RowsDone, rec.RowsTotal, rec.BytesDone, rec.BytesTotal)
	}
	if len(rec.Warnings) != 1 || !strings.Contains(rec.Warnings[0], e.db+".heap is read whole") {
		t.Errorf("warnings %q: want heap named", rec.Warnings)
	}
	if row := rec.ShowBackupRow(); !strings.Contains(*row[11], "[warning: table "+e.db+".heap is read whole") {
		t.Errorf("TaskErrMsg %q", *row[11])
	}
	t.Logf("statistics said %d rows in %d bytes; real %d bytes; %d shards (%s) by %d workers; backup %s (planned in %s, uploaded in %s)",
		statRows, statBytes, realBytes, len(files), strings.Join(sizes, " "), info.PointInTime.Workers, took.Round(time.Millisecond),
		rec.SnapshotFinishedTime.Sub(rec.CreateTime).Round(time.Millisecond), rec.UploadFinishedTime.Sub(rec.SnapshotFinishedTime).Round(time.Millisecond))
}

// TestShardSplitWhileRead backs up a table whose sampled ends are narrow
// rows and whose middle is wide, so the plan underestimates its shards
// twentyfold: each worker splits its shards into pieces as it reads them,
// in its one transaction, and the pieces hold every row exactly once.
func TestShardSplitWhileRead(t *testing.T) {
	e := newEnv(t, envOptions{})
	const rows = 24000
	e.exec(fmt.Sprintf("CREATE TABLE %s.lumpy (id INT NOT NULL PRIMARY KEY, pad VARCHAR(2000) NOT NULL) STATS_AUTO_RECALC = 0", quote(e.db)),
		fmt.Sprintf("INSERT INTO %[1]s.lumpy SELECT seq, REPEAT('z', IF(seq <= 600 OR seq > %[2]d, 10, 1000)) FROM %[1]s.seq_1_to_%[3]d", quote(e.db), rows-600, rows))
	start := time.Now()
	rec := e.mustFinish(`BACKUP DATABASE ` + e.db + ` SNAPSHOT lumpy TO repo ON (TABLE lumpy) PROPERTIES ("parallelism" = "2", "shard_size" = "1MB")`)
	took := time.Since(start)
	info := e.snapshot("lumpy")
	files := tableFiles(info, "lumpy")
	pieces, shards := 0, map[int]bool{}
	var got int64
	for _, f := range files {
		shards[f.Shard] = true
		if f.Piece > 0 {
			pieces++
		}
		got += f.Rows
	}
	if pieces == 0 || got != rows {
		t.Errorf("%d files of %d shards, %d of them later pieces, %d rows: want split shards holding %d rows", len(files), len(shards), pieces, got, rows)
	}
	rec, _ = e.store.Get(context.Background(), rec.Spec.JobID)
	if rec.RowsDone != rows || rec.RowsTotal != rows || rec.BytesTotal != rec.BytesDone || rec.ShardsDone != rec.ShardsTotal || rec.ShardsTotal != int64(len(shards)) {
		t.Errorf("progress %s", *rec.ShowBackupRow()[10])
	}
	t.Logf("%d planned shards read as %d files; %s; backup %s", len(shards), len(files), *rec.ShowBackupRow()[10], took.Round(time.Millisecond))
}

// tableFiles lists a table's data files in a manifest.
func tableFiles(info repository.Info, table string) []repository.DataFile {
	var out []repository.DataFile
	for _, o := range info.Objects {
		if o.Name == table {
			for _, p := range o.Partitions {
				out = append(out, p.Files...)
			}
		}
	}
	return out
}
