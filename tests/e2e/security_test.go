package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
)

// Tests of issue 12 §2's findings that need the whole stack.

// TestSameJobRunTwice: a second execution given a running job's input (the
// console's "New execution" copies it, jobId included) fails at Lock; its
// cleanup leaves the job alone, and the job finishes as if nothing happened.
func TestSameJobRunTwice(t *testing.T) {
	secondDone := make(chan struct{})
	e := newEnv(t, envOptions{wrap: func(st *localstack.Stack) {
		h := st.Lambda.Handler("upload")
		st.Lambda.RegisterHandler("upload", handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			// The first job uploads only once the second execution ended.
			select {
			case <-secondDone:
			case <-time.After(90 * time.Second):
			}
			return h.Invoke(ctx, payload)
		}))
	}})
	sql := "BACKUP DATABASE " + e.db + " SNAPSHOT twice TO repo ON (TABLE customers)"
	first := e.start(sql)
	id := localstackJobID(first)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(25 * time.Millisecond) {
		if rec, err := e.store.Get(context.Background(), id); err == nil && rec.State != job.Pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first execution never got past Lock")
		}
	}
	in, _ := json.Marshal(pipeline.ExecutionInput{SQL: sql, JobID: id})
	d := e.wait(e.startInput(string(in)))
	close(secondDone)
	if d.Status != sfntypes.ExecutionStatusFailed || !strings.Contains(aws.ToString(d.Cause), "is run by another execution") {
		t.Errorf("second execution %s: %s", d.Status, aws.ToString(d.Cause))
	}
	if d := e.wait(first); d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("first execution %s: %s", d.Status, aws.ToString(d.Cause))
	}
	rec, err := e.store.Get(context.Background(), id)
	if err != nil || rec.State != job.Finished || rec.ExecutionARN != first {
		t.Fatalf("job %s %s run by %s (%v); want FINISHED by %s", rec.State, rec.Status, rec.ExecutionARN, err, first)
	}
	e.snapshot("twice")
}

// TestRepositoryPinned: a repository dropped and created again under the
// same name while a job runs does not redirect the job: the next step fails
// it, nothing is written to the new location, and cleanup removes the
// job's files where it was locked.
func TestRepositoryPinned(t *testing.T) {
	swapped := make(chan struct{})
	e := newEnv(t, envOptions{wrap: func(st *localstack.Stack) {
		h := st.Lambda.Handler("upload")
		st.Lambda.RegisterHandler("upload", handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			select {
			case <-swapped:
			case <-time.After(90 * time.Second):
			}
			return h.Invoke(ctx, payload)
		}))
	}})
	arn := e.start("BACKUP DATABASE " + e.db + " SNAPSHOT pinned TO repo ON (TABLE customers)")
	id := localstackJobID(arn)
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(25 * time.Millisecond) {
		if rec, err := e.store.Get(ctx, id); err == nil && rec.State == job.Uploading {
			if rec.Spec.RepositoryLocation != "s3://"+e.st.Bucket+"/backups" || rec.Spec.RepositoryID == 0 {
				t.Fatalf("job pins %d at %q", rec.Spec.RepositoryID, rec.Spec.RepositoryLocation)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job never reached UPLOADING")
		}
	}
	if err := e.store.DeleteRepository(ctx, "repo"); err != nil {
		t.Fatal(err)
	}
	elsewhere := "s3://" + e.st.Bucket + "/elsewhere"
	if _, err := e.store.PutRepository(ctx, jobstore.Repository{Name: "repo", Location: elsewhere}); err != nil {
		t.Fatal(err)
	}
	close(swapped)
	d := e.wait(arn)
	rec, _ := e.store.Get(ctx, id)
	e.mustCancel(t, failedRun{status: d.Status, errName: aws.ToString(d.Error), cause: aws.ToString(d.Cause), rec: rec}, "pinned", rec.Status.String())
	if !strings.Contains(rec.Status.String(), "repository repo was dropped and created again") {
		t.Errorf("status %s; want the repository change named", rec.Status)
	}
	loc, _ := repository.ParseLocation(elsewhere)
	moved, err := repository.New(e.s3, "repo", loc)
	if err != nil {
		t.Fatal(err)
	}
	if files := e.snapshotFiles(moved, "pinned"); len(files) != 0 {
		t.Errorf("files written to the new location: %v", files)
	}
}

// TestPlanIntegrity: a shard plan replaced in S3 (here to read another
// database's table) is refused by the upload that reads it, and the job
// fails without reading anything.
func TestPlanIntegrity(t *testing.T) {
	var e *env
	e = newEnv(t, envOptions{wrap: func(st *localstack.Stack) {
		h := st.Lambda.Handler("upload")
		st.Lambda.RegisterHandler("upload", handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			var ev pipeline.BatchEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, err
			}
			var plan pipeline.Plan
			if _, err := e.repo.GetJSON(ctx, ev.Job.Label, ev.PlanKey, &plan); err != nil {
				return nil, err
			}
			if plan.Shards[0].Shard.Database != "mysql" {
				plan.Shards[0].Shard.Database, plan.Shards[0].Shard.Table = "mysql", "user"
				if _, err := e.repo.PutJSON(ctx, ev.Job.Label, ev.PlanKey, plan); err != nil {
					return nil, err
				}
			}
			return h.Invoke(ctx, payload)
		}))
	}})
	r := e.run("BACKUP DATABASE " + e.db + " SNAPSHOT tampered TO repo ON (TABLE customers)")
	e.mustCancel(t, r, "tampered", r.rec.Status.String())
	if !strings.Contains(r.rec.Status.String(), "it is not the plan written for the job") || r.rec.PlanSHA256 == "" {
		t.Errorf("status %s (plan SHA-256 %q); want the replaced plan refused", r.rec.Status, r.rec.PlanSHA256)
	}
	if r.rec.ShardsDone != 0 {
		t.Errorf("%d shards uploaded from a replaced plan", r.rec.ShardsDone)
	}
}
