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
	"github.com/srbackup/srbackup/shared/pipeline"
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
