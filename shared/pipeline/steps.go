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
	return ParseOne[*sql.BackupStmt](text, minTimeout, "BACKUP")
}

// ParseOne parses an execution's text, which must hold exactly one
// statement of type T; kind names it in the errors ("BACKUP", "RESTORE").
func ParseOne[T sql.Statement](text string, minTimeout time.Duration, kind string) (T, error) {
	var zero T
	stmts, err := sql.ParseWithOptions(text, sql.Options{MinTimeout: minTimeout})
	if err != nil {
		return zero, analysis(err)
	}
	machine := strings.ToLower(kind)
	if len(stmts) != 1 {
		return zero, &job.AnalysisError{Detail: fmt.Sprintf("a %s execution runs exactly one %s statement, got %d statements", machine, kind, len(stmts))}
	}
	st, ok := stmts[0].(T)
	if !ok {
		return zero, &job.AnalysisError{Detail: fmt.Sprintf("a %s execution runs a %s statement, not %s", machine, kind, stmts[0].Kind())}
	}
	return st, nil
}

// LockedJob is the job the API prepared and locked for an execution (its
// input names the job): the Parse states return it as it was recorded. A
// job already final (cancelled before its execution ran) stops there.
func (p *Pipeline) LockedJob(ctx context.Context, jobID string) (job.Spec, error) {
	rec, err := p.Store.Get(ctx, jobID)
	if err != nil {
		return job.Spec{}, err
	}
	if rec.State.IsFinal() {
		return job.Spec{}, job.ErrJobCancelled(rec)
	}
	return rec.Spec, nil
}

