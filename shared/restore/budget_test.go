package restore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/workarea"
)

// maxPayloadBytes is Step Functions' limit on a state's input or output.
const maxPayloadBytes = 256 << 10

// bigRestoreSpec is a RESTORE of every object of a snapshot of n tables
// with names of MariaDB's longest (64 characters), its list deferred.
func bigRestoreSpec(t *testing.T, n int) job.Spec {
	t.Helper()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	spec := job.Spec{
		Type: job.TypeRestore, JobID: "0190d1c2-7a7b-7cde-8f00-123456789abc", Database: "big2", Label: "s", Repository: "repo",
		Options:   job.Options{Type: "FULL", TimeoutSeconds: 86400, Parallelism: 1000},
		SQL:       `RESTORE SNAPSHOT s FROM repo DATABASE big AS big2 PROPERTIES ("backup_timestamp" = "2026-12-01-09-20-38-945", "parallelism" = "1000")`,
		CreatedAt: now, Deadline: now.Add(24 * time.Hour),
		Restore: &job.RestoreSpec{SnapshotDatabase: "big", Timestamp: "2026-12-01-09-20-38-945", WholeSnapshot: true, ReplicationNum: 3},
	}
	for i := range n {
		spec.Objects = append(spec.Objects, job.Object{Kind: job.KindTable, Name: fmt.Sprintf("t%063d", i)})
	}
	if err := spec.DeferObjects(0); err != nil {
		t.Fatal(err)
	}
	if !spec.Unlisted() {
		t.Fatalf("a RESTORE of %d tables lists them in its spec", n)
	}
	return spec
}

// files is n data files of the longest keys S3 allows (1,024 bytes), each
// into a shadow table of the job.
func files(spec job.Spec, n int) []FileTask {
	out := make([]FileTask, n)
	for i := range out {
		key := fmt.Sprintf("__ss_content/big/t%063d/p/%d-%s.parquet", i, i, spec.JobID)
		out[i] = FileTask{Into: shadowName(spec.JobID, i) + "_0", Key: key + strings.Repeat("k", 1024-len(key)), Bytes: 1 << 40, Rows: 1 << 40, SHA256: strings.Repeat("f", 64)}
	}
	return out
}

// TestPayloadBudgetAt10000Tables: at 10,000 tables (and at 200,000 files)
// what RESTORE carries in Step Functions payloads stays far under 256 KB:
// the spec keeps the count of its objects, only a PlanRef travels between
// states (the batches are the Map's items, in S3), and a child execution's
// input — perChild batches and the spec — is bounded by maxChildItemsBytes.
func TestPayloadBudgetAt10000Tables(t *testing.T) {
	spec := bigRestoreSpec(t, 10_000)
	arn := "arn:aws:states:us-east-1:123456789012:execution:srbackup-restore:" + spec.JobID
	for _, size := range []struct{ n, parallelism int }{{10_000, 4}, {10_000, 1000}, {200_000, 4}} {
		n := size.n
		spec.Options.Parallelism = size.parallelism
		bs := batches(files(spec, n))
		per, err := perChild(bs, spec.Options.Parallelism)
		if err != nil {
			t.Fatal(err)
		}
		key, err := workarea.RestoreItemsKey(spec.JobID)
		if err != nil {
			t.Fatal(err)
		}
		ref := &PlanRef{Items: pipeline.MapItems{Bucket: strings.Repeat("b", 63), Key: key}, Batches: len(bs), PerChild: per, Files: int64(n), Bytes: 1 << 60}
		child := map[string]any{"Items": bs[:per], "BatchInput": map[string]any{"job": spec}}
		for name, tc := range map[string]struct {
			payload any
			limit   int
		}{
			"Prepare output":           {State{Job: spec, ExecutionARN: arn, Plan: ref}, maxPayloadBytes / 32},
			"a child's input":          {child, maxPayloadBytes * 3 / 4},
			"LoadBatch input":          {LoadEvent{Job: spec, Batch: bs[0]}, maxPayloadBytes / 2},
			"Commit output (FINISHED)": {State{Job: spec}, maxPayloadBytes / 32},
		} {
			b, err := json.Marshal(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d files, parallelism %d, %d batches, %d per child: %s %d bytes", n, size.parallelism, len(bs), per, name, len(b))
			if len(b) > tc.limit {
				t.Errorf("%d files: %s is %d bytes, over %d", n, name, len(b), tc.limit)
			}
		}
		// The Map's result: each child ends with OutputPath null, {}.
		if children := (len(bs) + per - 1) / per; 3*children > maxPayloadBytes {
			t.Errorf("%d files: %d children, a Map result of %d bytes", n, children, 3*children)
		}
	}
}

// TestJournalPlanAt10000Tables: the plan journaled in the target (a
// LONGTEXT row, read by Commit and Cleanup) of 10,000 tables swapped in is
// a few MB, well under MariaDB's default max_allowed_packet (16 MB).
func TestJournalPlanAt10000Tables(t *testing.T) {
	spec := bigRestoreSpec(t, 10_000)
	plan := Plan{Files: 10_000, Bytes: 1 << 40}
	for i := range 10_000 {
		name := fmt.Sprintf("t%063d", i)
		plan.Tables = append(plan.Tables, TablePlan{Name: name, Target: name, Mode: ModeSwap, Shadow: shadowName(spec.JobID, i), Old: oldName(spec.JobID, i),
			UpdateTime: "2026-12-01 09:00:00", OldTriggers: []string{"trg_" + name}})
	}
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("journaled plan of 10,000 swapped tables: %d bytes", len(b))
	if len(b) > 16<<20/4 {
		t.Errorf("journaled plan of 10,000 tables: %d bytes", len(b))
	}
}
