package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
)

func shardsOf(sizes ...int64) []PlanShard {
	out := make([]PlanShard, len(sizes))
	for i, b := range sizes {
		out[i] = PlanShard{N: i, Shard: source.Shard{EstBytes: b}}
	}
	return out
}

// TestWorkerShares: one share per worker, at most parallelism, every shard
// in exactly one share, balanced by size, each share in shard order.
func TestWorkerShares(t *testing.T) {
	shards := shardsOf(100, 10, 10, 10, 10, 90, 10, 10, 10, 10, 10, 10)
	shares := workerShares(shards, 4)
	if len(shares) != 4 {
		t.Fatalf("%d shares, want 4", len(shares))
	}
	var all []int
	for _, sh := range shares {
		if !slices.IsSorted(sh) {
			t.Errorf("share %v is not in shard order", sh)
		}
		var b int64
		for _, n := range sh {
			b += shards[n].Shard.EstBytes
		}
		if b > 100 {
			t.Errorf("share %v holds %d bytes; the largest shard alone is 100", sh, b)
		}
		all = append(all, sh...)
	}
	slices.Sort(all)
	if len(all) != len(shards) || all[0] != 0 || all[len(all)-1] != len(shards)-1 {
		t.Errorf("shards in shares %v", all)
	}
	if got := workerShares(shardsOf(5, 5), 8); len(got) != 2 {
		t.Errorf("2 shards, parallelism 8: %d workers, want 2", len(got))
	}
	if got := workerShares(nil, 4); len(got) != 0 {
		t.Errorf("no shards: %d workers, want none", len(got))
	}
}

// TestShareLimit: a share too large for one Lambda run is refused with the
// parallelism needed.
func TestShareLimit(t *testing.T) {
	p := &Pipeline{Source: struct {
		source.Source
		source.PointInTime
	}{}, PointInTime: PointInTimeConfig{WorkerBytesPerSecond: 1, ShareTime: 100_000_000_000}}
	spec := job.Spec{JobID: "j", Options: job.Options{Parallelism: 2, Consistency: job.ConsistencySnapshot}}
	plan := &Plan{Shards: shardsOf(60, 60, 60, 60, 60), Consistency: job.ConsistencySnapshot} // limit: 100 s x 1 B/s
	err := p.planPointInTime(t.Context(), spec, plan)
	if err == nil || !strings.Contains(err.Error(), `"parallelism" = "3" or more`) {
		t.Fatalf("err = %v, want the parallelism needed", err)
	}
	plan.Shards = shardsOf(150)
	if err := p.planPointInTime(t.Context(), spec, plan); err == nil || !strings.Contains(err.Error(), "lower shard_size") {
		t.Fatalf("err = %v, want a shard too large", err)
	}
}
