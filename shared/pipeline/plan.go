package pipeline

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
)

// Batching bounds. A batch is what one UploadBatch Lambda invocation reads:
// it must finish well within the 15-minute Lambda limit, and the number of
// batches bounds the Map's history events (about 7 per iteration; an
// execution allows 25,000) and the Step Functions payload (the batch list
// holds only numbers).
const (
	// maxBatchSourceBytes keeps one invocation to a few minutes at the
	// measured single-worker throughput.
	maxBatchSourceBytes = 2 << 30
	// minBatchSourceBytes: below this a batch is mostly invocation overhead
	// (a Lambda call, a plan read), so small backups stay in few batches.
	minBatchSourceBytes = 32 << 20
	// maxBatchShards bounds the per-invocation overhead of many tiny shards.
	maxBatchShards = 256
	// maxBatches bounds the items file and the per-batch overhead; the
	// Distributed Map's child executions each have their own history, so
	// it is not bound by the 25,000-event limit of one execution.
	maxBatches = 20000
)

// Plan is a job's shard plan, written to S3 by SnapshotShard and read by
// UploadBatch and Finalize; only its key and batch numbers travel in the
// state machine payload.
type Plan struct {
	JobID    string `json:"job_id"`
	Database string `json:"database"`
	Version  string `json:"source_version"`
	// Dialect is the source's (source.Features); empty in plans written
	// before it existed, which are MySQL's.
	Dialect string `json:"source_dialect,omitempty"`
	// Time is when the object list and the shards were frozen.
	Time    time.Time    `json:"time"`
	Objects []PlanObject `json:"objects"`
	Shards  []PlanShard  `json:"shards"`
	// Batches lists the shard numbers of each batch. In "snapshot"
	// consistency a batch is one worker's share: everything it reads in its
	// one transaction.
	Batches [][]int `json:"batches"`
	// Consistency is the job's mode ("snapshot" or "shard"); empty in
	// plans written before it existed, which are "shard".
	Consistency string `json:"consistency,omitempty"`
	// Triggers of the job's tables; Procedures and Events of a
	// whole-database job.
	Triggers   []source.Trigger `json:"triggers,omitempty"`
	Procedures []source.Routine `json:"procedures,omitempty"`
	Events     []source.Routine `json:"events,omitempty"`
}

// PointInTime reports whether the plan is read at one point in time.
func (p *Plan) PointInTime() bool { return p.Consistency == job.ConsistencySnapshot }

// PlanObject is one backed-up object with what __meta needs about it.
type PlanObject struct {
	Kind       string             `json:"kind"`
	Name       string             `json:"name"`
	DDL        source.DDL         `json:"ddl"`
	Columns    []source.Column    `json:"columns,omitempty"`
	Partitions []source.Partition `json:"partitions,omitempty"`
	Returns    string             `json:"returns,omitempty"` // functions
}

// maxWarnings bounds the job's warnings (they live in its record).
const maxWarnings = 20

// warnings names the tables read whole because they have no key to split
// them on: one shard each per partition, whatever their size, so one
// worker reads each alone.
func (plan *Plan) warnings() []string {
	var out []string
	seen := map[string]bool{}
	more := 0
	for _, s := range plan.Shards {
		sh := s.Shard
		if sh.Unsplit == "" || seen[sh.Table] {
			continue
		}
		seen[sh.Table] = true
		if len(out) == maxWarnings {
			more++
			continue
		}
		out = append(out, fmt.Sprintf("table %s.%s is read whole, one shard per partition: %s", sh.Database, sh.Table, sh.Unsplit))
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("%d more tables are read whole for the same reason", more))
	}
	return out
}

// PlanShard is one shard with its global number.
type PlanShard struct {
	N     int          `json:"n"`
	Shard source.Shard `json:"shard"`
}

