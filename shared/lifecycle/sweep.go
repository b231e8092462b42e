package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/metrics"
)

// ResumeAfter is how old a drop marker must be before the sweep finishes
// that drop itself: younger ones may belong to a DROP SNAPSHOT still running.
const ResumeAfter = 15 * time.Minute

// SweepResult is what one sweep did.
type SweepResult struct {
	// Dropped lists the expired snapshots dropped, as repo/label.
	Dropped []string `json:"dropped"`
	// Resumed lists the interrupted drops finished, as repo/label.
	Resumed []string `json:"resumed"`
	// Kept counts the snapshots looked at and kept (not expired, not this
	// deployment's, or in use).
	Kept int `json:"kept"`
	// Errors lists the snapshots that could not be dropped this time, with
	// why; the next sweep tries again.
	Errors []string `json:"errors,omitempty"`
}

// Sweep finishes interrupted drops and drops this deployment's snapshots
// whose every committed run is past its ExpireTime, the same safe way as
// DROP SNAPSHOT: never one a BACKUP writes or a RESTORE reads (those are
// kept and retried next time), never another deployment's, never on a
// read-only repository. Snapshots without a TTL are kept for ever.
//
// It reads every info file of every snapshot of every writable repository:
// one GET per snapshot run per sweep.
func (l *Lifecycle) Sweep(ctx context.Context) (SweepResult, error) {
	res := SweepResult{Dropped: []string{}, Resumed: []string{}}
	now := l.now()
	drops, err := l.Store.Drops(ctx)
	if err != nil {
		return res, err
	}
	for _, d := range drops {
		if now.Sub(d.StartedAt) < ResumeAfter {
			continue
		}
		name := d.Repository + "/" + d.Label
		if _, err := l.Drop(ctx, DropRequest{Repository: d.Repository, Label: d.Label, Force: true}); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Errors = append(res.Errors, name+": "+err.Error())
			continue
		}
		res.Resumed = append(res.Resumed, name)
	}
	if err := l.reportAges(ctx, now); err != nil {
		return res, err
	}
	me, err := l.Store.DeploymentID(ctx)
	if err != nil {
		return res, err
	}
	repos, err := l.Store.ListRepositories(ctx)
	if err != nil {
		return res, err
	}
	for _, rec := range repos {
		if rec.ReadOnly {
			continue
		}
		before := len(res.Dropped)
		err := l.sweepRepository(ctx, rec, me, now, &res)
		l.emit([]metrics.Dim{{Name: metrics.DimRepository, Value: rec.Name}},
			metrics.Metric{Name: metrics.MetricExpired, Unit: metrics.Count, Value: float64(len(res.Dropped) - before)})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// sweepRepository drops the expired snapshots of one repository.
func (l *Lifecycle) sweepRepository(ctx context.Context, rec jobstore.Repository, me string, now time.Time, res *SweepResult) error {
	repo, err := l.Open(ctx, rec)
	if err != nil {
		res.Errors = append(res.Errors, rec.Name+": "+err.Error())
		return nil
	}
	labels, err := repo.Labels(ctx)
	if err != nil {
		res.Errors = append(res.Errors, rec.Name+": "+err.Error())
		return nil
	}
	for _, label := range labels {
		runs, err := repo.Runs(ctx, label)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s/%s: %v", rec.Name, label, err))
			continue
		}
		expired := len(runs) > 0
		for _, run := range runs {
			if run.Err != nil || run.Lifecycle.DeploymentID != me || !run.Lifecycle.Expired(now) {
				expired = false
			}
		}
		if !expired {
			res.Kept++
			continue
		}
		name := rec.Name + "/" + label
		_, err = l.Drop(ctx, DropRequest{Repository: rec.Name, Label: label})
		var conflict *job.ConflictError
		switch {
		case err == nil:
			res.Dropped = append(res.Dropped, name)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &conflict):
			// In use by a RESTORE (or a new BACKUP took the name): kept
			// until a later sweep.
			res.Kept++
			l.log().Info("expired snapshot kept", "repository", rec.Name, "label", label, "reason", err.Error())
		default:
			res.Errors = append(res.Errors, name+": "+err.Error())
		}
	}
	return nil
}

// ageHistory is how many recent jobs of a database reportAges looks through
// for its last FINISHED backup.
const ageHistory = 100

// reportAges emits, for every database with a backup schedule, the age of
// its last FINISHED backup (BackupAge, seconds). A database with none in
// its recent history gets no value, which the CDK app's alarm treats as
// breaching.
func (l *Lifecycle) reportAges(ctx context.Context, now time.Time) error {
	for _, db := range l.AgeDatabases {
		recs, err := l.Store.History(ctx, db, ageHistory)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Spec.IsRestore() || r.State != job.Finished {
				continue
			}
			l.emit([]metrics.Dim{{Name: metrics.DimDatabase, Value: db}},
				metrics.Metric{Name: metrics.MetricBackupAge, Unit: metrics.Seconds, Value: now.Sub(r.FinishedTime).Seconds()})
			break
		}
	}
	return nil
}

func (l *Lifecycle) emit(dims []metrics.Dim, ms ...metrics.Metric) {
	if err := l.Metrics.Emit(dims, ms...); err != nil {
		l.log().Warn("emit metrics", "error", err.Error())
	}
}
