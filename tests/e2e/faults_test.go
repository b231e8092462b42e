package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
)

// TransientError is a retryable failure: the state machine retries errors
// whose Go type is named TransientError.
type TransientError struct{ Message string }

func (e *TransientError) Error() string { return e.Message }

// PermanentError is a failure no Retry matches.
type PermanentError struct{ Message string }

func (e *PermanentError) Error() string { return e.Message }

// wrapUpload replaces the upload function with wrapper(real).
func wrapUpload(wrapper func(real lambda.Handler) handlerFunc) envOptions {
	return envOptions{wrap: func(st *localstack.Stack) {
		st.Lambda.RegisterHandler("upload", wrapper(st.Lambda.Handler("upload")))
	}}
}

// TestUploadRetriedTwice is behaviour 5 (transient): an upload that fails
// twice after doing its work, then succeeds, gives a FINISHED snapshot with
// exactly one file per shard: a retried batch re-uploads nothing. (In
// "snapshot" consistency a worker retried after its share is recorded does
// the same; one retried mid-share fails the job, see TestPointInTimeWorkerLost.)
func TestUploadRetriedTwice(t *testing.T) {
	var mu sync.Mutex
	var uploaded []int // BatchResult.Uploaded of each invocation
	e := newEnv(t, wrapUpload(func(real lambda.Handler) handlerFunc {
		return func(ctx context.Context, payload []byte) ([]byte, error) {
			out, err := real.Invoke(ctx, payload)
			if err != nil {
				return out, err
			}
			var res pipeline.BatchResult
			if err := json.Unmarshal(out, &res); err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			uploaded = append(uploaded, res.Uploaded)
			if len(uploaded) <= 2 {
				return nil, &TransientError{Message: fmt.Sprintf("injected failure %d after the batch ran", len(uploaded))}
			}
			return out, nil
		}
	}))
	rec := e.mustFinish("BACKUP DATABASE " + e.db + ` SNAPSHOT retried TO repo PROPERTIES ("consistency" = "shard")`)
	if len(uploaded) != 3 || uploaded[0] != int(rec.ShardsTotal) || uploaded[1] != 0 || uploaded[2] != 0 {
		t.Errorf("shards uploaded per attempt %v, want [%d 0 0]", uploaded, rec.ShardsTotal)
	}
	if st := e.st.Lambda.Stats("upload"); st.Invocations != 3 || st.Errors != 2 {
		t.Errorf("upload stats %+v, want 3 invocations with 2 errors", st)
	}
	// The retries are the Distributed Map child's own: its one execution
	// retried its UploadBatch task twice and succeeded.
	children := e.mapChildren(rec.ExecutionARN)
	if len(children) != 1 || children[0].Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("map children %+v, want one that succeeded", children)
	}
	hist, err := e.sfn.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: children[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, ev := range hist.Events {
		if ev.Type == "TaskStateRetried" {
			retried++
		}
	}
	if retried != 2 {
		t.Errorf("the child execution retried %d times, want 2", retried)
	}
	info := e.snapshot("retried")
	want := []string{"__meta", "__info_" + info.Timestamp()}
	for _, f := range info.Files() {
		want = append(want, f.Key)
	}
	slices.Sort(want)
	if int64(len(info.Files())) != rec.ShardsTotal {
		t.Errorf("%d files in the manifest, %d shards", len(info.Files()), rec.ShardsTotal)
	}
	if got := e.snapshotFiles(e.repo, "retried"); !slices.Equal(got, want) {
		t.Errorf("snapshot directory holds %v\nwant %v", got, want)
	}
}

