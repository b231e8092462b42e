package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/mariadb"
	"github.com/srbackup/srbackup/localstack/sandbox"
	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/app"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
)

// benchPrincipal is the IAM principal the local API trusts from its header.
const benchPrincipal = "arn:aws:iam::123456789012:user/srbench"

// srbackupEnv is the real local stack (S3 and DynamoDB emulators, Lambda
// functions, Step Functions server) with the API served over HTTP.
type srbackupEnv struct {
	stack *localstack.Stack
	api   *httptest.Server
	s3    *s3.Client
	sfn   *sfn.Client
	repo  *repository.Repo
	http  *http.Client
	count requestCounter
	trace tracer
}

// startSrbackup starts the stack against srv and creates the repository
// "bench" through the API.
func startSrbackup(ctx context.Context, srv *mariadb.Server, log *slog.Logger) (_ *srbackupEnv, err error) {
	// The harness's principal is the deployment's admin: it measures backups, not privileges.
	e := &srbackupEnv{http: &http.Client{Timeout: time.Minute}}
	fnLog := slog.New(tapHandler{log.Handler(), &e.trace}).With("component", "srbackup")
	opts := sandbox.StackOptions(map[string]string{"SRBACKUP_SOURCE_DSN": srv.DSN(""), "SRBACKUP_ADMINS": benchPrincipal}, fnLog)
	// Count what each job asks of the billed services (Requests).
	opts.S3Middleware = e.count.s3
	handlers := opts.Handlers
	opts.Handlers = func(ctx context.Context, envOf func(string) func(string) string) (map[string]any, error) {
		h, err := handlers(ctx, envOf)
		e.count.setFunctions(slices.Collect(maps.Keys(h)))
		return h, err
	}
	st, err := localstack.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start local stack: %w", err)
	}
	e.stack = st
	st.Lambda.Observe(e.trace.invoked)
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	h, err := app.APIHandler(ctx, os.Getenv, fnLog.With("function", "api"))
	if err != nil {
		return nil, fmt.Errorf("api handler: %w", err)
	}
	e.api = httptest.NewUnstartedServer(api.HTTPHandler(h, api.HTTPOptions{TrustPrincipalHeader: true, DefaultPrincipal: benchPrincipal}))
	// The API's goroutines carry a label of their own in a CPU profile (timeline).
	pprof.Do(ctx, pprof.Labels(localstack.ServiceLabel, "api"), func(context.Context) { e.api.Start() })
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return nil, err
	}
	e.s3, e.sfn = s3.NewFromConfig(cfg), sfn.NewFromConfig(cfg)
	loc := "s3://" + st.Bucket + "/bench"
	if _, err := e.sql(ctx, fmt.Sprintf("CREATE REPOSITORY bench WITH BROKER ON LOCATION '%s'", loc)); err != nil {
		return nil, err
	}
	parsed, err := repository.ParseLocation(loc)
	if err != nil {
		return nil, err
	}
	if e.repo, err = repository.New(e.s3, "bench", parsed); err != nil {
		return nil, err
	}
	return e, nil
}

// Close stops the API server and the stack.
func (e *srbackupEnv) Close() {
	if e.api != nil {
		e.api.Close()
	}
	e.stack.Close()
}

// sql runs statements through POST /v1/sql.
func (e *srbackupEnv) sql(ctx context.Context, text string) ([]api.Result, error) {
	body, _ := json.Marshal(map[string]string{"sql": text})
	var out api.Response
	status, err := e.call(ctx, http.MethodPost, "/v1/sql", body, &out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", text, err)
	}
	if status >= 300 || out.Error != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %+v", text, status, out.Error)
	}
	return out.Results, nil
}

func (e *srbackupEnv) call(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.api.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, fmt.Errorf("decode %q: %w", b, err)
	}
	return resp.StatusCode, nil
}

// failurePolls is how often (every how many polls of the job, 20 ms apart
// in the measured runs) runBackup and runRestore ask Step Functions whether the execution
// failed, which the job may not show until its lease runs out. Asking on
// every poll cost the restores about 0.2 CPU-s of the 2 cores the MariaDB
// server needs (the -timeline CPU profile): measurement overhead the
// peers, timed by their exit, do not carry. The end is still seen at the
// first poll after it.
const failurePolls = 10

