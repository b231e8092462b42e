package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/lifecycle"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/sql"
)

// guard authorizes stmt for the caller, runs fn and writes the audit record.
func (s *Server) guard(ctx context.Context, req *request, stmt sql.Statement, fn func() error) error {
	var err error
	if req.access != nil {
		err = req.access.Authorize(ctx, stmt)
	}
	if err == nil {
		err = fn()
	}
	var e *Error
	if err != nil {
		e = s.fail(req, err)
		err = e
	}
	s.audit(ctx, req, stmt.Kind(), target(stmt), e)
	return err
}

// execute runs one statement for the caller.
func (s *Server) execute(ctx context.Context, req *request, stmt sql.Statement) (res Result, err error) {
	err = s.guard(ctx, req, stmt, func() error {
		res, err = s.run(ctx, req, stmt)
		return err
	})
	return res, err
}

// run executes one authorized statement.
func (s *Server) run(ctx context.Context, req *request, stmt sql.Statement) (Result, error) {
	switch st := stmt.(type) {
	case *sql.BackupStmt:
		return s.backup(ctx, req, st)
	case *sql.ShowBackupStmt:
		return s.showBackup(ctx, req, st)
	case *sql.CancelBackupStmt:
		return s.cancelBackup(ctx, req, st)
	case *sql.ShowSnapshotStmt:
		return s.showSnapshot(ctx, st)
	case *sql.CreateRepositoryStmt:
		return s.createRepository(ctx, st)
	case *sql.DropRepositoryStmt:
		return s.dropRepository(ctx, st)
	case *sql.DropSnapshotStmt:
		return s.dropSnapshot(ctx, st)
	case *sql.AdminVerifySnapshotStmt:
		return s.adminVerify(ctx, st)
	case *sql.ShowRepositoriesStmt:
		return s.showRepositories(ctx, st)
	case *sql.RestoreStmt:
		return s.restore(ctx, req, st)
	case *sql.ShowRestoreStmt:
		return s.showRestore(ctx, st)
	case *sql.CancelRestoreStmt:
		return s.cancelRestore(ctx, st)
	case *sql.UseStmt:
		return s.use(ctx, st)
	case *sql.GrantStmt, *sql.RevokeStmt, *sql.CreateRoleStmt, *sql.DropRoleStmt:
		if req.access == nil {
			return Result{}, errNotSupported(strings.ReplaceAll(stmt.Kind(), "_", " "))
		}
		if err := req.access.Execute(ctx, stmt); err != nil {
			return Result{}, err
		}
		return Result{Statement: stmt.Kind(), OK: true}, nil
	}
	return Result{}, errNotSupported(stmt.Kind())
}

// use answers USE: the parser already made the database current for the
// statements after it; here it is checked to exist, as StarRocks does.
func (s *Server) use(ctx context.Context, st *sql.UseStmt) (Result, error) {
	ok, err := s.Pipeline.Source.DatabaseExists(ctx, st.Database)
	if err != nil {
		return Result{}, job.Transient("read the source catalog", err)
	}
	if !ok {
		return Result{}, &job.AnalysisError{Detail: fmt.Sprintf("Unknown database '%s'", st.Database)}
	}
	return Result{Statement: st.Kind(), OK: true, Database: st.Database}, nil
}

// backup prepares and locks the job synchronously, then starts its execution.
// EXPORT is checked on the expanded objects, before anything is written.
func (s *Server) backup(ctx context.Context, req *request, st *sql.BackupStmt) (Result, error) {
	text := st.SQL()
	spec, err := s.Pipeline.Prepare(ctx, pipeline.Request{Stmt: st, SQL: text})
	if err != nil {
		return Result{}, err
	}
	if err := req.requireJob(ctx, spec); err != nil {
		return Result{}, err
	}
	rec, err := s.startJob(ctx, spec, s.StateMachineARN, text)
	if err != nil {
		return Result{}, err
	}
	res := showBackup(st.Kind(), rec)
	res.Job = NewJob(rec)
	return res, nil
}

// startJob locks a prepared job (BACKUP or RESTORE) and starts its
// execution of stateMachine, named after the job, and returns its record.
func (s *Server) startJob(ctx context.Context, spec job.Spec, stateMachine, text string) (job.Record, error) {
	arn, err := ExecutionARN(stateMachine, spec.JobID)
	if err != nil {
		return job.Record{}, err
	}
	if err := s.Pipeline.LockPending(ctx, spec, arn); err != nil {
		return job.Record{}, err
	}
	input, err := json.Marshal(pipeline.ExecutionInput{SQL: text, JobID: spec.JobID})
	if err != nil {
		return job.Record{}, err
	}
	if _, err := s.Executions.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachine),
		Name:            aws.String(spec.JobID),
		Input:           aws.String(string(input)),
	}); err != nil {
		// Without an execution nothing would ever release the lock.
		status := job.NewStatus(job.CodeCommonError, "the "+strings.ToLower(spec.Kind())+" execution could not be started")
		if _, cerr := s.Pipeline.Store.Cancel(context.WithoutCancel(ctx), spec.JobID, status, s.now()); cerr != nil {
			s.log().Error("cancel job after failed start", "jobId", spec.JobID, "error", cerr.Error())
		}
		return job.Record{}, fmt.Errorf("start execution of job %s: %w", spec.JobID, err)
	}
	rec, err := s.Pipeline.Store.Get(ctx, spec.JobID)
	if err != nil {
		rec = job.NewRecord(spec)
		rec.ExecutionARN = arn
	}
	return rec, nil
}