// TestUploadFailsPermanently is behaviour 5 (permanent): a failure no Retry
// matches cancels the job with the error in Status, releases the lock and
// removes every file and open multipart upload of the job.
func TestUploadFailsPermanently(t *testing.T) {
	var e *env
	var mu sync.Mutex
	var doomed string // the job that fails
	e = newEnv(t, wrapUpload(func(real lambda.Handler) handlerFunc {
		return func(ctx context.Context, payload []byte) ([]byte, error) {
			out, err := real.Invoke(ctx, payload)
			if err != nil {
				return out, err
			}
			var ev pipeline.BatchEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, err
			}
			mu.Lock()
			if doomed == "" {
				doomed = ev.Job.JobID
			}
			fail := doomed == ev.Job.JobID
			mu.Unlock()
			if !fail {
				return out, nil
			}
			// Leave an interrupted multipart upload behind, as a crashed
			// worker would.
			rel, err := repository.ContentPath(ev.Job.Database, "customers", "customers", 999, ev.Job.JobID)
			if err != nil {
				return nil, err
			}
			key, err := e.repo.SnapshotKey(ev.Job.Label, rel)
			if err != nil {
				return nil, err
			}
			if _, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.repo.Bucket()), Key: aws.String(key)}); err != nil {
				return nil, err
			}
			return nil, &PermanentError{Message: "injected permanent failure"}
		}
	}))
	r := e.run("BACKUP DATABASE " + e.db + " SNAPSHOT doomed TO repo")
	e.mustCancel(t, r, "doomed", "[COMMON_ERROR, msg: injected permanent failure]")
	if r.errName != "PermanentError" || r.cause != "injected permanent failure" {
		t.Errorf("execution error %q cause %q", r.errName, r.cause)
	}
	// The label is free again and the database unlocked, once the workers
	// still running for the cancelled job have deleted their late files
	// (a label reused at that very moment is refused; see the README's
	// fault matrix).
	for deadline := time.Now().Add(30 * time.Second); e.st.Lambda.Running(e.db) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	e.mustFinish("BACKUP DATABASE " + e.db + " SNAPSHOT doomed TO repo ON (TABLE customers)")
}

// TestBackupTimeout is behaviour 6: a job that cannot meet its deadline
// ends CANCELLED with [TIMEOUT, msg: ] (SRBACKUP_MIN_TIMEOUT=1 lets the SQL
// ask for one second).
func TestBackupTimeout(t *testing.T) {
	e := newEnv(t, wrapUpload(func(real lambda.Handler) handlerFunc {
		return func(ctx context.Context, payload []byte) ([]byte, error) {
			time.Sleep(1500 * time.Millisecond)
			return real.Invoke(ctx, payload)
		}
	}))
	start := time.Now()
	r := e.run("BACKUP DATABASE " + e.db + ` SNAPSHOT late TO repo PROPERTIES ("timeout" = "1")`)
	t.Logf("timed out job ended after %v", time.Since(start))
	e.mustCancel(t, r, "late", "[TIMEOUT, msg: ]")
	if r.rec.Spec.Options.TimeoutSeconds != 1 {
		t.Errorf("job timeout %ds, want 1s", r.rec.Spec.Options.TimeoutSeconds)
	}
}

// TestStatusChangeEventCleansUp is the event path of cleanup: the
// EventBridge "Step Functions Execution Status Change" event for an ABORTED
// execution, delivered to the cleanup function through the Lambda Invoke
// API, cancels a job stuck in UPLOADING, releases its lock and removes its
// files; the execution, when it resumes, cannot commit.
func TestStatusChangeEventCleansUp(t *testing.T) {
	uploaded := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	e := newEnv(t, wrapUpload(func(real lambda.Handler) handlerFunc {
		return func(ctx context.Context, payload []byte) ([]byte, error) {
			out, err := real.Invoke(ctx, payload)
			var ev pipeline.BatchEvent
			if json.Unmarshal(payload, &ev) == nil && ev.Coordinate {
				return out, err // the point-in-time coordinator, not an upload
			}
			once.Do(func() { close(uploaded) })
			select {
			case <-release:
			case <-ctx.Done():
			}
			return out, err
		}
	}))
	defer once.Do(func() {})
	sql := "BACKUP DATABASE " + e.db + ` SNAPSHOT stuck TO repo PROPERTIES ("parallelism" = "1")` // one upload worker
	arn := e.start(sql)
	select {
	case <-uploaded:
	case <-time.After(time.Minute):
		t.Fatal("upload never ran")
	}
	rec, err := e.store.Get(context.Background(), localstackJobID(arn))
	if err != nil || rec.State != job.Uploading {
		t.Fatalf("job %s %v, want UPLOADING", rec.State, err)
	}
	if files := e.snapshotFiles(e.repo, "stuck"); len(files) < 2 {
		t.Fatalf("expected the plan and data files before cleanup, got %v", files)
	}

	input, _ := json.Marshal(map[string]string{"sql": sql})
	event, _ := json.Marshal(map[string]any{
		"version": "0", "id": "e2e-event", "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
		"account": localstack.Account, "region": localstack.Region, "time": time.Now().UTC().Format(time.RFC3339), "resources": []string{arn},
		"detail": map[string]any{
			"executionArn": arn, "stateMachineArn": e.st.StateMachineARNs["backup"], "name": localstackJobID(arn),
			"status": "ABORTED", "input": string(input), "output": nil, "error": nil, "cause": nil,
		},
	})
	e.invokeCleanup(event)

	rec, err = e.store.Get(context.Background(), localstackJobID(arn))
	if err != nil || rec.State != job.Cancelled || rec.Status.String() != "[COMMON_ERROR, msg: execution aborted]" {
		t.Fatalf("after the event: job %s %s %v", rec.State, rec.Status, err)
	}
	if h := e.lockHolder(e.db); h != "" {
		t.Errorf("database still locked by %s", h)
	}
	if files := e.settledFiles(e.repo, "stuck"); len(files) != 0 {
		t.Errorf("leftover objects after cleanup: %v", files)
	}

	close(release)
	d := e.wait(arn)
	if d.Status != sfntypes.ExecutionStatusFailed {
		t.Errorf("resumed execution ended %s, want FAILED", d.Status)
	}
	rec, _ = e.store.Get(context.Background(), localstackJobID(arn))
	if rec.State != job.Cancelled || rec.Status.String() != "[COMMON_ERROR, msg: execution aborted]" {
		t.Errorf("after the execution ended: job %s %s", rec.State, rec.Status)
	}
	if files := e.settledFiles(e.repo, "stuck"); len(files) != 0 {
		t.Errorf("leftover objects after the execution ended: %v", files)
	}
	if ts, err := e.repo.Timestamps(context.Background(), "stuck"); err != nil || len(ts) != 0 {
		t.Errorf("a cancelled job committed a snapshot: %v %v", ts, err)
	}
}

