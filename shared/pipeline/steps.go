package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/sql"
)

// ExecutionInput is what starts a backup execution: from the API (which has
// already parsed and locked, and passes the job id), from a schedule (with
// the event time) or pasted into the console.
type ExecutionInput struct {
	SQL   string `json:"sql"`
	Time  string `json:"time,omitempty"`
	JobID string `json:"jobId,omitempty"`
}

// ParseEvent is the Parse state's payload.
type ParseEvent struct {
	Input        ExecutionInput `json:"input"`
	StartTime    string         `json:"time"` // the execution's start time
	ExecutionARN string         `json:"executionArn"`
}

// JobState is the payload between the job's states.
type JobState struct {
	Job          job.Spec `json:"job"`
	ExecutionARN string   `json:"executionArn"`
	Plan         *PlanRef `json:"plan,omitempty"`
}

// ExecutionName is the last part of an execution ARN; a job started outside
// the API takes it as its id, so the execution and the job name each other.
func ExecutionName(arn string) string {
	return arn[strings.LastIndexByte(arn, ':')+1:]
}

// ParseStatement parses text that must hold exactly one BACKUP statement.
func ParseStatement(text string, minTimeout time.Duration) (*sql.BackupStmt, error) {
	stmts, err := sql.ParseWithOptions(text, sql.Options{MinTimeout: minTimeout})
	if err != nil {
		return nil, analysis(err)
	}
	if len(stmts) != 1 {
		return nil, &job.AnalysisError{Detail: fmt.Sprintf("a backup execution runs exactly one BACKUP statement, got %d statements", len(stmts))}
	}
	st, ok := stmts[0].(*sql.BackupStmt)
	if !ok {
		return nil, &job.AnalysisError{Detail: fmt.Sprintf("a backup execution runs a BACKUP statement, not %s", stmts[0].Kind())}
	}
	return st, nil
}

// Parse turns the execution input into a job spec. For a job the API has
// already prepared and locked it returns that job; otherwise it parses and
// validates the statement against the catalog and the repository registry.
func (p *Pipeline) Parse(ctx context.Context, ev ParseEvent) (JobState, error) {
	if ev.Input.JobID != "" {
		rec, err := p.Store.Get(ctx, ev.Input.JobID)
		if err != nil {
			return JobState{}, err
		}
		if rec.State.IsFinal() {
			return JobState{}, job.ErrJobCancelled(rec)
		}
		return JobState{Job: rec.Spec, ExecutionARN: ev.ExecutionARN}, nil
	}
	st, err := ParseStatement(ev.Input.SQL, p.MinTimeout)
	if err != nil {
		return JobState{}, err
	}
	eventTime := p.now()
	for _, t := range []string{ev.Input.Time, ev.StartTime} {
		if t == "" {
			continue
		}
		parsed, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return JobState{}, &job.AnalysisError{Detail: fmt.Sprintf("invalid event time %q: want RFC 3339", t)}
		}
		eventTime = parsed
		break
	}
	spec, _, err := Prepare(ctx, p.Source, p.Store, Request{
		Stmt: st, SQL: ev.Input.SQL, EventTime: eventTime, JobID: ExecutionName(ev.ExecutionARN),
	}, p.now())
	if err != nil {
		return JobState{}, err
	}
	return JobState{Job: spec, ExecutionARN: ev.ExecutionARN}, nil
}

// Lock claims the database and the snapshot name and records the job
// (PENDING). It is idempotent for a job that already holds its lock.
func (p *Pipeline) Lock(ctx context.Context, st JobState) (JobState, error) {
	if err := LockJob(ctx, p.Store, p.Open, st.Job, st.ExecutionARN, p.lockGrace()); err != nil {
		return JobState{}, err
	}
	return st, nil
}

// LockJob is the Lock step, shared with the API, which locks synchronously
// so the caller gets StarRocks' conflict errors at once.
func LockJob(ctx context.Context, store *jobstore.Store, open OpenRepository, spec job.Spec, executionARN string, grace time.Duration) error {
	if _, err := store.Get(ctx, spec.JobID); err == nil {
		// This job already holds its lock: re-lock idempotently, without the
		// S3 check (its own files may exist by now).
		rec := job.NewRecord(spec)
		rec.ExecutionARN = executionARN
		return store.Lock(ctx, rec, grace)
	} else if _, notFound := err.(*job.NotFoundError); !notFound {
		return transient("read job", err)
	}
	if spec.IsRestore() {
		// A RESTORE takes the database lock only: it writes no snapshot.
		rec := job.NewRecord(spec)
		rec.ExecutionARN = executionARN
		return store.Lock(ctx, rec, grace)
	}
	// The deployment id exists before any BACKUP can commit, so Finalize
	// only ever reads it (its role cannot put items).
	if _, err := store.DeploymentID(ctx); err != nil {
		return transient("deployment id", err)
	}
	repoRec, ok, err := store.GetRepository(ctx, spec.Repository)
	if err != nil {
		return transient("read repository registry", err)
	}
	if !ok {
		return job.ErrRepositoryNotFound(spec.Repository)
	}
	repo, err := open(ctx, repoRec)
	if err != nil {
		return err
	}
	exists, err := repo.SnapshotExists(ctx, spec.Label)
	if err != nil {
		return transient("check snapshot name in repository", err)
	}
	if exists {
		return job.ErrSnapshotExists(spec.Label)
	}
	rec := job.NewRecord(spec)
	rec.ExecutionARN = executionARN
	return store.Lock(ctx, rec, grace)
}

// planFile is where a job's shard plan lives in the snapshot directory.
// SHOW SNAPSHOT lists only snapshots with an info file, so it never makes a
// snapshot look present; Finalize and cleanup delete it.
func planFile(jobID string) string { return "__plan_" + jobID + ".json" }

// repoFor opens the repository of a job.
func (p *Pipeline) repoFor(ctx context.Context, spec job.Spec) (*repository.Repo, error) {
	rec, ok, err := p.Store.GetRepository(ctx, spec.Repository)
	if err != nil {
		return nil, transient("read repository registry", err)
	}
	if !ok {
		return nil, job.ErrRepositoryNotFound(spec.Repository)
	}
	return p.Open(ctx, rec)
}

// CauseMessage extracts the message from a Step Functions error Cause, which
// for a Lambda error is the function's error payload JSON.
func CauseMessage(cause string) string {
	var payload struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &payload) == nil && payload.ErrorMessage != "" {
		return payload.ErrorMessage
	}
	return cause
}
