package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
)

// StepError is a Step Functions error as a Catch passes it on.
type StepError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// CleanupEvent is the Cleanup state's payload: the state at the failure
// (with the caught error under "error") and the execution.
type CleanupEvent struct {
	Input struct {
		Job   *job.Spec       `json:"job,omitempty"`
		Input *ExecutionInput `json:"input,omitempty"` // the Parse state's input shape
		JobID string          `json:"jobId,omitempty"` // an execution started by the API
		Error StepError       `json:"error"`
	} `json:"input"`
	ExecutionARN string `json:"executionArn"`
}

// CleanupResult is what the Fail state reports: the original error.
type CleanupResult struct {
	Error string `json:"error"`
	Cause string `json:"cause"`
}

// StatusChangeDetail is the detail of EventBridge's "Step Functions
// Execution Status Change" event.
type StatusChangeDetail struct {
	ExecutionARN string `json:"executionArn"`
	Status       string `json:"status"`
	Input        string `json:"input"`
	Error        string `json:"error"`
	Cause        string `json:"cause"`
}

// Failed is the job a Cleanup event is for (the failed state's job, the
// API's job id, else the execution's name), the Status it gets and the
// result the Fail state reports. Backup and restore cleanups share it.
func (ev CleanupEvent) Failed() (jobID string, status job.Status, res CleanupResult) {
	res = CleanupResult{Error: ev.Input.Error.Error, Cause: CauseMessage(ev.Input.Error.Cause)}
	jobID = ev.Input.JobID
	if ev.Input.Job != nil {
		jobID = ev.Input.Job.JobID
	}
	if jobID == "" && ev.Input.Input != nil {
		jobID = ev.Input.Input.JobID
	}
	if jobID == "" {
		jobID = ExecutionName(ev.ExecutionARN)
	}
	return jobID, job.StatusFor(res.Error, res.Cause), res
}

// Ended is the job of an execution that ended and the Status it gets; ok is
// false for an end that needs no cleanup (SUCCEEDED, or still RUNNING).
func (d StatusChangeDetail) Ended() (jobID string, status job.Status, ok bool) {
	var in ExecutionInput
	_ = json.Unmarshal([]byte(d.Input), &in) // console input may be anything; fall back to the execution name
	jobID = in.JobID
	if jobID == "" {
		jobID = ExecutionName(d.ExecutionARN)
	}
	switch d.Status {
	case "TIMED_OUT":
		return jobID, job.StatusTimeout(), true
	case "ABORTED":
		return jobID, job.NewStatus(job.CodeCommonError, "execution aborted"), true
	case "FAILED":
		return jobID, job.StatusFor(d.Error, CauseMessage(d.Cause)), true
	}
	return jobID, job.Status{}, false
}

// Cleanup ends a failed job: CANCELLED with a StarRocks-style Status, the
// lock and the snapshot name released, open multipart uploads aborted and
// the job's files deleted. It runs from the state machine's Catch and acts
// only on a job this execution owns, so a duplicate or conflicting
// execution never cancels another's job.
func (p *Pipeline) Cleanup(ctx context.Context, ev CleanupEvent) (CleanupResult, error) {
	jobID, status, res := ev.Failed()
	return res, p.cancel(ctx, jobID, ev.ExecutionARN, status)
}

// StatusChanged handles the detail of EventBridge's status-change event for
// an execution that ended ABORTED, FAILED or TIMED_OUT. A stopped or
// timed-out execution runs no Catch, so this is how CANCEL BACKUP and the
// state machine's own timeout get their job cleaned up.
func (p *Pipeline) StatusChanged(ctx context.Context, d StatusChangeDetail) error {
	jobID, status, ok := d.Ended()
	if !ok {
		return nil
	}
	return p.cancel(ctx, jobID, d.ExecutionARN, status)
}

// CleanupTarget reads the job a cleanup by executionARN is for. ok is false
// when there is nothing it may clean: no record (the job failed before
// Lock claimed anything; its tombstone, CANCELLED with status, now keeps a
// late Lock from claiming anything), a job of the other kind (restore says
// which kind the cleanup is for), or a job another execution holds, so a
// duplicate or conflicting execution never cancels another's job.
func (p *Pipeline) CleanupTarget(ctx context.Context, jobID, executionARN string, status job.Status, restore bool) (rec job.Record, ok bool, err error) {
	rec, found, err := p.Store.GetOrTombstone(ctx, jobID, executionARN, status, p.now())
	if err != nil {
		return rec, false, transient("read job", err)
	}
	if !found {
		return rec, false, nil
	}
	if rec.Spec.IsRestore() != restore {
		p.log().Warn("cleanup skipped: the job is a "+rec.Spec.Kind(), "jobId", jobID)
		return rec, false, nil
	}
	if rec.ExecutionARN != "" && executionARN != "" && rec.ExecutionARN != executionARN {
		p.log().Info("cleanup skipped: job belongs to another execution", "jobId", jobID, "execution", executionARN, "owner", rec.ExecutionARN)
		return rec, false, nil
	}
	return rec, true, nil
}