// invokeCleanup delivers an event to the cleanup function synchronously
// through the Lambda Invoke API, as EventBridge would.
func (e *env) invokeCleanup(event []byte) {
	e.t.Helper()
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := lambdasvc.NewFromConfig(cfg).Invoke(context.Background(), &lambdasvc.InvokeInput{
		FunctionName: aws.String("cleanup"), Payload: event,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if out.FunctionError != nil {
		e.t.Fatalf("cleanup failed: %s: %s", aws.ToString(out.FunctionError), out.Payload)
	}
}

// TestStopExecutionCleansUp stops an execution whose upload is stuck: the
// stack publishes the ABORTED status change to cleanup, as the deployed
// EventBridge rule does, and the job ends CANCELLED with nothing left.
func TestStopExecutionCleansUp(t *testing.T) {
	entered := make(chan struct{})
	var once sync.Once
	e := newEnv(t, wrapUpload(func(real lambda.Handler) handlerFunc {
		return func(ctx context.Context, payload []byte) ([]byte, error) {
			out, err := real.Invoke(ctx, payload)
			once.Do(func() { close(entered) })
			<-ctx.Done() // stuck until the invocation is abandoned
			return out, err
		}
	}))
	arn := e.start("BACKUP DATABASE " + e.db + " SNAPSHOT stopped TO repo")
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("upload never ran")
	}
	if _, err := e.sfn.StopExecution(context.Background(), &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if d := e.wait(arn); d.Status != sfntypes.ExecutionStatusAborted {
		t.Fatalf("execution %s, want ABORTED", d.Status)
	}
	// Stopped during its Distributed Map: the Map Run's children stop too.
	children := e.mapChildren(arn)
	if len(children) == 0 {
		t.Error("no child executions: the upload ran outside the Distributed Map")
	}
	for _, c := range children {
		if c.Status != sfntypes.ExecutionStatusAborted {
			t.Errorf("child %s is %s after the stop, want ABORTED", aws.ToString(c.ExecutionArn), c.Status)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec, err := e.store.Get(context.Background(), localstackJobID(arn))
		if err != nil {
			t.Fatal(err)
		}
		if rec.State == job.Cancelled {
			if got := rec.Status.String(); got != "[COMMON_ERROR, msg: execution aborted]" {
				t.Errorf("Status %q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s 30 s after the execution was stopped", rec.State)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if h := e.lockHolder(e.db); h != "" {
		t.Errorf("database still locked by %s", h)
	}
	if files := e.settledFiles(e.repo, "stopped"); len(files) != 0 {
		t.Errorf("leftover objects: %v", files)
	}
}