// showBackup shows only the jobs the caller may see (request.canSee).
func (s *Server) showBackup(ctx context.Context, req *request, st *sql.ShowBackupStmt) (Result, error) {
	if st.Database == "" {
		recs, err := s.Pipeline.Store.LastJobs(ctx)
		if err != nil {
			return Result{}, err
		}
		return showBackup(st.Kind(), slices.DeleteFunc(recs, func(r job.Record) bool { return r.Spec.IsRestore() || !req.canSee(r) })...), nil
	}
	rec, ok, err := s.Pipeline.Store.LastJob(ctx, st.Database)
	// StarRocks shows the database's last job only if it is a BACKUP.
	if err != nil || !ok || rec.Spec.IsRestore() || !req.canSee(rec) {
		return showBackup(st.Kind()), err
	}
	return showBackup(st.Kind(), rec), nil
}

// canSee reports whether the caller may see a job in SHOW BACKUP: StarRocks
// hides jobs with a table the caller cannot EXPORT.
func (req *request) canSee(rec job.Record) bool {
	return req.access == nil || req.access.CanExportJob(rec.Spec)
}

// requireJob requires EXPORT on everything a job includes (BACKUP and
// CANCEL BACKUP).
func (req *request) requireJob(ctx context.Context, spec job.Spec) error {
	if req.access == nil {
		return nil
	}
	return req.access.RequireJob(ctx, spec)
}

func (s *Server) cancelBackup(ctx context.Context, req *request, st *sql.CancelBackupStmt) (Result, error) {
	if st.ExternalCatalog {
		return Result{}, errNotSupported("CANCEL BACKUP FOR EXTERNAL CATALOG")
	}
	rec, ok, err := s.Pipeline.Store.LastJob(ctx, st.Database)
	if err != nil {
		return Result{}, err
	}
	if !ok || rec.Spec.IsRestore() {
		return Result{}, job.ErrNoRunningJob()
	}
	if err := req.requireJob(ctx, rec.Spec); err != nil {
		return Result{}, err
	}
	if _, err := s.cancel(ctx, rec); err != nil {
		return Result{}, err
	}
	return Result{Statement: st.Kind(), OK: true}, nil
}

// cancel ends a running job as CANCEL BACKUP does: CANCELLED with
// "[COMMON_ERROR, msg: user cancelled]" and its lock released at once, then
// the execution stopped. Stopping emits the status-change event whose
// cleanup deletes the job's partial files.
func (s *Server) cancel(ctx context.Context, rec job.Record) (job.Record, error) {
	if rec.State.IsFinal() {
		return rec, job.ErrCannotCancel(rec.Spec.Label, rec.State)
	}
	out, err := s.Pipeline.Store.Cancel(ctx, rec.Spec.JobID, job.StatusUserCancelled(), s.now())
	if err != nil {
		return rec, err
	}
	if dims, ms := pipeline.JobMetrics(out, pipeline.SnapshotRef{}); s.Pipeline.Metrics.Emit(dims, ms...) != nil {
		s.log().Warn("emit metrics", "jobId", rec.Spec.JobID)
	}
	s.stopExecution(ctx, rec, "CANCEL BACKUP")
	return out, nil
}

// stopExecution stops the execution of a job cancelled by statement (CANCEL
// BACKUP or CANCEL RESTORE); the stopped execution's status-change event
// runs its cleanup.
func (s *Server) stopExecution(ctx context.Context, rec job.Record, statement string) {
	if rec.ExecutionARN == "" {
		return
	}
	_, err := s.Executions.StopExecution(ctx, &sfn.StopExecutionInput{
		ExecutionArn: aws.String(rec.ExecutionARN),
		Error:        aws.String("UserCancelled"),
		Cause:        aws.String(statement),
	})
	var gone *sfntypes.ExecutionDoesNotExist
	if err != nil && !errors.As(err, &gone) {
		// The job is already cancelled and unlocked; its steps stop at
		// their next check, and the execution's failure runs cleanup.
		s.log().Warn("stop execution", "jobId", rec.Spec.JobID, "error", err.Error())
	}
}

func (s *Server) showSnapshot(ctx context.Context, st *sql.ShowSnapshotStmt) (Result, error) {
	repo, _, err := s.Pipeline.Repository(ctx, st.Repository, nil)
	if err != nil {
		return Result{}, err
	}
	if st.Filter == sql.FilterNameTimestamp {
		d, err := repo.Snapshot(ctx, st.Snapshot, st.Timestamp)
		if err != nil {
			return Result{}, err
		}
		return Result{Statement: st.Kind(), Columns: repository.SnapshotDetailColumns, Rows: [][]*string{d.Row()}}, nil
	}
	var names []string
	switch st.Filter {
	case sql.FilterName:
		names = []string{st.Snapshot}
	case sql.FilterNames:
		names = st.Snapshots
	}
	list, err := repo.ListSnapshots(ctx, names)
	if err != nil {
		return Result{}, err
	}
	return table(st.Kind(), repository.SnapshotColumns, list, repository.SnapshotRow.Row), nil
}

