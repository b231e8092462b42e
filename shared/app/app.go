// Package app builds each srbackup Lambda function's handler from its
// environment. A function's main only calls Main; the local stack and the
// demo serve the same handlers in-process (Local, APIHandler), each
// function with its own environment and credentials.
//
// Configuration (no secrets in the environment):
//
//	SRBACKUP_TABLE              DynamoDB table (required)
//	SRBACKUP_SOURCE_SECRET_ARN  Secrets Manager secret of the source database (AWS), or
//	SRBACKUP_SOURCE_DSN         a go-sql-driver DSN (local stack; its server has no password)
//	SRBACKUP_TARGET_SECRET_ARN  the RESTORE target's secret (a user with DDL rights), or
//	SRBACKUP_TARGET_DSN         its DSN; both default to the source's
//	SRBACKUP_MIN_TIMEOUT        smallest `timeout` property in seconds (default 600; tests lower it)
//	SRBACKUP_EXECUTION_TIMEOUT_SECONDS the state machines' execution timeout, which bounds a job's lock (default 604800)
//	SRBACKUP_MAX_PARALLELISM    the deployment's cap on a job's parallelism (default: none; the stack sets 64)
//	SRBACKUP_JOB_HISTORY_TTL_DAYS how long finished jobs stay in SHOW BACKUP history (default 30)
//	SRBACKUP_LOG_LEVEL          debug, info (default), warn or error
//	SRBACKUP_PIT_READY_WAIT_SECONDS  "snapshot" consistency: bound on the wait for every upload worker to start (default 120)
//	SRBACKUP_PIT_LOCK_WAIT_SECONDS   bound on the wait for the lock that holds commits (default 10)
//	SRBACKUP_PIT_JOIN_WAIT_SECONDS   bound on how long commits stay held for the workers to join (default 10)
//	SRBACKUP_WORKER_BYTES_PER_SECOND read throughput assumed per upload worker, which sizes a worker's share (default 52428800)
//	SRBACKUP_PROGRESS_SECONDS   how often, at most, an upload worker reports how far it has read a shard (default 5)
//	SRBACKUP_BACKUP_AGE_DATABASES the sweep: databases whose last FINISHED backup's age it reports (comma-separated)
//
// The api function also reads SRBACKUP_STATE_MACHINE_ARN,
// SRBACKUP_RESTORE_STATE_MACHINE_ARN, SRBACKUP_VERIFY_FUNCTION and
// SRBACKUP_ADMINS (see APIHandler).
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/lifecycle"
	"github.com/srbackup/srbackup/shared/metrics"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/restore"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/source/mysql"
	"github.com/srbackup/srbackup/shared/target"
	"github.com/srbackup/srbackup/shared/workarea"
)

// Functions are the names of the pipeline functions Handler builds.
var Functions = []string{"parse", "lock", "snapshot", "upload", "finalize", "cleanup",
	"restoreparse", "restoreprepare", "restoreload", "restorecommit", "restorecleanup", "sweep", "verify"}

// needsSource says which functions connect to the source database; only
// they get its secret. The api checks BACKUP against the source's catalog.
var needsSource = map[string]bool{"api": true, "parse": true, "snapshot": true, "upload": true}

// needsTarget says which functions write into the RESTORE target database.
var needsTarget = map[string]bool{"restoreprepare": true, "restoreload": true, "restorecommit": true, "restorecleanup": true}

// needsWork says which functions write or delete files in the deployment's
// work area (the RESTORE load Map's items).
var needsWork = map[string]bool{"restoreprepare": true, "restorecommit": true, "restorecleanup": true}