// runBackup starts BACKUP DATABASE through the API and polls the job until
// it ends; it returns the finished job.
func (e *srbackupEnv) runBackup(ctx context.Context, sqlText string, timeout time.Duration) (*api.Job, error) {
	e.trace.begin()
	res, err := e.sql(ctx, sqlText)
	if err != nil {
		return nil, err
	}
	e.trace.accept()
	if len(res) != 1 || res[0].Job == nil {
		return nil, fmt.Errorf("%s: no job in the answer", sqlText)
	}
	id := res[0].Job.JobID
	deadline := time.Now().Add(timeout)
	for poll := 1; ; poll++ {
		var j api.Job
		status, err := e.call(ctx, http.MethodGet, "/v1/backups/"+id, nil, &j)
		e.trace.poll()
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", id, err)
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("job %s: HTTP %d", id, status)
		}
		switch j.State {
		case job.Finished:
			return &j, nil
		case job.Cancelled:
			return nil, fmt.Errorf("job %s cancelled: %s (task errors %v)", id, j.Status, j.TaskErrors)
		}
		// A failed execution can leave the job unfinished until its lease
		// runs out; the execution's error says why within a few polls.
		if poll%failurePolls == 0 {
			if d, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(j.ExecutionARN)}); err == nil &&
				d.Status != sfntypes.ExecutionStatusRunning && d.Status != sfntypes.ExecutionStatusSucceeded {
				return nil, fmt.Errorf("job %s: execution %s: %s: %s", id, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("job %s still %s after %s", id, j.State, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backup runs one whole-database backup at the given parallelism, measures
// it, then deletes the snapshot so the in-memory S3 emulator does not grow.
func (e *srbackupEnv) backup(ctx context.Context, database, label string, parallelism int) (Sample, error) {
	q := fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT %s TO bench PROPERTIES (\"parallelism\" = \"%d\")", quoteIdent(database), label, parallelism)
	before := e.count.snapshot(e)
	var arn string
	s, err := measureInProcess(func() (int64, error) {
		j, err := e.runBackup(ctx, q, time.Hour)
		if err != nil {
			return 0, err
		}
		arn = j.ExecutionARN
		return 0, nil
	})
	if err != nil {
		return Sample{}, err
	}
	if s.Requests, err = e.requests(ctx, before, arn); err != nil {
		return Sample{}, err
	}
	prefix, err := e.repo.SnapshotPrefix(label)
	if err != nil {
		return Sample{}, err
	}
	if s.OutBytes, err = e.deletePrefix(ctx, prefix); err != nil {
		return Sample{}, err
	}
	if s.OutBytes == 0 {
		return Sample{}, fmt.Errorf("snapshot %s: no objects under %s", label, prefix)
	}
	return s, nil
}

// deletePrefix deletes every object under prefix and returns their total size.
func (e *srbackupEnv) deletePrefix(ctx context.Context, prefix string) (int64, error) {
	var total int64
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(e.repo.Bucket()), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", prefix, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, o := range page.Contents {
			total += aws.ToInt64(o.Size)
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(e.repo.Bucket()), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return 0, fmt.Errorf("delete under %s: %w", prefix, err)
		}
	}
	return total, nil
}

// snapshotTimestamp is the snapshot's backup_timestamp from SHOW SNAPSHOT.
func (e *srbackupEnv) snapshotTimestamp(ctx context.Context, label string) (string, error) {
	res, err := e.sql(ctx, fmt.Sprintf("SHOW SNAPSHOT ON bench WHERE SNAPSHOT = '%s'", label))
	if err != nil {
		return "", err
	}
	if len(res) != 1 || len(res[0].Rows) != 1 {
		return "", fmt.Errorf("SHOW SNAPSHOT %s: want one row, got %+v", label, res)
	}
	for i, c := range res[0].Columns {
		if c == "Timestamp" && res[0].Rows[0][i] != nil {
			return *res[0].Rows[0][i], nil
		}
	}
	return "", fmt.Errorf("SHOW SNAPSHOT %s: no Timestamp in %v", label, res[0].Columns)
}

// runRestore submits a RESTORE through the API and polls GET
// /v1/restores/{id} every 20 ms until the job is FINISHED and its execution
// has ended (the job drops its own tables after FINISHED); it returns the job.
func (e *srbackupEnv) runRestore(ctx context.Context, sqlText string, timeout time.Duration) (*api.RestoreJob, error) {
	return e.runRestoreEvery(ctx, sqlText, timeout, 20*time.Millisecond)
}

// runRestoreEvery is runRestore polling every poll (GET of a job too big to
// list its objects resolves them from __info, which a long job should not
// pay every 20 ms).
func (e *srbackupEnv) runRestoreEvery(ctx context.Context, sqlText string, timeout, poll time.Duration) (*api.RestoreJob, error) {
	e.trace.begin()
	res, err := e.sql(ctx, sqlText)
	if err != nil {
		return nil, err
	}
	e.trace.accept()
	if len(res) != 1 || res[0].Job == nil {
		return nil, fmt.Errorf("%s: no job in the answer", sqlText)
	}
	id := res[0].Job.JobID
	deadline := time.Now().Add(timeout)
	for n := 1; ; n++ {
		var j api.RestoreJob
		status, err := e.call(ctx, http.MethodGet, "/v1/restores/"+id, nil, &j)
		if err != nil {
			return nil, fmt.Errorf("restore job %s: %w", id, err)
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("restore job %s: HTTP %d", id, status)
		}
		if j.State == job.Cancelled {
			return nil, fmt.Errorf("restore job %s cancelled: %s (task errors %v)", id, j.Status, j.TaskErrors)
		}
		e.trace.poll()
		if j.State != job.Finished && n%failurePolls != 0 {
			time.Sleep(poll)
			continue
		}
		d, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(j.ExecutionARN)})
		if err == nil && d.Status != sfntypes.ExecutionStatusRunning {
			if d.Status == sfntypes.ExecutionStatusSucceeded && j.State == job.Finished {
				return &j, nil
			}
			if d.Status != sfntypes.ExecutionStatusSucceeded {
				return nil, fmt.Errorf("restore job %s: execution %s: %s: %s", id, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("restore job %s still %s after %s", id, j.State, timeout)
		}
		time.Sleep(poll)
	}
}

// restore runs RESTORE SNAPSHOT label (timestamp ts) of database AS into
// at the given parallelism and measures it; into must not exist.
func (e *srbackupEnv) restore(ctx context.Context, label, ts, database, into string, parallelism int) (Sample, error) {
	q := fmt.Sprintf(`RESTORE SNAPSHOT %s FROM bench DATABASE %s AS %s PROPERTIES ("backup_timestamp" = "%s", "parallelism" = "%d")`,
		label, quoteIdent(database), quoteIdent(into), ts, parallelism)
	before := e.count.snapshot(e)
	var arn string
	s, err := measureInProcess(func() (int64, error) {
		j, err := e.runRestore(ctx, q, time.Hour)
		if err != nil {
			return 0, err
		}
		arn = j.ExecutionARN
		return j.Progress.BytesDone, nil
	})
	if err != nil {
		return Sample{}, err
	}
	s.Requests, err = e.requests(ctx, before, arn)
	return s, err
}

// requests is what the job of execution arn asked of the billed services
// since the counts were before.
func (e *srbackupEnv) requests(ctx context.Context, before Requests, arn string) (Requests, error) {
	r := e.count.snapshot(e).sub(before)
	var err error
	if r.Transitions, err = transitions(ctx, e.sfn, arn); err != nil {
		return Requests{}, fmt.Errorf("execution %s: %w", arn, err)
	}
	return r, nil
}

// snapshotFiles lists the data files of a snapshot: their count, total
// and largest size.
func (e *srbackupEnv) snapshotFiles(ctx context.Context, label string) (files int, total, largest int64, err error) {
	prefix, err := e.repo.SnapshotPrefix(label)
	if err != nil {
		return 0, 0, 0, err
	}
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(e.repo.Bucket()), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			if !strings.HasSuffix(aws.ToString(o.Key), ".parquet") {
				continue
			}
			files++
			total += aws.ToInt64(o.Size)
			largest = max(largest, aws.ToInt64(o.Size))
		}
	}
	return files, total, largest, nil
}
