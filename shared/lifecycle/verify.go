package lifecycle

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
)

// VerifyRequest is one ADMIN VERIFY SNAPSHOT.
type VerifyRequest struct {
	Repository string
	Label      string
	// Timestamp names the run; empty: the newest.
	Timestamp string
	Deep      bool
}

// SubmitVerify checks the request and records a PENDING verification with a
// new id; RunVerify does the work (the verify function, invoked
// asynchronously). A read-only repository can be verified.
func (l *Lifecycle) SubmitVerify(ctx context.Context, req VerifyRequest) (jobstore.Verification, error) {
	rec, ok, err := l.Store.GetRepository(ctx, req.Repository)
	if err != nil {
		return jobstore.Verification{}, err
	}
	if !ok {
		return jobstore.Verification{}, job.ErrRepositoryNotFound(req.Repository)
	}
	repo, err := l.Open(ctx, rec)
	if err != nil {
		return jobstore.Verification{}, err
	}
	ts, err := repo.Timestamps(ctx, req.Label)
	if err != nil {
		return jobstore.Verification{}, err
	}
	if len(ts) == 0 {
		return jobstore.Verification{}, job.ErrSnapshotNotFound(req.Label, req.Repository)
	}
	at := ts[len(ts)-1]
	if req.Timestamp != "" {
		at = ""
		for _, t := range ts {
			if t == req.Timestamp {
				at = t
			}
		}
		if at == "" {
			return jobstore.Verification{}, &job.NotFoundError{Message: fmt.Sprintf("Snapshot '%s' has no run %s in repository %s", req.Label, req.Timestamp, req.Repository)}
		}
	}
	v := jobstore.Verification{
		ID: uuid.NewString(), Repository: req.Repository, Label: req.Label, Timestamp: at, Deep: req.Deep,
		State: jobstore.VerifyPending, CreateTime: l.now().UTC(),
	}
	if err := l.Store.PutVerification(ctx, v); err != nil {
		return jobstore.Verification{}, err
	}
	return v, nil
}

// RunVerify runs a verification: RUNNING, then FINISHED with its rows and
// counts, or FAILED with why (an unreadable info file: nothing to check
// against). A FINISHED or FAILED one is left alone; a RUNNING one (an
// invocation that ran out of time, retried by Lambda) runs again, writing
// the same rows.
func (l *Lifecycle) RunVerify(ctx context.Context, id string) (jobstore.Verification, error) {
	v, err := l.Store.Verification(ctx, id)
	if err != nil || v.State == jobstore.VerifyFinished || v.State == jobstore.VerifyFailed {
		return v, err
	}
	v.State = jobstore.VerifyRunning
	if err := l.Store.UpdateVerification(ctx, v); err != nil {
		return v, err
	}
	rows, err := l.verifyRows(ctx, v)
	if err != nil {
		if ctx.Err() != nil {
			return v, err // the invocation ran out of time: retried by Lambda
		}
		v.State, v.Message, v.FinishTime = jobstore.VerifyFailed, err.Error(), l.now().UTC()
		return v, l.Store.UpdateVerification(context.WithoutCancel(ctx), v)
	}
	if err := l.Store.PutVerifyRows(ctx, v, rows); err != nil {
		return v, err
	}
	v.Files = len(rows)
	for _, r := range rows {
		switch r.Status {
		case repository.VerifyOK:
			v.OK++
		case repository.VerifyMissing:
			v.Missing++
		default:
			v.Mismatch++
		}
	}
	v.State, v.FinishTime = jobstore.VerifyFinished, l.now().UTC()
	if err := l.Store.UpdateVerification(ctx, v); err != nil {
		return v, err
	}
	l.log().Info("snapshot verified", "verificationId", v.ID, "repository", v.Repository, "label", v.Label,
		"timestamp", v.Timestamp, "deep", v.Deep, "files", v.Files, "missing", v.Missing, "mismatch", v.Mismatch)
	return v, nil
}

func (l *Lifecycle) verifyRows(ctx context.Context, v jobstore.Verification) ([]repository.VerifyRow, error) {
	rec, ok, err := l.Store.GetRepository(ctx, v.Repository)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, job.ErrRepositoryNotFound(v.Repository)
	}
	repo, err := l.Open(ctx, rec)
	if err != nil {
		return nil, err
	}
	return repo.VerifyRun(ctx, v.Label, v.Timestamp, v.Deep)
}
