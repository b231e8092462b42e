package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/restore"
	"github.com/srbackup/srbackup/shared/sql"
)

// RestoreJob is a RESTORE job as the REST resources show it.
type RestoreJob struct {
	JobID            string    `json:"jobId"`
	SnapshotName     string    `json:"snapshotName"`
	Timestamp        string    `json:"timestamp"`
	Database         string    `json:"database"`
	SnapshotDatabase string    `json:"snapshotDatabase"`
	Repository       string    `json:"repository"`
	State            job.State `json:"state"`
	Status           string    `json:"status"`
	RestoreObjs      string    `json:"restoreObjs"`
	// Objects is every snapshot object the job restores (RestoreObjs shows
	// the first job.MaxShownObjects), and ObjectCount how many there are.
	// A job with too many to keep in its spec (job.Spec.ObjectCount) has
	// them listed by GET /v1/restores/{jobId} only, from the snapshot's
	// __info.
	Objects              []job.Object      `json:"objects,omitempty"`
	ObjectCount          int               `json:"objectCount"`
	CreateTime           time.Time         `json:"createTime"`
	MetaPreparedTime     *time.Time        `json:"metaPreparedTime"`
	SnapshotFinishedTime *time.Time        `json:"snapshotFinishedTime"`
	DownloadFinishedTime *time.Time        `json:"downloadFinishedTime"`
	FinishedTime         *time.Time        `json:"finishedTime"`
	Deadline             time.Time         `json:"deadline"`
	TimeoutSeconds       int64             `json:"timeoutSeconds"`
	Progress             RestoreProgress   `json:"progress"`
	TaskErrors           map[string]string `json:"taskErrors,omitempty"`
	ExecutionARN         string            `json:"executionArn,omitempty"`
}

// RestoreProgress counts a RESTORE job's data files and their bytes.
type RestoreProgress struct {
	FilesDone  int64 `json:"filesDone"`
	FilesTotal int64 `json:"filesTotal"`
	BytesDone  int64 `json:"bytesDone"`
	BytesTotal int64 `json:"bytesTotal"`
}

// NewRestoreJob returns rec (a RESTORE job) as the API shows it.
func NewRestoreJob(rec job.Record) *RestoreJob {
	rs := rec.Spec.Restore
	if rs == nil {
		rs = &job.RestoreSpec{}
	}
	j := &RestoreJob{
		JobID: rec.Spec.JobID, SnapshotName: rec.Spec.Label, Timestamp: rs.Timestamp,
		Database: rec.Spec.Database, SnapshotDatabase: rs.SnapshotDatabase, Repository: rec.Spec.Repository,
		State: rec.State, Status: rec.Status.String(), RestoreObjs: rec.RestoreObjs(),
		Objects: rec.Spec.Objects, ObjectCount: max(len(rec.Spec.Objects), rec.Spec.ObjectCount),
		CreateTime:           rec.CreateTime.UTC(),
		MetaPreparedTime:     optTime(rec.MetaPreparedTime),
		SnapshotFinishedTime: optTime(rec.SnapshotFinishedTime),
		DownloadFinishedTime: optTime(rec.DownloadFinishedTime),
		FinishedTime:         optTime(rec.FinishedTime),
		Deadline:             rec.Spec.Deadline.UTC(),
		TimeoutSeconds:       rec.Spec.Options.TimeoutSeconds,
		Progress: RestoreProgress{
			FilesDone: rec.ShardsDone, FilesTotal: rec.ShardsTotal, BytesDone: rec.BytesDone, BytesTotal: rec.BytesTotal,
		},
		ExecutionARN: rec.ExecutionARN,
	}
	for n, msg := range rec.TaskErrors {
		if j.TaskErrors == nil {
			j.TaskErrors = map[string]string{}
		}
		j.TaskErrors[strconv.Itoa(n)] = msg
	}
	return j
}

// restore submits a RESTORE synchronously (StarRocks' S checks, then the
// database lock), then starts its execution.
func (s *Server) restore(ctx context.Context, req *request, st *sql.RestoreStmt) (Result, error) {
	if s.RestoreStateMachineARN == "" {
		return Result{}, errNotSupported("RESTORE (no restore state machine is configured)")
	}
	if err := s.requireRestore(ctx, req, st); err != nil {
		return Result{}, err
	}
	text := st.SQL()
	spec, err := (&restore.Restorer{Pipeline: s.Pipeline}).Submit(ctx, restore.Request{Stmt: st, SQL: text})
	if err != nil {
		return Result{}, err
	}
	rec, err := s.startJob(ctx, spec, s.RestoreStateMachineARN, text)
	if err != nil {
		return Result{}, err
	}
	res := showRestore(st.Kind(), rec)
	res.RestoreJob = NewRestoreJob(rec)
	return res, nil
}