// PlanRef is what travels in the state machine payload: its size does not
// grow with the job (the batch numbers are in the items file, in S3).
type PlanRef struct {
	Key string `json:"key"`
	// Items locates the Distributed Map's items in S3: a JSON array of the
	// batch numbers (ItemReader, InputType JSON), and PerChild is how many
	// of them each child execution takes (ItemBatcher).
	Items    MapItems `json:"items"`
	Batches  int      `json:"batches"`
	PerChild int      `json:"perChild"`
	Shards   int      `json:"shards"`
	Bytes    int64    `json:"bytes"`
	// Consistency chooses the state machine's path: "snapshot" runs the
	// coordinator beside the upload workers, "shard" the upload Map alone.
	Consistency string `json:"consistency"`
}

// MapItems is the S3 object a Distributed Map reads its items from.
type MapItems struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// maxPerChild bounds the upload batches one child execution runs, one
// after another: each is at most a few minutes, and a child is a Standard
// execution (no 5-minute ceiling), but fewer per child spread a job's
// batches better over its workers.
const maxPerChild = 8

// perChild is how many batches each Distributed Map child runs: in
// point-in-time mode exactly one (every worker runs at once, each in its own
// child), else enough that parallelism children each get a few rounds and a
// job of many batches does not start thousands of executions.
func perChild(batches, parallelism int, pointInTime bool) int {
	if pointInTime {
		return 1
	}
	rounds := max(parallelism, 1) * batchesPerWorker
	return min(max(1, batches/rounds), maxPerChild)
}

// PerChild is perChild for a Map of batches that need not all run at
// once: RESTORE's load Map groups its batches per child by the same rule.
func PerChild(batches, parallelism int) int { return perChild(batches, parallelism, false) }

// batchesPerWorker is how many batches each of the Map's parallel workers
// gets, at least, when there are enough shards: more batches than workers
// balance shards of uneven size.
const batchesPerWorker = 4

// batchShards groups consecutive shards into batches that respect the
// bounds above and, when there is enough data, give each of the
// parallelism workers several batches.
// Beyond maxBatches the per-batch bounds give way (each batch grows).
func batchShards(shards []PlanShard, parallelism int) [][]int {
	if len(shards) == 0 {
		return nil
	}
	var total int64
	for _, s := range shards {
		total += max(s.Shard.EstBytes, 1)
	}
	target := int64(max(parallelism, 1) * batchesPerWorker)
	byteLimit := min(max(total/target+1, minBatchSourceBytes), maxBatchSourceBytes)
	byteLimit = max(byteLimit, total/maxBatches+1)
	countLimit := max(maxBatchShards, len(shards)/maxBatches+1)
	var out [][]int
	var cur []int
	var curBytes int64
	for _, s := range shards {
		b := max(s.Shard.EstBytes, 1)
		if len(cur) > 0 && (len(cur) >= countLimit || curBytes+b > byteLimit) {
			out = append(out, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, s.N)
		curBytes += b
	}
	return append(out, cur)
}

// workerShares splits the shards of a point-in-time job among at most
// parallelism workers, one batch each: every worker must run at the same
// time (each opens its transaction in the one window) and reads its whole
// share in that transaction. Shards go largest first to the least-loaded
// worker, then each share is in shard order. No shards (a backup of views
// and functions only) means no workers: the coordinator still records the
// point in time.
func workerShares(shards []PlanShard, parallelism int) [][]int {
	if len(shards) == 0 {
		return [][]int{}
	}
	workers := max(1, min(parallelism, len(shards)))
	order := slices.Clone(shards)
	slices.SortStableFunc(order, func(a, b PlanShard) int {
		return cmp.Compare(max(b.Shard.EstBytes, 1), max(a.Shard.EstBytes, 1))
	})
	out := make([][]int, workers)
	load := make([]int64, workers)
	for _, s := range order {
		w := 0
		for i := range load {
			if load[i] < load[w] {
				w = i
			}
		}
		out[w] = append(out[w], s.N)
		load[w] += max(s.Shard.EstBytes, 1)
	}
	for i := range out {
		slices.Sort(out[i])
		if out[i] == nil {
			out[i] = []int{}
		}
	}
	return out
}

// shareBytes is the estimated source bytes of the largest worker share.
func shareBytes(plan *Plan) int64 {
	var most int64
	for _, b := range plan.Batches {
		var n int64
		for _, i := range b {
			n += plan.Shards[i].Shard.EstBytes
		}
		most = max(most, n)
	}
	return most
}
