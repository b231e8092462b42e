// Package lifecycle is the snapshot lifecycle as plain Go: DROP SNAPSHOT and
// the expiry sweep that drops this deployment's snapshots past their
// ExpireTime. The API, the sweeper Lambda and the tests run this same code.
//
// A drop runs in this order, each step safe to repeat:
//
//  1. refuse while a BACKUP writes the snapshot (its name reservation is
//     held by an unfinished job), on a read-only repository, and, unless
//     FORCE, for a snapshot another deployment wrote;
//  2. write the drop marker (jobstore.BeginDrop), conditional on the name
//     reservation being unchanged; from then on Lock refuses any BACKUP or
//     RESTORE of the label;
//  3. refuse (and remove the marker) while a RESTORE that locked before the
//     marker reads it: RESTORE jobs are in the job table, active until
//     FINISHED or CANCELLED;
//  4. delete every __info_* file in one request: the snapshot disappears
//     from SHOW SNAPSHOT and RESTORE at once; then every other object;
//  5. free the name: delete the reservation and the marker together.
//
// A drop interrupted after step 2 leaves its marker, and after step 4 an
// invisible remainder: a second DROP SNAPSHOT, or the next sweep, finishes it.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/metrics"
	"github.com/srbackup/srbackup/shared/repository"
)

// OpenRepository opens a registered repository (pipeline.OpenRepository).
type OpenRepository func(ctx context.Context, repo jobstore.Repository) (*repository.Repo, error)

// Lifecycle drops and expires snapshots.
type Lifecycle struct {
	Store *jobstore.Store
	Open  OpenRepository
	// Now is the clock (nil: time.Now); the sweep's tests move it.
	Now func() time.Time
	// Log receives one line per dropped snapshot (nil: slog.Default()).
	Log *slog.Logger
	// Metrics receives the sweep's EMF lines (nil: none).
	Metrics *metrics.Writer
	// AgeDatabases are the databases with a backup schedule: each sweep
	// reports the age of each one's last FINISHED backup (BackupAge).
	AgeDatabases []string
}

func (l *Lifecycle) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Lifecycle) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

// DropRequest is one DROP SNAPSHOT.
type DropRequest struct {
	Repository string
	Label      string
	// Force drops a snapshot another deployment (or an unknown one) wrote,
	// or a remainder without any committed run.
	Force bool
}

// Dropped is what a drop removed.
type Dropped struct {
	Repository string
	Label      string
	repository.DropResult
	// Resumed is set when the drop finished an interrupted one.
	Resumed bool
}

// Drop drops one snapshot (every committed run of its label), in the order
// of the package comment.
func (l *Lifecycle) Drop(ctx context.Context, req DropRequest) (Dropped, error) {
	out := Dropped{Repository: req.Repository, Label: req.Label}
	rec, ok, err := l.Store.GetRepository(ctx, req.Repository)
	if err != nil {
		return out, err
	}
	if !ok {
		return out, job.ErrRepositoryNotFound(req.Repository)
	}
	if rec.ReadOnly {
		return out, job.ErrRepositoryReadOnly(req.Repository)
	}
	repo, err := l.Open(ctx, rec)
	if err != nil {
		return out, err
	}
	holder, reserved, err := l.Store.Reservation(ctx, req.Repository, req.Label)
	if err != nil {
		return out, err
	}
	if reserved {
		jr, err := l.Store.Get(ctx, holder)
		var nf *job.NotFoundError
		switch {
		case errors.As(err, &nf):
			// The job left the history long ago: it is not running.
		case err != nil:
			return out, err
		case !jr.State.IsFinal():
			return out, job.ErrSnapshotInUse(req.Label, jr.Spec.Kind(), jr.Spec.JobID, string(jr.State))
		}
	}
	resuming, err := l.dropUnderWay(ctx, req.Repository, req.Label)
	if err != nil {
		return out, err
	}
	out.Resumed = resuming
	if !resuming {
		if err := l.checkDroppable(ctx, repo, req); err != nil {
			return out, err
		}
	}
	dropID := uuid.NewString()
	reservedBy := ""
	if reserved {
		reservedBy = holder
	}
	if err := l.Store.BeginDrop(ctx, req.Repository, req.Label, dropID, reservedBy); err != nil {
		return out, err
	}
	if r, ok, err := l.activeRestore(ctx, req.Repository, req.Label); err != nil || ok {
		if aerr := l.Store.AbandonDrop(context.WithoutCancel(ctx), req.Repository, req.Label, dropID); aerr != nil {
			l.log().Warn("remove drop marker", "repository", req.Repository, "label", req.Label, "error", aerr.Error())
		}
		if err != nil {
			return out, err
		}
		return out, job.ErrSnapshotInUse(req.Label, job.TypeRestore, r.Spec.JobID, string(r.State))
	}
	res, err := repo.DropSnapshot(ctx, req.Label)
	out.DropResult = res
	if err != nil {
		return out, fmt.Errorf("drop snapshot %s from %s (run DROP SNAPSHOT again to finish): %w", req.Label, req.Repository, err)
	}
	if err := l.Store.EndDrop(ctx, req.Repository, req.Label, dropID); err != nil {
		return out, err
	}
	l.log().Info("snapshot dropped", "repository", req.Repository, "label", req.Label, "timestamps", res.Timestamps,
		"objects", res.Objects, "uploadsAborted", res.Uploads, "force", req.Force, "resumed", resuming)
	return out, nil
}