// Config is what the environment says.
type Config struct {
	Table          string
	SourceDSN      string
	SourceSecret   string
	MinTimeout     time.Duration
	MaxRun         time.Duration // the state machines' execution timeout; zero: pipeline.DefaultMaxRun
	MaxParallelism int           // the deployment's cap on a job's parallelism; zero: none
	// MaxSpecObjectsBytes (SRBACKUP_MAX_SPEC_OBJECTS_BYTES) bounds the
	// object list a job spec carries; zero: job.MaxSpecObjectsBytes.
	MaxSpecObjectsBytes int
	Retention           time.Duration
	LogLevel            slog.Level
	SourceRequired      bool
	// TargetDSN and TargetSecret reach the RESTORE target: a restore-only
	// secret when one is configured, else the source's.
	TargetDSN      string
	TargetSecret   string
	TargetRequired bool
	PointInTime    pipeline.PointInTimeConfig
	// ProgressEvery (SRBACKUP_PROGRESS_SECONDS) is how often, at most, an
	// upload worker reports how far it has read a shard; zero: the default.
	ProgressEvery time.Duration
	// WorkBucket (SRBACKUP_WORK_BUCKET) holds the deployment's work area
	// (package workarea): the stack's own bucket.
	WorkBucket string
	// BackupAgeDatabases (SRBACKUP_BACKUP_AGE_DATABASES, comma-separated)
	// are the databases with a backup schedule: the sweep reports the age
	// of each one's last FINISHED backup.
	BackupAgeDatabases string
}

