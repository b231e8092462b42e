package jobstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// TestReportReading: progress moves while a shard is read, and a byte is
// never counted twice (issue 11 §2). A report SETs a worker's counts of its
// piece so far (a repeat or a stale report changes nothing, a new piece
// replaces the old); recording adds the final counts and empties the
// worker's slot in one transaction.
func TestReportReading(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	spec := newSpec(t, "shop", "repo", "s")
	mustLock(t, e, spec)
	for _, st := range []job.State{job.Snapshoting, job.UploadSnapshot} {
		if _, err := e.store.Advance(ctx, spec.JobID, st, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.SetBackupPlan(ctx, spec.JobID, 2, 2000, 20, nil); err != nil {
		t.Fatal(err)
	}
	// Worker w reads shard w.
	report := func(shard int, bytes, rows int64, want bool) {
		t.Helper()
		if applied, err := e.store.ReportReading(ctx, spec.JobID, shard, shard, 0, bytes, rows); err != nil || applied != want {
			t.Fatalf("report shard %d %d bytes: applied %t, %v; want %t", shard, bytes, applied, err, want)
		}
	}
	progress := func(bytes, rows int64) {
		t.Helper()
		rec, err := e.store.Get(ctx, spec.JobID)
		if err != nil || rec.BytesDone != bytes || rec.RowsDone != rows {
			t.Fatalf("progress %d bytes %d rows (%v), want %d and %d", rec.BytesDone, rec.RowsDone, err, bytes, rows)
		}
	}
	report(0, 100, 1, false) // only while UPLOADING
	if _, err := e.store.Advance(ctx, spec.JobID, job.Uploading, time.Now()); err != nil {
		t.Fatal(err)
	}
	report(0, 400, 4, true)
	progress(400, 4)
	report(0, 400, 4, false) // a retried request
	report(0, 300, 3, false) // overtaken by a later report
	progress(400, 4)
	report(1, 100, 1, true)
	progress(500, 5)

	res := func(n int) job.ShardResult {
		return job.ShardResult{Shard: n, Object: "t1", Partition: "t1", Key: fmt.Sprintf("__ss_content/shop/t1/t1/%06d.parquet", n),
			Rows: 10, Bytes: 100, SHA256: strings.Repeat(fmt.Sprint(n), 64), SourceBytes: 1000, EstBytes: 1000, EstRows: 10}
	}
	// Recording shard 0 replaces its 400 bytes read with its 1000.
	if err := e.store.RecordWorkerShards(ctx, spec.JobID, 0, []job.ShardResult{res(0)}); err != nil {
		t.Fatal(err)
	}
	progress(1100, 11)
	if err := e.store.RecordWorkerShards(ctx, spec.JobID, 0, []job.ShardResult{res(0)}); err != nil { // a retried batch
		t.Fatal(err)
	}
	progress(1100, 11)
	// Worker 1 moves on to another piece: its slot shows the new one,
	// though it holds fewer bytes.
	report(1, 900, 9, true)
	progress(1900, 19)
	if applied, err := e.store.ReportReading(ctx, spec.JobID, 1, 1, 1, 50, 1); err != nil || !applied {
		t.Fatalf("report of the next piece: %t %v", applied, err)
	}
	progress(1050, 11)
	if err := e.store.RecordWorkerShards(ctx, spec.JobID, 1, []job.ShardResult{res(1)}); err != nil {
		t.Fatal(err)
	}
	progress(2000, 20)
	// A slot emptied by a recording counts again from its next report.
	report(0, 10, 1, true)
	progress(2010, 21)
	item, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "JOB#" + spec.JobID}, "sk": &types.AttributeValueMemberS{Value: "JOB"}}})
	if err != nil || len(item.Item) == 0 {
		t.Fatalf("job item: %v", err)
	}
	slots := 0
	for name := range item.Item {
		if strings.HasPrefix(name, "readB_") {
			slots++
		}
	}
	if slots != 2 {
		t.Errorf("%d reading slots, want one per worker", slots)
	}
	// Beyond UPLOADING a report changes nothing and none is shown.
	if _, err := e.store.Advance(ctx, spec.JobID, job.SaveMeta, time.Now()); err != nil {
		t.Fatal(err)
	}
	report(1, 5000, 50, false)
	progress(2000, 20)
}
