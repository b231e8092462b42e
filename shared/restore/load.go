package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/target"
)

// LoadBatch is DOWNLOADING: it loads each file of the batch into its
// shadow table, streamed (see loadFile). Each file's bytes are checked
// against the manifest's SHA-256 before its rows commit, and each file is
// loaded in one transaction with its journal row, so a retried batch loads
// nothing twice. The job is
// checked before every file, so a cancel or timeout stops it.
func (r *Restorer) LoadBatch(ctx context.Context, ev LoadEvent) (LoadResult, error) {
	var res LoadResult
	spec := ev.Job
	if _, err := r.Pipeline.Store.Active(ctx, spec.JobID); err != nil {
		return res, err
	}
	if _, err := r.Pipeline.Store.UpdateState(ctx, spec.JobID, []job.State{job.Download, job.Downloading}, job.Downloading, r.now()); err != nil {
		return res, err
	}
	repo, err := r.repo(ctx, spec)
	if err != nil {
		return res, err
	}
	sess, err := r.Target.Session(ctx)
	if err != nil {
		return res, transient("connect to the target database", err)
	}
	defer sess.Close()
	method, err := sess.LoadMethod(ctx)
	if err != nil {
		return res, transient("read the target's load settings", err)
	}
	if method == target.LoadInsert {
		r.log().Warn("the target server has local_infile off: loading rows with INSERT statements, which is slower than LOAD DATA LOCAL INFILE", "job", spec.JobID)
	}
	for i, f := range ev.Batch.Files {
		// The batch comes from the work area: it may load only into the
		// job's own shadow tables, never into a live one.
		if !strings.HasPrefix(f.Into, shadowPrefix(spec.JobID)) {
			return res, &job.ConflictError{Message: fmt.Sprintf("load batch of job %s loads %s into %s, not a shadow table of the job", spec.JobID, f.Key, f.Into)}
		}
		if i > 0 {
			if _, err := r.Pipeline.Store.Active(ctx, spec.JobID); err != nil {
				return res, err
			}
		}
		rows, loaded, err := r.loadFile(ctx, repo, sess, spec, f)
		if err != nil {
			return res, err
		}
		if loaded {
			if rows != f.Rows {
				return res, job.NewCheckError(job.CodeBadFile, fmt.Sprintf("data file %s of snapshot %s has %d rows, the manifest says %d", f.Key, spec.Label, rows, f.Rows))
			}
			if err := r.Pipeline.Store.AddProgress(ctx, spec.JobID, 1, f.Bytes); err != nil {
				return res, err
			}
		}
		res.Batch.Files++
		res.Batch.Rows += rows
	}
	return res, nil
}

// loadFile streams one data file from the repository into its shadow
// table. The file is read once, front to back, one row group in memory at
// a time; its size and SHA-256 are checked when the last byte has passed,
// before the load's transaction commits, so no row of a damaged file is
// ever committed.
func (r *Restorer) loadFile(ctx context.Context, repo *repository.Repo, sess *target.Session, spec job.Spec, f FileTask) (rows int64, loaded bool, err error) {
	stream, err := repo.OpenFileStream(ctx, spec.Label, repository.FileRef{Key: f.Key, Bytes: f.Bytes, SHA256: f.SHA256})
	if err != nil {
		if bad := badFile(spec, f, err); bad != nil {
			return 0, false, bad
		}
		return 0, false, transient("read "+f.Key, err)
	}
	defer stream.Close()
	pf, err := parquetio.OpenStream(stream, stream.Size())
	if err != nil {
		// A damaged file explains a file that does not open.
		if ferr := stream.Finish(); ferr != nil {
			if bad := badFile(spec, f, ferr); bad != nil {
				return 0, false, bad
			}
			return 0, false, transient("read "+f.Key, ferr)
		}
		return 0, false, job.NewCheckError(job.CodeBadFile, fmt.Sprintf("data file %s of snapshot %s: %v", f.Key, spec.Label, err))
	}
	rows, loaded, err = sess.Load(ctx, spec.Database, f.Into, journalName(spec.JobID), f.Key, pf)
	if err != nil {
		if bad := badFile(spec, f, err); bad != nil {
			return 0, false, bad
		}
		return 0, false, classify("load "+f.Key, err)
	}
	return rows, loaded, nil
}

// badFile is the job's error for a data file that is damaged or missing,
// nil for any other error.
func badFile(spec job.Spec, f FileTask, err error) error {
	switch {
	case errors.Is(err, repository.ErrChecksum):
		return job.NewCheckError(job.CodeBadFile, fmt.Sprintf("data file %s of snapshot %s does not match its SHA-256 in the manifest: the snapshot is damaged", f.Key, spec.Label))
	case errors.Is(err, repository.ErrMissing):
		return job.NewCheckError(job.CodeBadFile, fmt.Sprintf("data file %s of snapshot %s is missing from the repository: the snapshot is damaged", f.Key, spec.Label))
	}
	return nil
}
