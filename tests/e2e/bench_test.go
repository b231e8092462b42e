package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/fixture"
)

// BenchmarkOneTableBackup measures a whole BACKUP of one small table through
// the local stack — Parse, Lock, SnapshotShard, one UploadBatch, Finalize —
// which is srbackup's orchestration overhead.
func BenchmarkOneTableBackup(b *testing.B) {
	e := newEnv(b, envOptions{})
	b.ResetTimer()
	for i := range b.N {
		e.mustFinish(fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT one_%d TO repo ON (TABLE customers)", e.db, i))
	}
}

// BenchmarkPointInTime compares "snapshot" consistency with "shard" on a
// whole-database BACKUP of a generated database (SRBACKUP_BENCH_PIT_BYTES,
// default 256 MB) while transfers commit on the same server, interleaving
// the modes, and reports the medians, the overhead and the lock window
// (p50 and max). Run: go test ./tests/e2e -run '^$' -bench PointInTime -benchtime 10x
func BenchmarkPointInTime(b *testing.B) {
	size := int64(256 << 20)
	if v := os.Getenv("SRBACKUP_BENCH_PIT_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	e := newEnv(b, envOptions{})
	big := fmt.Sprintf("pitbench_%d", os.Getpid())
	res, err := fixture.Generate(context.Background(), e.pool(), fixture.Options{Database: big, SizeBytes: size, Seed: 3, DropExisting: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.srv.DropDatabase(context.Background(), big) })
	bank := newBank(e, 2000)
	times := map[string][]time.Duration{}
	var windows []int64
	b.ResetTimer()
	for i := range b.N {
		for _, mode := range []string{"shard", "snapshot"} {
			label := fmt.Sprintf("%s_%d", mode, i)
			_, _, took := bank.backupWhileTransferring(fmt.Sprintf(`BACKUP DATABASE %s SNAPSHOT %s TO repo PROPERTIES ("consistency" = "%s")`, big, label, mode))
			times[mode] = append(times[mode], took)
			if mode == "snapshot" {
				windows = append(windows, e.snapshot(label).PointInTime.LockWindowMS)
			}
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	slices.Sort(windows)
	shard, snap := median(times["shard"]), median(times["snapshot"])
	b.ReportMetric(shard.Seconds(), "shard-s")
	b.ReportMetric(snap.Seconds(), "snapshot-s")
	b.ReportMetric(100*(snap.Seconds()/shard.Seconds()-1), "overhead-%")
	b.ReportMetric(float64(windows[len(windows)/2]), "window-p50-ms")
	b.ReportMetric(float64(windows[len(windows)-1]), "window-max-ms")
	b.Logf("%d MB source: shard %v, snapshot %v (medians of %d); lock windows %v ms", res.DataBytes>>20, times["shard"], times["snapshot"], b.N, windows)
}
