package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/iam"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/restore"
)

// TestDistributedMapBackup: the upload fan-out is the backup ASL's
// Distributed Map on the local stack. Its items are the plan's batch numbers
// read from the repository's items file; each child execution gets
// {Items, BatchInput: {job, planKey}} and runs its batches; the Map Run's
// children all succeeded, as many as the batches over perChild.
func TestDistributedMapBackup(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	rec := e.mustFinish("BACKUP DATABASE " + e.db + ` SNAPSHOT fanout TO repo PROPERTIES ("consistency" = "shard", "parallelism" = "2")`)
	runs, err := e.sfn.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: aws.String(rec.ExecutionARN)})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("map runs of %s: %v %v", rec.ExecutionARN, runs, err)
	}
	children, err := e.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	if err != nil || len(children.Executions) == 0 {
		t.Fatalf("children: %v %v", children, err)
	}
	batches := 0
	for _, c := range children.Executions {
		if c.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("child %s %s", aws.ToString(c.ExecutionArn), c.Status)
		}
		d, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: c.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		var in struct {
			Items      []int `json:"Items"`
			BatchInput struct {
				Job     job.Spec `json:"job"`
				PlanKey string   `json:"planKey"`
			} `json:"BatchInput"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &in); err != nil || len(in.Items) == 0 ||
			in.BatchInput.Job.JobID != rec.Spec.JobID || !strings.HasPrefix(in.BatchInput.PlanKey, "__plan_") {
			t.Errorf("child input %s (%v): want {Items, BatchInput: {job, planKey}}", aws.ToString(d.Input), err)
		}
		batches += len(in.Items)
	}
	if batches < 1 {
		t.Errorf("the children ran %d batches", batches)
	}
	// The largest state input or output of the job, parent and children
	// (the local server fails an execution over 256 KB; this is the margin).
	largest := 0
	for _, arn := range append([]*string{aws.String(rec.ExecutionARN)}, executionARNs(children.Executions)...) {
		p := sfn.NewGetExecutionHistoryPaginator(e.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: arn})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				if d := ev.StateEnteredEventDetails; d != nil {
					largest = max(largest, len(aws.ToString(d.Input)))
				}
				if d := ev.StateExitedEventDetails; d != nil {
					largest = max(largest, len(aws.ToString(d.Output)))
				}
			}
		}
	}
	t.Logf("%d shards in %d batches over %d child executions; largest state payload %d bytes", rec.ShardsTotal, batches, len(children.Executions), largest)
}

func executionARNs(list []sfntypes.ExecutionListItem) []*string {
	var out []*string
	for _, e := range list {
		out = append(out, e.ExecutionArn)
	}
	return out
}

// TestDistributedMapPointInTime: in point-in-time mode the Map has one
// item per worker and each worker is a child execution of its own, so all
// of them run at once beside the coordinator.
func TestDistributedMapPointInTime(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.mustFinish("BACKUP DATABASE " + e.db + ` SNAPSHOT pit TO repo PROPERTIES ("parallelism" = "3")`)
	children := e.mapChildren(rec.ExecutionARN)
	if len(children) != 3 {
		t.Fatalf("%d child executions, want one per worker (3)", len(children))
	}
	seen := map[int]bool{}
	for _, c := range children {
		d, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: c.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		var in struct{ Items []int }
		if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &in); err != nil || len(in.Items) != 1 || seen[in.Items[0]] {
			t.Errorf("child input %s: want one worker of its own", aws.ToString(d.Input))
			continue
		}
		seen[in.Items[0]] = true
	}
}

// TestDistributedMapNeedsItsGrants: without s3:GetObject on the items files
// the state machine's role cannot read its Map's items (the local S3
// enforces the role's policy, as AWS does): the job is cancelled with the
// reader's error, its lock released.
func TestDistributedMapNeedsItsGrants(t *testing.T) {
	e := newEnv(t, envOptions{policies: without(t, iam.StateMachineRole("backup"), "s3:GetObject")})
	r := e.run("BACKUP DATABASE " + e.db + ` SNAPSHOT unread TO repo PROPERTIES ("consistency" = "shard")`)
	if r.status != sfntypes.ExecutionStatusFailed || r.errName != "States.ItemReaderFailed" || !strings.Contains(r.cause, "AccessDenied") {
		t.Errorf("execution %s error %q cause %q, want States.ItemReaderFailed (AccessDenied)", r.status, r.errName, r.cause)
	}
	if r.rec.State != job.Cancelled {
		t.Errorf("job %s %s, want CANCELLED", r.rec.State, r.rec.Status)
	}
	if holder := e.lockHolder(e.db); holder != "" {
		t.Errorf("lock still held by %s", holder)
	}
}

// mapChildren lists the child executions of every Map Run of execution arn.
func (e *env) mapChildren(arn string) []sfntypes.ExecutionListItem {
	e.t.Helper()
	ctx := context.Background()
	runs, err := e.sfn.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		e.t.Fatalf("map runs of %s: %v", arn, err)
	}
	var out []sfntypes.ExecutionListItem
	for _, r := range runs.MapRuns {
		c, err := e.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: r.MapRunArn})
		if err != nil {
			e.t.Fatalf("children of %s: %v", aws.ToString(r.MapRunArn), err)
		}
		out = append(out, c.Executions...)
	}
	return out
}

// startRestore starts a console execution of the restore state machine
// restoring snapshot label of the env's database into target, and returns
// its ARN (the job id is the execution's name).
func (e *env) startRestore(label, target, props string) string {
	e.t.Helper()
	ts, err := e.repo.Timestamps(context.Background(), label)
	if err != nil || len(ts) != 1 {
		e.t.Fatalf("timestamps of %s: %v %v", label, ts, err)
	}
	e.t.Cleanup(func() { _ = e.srv.DropDatabase(context.Background(), target) })
	in, _ := json.Marshal(map[string]string{"sql": fmt.Sprintf(`RESTORE SNAPSHOT %s FROM repo DATABASE %s AS %s PROPERTIES ("backup_timestamp" = "%s"%s)`,
		label, e.db, target, ts[0], props)})
	out, err := e.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(e.st.StateMachineARNs["restore"]), Input: aws.String(string(in)),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

// TestDistributedMapRestore: RESTORE's load fan-out is the restore ASL's
// Distributed Map on the local stack, its items the plan's batches read
// from the work area in S3 (each child gets {Items: [batches], BatchInput:
// {job}}), and a child whose LoadBatch fails once with a TransientError
// retries it and the job finishes with every row once. Commit deleted the
// items file.
func TestDistributedMapRestore(t *testing.T) {
	var failed atomic.Int64
	e := newEnv(t, envOptions{wrap: func(st *localstack.Stack) {
		real := st.Lambda.Handler("restoreload")
		st.Lambda.RegisterHandler("restoreload", handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			out, err := real.Invoke(ctx, payload)
			if err == nil && failed.Add(1) == 1 {
				return nil, &TransientError{Message: "connection reset after the load"}
			}
			return out, err
		}))
	}})
	ctx := context.Background()
	e.mustFinish("BACKUP DATABASE " + e.db + ` SNAPSHOT rfan TO repo`)
	target := e.db + "_fan"
	arn := e.startRestore("rfan", target, `, "parallelism" = "2"`)
	if d := e.wait(arn); d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("restore: %s %s: %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	rec, err := e.store.Get(ctx, pipeline.ExecutionName(arn))
	if err != nil || rec.State != job.Finished {
		t.Fatalf("restore job %v %v", rec.State, err)
	}
	children := e.mapChildren(arn)
	if len(children) == 0 {
		t.Fatal("no child executions")
	}
	files, batches := 0, 0
	for _, c := range children {
		if c.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("child %s %s", aws.ToString(c.ExecutionArn), c.Status)
		}
		d, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: c.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		var in struct {
			Items      []restore.Batch `json:"Items"`
			BatchInput struct {
				Job job.Spec `json:"job"`
			} `json:"BatchInput"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &in); err != nil || len(in.Items) == 0 || in.BatchInput.Job.JobID != rec.Spec.JobID {
			t.Errorf("child input %s (%v): want {Items: [batches], BatchInput: {job}}", aws.ToString(d.Input), err)
		}
		batches += len(in.Items)
		for _, b := range in.Items {
			files += len(b.Files)
		}
	}
	if int64(files) != rec.ShardsTotal || files < 2 {
		t.Errorf("the children loaded %d files in %d batches, the job planned %d", files, batches, rec.ShardsTotal)
	}
	if failed.Load() <= int64(batches) {
		t.Errorf("restoreload ran %d times for %d batches: the failed one was not retried", failed.Load(), batches)
	}
	if left := workFiles(t, e.s3, e.st.Bucket, rec.Spec.JobID); len(left) != 0 {
		t.Errorf("work files left after FINISHED: %v", left)
	}
	re := &restoreEnv{apiEnv: &apiEnv{t: t}, pool: e.pool()}
	sameMap(t, "checksum", re.checksums(e.db), re.checksums(target))
	t.Logf("%d files in %d batches over %d child executions", files, batches, len(children))
}