// LoadConfig reads the configuration of function name from getenv.
func LoadConfig(name string, getenv func(string) string) (Config, error) {
	c := Config{
		Table:              getenv("SRBACKUP_TABLE"),
		BackupAgeDatabases: getenv("SRBACKUP_BACKUP_AGE_DATABASES"),
		WorkBucket:         getenv("SRBACKUP_WORK_BUCKET"),
		SourceDSN:          getenv("SRBACKUP_SOURCE_DSN"),
		SourceSecret:       getenv("SRBACKUP_SOURCE_SECRET_ARN"),
		MinTimeout:         600 * time.Second,
		Retention:          30 * 24 * time.Hour,
		SourceRequired:     needsSource[name],
		TargetDSN:          cmpOr(getenv("SRBACKUP_TARGET_DSN"), getenv("SRBACKUP_SOURCE_DSN")),
		TargetSecret:       cmpOr(getenv("SRBACKUP_TARGET_SECRET_ARN"), getenv("SRBACKUP_SOURCE_SECRET_ARN")),
		TargetRequired:     needsTarget[name],
	}
	if c.Table == "" {
		return c, fmt.Errorf("SRBACKUP_TABLE is not set")
	}
	if v := getenv("SRBACKUP_MIN_TIMEOUT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SRBACKUP_MIN_TIMEOUT=%q: want a positive number of seconds", v)
		}
		c.MinTimeout = time.Duration(n) * time.Second
	}
	if v := getenv("SRBACKUP_EXECUTION_TIMEOUT_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SRBACKUP_EXECUTION_TIMEOUT_SECONDS=%q: want a positive number of seconds", v)
		}
		c.MaxRun = time.Duration(n) * time.Second
	}
	if v := getenv("SRBACKUP_MAX_PARALLELISM"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SRBACKUP_MAX_PARALLELISM=%q: want a positive number", v)
		}
		c.MaxParallelism = n
	}
	if v := getenv("SRBACKUP_MAX_SPEC_OBJECTS_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SRBACKUP_MAX_SPEC_OBJECTS_BYTES=%q: want a positive number of bytes", v)
		}
		c.MaxSpecObjectsBytes = n
	}
	if v := getenv("SRBACKUP_JOB_HISTORY_TTL_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SRBACKUP_JOB_HISTORY_TTL_DAYS=%q: want a positive number of days", v)
		}
		c.Retention = time.Duration(n) * 24 * time.Hour
	}
	for _, d := range []struct {
		env string
		to  *time.Duration
	}{
		{"SRBACKUP_PIT_READY_WAIT_SECONDS", &c.PointInTime.ReadyWait},
		{"SRBACKUP_PIT_LOCK_WAIT_SECONDS", &c.PointInTime.LockWait},
		{"SRBACKUP_PIT_JOIN_WAIT_SECONDS", &c.PointInTime.JoinWait},
		{"SRBACKUP_PROGRESS_SECONDS", &c.ProgressEvery},
	} {
		if v := getenv(d.env); v != "" {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("%s=%q: want a positive number of seconds", d.env, v)
			}
			*d.to = time.Duration(n * float64(time.Second))
		}
	}
	if v := getenv("SRBACKUP_WORKER_BYTES_PER_SECOND"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SRBACKUP_WORKER_BYTES_PER_SECOND=%q: want a positive number of bytes", v)
		}
		c.PointInTime.WorkerBytesPerSecond = n
	}
	if v := getenv("SRBACKUP_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, fmt.Errorf("SRBACKUP_LOG_LEVEL=%q: %w", v, err)
		}
	}
	if c.SourceRequired && c.SourceDSN == "" && c.SourceSecret == "" {
		return c, fmt.Errorf("function %s needs SRBACKUP_SOURCE_SECRET_ARN (or SRBACKUP_SOURCE_DSN locally)", name)
	}
	if needsWork[name] && c.WorkBucket == "" {
		return c, fmt.Errorf("function %s needs SRBACKUP_WORK_BUCKET (the bucket of the deployment's work area)", name)
	}
	if c.TargetRequired && c.TargetDSN == "" && c.TargetSecret == "" {
		return c, fmt.Errorf("function %s needs SRBACKUP_TARGET_SECRET_ARN or SRBACKUP_SOURCE_SECRET_ARN (or a DSN locally)", name)
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Deps are the clients a function uses, built once per process.
type Deps struct {
	AWS    aws.Config
	S3     *s3.Client
	Store  *jobstore.Store
	Source source.Source // nil for functions that don't read the source
	Target *target.DB    // nil for functions that don't write a RESTORE target
	Log    *slog.Logger
	Config Config
	// Metrics writes EMF lines to standard output inside Lambda, where
	// CloudWatch Logs reads them; nil elsewhere (the local stack and tests).
	Metrics *metrics.Writer
}

// NewDeps builds the clients of function name.
func NewDeps(ctx context.Context, name string, getenv func(string) string, log *slog.Logger) (*Deps, error) {
	cfg, err := LoadConfig(name, getenv)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("function", name)
	}
	// The function's own identity and region: from getenv, as the Lambda
	// runtime sets them for its role.
	awsCfg, err := awsconf.LoadFrom(ctx, getenv)
	if err != nil {
		return nil, err
	}
	d := &Deps{
		AWS:    awsCfg,
		S3:     s3.NewFromConfig(awsCfg),
		Store:  jobstore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, jobstore.WithRetention(cfg.Retention)),
		Log:    log,
		Config: cfg,
	}
	if getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		d.Metrics = metrics.New(os.Stdout)
	}
	if cfg.SourceRequired {
		if d.Source, err = connect(ctx, awsCfg, cfg.SourceDSN, cfg.SourceSecret, mysql.Open); err != nil {
			return nil, fmt.Errorf("connect to the source database: %w", err)
		}
	}
	if cfg.TargetRequired {
		if d.Target, err = connect(ctx, awsCfg, cfg.TargetDSN, cfg.TargetSecret, target.Open); err != nil {
			return nil, fmt.Errorf("connect to the restore target database: %w", err)
		}
	}
	return d, nil
}

// connect opens a database from its DSN, else from the DSN its secret holds.
func connect[T any](ctx context.Context, awsCfg aws.Config, dsn, secret string, open func(context.Context, string) (T, error)) (T, error) {
	if dsn == "" {
		var err error
		if dsn, err = sourceDSNFromSecret(ctx, awsCfg, secret); err != nil {
			var none T
			return none, err
		}
	}
	return open(ctx, dsn)
}