// requireRestore is StarRocks' Z3/Z4 (after REPOSITORY, which Authorize
// checked), before any submission check, as StarRocks authorizes before it
// submits.
func (s *Server) requireRestore(ctx context.Context, req *request, st *sql.RestoreStmt) error {
	if req.access == nil {
		return nil
	}
	db := st.Database
	if st.DatabaseAlias != "" {
		db = st.DatabaseAlias
	}
	withOn := len(st.Objects) > 0
	exists := false
	var existing []string
	if withOn && db != "" && s.Pipeline.Source != nil {
		var err error
		if exists, err = s.Pipeline.Source.DatabaseExists(ctx, db); err != nil {
			return &job.TransientError{Message: "look up the target database", Err: err}
		}
		if exists {
			tables, err := s.Pipeline.Source.Tables(ctx, db)
			if err != nil {
				return &job.TransientError{Message: "list the target database", Err: err}
			}
			views, err := s.Pipeline.Source.Views(ctx, db)
			if err != nil {
				return &job.TransientError{Message: "list the target database", Err: err}
			}
			have := map[string]bool{}
			for _, t := range tables {
				have[t.Name] = true
			}
			for _, v := range views {
				have[v.Name] = true
			}
			for _, o := range st.Objects {
				if o.Name != "" && o.Type != sql.ObjectFunction && have[o.Name] {
					existing = append(existing, o.Name)
				}
			}
		}
	}
	return req.access.RequireRestore(ctx, withOn, db, exists, existing)
}

func showRestore(kind string, recs ...job.Record) Result {
	return table(kind, job.ShowRestoreColumns, recs, job.Record.ShowRestoreRow)
}

// showRestore is SHOW RESTORE: the last job of the database (of every
// database without FROM) when it is a RESTORE; LIMIT and OFFSET apply.
func (s *Server) showRestore(ctx context.Context, st *sql.ShowRestoreStmt) (Result, error) {
	var recs []job.Record
	if st.Database == "" {
		all, err := s.Pipeline.Store.LastJobs(ctx)
		if err != nil {
			return Result{}, err
		}
		recs = slices.DeleteFunc(all, func(r job.Record) bool { return !r.Spec.IsRestore() })
	} else {
		if err := s.requireDatabase(ctx, st.Database); err != nil {
			return Result{}, err
		}
		rec, ok, err := s.Pipeline.Store.LastJob(ctx, st.Database)
		if err != nil {
			return Result{}, err
		}
		if ok && rec.Spec.IsRestore() {
			recs = append(recs, rec)
		}
	}
	if st.HasLimit {
		recs = recs[min(st.Offset, len(recs)):]
		recs = recs[:min(st.Limit, len(recs))]
	}
	return showRestore(st.Kind(), recs...), nil
}

// requireDatabase gives StarRocks' "Unknown database" for a database the
// target server does not have and that no job has touched.
func (s *Server) requireDatabase(ctx context.Context, db string) error {
	if s.Pipeline.Source == nil {
		return nil
	}
	ok, err := s.Pipeline.Source.DatabaseExists(ctx, db)
	if err != nil || ok {
		return err
	}
	if _, had, err := s.Pipeline.Store.LastJob(ctx, db); err != nil || had {
		return err
	}
	return &job.AnalysisError{Detail: fmt.Sprintf("Unknown database '%s'", db)}
}

func (s *Server) cancelRestore(ctx context.Context, st *sql.CancelRestoreStmt) (Result, error) {
	if st.ExternalCatalog {
		return Result{}, errNotSupported("CANCEL RESTORE FOR EXTERNAL CATALOG")
	}
	if err := s.requireDatabase(ctx, st.Database); err != nil {
		return Result{}, err
	}
	rec, ok, err := s.Pipeline.Store.LastJob(ctx, st.Database)
	if err != nil {
		return Result{}, err
	}
	if !ok || !rec.Spec.IsRestore() {
		return Result{}, job.ErrNoRunningRestore()
	}
	if _, err := s.cancelRestoreJob(ctx, rec); err != nil {
		return Result{}, err
	}
	return Result{Statement: st.Kind(), OK: true}, nil
}

