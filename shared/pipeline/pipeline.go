// Package pipeline is the backup job as plain Go: the steps the state
// machine chains (Parse, Lock, SnapshotShard, UploadBatch, Finalize,
// Cleanup), over the job store, the source database and the S3 repository.
// The Lambda functions, the tests and the demo all run this same code.
package pipeline

import (
	"context"
	"github.com/srbackup/srbackup/shared/metrics"
	"log/slog"
	"time"

	"github.com/srbackup/srbackup/shared/jobstore"
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
	// PointInTime tunes "snapshot" consistency; zero fields take defaults.
	PointInTime PointInTimeConfig
	Now         func() time.Time
	Log         *slog.Logger
	// Metrics receives one EMF line per finished or cancelled job (nil: none).
	Metrics *metrics.Writer
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// DefaultLockGrace is how long a job's database lock outlives its deadline
// unless configured: time for cleanup to run after a timeout.
const DefaultLockGrace = 15 * time.Minute

func (p *Pipeline) lockGrace() time.Duration {
	if p.LockGrace > 0 {
		return p.LockGrace
	}
	return DefaultLockGrace
}