// Restorer returns the RESTORE steps over the function's clients.
func (d *Deps) Restorer() *restore.Restorer {
	var work *workarea.Area
	if d.Config.WorkBucket != "" {
		work = &workarea.Area{S3: d.S3, Bucket: d.Config.WorkBucket}
	}
	return &restore.Restorer{Pipeline: d.Pipeline(), Target: d.Target, Work: work}
}

// OpenRepository opens a registered repository with the function's S3 client.
func (d *Deps) OpenRepository(_ context.Context, rec jobstore.Repository) (*repository.Repo, error) {
	loc, err := repository.ParseLocation(rec.Location)
	if err != nil {
		return nil, &job.AnalysisError{Detail: fmt.Sprintf("repository %s: %v", rec.Name, err)}
	}
	return repository.New(d.S3, rec.Name, loc)
}

// Lifecycle returns DROP SNAPSHOT and the expiry sweep over the function's
// clients.
func (d *Deps) Lifecycle() *lifecycle.Lifecycle {
	var ageDBs []string
	for _, db := range strings.Split(d.Config.BackupAgeDatabases, ",") {
		if db = strings.TrimSpace(db); db != "" {
			ageDBs = append(ageDBs, db)
		}
	}
	return &lifecycle.Lifecycle{Store: d.Store, Open: d.OpenRepository, Log: d.Log, Metrics: d.Metrics, AgeDatabases: ageDBs}
}

// Pipeline returns the pipeline over the function's clients.
func (d *Deps) Pipeline() *pipeline.Pipeline {
	return &pipeline.Pipeline{
		Store: d.Store, Source: d.Source, Open: d.OpenRepository,
		MinTimeout: d.Config.MinTimeout, MaxRun: d.Config.MaxRun, MaxParallelism: d.Config.MaxParallelism, MaxSpecObjectsBytes: d.Config.MaxSpecObjectsBytes,
		PointInTime: d.Config.PointInTime, ProgressEvery: d.Config.ProgressEvery, Log: d.Log,
		Metrics: d.Metrics,
	}
}

