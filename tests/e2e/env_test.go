package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/localstack/iam"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/localstack/mariadb"
	"github.com/srbackup/srbackup/localstack/sandbox"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
)

// env is one test's world: a local AWS stack running the real functions
// and state machine, a MariaDB with a sample database, and a registered
// repository.
type env struct {
	t     testing.TB
	st    *localstack.Stack
	srv   *mariadb.Server
	db    string // the sample database
	sfn   *sfn.Client
	s3    *s3.Client
	store *jobstore.Store
	repo  *repository.Repo
	// sqlPool is pool()'s, once opened.
	sqlPool *sql.DB
}

type envOptions struct {
	// wrap replaces registered functions before the stack provisions, e.g.
	// to inject faults in front of the real upload function.
	wrap func(st *localstack.Stack)
	// extraEnv is added to the functions' environment.
	extraEnv map[string]string
	// server replaces the shared MariaDB, e.g. one started with --log-bin.
	server *mariadb.Server
	// policies replace the roles' policies, e.g. to take a grant away.
	policies *iam.Policies
	// faults turns on the fault plan's source proxy and execution timeout override.
	faults bool
}

var dbSeq atomic.Int64

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	ctx := context.Background()
	srv := opts.server
	if srv == nil {
		srv = shared.Server(t)
	}
	db := fmt.Sprintf("shop_%d_%d", os.Getpid(), dbSeq.Add(1))
	pool, err := srv.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := fixture.Generate(ctx, pool, fixture.Options{Database: db, SizeBytes: fixture.MinSizeBytes, Seed: 1, DropExisting: true}); err != nil {
		t.Fatalf("generate sample database: %v", err)
	}
	t.Cleanup(func() { _ = srv.DropDatabase(context.Background(), db) })

	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fnEnv := map[string]string{"SRBACKUP_SOURCE_DSN": srv.DSN(""), "SRBACKUP_MIN_TIMEOUT": "1"}
	for k, v := range opts.extraEnv {
		fnEnv[k] = v
	}
	stackOpts := sandbox.StackOptions(fnEnv, log)
	stackOpts.RetryInterval = 20 * time.Millisecond
	stackOpts.Policies = opts.policies
	stackOpts.Faults = opts.faults
	st := localtest.StartForTest(t, stackOpts)
	if opts.wrap != nil {
		opts.wrap(st)
	}
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, srv: srv, db: db, sfn: sfn.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg),
		store: jobstore.New(dynamodb.NewFromConfig(cfg), st.Table)}
	e.repo = e.createRepository("repo")
	return e
}

// createRepository registers a repository in the stack's bucket.
func (e *env) createRepository(name string) *repository.Repo {
	e.t.Helper()
	ctx := context.Background()
	loc := "s3://" + e.st.Bucket + "/backups"
	if _, err := e.store.PutRepository(ctx, jobstore.Repository{Name: name, Location: loc}); err != nil {
		e.t.Fatal(err)
	}
	parsed, err := repository.ParseLocation(loc)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := repository.New(e.s3, name, parsed)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := r.WriteRepoInfo(ctx, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// start starts an execution with the console input {"sql": sql}.
func (e *env) start(sql string) string {
	e.t.Helper()
	in, _ := json.Marshal(map[string]string{"sql": sql})
	return e.startInput(string(in))
}

func (e *env) startInput(input string) string {
	e.t.Helper()
	out, err := e.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(e.st.StateMachineARNs["backup"]), Input: aws.String(input),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

// wait waits for an execution to end.
func (e *env) wait(arn string) *sfn.DescribeExecutionOutput {
	e.t.Helper()
	return e.waitFor(e.t, arn)
}

// waitFor is wait for test t.
func (e *env) waitFor(t testing.TB, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running after 2 minutes", arn)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// backup runs one BACKUP to completion and returns its job record.
func (e *env) backup(sql string) (*sfn.DescribeExecutionOutput, job.Record) {
	e.t.Helper()
	arn := e.start(sql)
	d := e.wait(arn)
	rec, err := e.store.Get(context.Background(), localstackJobID(arn))
	if err != nil && d.Status == sfntypes.ExecutionStatusSucceeded {
		e.t.Fatalf("job of %s: %v", arn, err)
	}
	return d, rec
}

func localstackJobID(arn string) string { return arn[strings.LastIndexByte(arn, ':')+1:] }

// mustFinish fails the test unless the execution succeeded and its job is FINISHED.
func (e *env) mustFinish(sql string) job.Record {
	e.t.Helper()
	d, rec := e.backup(sql)
	if d.Status != sfntypes.ExecutionStatusSucceeded || rec.State != job.Finished {
		e.t.Fatalf("%s: execution %s (error %s: %s), job %s %s", sql, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), rec.State, rec.Status)
	}
	return rec
}

// snapshot verifies a committed snapshot's checksums and returns its manifest.
func (e *env) snapshot(label string) repository.Info {
	e.t.Helper()
	ctx := context.Background()
	ts, err := e.repo.Timestamps(ctx, label)
	if err != nil || len(ts) != 1 {
		e.t.Fatalf("timestamps of %s: %v %v", label, ts, err)
	}
	info, err := e.repo.VerifySnapshot(ctx, label, ts[0])
	if err != nil {
		e.t.Fatalf("verify snapshot %s: %v", label, err)
	}
	return info
}