// cancel cancels job jobID, if executionARN runs it, and removes its files.
func (p *Pipeline) cancel(ctx context.Context, jobID, executionARN string, status job.Status) error {
	rec, ok, err := p.CleanupTarget(ctx, jobID, executionARN, status, false)
	if !ok || err != nil {
		return err
	}
	if rec.State == job.Finished {
		// The commit stands. A Finalize cut off after it may not have
		// deleted the plan (it holds key boundary values): delete it here.
		p.removePlan(ctx, rec.Spec)
		return nil
	}
	// Files first, then the record: Cancel frees the snapshot name, and a
	// new job may take it as soon as it is free.
	if err := p.removeFiles(ctx, rec); err != nil {
		return err
	}
	cancelled, err := p.Store.Cancel(ctx, jobID, status, p.now())
	if err != nil {
		var c *job.ConflictError
		if errors.As(err, &c) {
			return nil // finished meanwhile
		}
		return err
	}
	if rec.State != job.Cancelled {
		// Once per job: the second cleanup of a failed execution finds it
		// cancelled already.
		p.emitJob(cancelled, SnapshotRef{})
	}
	// A worker whose file was recorded between the sweep above and Cancel
	// left it behind; any later one finds the job cancelled and deletes its
	// own. A second sweep, of this job's files only, catches the first kind.
	if err := p.removeFiles(ctx, rec); err != nil {
		p.log().Warn("second sweep of a cancelled job's files", "jobId", jobID, "error", err.Error())
	}
	p.log().Info("job cancelled", "jobId", jobID, "status", status.String())
	return nil
}

// removePlan deletes a finished job's shard plan and the Map's items file,
// if they are still there.
func (p *Pipeline) removePlan(ctx context.Context, spec job.Spec) {
	repo, err := p.JobRepository(ctx, spec, nil)
	var dir string
	if err == nil {
		dir, err = repo.SnapshotPrefix(spec.Label)
	}
	if err == nil {
		err = repo.DeleteKeys(ctx, []string{dir + planFile(spec.JobID), dir + itemsFile(spec.JobID)})
	}
	if err != nil {
		p.log().Warn("delete a finished job's shard plan", "jobId", spec.JobID, "error", err.Error())
	}
}

// removeFiles deletes what the job wrote: its data files (their names carry
// the job id), its shard plan, and __meta/__info if it got that far, and
// aborts its open multipart uploads.
func (p *Pipeline) removeFiles(ctx context.Context, rec job.Record) error {
	spec := rec.Spec
	repo, err := p.JobRepository(ctx, spec, nil)
	if changed := (*job.ConflictError)(nil); errors.As(err, &changed) {
		// CheckPinned: the name was registered again. The job's own files
		// (named by its id) are where it was locked.
		repo, err = p.Open(ctx, pinnedRepository(spec))
	}
	if err != nil {
		var nf *job.AnalysisError
		if errors.As(err, &nf) {
			return nil // the repository was dropped: nothing we may touch
		}
		return err
	}
	dir, err := repo.SnapshotPrefix(spec.Label)
	if err != nil {
		return err
	}
	mine := func(key string) bool { return repository.IsJobFile(strings.TrimPrefix(key, dir), spec.JobID) }
	if _, err := repo.AbortMultipartUploads(ctx, dir, mine); err != nil {
		return transient("abort multipart uploads", err)
	}
	files, err := repo.List(ctx, dir)
	if err != nil {
		return transient("list snapshot files", err)
	}
	keys := []string{dir + planFile(spec.JobID), dir + itemsFile(spec.JobID)}
	for key := range files {
		if mine(key) {
			keys = append(keys, key)
		}
	}
	// __meta and __info exist only if the job got to commit; whatever its
	// state now (the API may have cancelled it meanwhile), remove the ones it wrote.
	owned, err := p.ownsMeta(ctx, repo, spec.Label, dir, spec.JobID, files)
	if err != nil {
		return err
	}
	keys = append(keys, owned...)
	if err := repo.DeleteKeys(ctx, keys); err != nil {
		return transient("delete partial files", err)
	}
	return nil
}

// ownsMeta returns __meta and __info_* keys in dir that the job wrote.
func (p *Pipeline) ownsMeta(ctx context.Context, repo *repository.Repo, label, dir, jobID string, files map[string]int64) ([]string, error) {
	var out []string
	for key := range files {
		rest := strings.TrimPrefix(key, dir)
		if rest != "__meta" && !strings.HasPrefix(rest, "__info_") {
			continue
		}
		id, err := repo.JobIDOf(ctx, label, rest)
		if err != nil {
			return nil, transient("read "+rest, err)
		}
		if id == jobID {
			out = append(out, key)
		}
	}
	return out, nil
}