// Parse turns the execution input into a job spec. For a job the API has
// already prepared and locked it returns that job; otherwise it parses and
// validates the statement against the catalog and the repository registry.
func (p *Pipeline) Parse(ctx context.Context, ev ParseEvent) (JobState, error) {
	if ev.Input.JobID != "" {
		spec, err := p.LockedJob(ctx, ev.Input.JobID)
		if err != nil {
			return JobState{}, err
		}
		return JobState{Job: spec, ExecutionARN: ev.ExecutionARN}, nil
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
	spec, err := p.Prepare(ctx, Request{Stmt: st, SQL: ev.Input.SQL, EventTime: eventTime, JobID: ExecutionName(ev.ExecutionARN)})
	if err != nil {
		return JobState{}, err
	}
	return JobState{Job: spec, ExecutionARN: ev.ExecutionARN}, nil
}

// Lock claims the database and the snapshot name and records the job
// (PENDING). It is idempotent for a job that already holds its lock.
func (p *Pipeline) Lock(ctx context.Context, st JobState) (JobState, error) {
	if err := p.lock(ctx, st.Job, st.ExecutionARN, p.lease()); err != nil {
		return JobState{}, err
	}
	return st, nil
}

// LockPending is the API's Lock: it locks synchronously, so the caller gets
// StarRocks' conflict errors at once, with a short lease (Pending) until
// the job's execution locks it again in its Lock state.
func (p *Pipeline) LockPending(ctx context.Context, spec job.Spec, executionARN string) error {
	lease := p.lease()
	lease.Pending = DefaultPendingLease
	return p.lock(ctx, spec, executionARN, lease)
}

func (p *Pipeline) lock(ctx context.Context, spec job.Spec, executionARN string, lease jobstore.Lease) error {
	rec := job.NewRecord(spec)
	rec.ExecutionARN = executionARN
	if stored, err := p.Store.Get(ctx, spec.JobID); err == nil && stored.State == job.Cancelled {
		// Cancelled before it was locked (a Lock outliving its stopped
		// execution meets cleanup's record): claim nothing.
		return job.ErrJobCancelled(stored)
	} else if err == nil {
		// This job already holds its lock: re-lock idempotently, without the
		// S3 check (its own files may exist by now). Only the execution
		// recorded for the job may (jobstore.Store.Lock).
		return p.Store.Lock(ctx, rec, lease)
	} else if _, notFound := err.(*job.NotFoundError); !notFound {
		return transient("read job", err)
	}
	if spec.IsRestore() {
		// A RESTORE takes the database lock only: it writes no snapshot.
		return p.Store.Lock(ctx, rec, lease)
	}
	// The deployment id exists before any BACKUP can commit, so Finalize
	// only ever reads it (its role cannot put items).
	if _, err := p.Store.DeploymentID(ctx); err != nil {
		return transient("deployment id", err)
	}
	repo, err := p.JobRepository(ctx, spec, nil)
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
	return p.Store.Lock(ctx, rec, lease)
}

// planFile is where a job's shard plan lives in the snapshot directory.
// SHOW SNAPSHOT lists only snapshots with an info file, so it never makes a
// snapshot look present; Finalize and cleanup delete it.
func planFile(jobID string) string { return "__plan_" + jobID + ".json" }

// itemsFile holds the upload Map's items (batch numbers) beside the plan:
// a file of its own, so the state machine's role reads these numbers, never
// the plan (whose key ranges are row values). Deleted with the plan.
func itemsFile(jobID string) string { return "__items_" + jobID + ".json" }

// writePlanOnce writes a job's shard plan only if it has none yet, and
// returns the plan the job runs: the one written first. A retried
// SnapshotShard thus keeps the plan its earlier attempt wrote (and a
// point-in-time rendezvous sized for it), so the plan the upload batches
// read never changes under them.
func (p *Pipeline) writePlanOnce(ctx context.Context, repo *repository.Repo, spec job.Spec, key string, plan *Plan) (*Plan, error) {
	if err := checkKeyLengths(repo, spec, key, plan); err != nil {
		return nil, err
	}
	ref, created, err := repo.CreateJSON(ctx, spec.Label, key, plan)
	if err != nil {
		return nil, transient("write shard plan", err)
	}
	if created {
		// The SHA-256 of the bytes written, not of what S3 holds now.
		if err := p.Store.RecordPlanSHA256(ctx, spec.JobID, ref.SHA256); err != nil {
			return nil, transient("record the shard plan checksum", err)
		}
		return plan, nil
	}
	// The earlier attempt recorded its plan's checksum (unless it ended
	// between writing and recording, when the stored plan's is recorded).
	var stored Plan
	ref, err = repo.GetJSON(ctx, spec.Label, key, &stored)
	if err != nil {
		return nil, transient("read shard plan", err)
	}
	if err := checkPlan(spec, &stored); err != nil {
		return nil, err
	}
	if err := p.Store.RecordPlanSHA256(ctx, spec.JobID, ref.SHA256); err != nil {
		return nil, transient("record the shard plan checksum", err)
	}
	if stored.PointInTime() {
		if err := p.Store.CreatePIT(ctx, spec.JobID, len(stored.Batches), spec.Deadline); err != nil {
			return nil, transient("create point-in-time rendezvous", err)
		}
	}
	p.log().Info("shard plan kept from an earlier attempt", "jobId", spec.JobID)
	return &stored, nil
}

// PinRepository records in spec the registered repository the job runs
// against (Prepare and Restorer.Submit pin it; Lock writes it with the job).
func PinRepository(spec *job.Spec, repo jobstore.Repository) {
	spec.RepositoryID, spec.RepositoryLocation = repo.ID, repo.Location
}

// readPlan reads a job's shard plan for a step and checks it is the plan
// written for the job: its SHA-256 is the one recorded on the job, and it
// reads only the job's database and objects. A plan replaced in S3 fails
// the job.
func (p *Pipeline) readPlan(ctx context.Context, repo *repository.Repo, spec job.Spec, key string, plan *Plan) error {
	rec, err := p.Store.Get(ctx, spec.JobID)
	if err != nil {
		return transient("read job", err)
	}
	ref, err := repo.GetJSON(ctx, spec.Label, key, plan)
	if err != nil {
		return transient("read shard plan", err)
	}
	if key != planFile(spec.JobID) || rec.PlanSHA256 == "" || ref.SHA256 != rec.PlanSHA256 {
		return &job.ConflictError{Message: fmt.Sprintf("shard plan %s of job %s has SHA-256 %s, the job recorded %q: it is not the plan written for the job",
			key, spec.JobID, ref.SHA256, rec.PlanSHA256)}
	}
	return checkPlan(spec, plan)
}

// checkPlan checks that a plan is the job's and reads only the job's
// database and tables.
func checkPlan(spec job.Spec, plan *Plan) error {
	bad := func(format string, args ...any) error {
		return &job.ConflictError{Message: fmt.Sprintf("shard plan of job %s: ", spec.JobID) + fmt.Sprintf(format, args...)}
	}
	if plan.JobID != spec.JobID || plan.Database != spec.Database {
		return bad("it names job %s of database %s", plan.JobID, plan.Database)
	}
	tables := map[string]bool{}
	for _, o := range spec.Objects {
		if o.Kind == job.KindTable {
			tables[o.Name] = true
		}
	}
	if spec.Unlisted() {
		// The plan listed the whole database itself (Spec.ObjectCount):
		// its tables are the job's.
		if len(plan.Objects) == 0 {
			return bad("it lists no object of the whole database")
		}
		for _, o := range plan.Objects {
			if o.Kind == string(job.KindTable) {
				tables[o.Name] = true
			}
		}
	}
	for _, s := range plan.Shards {
		if s.Shard.Database != spec.Database || !tables[s.Shard.Table] {
			return bad("shard %d reads %s.%s, not a table of the job", s.N, s.Shard.Database, s.Shard.Table)
		}
	}
	return nil
}

// maxPieces is the most pieces an upload splits one shard into
// (repository.PieceContentPath's limit).
const maxPieces = 9999

// checkKeyLengths refuses, at planning, a job one of whose files would have
// a key over S3's 1,024 bytes (long database, table or partition names, a
// long label or repository prefix), rather than failing an upload later:
// the plan, and the longest name each partition's data files can get (the
// highest shard number, the last piece). The data files' keys are longer
// than __meta's and __info's, which name neither table nor job.
func checkKeyLengths(repo *repository.Repo, spec job.Spec, planKey string, plan *Plan) error {
	rels := []string{planKey}
	seen := map[[2]string]bool{}
	for _, s := range plan.Shards {
		sh := s.Shard
		if seen[[2]string{sh.Table, sh.Partition}] {
			continue
		}
		seen[[2]string{sh.Table, sh.Partition}] = true
		rel, err := repository.PieceContentPath(spec.Database, sh.Table, sh.Partition, len(plan.Shards)-1, maxPieces, spec.JobID)
		if err != nil {
			return &job.AnalysisError{Detail: fmt.Sprintf("table %s partition %s: %v", sh.Table, sh.Partition, err)}
		}
		rels = append(rels, rel)
	}
	for _, rel := range rels {
		if _, err := repo.SnapshotKey(spec.Label, rel); err != nil {
			return &job.AnalysisError{Detail: err.Error() + ": use shorter names, label or repository prefix"}
		}
	}
	return nil
}

// pinnedRepository is the repository spec was locked with.
func pinnedRepository(spec job.Spec) jobstore.Repository {
	return jobstore.Repository{ID: spec.RepositoryID, Name: spec.Repository, Location: spec.RepositoryLocation}
}

// CheckPinned fails a job whose repository name now means another
// repository than the one it was locked with: dropped and created again,
// elsewhere or at the same location. A job without a pin passes.
func CheckPinned(spec job.Spec, repo jobstore.Repository) error {
	if spec.RepositoryLocation == "" || (repo.ID == spec.RepositoryID && repo.Location == spec.RepositoryLocation) {
		return nil
	}
	return &job.ConflictError{Message: fmt.Sprintf("repository %s was dropped and created again while %s job %s ran (id %d at %s, now id %d at %s): the job stops",
		spec.Repository, strings.ToLower(spec.Kind()), spec.JobID, spec.RepositoryID, spec.RepositoryLocation, repo.ID, repo.Location)}
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
