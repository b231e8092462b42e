package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
)

// maxPayloadBytes is Step Functions' limit on a state's input or output.
const maxPayloadBytes = 256 << 10

// manyTables is a catalog of n tables with names of MariaDB's longest
// (64 characters), one partition each.
func manyTables(n int) *fakeCatalog {
	cat := &fakeCatalog{dbs: map[string]bool{"big": true}, parts: map[string][]source.Partition{}}
	for i := range n {
		name := fmt.Sprintf("t%063d", i)
		cat.tables = append(cat.tables, source.Table{Name: name})
		cat.parts[name] = []source.Partition{{Name: name, Method: "NONE"}}
	}
	return cat
}

// TestPayloadBudgetAt10000Tables: a whole-database BACKUP of 10,000 tables
// keeps every Step Functions payload far under 256 KB, at the most batches
// a plan has: the spec leaves its object list to the plan in S3, and only
// batch numbers travel. A listed ON of that size is refused at once.
func TestPayloadBudgetAt10000Tables(t *testing.T) {
	e := newEnv(t, nil)
	cat := manyTables(10_000)
	spec, err := e.prepare(cat, `BACKUP DATABASE big SNAPSHOT s TO repo`)
	if err != nil {
		t.Fatal(err)
	}
	if spec.ObjectCount != 10_000 || len(spec.Objects) != 0 {
		t.Fatalf("spec: %d objects listed, count %d", len(spec.Objects), spec.ObjectCount)
	}
	// The Distributed Map reads the batch numbers from S3: the reference
	// carries their count.
	ref := &PlanRef{Key: planFile(spec.JobID), Batches: maxBatches, Shards: 10_000 * 9999, Bytes: 1 << 50, Consistency: job.ConsistencyShard}
	arn := "arn:aws:states:us-east-1:123456789012:execution:srbackup-backup:" + spec.JobID
	for name, payload := range map[string]any{
		"Parse/Lock output":    JobState{Job: spec, ExecutionARN: arn},
		"SnapshotShard output": JobState{Job: spec, ExecutionARN: arn, Plan: ref},
		"UploadBatch input":    BatchEvent{Job: spec, PlanKey: ref.Key, Batch: maxBatches - 1},
	} {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, len(b))
		if len(b) > maxPayloadBytes/8 {
			t.Errorf("%s: %d bytes, over an eighth of the %d-byte payload limit", name, len(b), maxPayloadBytes)
		}
	}
	var names []string
	for _, tb := range cat.tables[:3000] {
		names = append(names, "TABLE "+tb.Name)
	}
	_, err = e.prepare(cat, `BACKUP DATABASE big SNAPSHOT s TO repo ON (`+strings.Join(names, ", ")+`)`)
	var ae *job.AnalysisError
	if !errors.As(err, &ae) || !strings.Contains(ae.Detail, "3000 objects are too many for one job") {
		t.Errorf("a 3,000-table ON list: %v", err)
	}
}

// TestCheckPlanOfAnUnlistedDatabase: the plan of a whole database listed at
// planning may read any table it lists, and no other.
func TestCheckPlanOfAnUnlistedDatabase(t *testing.T) {
	spec := job.Spec{JobID: "j", Database: "big", WholeDatabase: true, ObjectCount: 2}
	plan := &Plan{JobID: "j", Database: "big", Objects: []PlanObject{{Kind: "TABLE", Name: "a"}, {Kind: "VIEW", Name: "v"}},
		Shards: []PlanShard{{N: 0, Shard: source.Shard{Database: "big", Table: "a"}}}}
	if err := checkPlan(spec, plan); err != nil {
		t.Fatal(err)
	}
	plan.Shards = append(plan.Shards, PlanShard{N: 1, Shard: source.Shard{Database: "big", Table: "v"}})
	if err := checkPlan(spec, plan); err == nil {
		t.Error("a shard of a view passed")
	}
	plan.Objects, plan.Shards = nil, nil
	if err := checkPlan(spec, plan); err == nil {
		t.Error("a plan without objects passed")
	}
}
