package pipeline

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/srbackup/srbackup/shared/source"
)

// TestMapPayloadBudget: at the 10,000-table size (one shard per table, and
// the most batches a plan may have) what the Distributed Map carries stays
// far under Step Functions' 256 KB: the PlanRef in every state's payload
// does not grow with the job (the batch numbers are in S3), a child's Items
// are at most maxPerChild numbers, and the Map's result (children end with
// OutputPath null: {} each) fits even at 20,000 children.
func TestMapPayloadBudget(t *testing.T) {
	const payloadLimit = 256 << 10
	for _, tc := range []struct {
		shards, parallelism int
		pointInTime         bool
	}{{10000, 4, false}, {10000, 64, false}, {10000, 500, true}, {600000, 16, false}} {
		shards := make([]PlanShard, tc.shards)
		for i := range shards {
			shards[i] = PlanShard{N: i, Shard: source.Shard{Database: "db", Table: fmt.Sprintf("t%05d", i), EstBytes: 1 << 20}}
		}
		batches := batchShards(shards, tc.parallelism)
		if tc.pointInTime {
			batches = workerShares(shards, tc.parallelism)
		}
		if len(batches) > maxBatches {
			t.Errorf("%d shards: %d batches, over %d", tc.shards, len(batches), maxBatches)
		}
		per := perChild(len(batches), tc.parallelism, tc.pointInTime)
		if per < 1 || per > maxPerChild || (tc.pointInTime && per != 1) {
			t.Errorf("%+v: %d batches per child", tc, per)
		}
		ref := PlanRef{Key: planFile("0190d1c2-7a7b-7cde-8f00-123456789abc"), Items: MapItems{Bucket: "a-bucket-name-of-63-characters-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			Key: "some/prefix/__srbackup_repository_repo/__ss_label/" + itemsFile("0190d1c2-7a7b-7cde-8f00-123456789abc")},
			Batches: len(batches), PerChild: per, Shards: tc.shards, Bytes: 1 << 50, Consistency: "snapshot"}
		b, _ := json.Marshal(ref)
		if len(b) > 1024 {
			t.Errorf("PlanRef is %d bytes: it must not grow with the job", len(b))
		}
		items := make([]int, per)
		for i := range items {
			items[i] = len(batches) - 1 - i
		}
		child, _ := json.Marshal(map[string]any{"Items": items})
		children := (len(batches) + per - 1) / per
		result := 3 * children // "{}," per child
		if len(child) > 1024 || result > payloadLimit {
			t.Errorf("%+v: a child's Items are %d bytes, the Map's result %d bytes", tc, len(child), result)
		}
		t.Logf("%d shards, parallelism %d: %d batches, %d per child, %d children; PlanRef %d B, Items %d B, Map result %d B",
			tc.shards, tc.parallelism, len(batches), per, children, len(b), len(child), result)
	}
}