// dropUnderWay reports whether a drop marker exists for the label: an
// interrupted drop whose checks already passed.
func (l *Lifecycle) dropUnderWay(ctx context.Context, repo, label string) (bool, error) {
	drops, err := l.Store.Drops(ctx)
	if err != nil {
		return false, err
	}
	for _, d := range drops {
		if d.Repository == repo && d.Label == label {
			return true, nil
		}
	}
	return false, nil
}

// checkDroppable refuses a snapshot that does not exist, and, without
// FORCE, one this deployment did not write.
func (l *Lifecycle) checkDroppable(ctx context.Context, repo *repository.Repo, req DropRequest) error {
	runs, err := repo.Runs(ctx, req.Label)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		exists, err := repo.SnapshotExists(ctx, req.Label)
		switch {
		case err != nil:
			return err
		case !exists:
			return job.ErrSnapshotNotFound(req.Label, req.Repository)
		case !req.Force:
			return &job.ConflictError{Message: fmt.Sprintf("Snapshot '%s' has no committed run in repository %s (a partial upload); DROP SNAPSHOT %s ON %s FORCE removes it",
				req.Label, req.Repository, req.Label, req.Repository)}
		}
		return nil
	}
	if req.Force {
		return nil
	}
	me, err := l.Store.DeploymentID(ctx)
	if err != nil {
		return err
	}
	for _, run := range runs {
		if run.Err != nil {
			return &job.ConflictError{Message: fmt.Sprintf("Snapshot '%s' run %s has an unreadable info file (%v), so its writer is unknown; DROP SNAPSHOT %s ON %s FORCE drops it anyway",
				req.Label, run.Timestamp, run.Err, req.Label, req.Repository)}
		}
		ours, err := l.ours(ctx, req, run.Lifecycle, me)
		if err != nil {
			return err
		}
		if !ours {
			return job.ErrForeignSnapshot(req.Label, run.Lifecycle.DeploymentID)
		}
	}
	return nil
}

// ours reports whether this deployment wrote a run. A run written before
// deployments had ids records none: it counts as ours when this
// deployment's job history still holds its job (30 days by default).
func (l *Lifecycle) ours(ctx context.Context, req DropRequest, lc repository.Lifecycle, me string) (bool, error) {
	if lc.DeploymentID != "" {
		return lc.DeploymentID == me, nil
	}
	if lc.JobID == "" {
		return false, nil
	}
	rec, err := l.Store.Get(ctx, lc.JobID)
	var nf *job.NotFoundError
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !rec.Spec.IsRestore() && rec.Spec.Repository == req.Repository && rec.Spec.Label == req.Label, nil
}

// activeRestore finds an unfinished RESTORE of the snapshot. An active job
// holds its database's lock and is that database's last job, so the last
// jobs of all databases include every running RESTORE.
func (l *Lifecycle) activeRestore(ctx context.Context, repo, label string) (job.Record, bool, error) {
	recs, err := l.Store.LastJobs(ctx)
	if err != nil {
		return job.Record{}, false, err
	}
	for _, r := range recs {
		if r.Spec.IsRestore() && !r.State.IsFinal() && r.Spec.Repository == repo && r.Spec.Label == label {
			return r, true, nil
		}
	}
	return job.Record{}, false, nil
}

// RepositoryInUse returns an unfinished job that writes or reads the
// repository: DROP REPOSITORY refuses while there is one, as StarRocks does.
func RepositoryInUse(ctx context.Context, store *jobstore.Store, repo string) (job.Record, bool, error) {
	recs, err := store.LastJobs(ctx)
	if err != nil {
		return job.Record{}, false, err
	}
	for _, r := range recs {
		if !r.State.IsFinal() && r.Spec.Repository == repo {
			return r, true, nil
		}
	}
	return job.Record{}, false, nil
}
