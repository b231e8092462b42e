package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack/iam"
	"github.com/srbackup/srbackup/shared/job"
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
	p, err := iam.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	p = p.Clone()
	if !p.Remove(iam.StateMachineRole("backup"), "s3:GetObject") {
		t.Fatal("the backup state machine's role has no s3:GetObject to take away")
	}
	e := newEnv(t, envOptions{policies: p})
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
