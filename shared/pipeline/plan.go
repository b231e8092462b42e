package pipeline

import (
	"time"

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
	// maxBatches keeps an inline Map well under the execution history limit.
	maxBatches = 2000
)

// Plan is a job's shard plan, written to S3 by SnapshotShard and read by
// UploadBatch and Finalize; only its key and batch numbers travel in the
// state machine payload.
type Plan struct {
	JobID    string `json:"job_id"`
	Database string `json:"database"`
	Version  string `json:"source_version"`
	// Time is when the object list and the shards were frozen.
	Time    time.Time    `json:"time"`
	Objects []PlanObject `json:"objects"`
	Shards  []PlanShard  `json:"shards"`
	// Batches lists the shard numbers of each batch.
	Batches [][]int `json:"batches"`
}

// PlanObject is one backed-up object with what __meta needs about it.
type PlanObject struct {
	Kind       string             `json:"kind"`
	Name       string             `json:"name"`
	DDL        source.DDL         `json:"ddl"`
	Columns    []source.Column    `json:"columns,omitempty"`
	Partitions []source.Partition `json:"partitions,omitempty"`
	Returns    string             `json:"returns,omitempty"` // functions
}

// PlanShard is one shard with its global number.
type PlanShard struct {
	N     int          `json:"n"`
	Shard source.Shard `json:"shard"`
}

// PlanRef is what travels in the state machine payload.
type PlanRef struct {
	Key     string `json:"key"`
	Batches []int  `json:"batches"`
	Shards  int    `json:"shards"`
	Bytes   int64  `json:"bytes"`
}

// batchesPerWorker is how many batches each of the Map's parallel workers
// gets, at least, when there are enough shards: more batches than workers
// balance shards of uneven size.
const batchesPerWorker = 4

// batchShards groups consecutive shards into batches that respect the
// bounds above and, when there is enough data, give each of the
// parallelism workers several batches.
// Beyond maxBatches the per-batch bounds give way (each batch grows), since
// an inline Map cannot hold more iterations; databases that large need a
// Distributed Map (see the README).
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