// roleARN is the form of aws.s3.iam_role_arn.
var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

// checkProperties checks the role a repository is reached with (the
// functions' own, or one they assume); never keys stored in the job table.
func checkProperties(props map[string]string) error {
	// Credentials never get here: the parser refuses them (sql's one rule).
	for k, v := range props {
		if strings.EqualFold(k, "aws.s3.iam_role_arn") && !roleARN.MatchString(v) {
			return &job.AnalysisError{Detail: "Property 'aws.s3.iam_role_arn' must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"}
		}
	}
	return nil
}

// createRepository checks the location (writable, or readable for a read-only
// repository), writes __repo_info when absent and registers the repository.
func (s *Server) createRepository(ctx context.Context, st *sql.CreateRepositoryStmt) (Result, error) {
	if err := checkProperties(st.Properties); err != nil {
		return Result{}, err
	}
	loc, err := repository.ParseLocation(st.Location)
	if err != nil {
		return Result{}, &job.AnalysisError{Detail: fmt.Sprintf("Invalid repository location '%s': %v", st.Location, err)}
	}
	if _, exists, err := s.Pipeline.Store.GetRepository(ctx, st.Name); err != nil {
		return Result{}, err
	} else if exists {
		return Result{}, job.ErrRepositoryExists(st.Name)
	}
	now := s.now()
	rec := jobstore.Repository{
		Name: st.Name, Location: loc.String(), ReadOnly: st.ReadOnly,
		Properties: st.Properties, CreateTime: now,
	}
	repo, err := s.Pipeline.Open(ctx, rec)
	if err != nil {
		return Result{}, err
	}
	if st.ReadOnly {
		err = repo.CheckReadable(ctx)
	} else {
		var dep string
		if dep, err = s.Pipeline.Store.DeploymentID(ctx); err != nil {
			return Result{}, err
		}
		_, err = repo.WriteRepoInfoOf(ctx, now, dep)
	}
	if err != nil {
		return Result{}, s.unreachable(ctx, rec, err)
	}
	if _, err := s.Pipeline.Store.PutRepository(ctx, rec); err != nil {
		return Result{}, err
	}
	return Result{Statement: st.Kind(), OK: true}, nil
}

// unreachable reports a failed location check with the S3 error code only:
// the full error names endpoints and request ids.
func (s *Server) unreachable(ctx context.Context, rec jobstore.Repository, err error) error {
	if ctx.Err() != nil {
		return err
	}
	s.log().Warn("repository location check failed", "repository", rec.Name, "location", rec.Location, "error", err.Error())
	what := "writable"
	if rec.ReadOnly {
		what = "readable"
	}
	reason := "unreachable"
	var ae smithy.APIError
	if errors.As(err, &ae) {
		reason = ae.ErrorCode()
	}
	return &job.AnalysisError{Detail: fmt.Sprintf("Failed to create repository %s: location %s is not %s (%s)", rec.Name, rec.Location, what, reason)}
}

func (s *Server) showRepositories(ctx context.Context, st *sql.ShowRepositoriesStmt) (Result, error) {
	repos, err := s.Pipeline.Store.ListRepositories(ctx)
	if err != nil {
		return Result{}, err
	}
	return table(st.Kind(), jobstore.ShowRepositoriesColumns, repos, jobstore.Repository.ShowRow), nil
}

// dropRepository unregisters a repository, refused while a job uses it (as
// StarRocks does); its files stay in S3.
func (s *Server) dropRepository(ctx context.Context, st *sql.DropRepositoryStmt) (Result, error) {
	if _, ok, err := s.Pipeline.Store.GetRepository(ctx, st.Name); err != nil {
		return Result{}, err
	} else if !ok {
		return Result{}, job.ErrDropUnknownRepository()
	}
	if rec, busy, err := lifecycle.RepositoryInUse(ctx, s.Pipeline.Store, st.Name); err != nil {
		return Result{}, err
	} else if busy {
		return Result{}, job.ErrRepositoryInUse(st.Name, rec.Spec.Kind(), rec.Spec.JobID)
	}
	if err := s.Pipeline.Store.DeleteRepository(ctx, st.Name); err != nil {
		return Result{}, err
	}
	return Result{Statement: st.Kind(), OK: true}, nil
}

// dropSnapshot runs DROP SNAPSHOT (lifecycle.Drop).
func (s *Server) dropSnapshot(ctx context.Context, st *sql.DropSnapshotStmt) (Result, error) {
	if _, err := s.lifecycle().Drop(ctx, lifecycle.DropRequest{Repository: st.Repository, Label: st.Snapshot, Force: st.Force}); err != nil {
		return Result{}, err
	}
	return Result{Statement: st.Kind(), OK: true}, nil
}
