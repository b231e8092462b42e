// Package pipeline is the backup job as plain Go: the steps the state
// machine chains (Parse, Lock, SnapshotShard, UploadBatch, Finalize,
// Cleanup), over the job store, the source database and the S3 repository.
// The Lambda functions, the tests and the demo all run this same code.
package pipeline

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/metrics"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
)

// OpenRepository opens a registered repository for the pipeline.
type OpenRepository func(ctx context.Context, repo jobstore.Repository) (*repository.Repo, error)

// Pipeline runs the steps of backup jobs.
type Pipeline struct {
	Store  *jobstore.Store
	Source source.Source
	Open   OpenRepository
	// MinTimeout is the smallest `timeout` property accepted (default 600 s).
	MinTimeout time.Duration
	// LockGrace is how long past a job's deadline its database lock lasts,
	// so that cleanup can run before another job may take the database.
	LockGrace time.Duration
	// MaxRun is the state machine's execution timeout (zero:
	// DefaultMaxRun), which bounds a job's lock (jobstore.Lease).
	MaxRun time.Duration
	// MaxParallelism is the deployment's cap on a job's parallelism (zero:
	// none), see GrantParallelism.
	MaxParallelism int
	// MaxSpecObjectsBytes bounds the object list a job spec carries (zero:
	// job.MaxSpecObjectsBytes), see job.Spec.DeferObjects.
	MaxSpecObjectsBytes int
	// PointInTime tunes "snapshot" consistency; zero fields take defaults.
	PointInTime PointInTimeConfig
	// ProgressEvery is how often, at most, an upload worker reports how far
	// it has read the shard in hand (zero: DefaultProgressEvery; negative:
	// never, progress then moves only as shards are recorded).
	ProgressEvery time.Duration
	Now           func() time.Time
	Log           *slog.Logger
	// Metrics receives one EMF line per finished or cancelled job (nil: none).
	Metrics *metrics.Writer
}

// Time is the pipeline's clock (Now, else time.Now) in UTC; the restore
// steps and the API keep the same time.
func (p *Pipeline) Time() time.Time {
	if p != nil && p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

// Logger is Log, or slog.Default.
func (p *Pipeline) Logger() *slog.Logger {
	if p != nil && p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func (p *Pipeline) now() time.Time    { return p.Time() }
func (p *Pipeline) log() *slog.Logger { return p.Logger() }

// DefaultLockGrace is how long a job's database lock outlives its deadline
// unless configured: time for cleanup to run after a timeout.
const DefaultLockGrace = 15 * time.Minute

// DefaultMaxRun is the execution timeout of the state machines as
// statemachine/*.asl.json set it (TimeoutSeconds 604800), and the ceiling
// of a job's lock when no other is configured.
const DefaultMaxRun = 7 * 24 * time.Hour

// DefaultPendingLease is the lease of the API's lock, before the job's
// execution has started and locked it again: time for StartExecution and
// the Parse state's retries.
const DefaultPendingLease = 15 * time.Minute

// Lease is the lease of a job's lock under the given settings (zero: the
// defaults): the deadline bounded by maxRun, plus grace.
func Lease(grace, maxRun time.Duration) jobstore.Lease {
	return jobstore.Lease{Grace: cmp.Or(grace, DefaultLockGrace), MaxRun: cmp.Or(maxRun, DefaultMaxRun)}
}

func (p *Pipeline) lease() jobstore.Lease { return Lease(p.LockGrace, p.MaxRun) }

// GrantParallelism is the one rule for a job's parallelism: what was asked,
// at most the deployment's cap (maxParallelism, from the CDK context; zero:
// none) and half the source's connection limit (zero: unknown), so that
// one job can neither exhaust Lambda concurrency nor the source's
// connections. At least 1.
func GrantParallelism(requested, maxParallelism, sourceConnections int) int {
	granted := requested
	if maxParallelism > 0 {
		granted = min(granted, maxParallelism)
	}
	if sourceConnections > 0 {
		granted = min(granted, max(1, sourceConnections/2))
	}
	return max(1, granted)
}