// Main is the whole main of function name ("api" or a pipeline function):
// it builds the handler from the environment and serves it, or logs why it
// cannot start and exits.
func Main(name string) {
	h, err := Handler(context.Background(), name, os.Getenv)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("start", "function", name, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// Handler returns the Lambda handler of function name.
func Handler(ctx context.Context, name string, getenv func(string) string) (any, error) {
	if name == "api" {
		return APIHandler(ctx, getenv, nil)
	}
	d, err := NewDeps(ctx, name, getenv, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d.Handler(name)
}

// Handler returns the handler of pipeline function name over d.
func (d *Deps) Handler(name string) (any, error) {
	p := d.Pipeline()
	switch name {
	case "parse":
		return step(d.Log, p.Parse), nil
	case "lock":
		return step(d.Log, p.Lock), nil
	case "snapshot":
		return step(d.Log, p.SnapshotShard), nil
	case "upload":
		return step(d.Log, p.UploadBatch), nil
	case "finalize":
		return step(d.Log, p.Finalize), nil
	case "cleanup":
		return cleanupHandler(d.Log, sfn.NewFromConfig(d.AWS), p.Cleanup, p.StatusChanged), nil
	case "restoreparse":
		return step(d.Log, d.Restorer().Parse), nil
	case "restoreprepare":
		return step(d.Log, d.Restorer().Prepare), nil
	case "restoreload":
		return step(d.Log, d.Restorer().LoadBatch), nil
	case "restorecommit":
		return step(d.Log, d.Restorer().Commit), nil
	case "restorecleanup":
		r := d.Restorer()
		return cleanupHandler(d.Log, sfn.NewFromConfig(d.AWS), r.Cleanup, r.StatusChanged), nil
	case "verify":
		lc := d.Lifecycle()
		return func(ctx context.Context, ev api.VerifyEvent) (jobstore.Verification, error) {
			v, err := lc.RunVerify(ctx, ev.VerificationID)
			if err != nil {
				d.Log.Warn("verify failed", "verificationId", ev.VerificationID, "error", err.Error())
				return v, job.ForLambda(err)
			}
			return v, nil
		}, nil
	case "sweep":
		lc := d.Lifecycle()
		return func(ctx context.Context, _ json.RawMessage) (lifecycle.SweepResult, error) {
			res, err := lc.Sweep(ctx)
			if err != nil {
				d.Log.Warn("sweep failed", "error", err.Error())
				return res, job.ForLambda(err)
			}
			d.Log.Info("sweep", "dropped", res.Dropped, "resumed", res.Resumed, "kept", res.Kept, "errors", res.Errors)
			return res, nil
		}, nil
	}
	return nil, fmt.Errorf("unknown function %q", name)
}

// step adapts a pipeline step to Lambda: the domain error itself is
// returned, so the runtime reports its type name (AnalysisError,
// ConflictError, TransientError, …) for the state machine's Retry and Catch.
func step[In, Out any](log *slog.Logger, fn func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := fn(ctx, in)
		if err != nil {
			attrs := []any{"error", err.Error()}
			var pe *job.PermissionError
			if errors.As(err, &pe) {
				// The job's status omits AWS's text; the log keeps it.
				attrs = append(attrs, "cause", pe.Err.Error())
			}
			log.Warn("step failed", attrs...)
			return out, job.ForLambda(err)
		}
		return out, nil
	}
}

// cleanupHandler serves both of cleanup's callers: the state machine's Catch
// and EventBridge's "Step Functions Execution Status Change" events.
func cleanupHandler(log *slog.Logger, runs pipeline.MapRuns,
	cleanup func(context.Context, pipeline.CleanupEvent) (pipeline.CleanupResult, error),
	statusChanged func(context.Context, pipeline.StatusChangeDetail) error,
) func(context.Context, json.RawMessage) (*pipeline.CleanupResult, error) {
	return func(ctx context.Context, raw json.RawMessage) (*pipeline.CleanupResult, error) {
		var probe struct {
			DetailType string `json:"detail-type"`
		}
		_ = json.Unmarshal(raw, &probe)
		if strings.HasPrefix(probe.DetailType, "Step Functions Execution Status Change") {
			var ev events.CloudWatchEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("decode event: %w", err)
			}
			var d pipeline.StatusChangeDetail
			if err := json.Unmarshal(ev.Detail, &d); err != nil {
				return nil, fmt.Errorf("decode status change event: %w", err)
			}
			if err := statusChanged(ctx, d); err != nil {
				log.Warn("status change cleanup failed", "error", err.Error())
				return nil, job.ForLambda(err)
			}
			return nil, nil
		}
		var ev pipeline.CleanupEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decode cleanup input: %w", err)
		}
		// A Distributed Map reports only that a child failed: the job's
		// status and the execution's error are the child's.
		if e, err := pipeline.ChildFailure(ctx, runs, ev.ExecutionARN, ev.Input.Error); err != nil {
			log.Warn("find the failed child execution", "error", err.Error())
		} else {
			ev.Input.Error = e
		}
		res, err := cleanup(ctx, ev)
		if err != nil {
			log.Warn("cleanup failed", "error", err.Error())
			return nil, job.ForLambda(err)
		}
		return &res, nil
	}
}

// Local serves every pipeline function in one process: the local stack and
// the demo use it. envOf returns each function's environment, which carries
// its own credentials, as a Lambda's does for its role.
func Local(ctx context.Context, envOf func(function string) func(string) string, log *slog.Logger) (map[string]any, error) {
	out := map[string]any{}
	for _, name := range Functions {
		d, err := NewDeps(ctx, name, envOf(name), log.With("function", name))
		if err != nil {
			return nil, err
		}
		h, err := d.Handler(name)
		if err != nil {
			return nil, err
		}
		out[name] = h
	}
	return out, nil
}
