package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/sql"
)

// Limits of GET /v1/backups.
const (
	defaultHistory = 20
	maxHistory     = 1000
)

// JobList is the body of GET /v1/backups.
type JobList struct {
	Jobs []*Job `json:"jobs"`
}

// historyLimit reads the limit parameter of the job lists.
func historyLimit(q map[string]string) (int, *events.APIGatewayV2HTTPResponse) {
	v, ok := q["limit"]
	if !ok {
		return defaultHistory, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxHistory {
		r := errorResponse(apiError(http.StatusBadRequest, CodeBadRequest, "limit must be a number from 1 to "+strconv.Itoa(maxHistory)))
		return 0, &r
	}
	return n, nil
}

// jobsOf lists jobs of one kind (RESTORE or not) that keep accepts: db's
// history, newest first, or the last job of every database without db; at
// most limit of them (limit <= 0: all). The history mixes BACKUP and
// RESTORE jobs, so it is read whole before the limit applies.
func (s *Server) jobsOf(ctx context.Context, db string, limit int, restores bool, keep func(job.Record) bool) ([]job.Record, error) {
	var recs []job.Record
	var err error
	if db == "" {
		recs, err = s.Pipeline.Store.LastJobs(ctx)
	} else {
		recs, err = s.Pipeline.Store.History(ctx, db, 0)
	}
	var out []job.Record
	for _, r := range recs {
		if r.Spec.IsRestore() == restores && keep(r) && (limit <= 0 || len(out) < limit) {
			out = append(out, r)
		}
	}
	return out, err
}

// listBackups serves GET /v1/backups?db=&limit=: a database's history,
// newest first, or the last job of every database without db.
func (s *Server) listBackups(ctx context.Context, req *request) events.APIGatewayV2HTTPResponse {
	db := req.ev.QueryStringParameters["db"]
	limit, bad := historyLimit(req.ev.QueryStringParameters)
	if bad != nil {
		return *bad
	}
	out := JobList{Jobs: []*Job{}}
	err := s.guard(ctx, req, &sql.ShowBackupStmt{Database: db}, func() error {
		if db == "" {
			limit = 0 // the last job of every database, as SHOW BACKUP
		}
		recs, err := s.jobsOf(ctx, db, limit, false, req.canSee)
		for _, r := range recs {
			out.Jobs = append(out.Jobs, NewJob(r))
		}
		return err
	})
	return s.respond(req, http.StatusOK, out, err)
}

// backupJob looks up a BACKUP job by id; a RESTORE job's id is not found.
func (s *Server) backupJob(ctx context.Context, id string) (job.Record, error) {
	rec, err := s.Pipeline.Store.Get(ctx, id)
	if err == nil && rec.Spec.IsRestore() {
		err = job.ErrJobNotFound(id)
	}
	return rec, err
}

// getJob serves GET /v1/backups/{jobId}.
func (s *Server) getJob(ctx context.Context, req *request, id string) events.APIGatewayV2HTTPResponse {
	rec, err := s.backupJob(ctx, id)
	if err != nil {
		return s.respond(req, 0, nil, err)
	}
	err = s.guard(ctx, req, &sql.ShowBackupStmt{Database: rec.Spec.Database}, func() error {
		if !req.canSee(rec) {
			return job.ErrJobNotFound(id) // hidden, as SHOW BACKUP hides it
		}
		return nil
	})
	if err != nil {
		return s.respond(req, 0, nil, err)
	}
	j := NewJob(rec)
	if len(j.Objects) == 0 && rec.State == job.Finished {
		j.Objects = s.committedObjects(ctx, rec)
	}
	return s.respond(req, http.StatusOK, j, nil)
}

// committedObjects reads the objects of a finished job that lists none in
// its record from its snapshot's __info; nil, and a warning logged, if
// that cannot be read (the snapshot may have been dropped since).
func (s *Server) committedObjects(ctx context.Context, rec job.Record) []job.Object {
	objects, err := func() ([]job.Object, error) {
		repo, _, err := s.Pipeline.Repository(ctx, rec.Spec.Repository, nil)
		if err != nil {
			return nil, err
		}
		stamps, err := repo.Timestamps(ctx, rec.Spec.Label)
		if err != nil {
			return nil, err
		}
		for _, ts := range stamps {
			info, err := repo.ReadInfo(ctx, rec.Spec.Label, ts)
			if err != nil {
				return nil, err
			}
			if info.JobID != rec.Spec.JobID {
				continue
			}
			out := make([]job.Object, len(info.Objects))
			for i, o := range info.Objects {
				out[i] = job.Object{Kind: job.ObjectKind(o.Kind), Name: o.Name}
			}
			return out, nil
		}
		return nil, fmt.Errorf("no committed run of snapshot %s is job %s's", rec.Spec.Label, rec.Spec.JobID)
	}()
	if err != nil {
		s.log().Warn("read job objects from __info", "jobId", rec.Spec.JobID, "error", err)
	}
	return objects
}

// cancelJob serves DELETE /v1/backups/{jobId}: CANCEL BACKUP of that job.
func (s *Server) cancelJob(ctx context.Context, req *request, id string) events.APIGatewayV2HTTPResponse {
	rec, err := s.backupJob(ctx, id)
	if err != nil {
		return s.respond(req, 0, nil, err)
	}
	err = s.guard(ctx, req, &sql.CancelBackupStmt{Database: rec.Spec.Database}, func() error {
		if err := req.requireJob(ctx, rec.Spec); err != nil {
			return err
		}
		rec, err = s.cancel(ctx, rec)
		return err
	})
	return s.respond(req, http.StatusOK, NewJob(rec), err)
}

// restStatement serves a REST resource that is a statement in disguise.
func (s *Server) restStatement(ctx context.Context, req *request, stmt sql.Statement) events.APIGatewayV2HTTPResponse {
	res, err := s.execute(ctx, req, stmt)
	return s.respond(req, http.StatusOK, res, err)
}

// snapshotStmt is SHOW SNAPSHOT ON repo with the WHERE form the query
// parameters give: ?snapshot=s[&timestamp=t], or several snapshot values.
func snapshotStmt(repo string, q map[string]string) *sql.ShowSnapshotStmt {
	st := &sql.ShowSnapshotStmt{Repository: repo}
	names := q["snapshot"]
	switch {
	case names == "":
	case q["timestamp"] != "":
		st.Filter, st.Snapshot, st.Timestamp = sql.FilterNameTimestamp, names, q["timestamp"]
	case strings.Contains(names, ","):
		st.Filter, st.Snapshots = sql.FilterNames, strings.Split(names, ",")
	default:
		st.Filter, st.Snapshot = sql.FilterName, names
	}
	return st
}