// cancelRestoreJob is CANCEL RESTORE of one job. Before COMMITTING nothing
// the user sees has changed, so the job is CANCELLED and its lock released
// at once, and the stopped execution's cleanup drops its shadow tables.
// During COMMITTING it is refused: the job finishes, or its own cleanup
// puts back everything it replaced.
func (s *Server) cancelRestoreJob(ctx context.Context, rec job.Record) (job.Record, error) {
	switch {
	case rec.State.IsFinal():
		return rec, job.ErrCannotCancel(rec.Spec.Label, rec.State)
	case rec.State == job.Committing:
		return rec, job.ErrCannotCancelCommitting(rec.Spec.Label)
	}
	status := job.NewStatus(job.CodeCommonError, "user cancelled, current state: "+string(rec.State))
	out, err := s.Pipeline.Store.Cancel(ctx, rec.Spec.JobID, status, s.now())
	if err != nil {
		return rec, err
	}
	s.stopExecution(ctx, rec, "CANCEL RESTORE")
	return out, nil
}

// RestoreList is the body of GET /v1/restores.
type RestoreList struct {
	Jobs []*RestoreJob `json:"jobs"`
}

// listRestores serves GET /v1/restores?db=&limit=.
func (s *Server) listRestores(ctx context.Context, req *request) events.APIGatewayV2HTTPResponse {
	db := req.ev.QueryStringParameters["db"]
	limit, bad := historyLimit(req.ev.QueryStringParameters)
	if bad != nil {
		return *bad
	}
	out := RestoreList{Jobs: []*RestoreJob{}}
	err := s.guard(ctx, req, &sql.ShowRestoreStmt{Database: db}, func() error {
		recs, err := s.jobsOf(ctx, db, limit, true, func(job.Record) bool { return true })
		for _, r := range recs {
			out.Jobs = append(out.Jobs, NewRestoreJob(r))
		}
		return err
	})
	return s.respond(req, http.StatusOK, out, err)
}

// restoreJob looks up a RESTORE job by id; a BACKUP job's id is not found.
func (s *Server) restoreJob(ctx context.Context, id string) (job.Record, error) {
	rec, err := s.Pipeline.Store.Get(ctx, id)
	var nf *job.NotFoundError
	if err == nil && !rec.Spec.IsRestore() || errors.As(err, &nf) {
		err = &job.NotFoundError{Message: fmt.Sprintf("restore job %s does not exist", id)}
	}
	return rec, err
}

// getRestore serves GET /v1/restores/{jobId}.
func (s *Server) getRestore(ctx context.Context, req *request, id string) events.APIGatewayV2HTTPResponse {
	rec, err := s.restoreJob(ctx, id)
	if err != nil {
		return s.respond(req, 0, nil, err)
	}
	err = s.guard(ctx, req, &sql.ShowRestoreStmt{Database: rec.Spec.Database}, func() error { return nil })
	j := NewRestoreJob(rec)
	if err == nil && rec.Spec.Unlisted() {
		// Too many to keep in the job: resolved against the snapshot again.
		objs, oerr := (&restore.Restorer{Pipeline: s.Pipeline}).Objects(ctx, rec.Spec)
		if oerr != nil {
			s.Pipeline.Logger().Warn("restore job: its objects could not be listed from the snapshot", "jobId", id, "error", oerr.Error())
		}
		j.Objects = objs
	}
	return s.respond(req, http.StatusOK, j, err)
}

// cancelRestoreByID serves DELETE /v1/restores/{jobId}.
func (s *Server) cancelRestoreByID(ctx context.Context, req *request, id string) events.APIGatewayV2HTTPResponse {
	rec, err := s.restoreJob(ctx, id)
	if err != nil {
		return s.respond(req, 0, nil, err)
	}
	err = s.guard(ctx, req, &sql.CancelRestoreStmt{Database: rec.Spec.Database}, func() error {
		rec, err = s.cancelRestoreJob(ctx, rec)
		return err
	})
	return s.respond(req, http.StatusOK, NewRestoreJob(rec), err)
}