// TestDistributedMapRestoreNeedsItsGrant: without s3:GetObject on the work
// area's items files the restore state machine's role cannot read its
// Map's items: the job is CANCELLED with the reader's error, the database
// it created is gone, its lock released and its items file deleted.
func TestDistributedMapRestoreNeedsItsGrant(t *testing.T) {
	e := newEnv(t, envOptions{policies: without(t, iam.StateMachineRole("restore"), "s3:GetObject")})
	e.mustFinish("BACKUP DATABASE " + e.db + ` SNAPSHOT runread TO repo`)
	target := e.db + "_unread"
	arn := e.startRestore("runread", target, "")
	d := e.wait(arn)
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "States.ItemReaderFailed" || !strings.Contains(aws.ToString(d.Cause), "AccessDenied") {
		t.Errorf("execution %s error %q cause %q, want States.ItemReaderFailed (AccessDenied)", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	jobID := pipeline.ExecutionName(arn)
	if rec, err := e.store.Get(context.Background(), jobID); err != nil || rec.State != job.Cancelled {
		t.Errorf("job %v %v, want CANCELLED", rec.State, err)
	}
	if left := settledWorkFiles(t, e.s3, e.st.Bucket, jobID); len(left) != 0 {
		t.Errorf("work files left after CANCELLED: %v", left)
	}
	if n := e.queryStrings("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", target); len(n) != 0 {
		t.Errorf("the database the cancelled restore created is still there")
	}
	if holder := e.lockHolder(target); holder != "" {
		t.Errorf("lock still held by %s", holder)
	}
}
