package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/sql"
	"github.com/srbackup/srbackup/shared/target"
	"github.com/srbackup/srbackup/shared/workarea"
)

// Restorer runs the steps of RESTORE jobs. A RESTORE runs on the backup
// pipeline's job store, repository lookup, lock (its state machine's Lock
// state is the pipeline's), clock and log; only the target is its own.
type Restorer struct {
	Pipeline *pipeline.Pipeline
	Target   *target.DB
	// Work is the deployment's work area, where Prepare writes the load
	// Map's items and Commit and Cleanup delete them (nil in the API,
	// which only submits).
	Work *workarea.Area
}

func (r *Restorer) now() time.Time    { return r.Pipeline.Time() }
func (r *Restorer) log() *slog.Logger { return r.Pipeline.Logger() }

// ParseStatement parses text that must hold exactly one RESTORE statement.
func ParseStatement(text string, minTimeout time.Duration) (*sql.RestoreStmt, error) {
	return pipeline.ParseOne[*sql.RestoreStmt](text, minTimeout, "RESTORE")
}

// Parse turns the execution input into a job spec: the job the API has
// already submitted and locked, or the statement of a console execution,
// checked as the API checks it.
func (r *Restorer) Parse(ctx context.Context, ev pipeline.ParseEvent) (State, error) {
	if ev.Input.JobID != "" {
		spec, err := r.Pipeline.LockedJob(ctx, ev.Input.JobID)
		if err != nil {
			return State{}, err
		}
		return State{Job: spec, ExecutionARN: ev.ExecutionARN}, nil
	}
	st, err := ParseStatement(ev.Input.SQL, r.Pipeline.MinTimeout)
	if err != nil {
		return State{}, err
	}
	spec, err := r.Submit(ctx, Request{Stmt: st, SQL: st.SQL(), JobID: pipeline.ExecutionName(ev.ExecutionARN)})
	if err != nil {
		return State{}, err
	}
	return State{Job: spec, ExecutionARN: ev.ExecutionARN}, nil
}

// Prepare is PENDING → SNAPSHOTING → DOWNLOAD: it reads and verifies the
// snapshot's __info and __meta, creates the target database if it is
// missing, creates a shadow table for every table from the saved DDL,
// runs StarRocks' in-job checks against the target's catalog (comparing
// each existing table with its shadow, both as INFORMATION_SCHEMA describes
// them), chooses how each table is put in place, and plans the load.
// Nothing the user can see changes; everything it creates is the job's own
// and recorded in its journal.
func (r *Restorer) Prepare(ctx context.Context, st State) (State, error) {
	spec := st.Job
	rec, err := r.Pipeline.Store.Active(ctx, spec.JobID)
	if err != nil {
		return State{}, err
	}
	// A retry after an attempt that completed (its answer lost) prepares
	// again over what that attempt created and skips the transitions done.
	if !rec.State.Reached(job.Snapshoting) {
		if _, err := r.Pipeline.Store.Advance(ctx, spec.JobID, job.Snapshoting, r.now()); err != nil {
			return State{}, err
		}
	}
	repo, err := r.repo(ctx, spec)
	if err != nil {
		return State{}, err
	}
	info, err := repo.ReadInfo(ctx, spec.Label, spec.Restore.Timestamp)
	if err != nil {
		return State{}, transient("read snapshot info", err)
	}
	meta, err := repo.ReadMeta(ctx, spec.Label, info.Meta)
	if err != nil {
		if errors.Is(err, repository.ErrChecksum) {
			return State{}, job.NewCheckError(job.CodeCommonError, "Failed to read backup meta from file: "+err.Error())
		}
		return State{}, transient("read snapshot meta", err)
	}
	db := spec.Database
	sess, err := r.Target.Session(ctx)
	if err != nil {
		return State{}, transient("connect to the target database", err)
	}
	defer sess.Close()
	var warnings []string
	if conns, err := r.Target.MaxConnections(ctx); err != nil {
		return State{}, transient("read the target's connection limit", err)
	} else if w := grantTargetParallelism(&spec, conns); w != "" {
		warnings = append(warnings, w)
	}
	exists, err := r.Target.DatabaseExists(ctx, db)
	if err != nil {
		return State{}, transient("look up the target database", err)
	}
	journal := journalName(spec.JobID)
	if !exists {
		if err := sess.Exec(ctx, "CREATE DATABASE "+target.QuoteIdent(db)); err != nil {
			return State{}, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Can not create database: %s in restore process (%v)", db, dbErr(err)))
		}
	}
	if err := sess.Exec(ctx, target.JournalDDL(db, journal)); err != nil {
		return State{}, classify("create the job's journal", err)
	}
	if !exists {
		if err := sess.Record(ctx, db, journal, "database", db, nil); err != nil {
			return State{}, classify("journal", err)
		}
	}
	if err := sess.Use(ctx, db); err != nil {
		return State{}, classify("use the target database", err)
	}
	objects, err := r.objects(spec, info)
	if err != nil {
		return State{}, err
	}
	plan, err := r.plan(ctx, sess, spec, objects, info, meta)
	if err != nil {
		return State{}, err
	}
	kept := *plan
	kept.Batches = nil
	b, err := json.Marshal(kept)
	if err != nil {
		return State{}, fmt.Errorf("encode plan: %w", err)
	}
	data := string(b)
	if err := sess.Record(ctx, db, journal, "plan", "plan", &data); err != nil {
		return State{}, classify("journal", err)
	}
	if err := r.Pipeline.Store.SetPlan(ctx, spec.JobID, plan.Files, plan.Bytes, warnings); err != nil {
		return State{}, err
	}
	ref, err := r.writeItems(ctx, spec, plan)
	if err != nil {
		return State{}, err
	}
	// A job cancelled while this ran may have been cleaned up before the
	// items were written: delete them again (Cleanup deletes them after
	// marking the job CANCELLED, so one of the two always does).
	if _, err := r.Pipeline.Store.Active(ctx, spec.JobID); err != nil {
		if rerr := r.removeItems(context.WithoutCancel(ctx), spec.JobID); rerr != nil {
			r.log().Warn("restore prepare: the load items of a job that ended meanwhile are left to the work area's expiry", "jobId", spec.JobID, "error", rerr.Error())
		}
		return State{}, err
	}
	if !rec.State.Reached(job.Download) {
		if _, err := r.Pipeline.Store.Advance(ctx, spec.JobID, job.Download, r.now()); err != nil {
			return State{}, err
		}
	}
	return State{Job: spec, ExecutionARN: st.ExecutionARN, Plan: ref}, nil
}

// writeItems writes the plan's batches, the load Map's items, to the work
// area (a retried Prepare writes the same file again) and returns the
// reference that travels in the payload.
func (r *Restorer) writeItems(ctx context.Context, spec job.Spec, plan *Plan) (*PlanRef, error) {
	key, err := workarea.RestoreItemsKey(spec.JobID)
	if err != nil {
		return nil, err
	}
	per, err := perChild(plan.Batches, spec.Options.Parallelism)
	if err != nil {
		return nil, err
	}
	if err := r.Work.PutJSON(ctx, key, plan.Batches); err != nil {
		if errors.Is(err, workarea.ErrNotConfigured) {
			return nil, err
		}
		return nil, transient("write the load items", err)
	}
	return &PlanRef{
		Items:   pipeline.MapItems{Bucket: r.Work.Bucket, Key: key},
		Batches: len(plan.Batches), PerChild: per, Files: plan.Files, Bytes: plan.Bytes,
	}, nil
}

// removeItems deletes the job's load Map items from the work area; a file
// already gone (a retried Commit, a second Cleanup) is no error.
func (r *Restorer) removeItems(ctx context.Context, jobID string) error {
	key, err := workarea.RestoreItemsKey(jobID)
	if err != nil {
		return err
	}
	if err := r.Work.Delete(ctx, key); err != nil {
		if errors.Is(err, workarea.ErrNotConfigured) {
			return err
		}
		return transient("delete the load items", err)
	}
	return nil
}

// plan creates the shadows and decides each object's fate.
func (r *Restorer) plan(ctx context.Context, sess *target.Session, spec job.Spec, objects []job.Object, info repository.Info, meta repository.Meta) (*Plan, error) {
	db, snapDB := spec.Database, spec.Restore.SnapshotDatabase
	metas := map[string]repository.ObjectMeta{}
	for _, o := range meta.Objects {
		metas[o.Kind+"\x00"+o.Name] = o
	}
	data := map[string]repository.ObjectData{}
	for _, o := range info.Objects {
		data[o.Name] = o
	}
	functions := map[string]repository.FunctionMeta{}
	for _, f := range meta.Functions {
		functions[f.Name] = f
	}
	// A retried Prepare meets the shadows of the attempt before: only those
	// are dropped first (a DROP TABLE IF EXISTS is DDL, journaled and synced
	// by the server, whether or not the table exists: milliseconds a table).
	leftover, err := r.Target.Tables(ctx, db, shadowPrefix(spec.JobID))
	if err != nil {
		return nil, transient("list the job's tables", err)
	}
	// createShadow runs a shadow's CREATE statements, dropping it first if it
	// was left over; one that appeared since the listing (an attempt of this
	// Prepare still running) is dropped and created again.
	createShadow := func(name string, stmts ...string) error {
		drop := "DROP TABLE IF EXISTS " + target.Qualified(db, name)
		if !slices.Contains(leftover, name) {
			err := sess.Exec(ctx, stmts...)
			var me *driver.MySQLError
			if !errors.As(err, &me) || me.Number != 1050 { // ER_TABLE_EXISTS_ERROR
				return err
			}
		}
		return sess.Exec(ctx, append([]string{drop}, stmts...)...)
	}
	plan := &Plan{}
	var files []FileTask
	for n, obj := range objects {
		name, tname := obj.Name, spec.Restore.TargetName(obj.Name)
		existing, err := r.Target.Describe(ctx, db, tname)
		if err != nil {
			return nil, transient("describe "+tname, err)
		}
		switch obj.Kind {
		case job.KindView:
			om, ok := metas[repository.KindView+"\x00"+name]
			if !ok {
				return nil, job.NewCheckError(job.CodeCommonError, "Failed to read backup meta from file: no view "+name)
			}
			if existing != nil && !existing.IsView() {
				return nil, job.NewCheckError(job.CodeBadReplace, fmt.Sprintf("Table: %s has existed and it is not a View", tname))
			}
			ddl, err := target.CreateViewAs(om.DDL, snapDB, db, tname)
			if err != nil {
				return nil, job.NewCheckError(job.CodeCommonError, "view "+name+": "+err.Error())
			}
			plan.Views = append(plan.Views, RoutinePlan{Name: name, Target: tname, DDL: ddl})
			continue
		case job.KindFunction:
			fm, ok := functions[name]
			if !ok {
				return nil, job.NewCheckError(job.CodeCommonError, "Failed to read backup meta from file: no function "+name)
			}
			ddl, err := target.CreateRoutineAs(fm.DDL, "FUNCTION", snapDB, db, tname)
			if err != nil {
				return nil, job.NewCheckError(job.CodeCommonError, "function "+name+": "+err.Error())
			}
			plan.Functions = append(plan.Functions, RoutinePlan{Name: name, Target: tname, DDL: ddl, SQLMode: fm.SQLMode})
			continue
		}
		om, ok := metas[repository.KindTable+"\x00"+name]
		if !ok {
			return nil, job.NewCheckError(job.CodeCommonError, "Failed to read backup meta from file: no table "+name)
		}
		tp := TablePlan{Name: name, Target: tname, Shadow: shadowName(spec.JobID, n), AutoIncrement: target.AutoIncrement(om.DDL)}
		if existing != nil && existing.IsView() {
			return nil, job.NewCheckError(job.CodeBadReplace, fmt.Sprintf("Table: %s has existed and it is a View, not a table", tname))
		}
		stripped, fks := target.StripForeignKeys(om.DDL)
		ddl, err := target.CreateTableAs(stripped, db, tp.Shadow)
		if err != nil {
			return nil, job.NewCheckError(job.CodeCommonError, "table "+name+": "+err.Error())
		}
		if err := createShadow(tp.Shadow, ddl); err != nil {
			return nil, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Failed to create table %s from the snapshot: %v", name, dbErr(err)))
		}
		od := data[name]
		parts := od.Partitions
		if len(obj.Partitions) > 0 {
			parts = slices.DeleteFunc(slices.Clone(parts), func(p repository.PartitionData) bool { return !slices.Contains(obj.Partitions, p.Name) })
		}
		if existing == nil {
			tp.Mode, tp.ForeignKeys = ModeCreate, fks
		} else {
			shadow, err := r.Target.Describe(ctx, db, tp.Shadow)
			if err != nil || shadow == nil {
				return nil, transient("describe shadow of "+name, err)
			}
			if d := target.SchemaDifference(existing, shadow, tname); d != "" {
				return nil, job.NewCheckError(job.CodeCommonError, d)
			}
			tp.UpdateTime = existing.UpdateTime
			fkInvolved := existing.ForeignKeys > 0 || len(existing.ReferencedBy) > 0
			if existing.PartitionMethod != "" && !coversAll(existing, parts) {
				if fkInvolved {
					return nil, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Partitions of table %s can not be restored: it takes part in foreign keys; restore the whole table", tname))
				}
				if existing.SubpartitionMethod != "" {
					return nil, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Partitions of subpartitioned table %s can not be restored yet; restore the whole table", tname))
				}
				tp.Mode = ModeExchange
				for _, p := range parts {
					i := slices.IndexFunc(existing.Partitions, func(e target.Partition) bool { return e.Name == p.Name })
					if i < 0 {
						if strings.HasPrefix(existing.PartitionMethod, "RANGE") {
							return nil, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Partition %s in table %s has conflict range with existing ranges", p.Name, tname))
						}
						return nil, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("No partition exist in single partitioned table %s", tname))
					}
					if sp := partitionOf(shadow, p.Name); sp == nil || sp.Description != existing.Partitions[i].Description {
						return nil, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Partition %s in table %s has different range with partition in repository", p.Name, tname))
					}
					ps := tp.Shadow + "_" + fmt.Sprint(len(tp.Partitions))
					if err := createShadow(ps,
						"CREATE TABLE "+target.Qualified(db, ps)+" LIKE "+target.Qualified(db, tname),
						"ALTER TABLE "+target.Qualified(db, ps)+" REMOVE PARTITIONING"); err != nil {
						return nil, classify("create the shadow of partition "+p.Name, err)
					}
					tp.Partitions = append(tp.Partitions, PartitionPlan{Name: p.Name, Shadow: ps})
					for _, f := range p.Files {
						files = append(files, FileTask{Into: ps, Key: f.Key, Bytes: f.Bytes, Rows: f.Rows, SHA256: f.SHA256})
					}
				}
				plan.Tables = append(plan.Tables, tp)
				continue
			}
			// A table replaced whole gets the snapshot's triggers; its own
			// are dropped at COMMITTING (and put back if the job fails).
			tp.OldTriggers = existing.Triggers
			if fkInvolved {
				tp.Mode, tp.Old = ModeInPlace, oldName(spec.JobID, n)
				for _, c := range existing.Columns {
					if c.Generation == "" && !strings.Contains(c.Extra, "GENERATED") && !strings.Contains(c.Extra, "VIRTUAL") && !strings.Contains(c.Extra, "PERSISTENT") {
						tp.Columns = append(tp.Columns, c.Name)
					}
				}
			} else {
				tp.Mode, tp.Old = ModeSwap, oldName(spec.JobID, n)
			}
		}
		for _, p := range parts {
			for _, f := range p.Files {
				files = append(files, FileTask{Into: tp.Shadow, Key: f.Key, Bytes: f.Bytes, Rows: f.Rows, SHA256: f.SHA256})
			}
		}
		plan.Tables = append(plan.Tables, tp)
	}
	// Triggers come with the tables restored whole; procedures and events
	// with a RESTORE of the whole snapshot.
	whole := map[string]string{}
	for _, t := range plan.Tables {
		if t.Mode != ModeExchange {
			whole[t.Name] = t.Target
		}
	}
	for _, tr := range meta.Triggers {
		tt, ok := whole[tr.Table]
		if !ok {
			continue
		}
		ddl, err := target.CreateTriggerAs(tr.DDL, snapDB, db, tr.Name, tt)
		if err != nil {
			return nil, job.NewCheckError(job.CodeCommonError, "trigger "+tr.Name+": "+err.Error())
		}
		plan.Triggers = append(plan.Triggers, RoutinePlan{Name: tr.Name, Target: tr.Name, DDL: ddl, SQLMode: tr.SQLMode})
	}
	if spec.Restore.WholeSnapshot {
		for _, r := range meta.Procedures {
			ddl, err := target.CreateRoutineAs(r.DDL, "PROCEDURE", snapDB, db, r.Name)
			if err != nil {
				return nil, job.NewCheckError(job.CodeCommonError, "procedure "+r.Name+": "+err.Error())
			}
			plan.Procedures = append(plan.Procedures, RoutinePlan{Name: r.Name, Target: r.Name, DDL: ddl, SQLMode: r.SQLMode})
		}
		for _, r := range meta.Events {
			ddl, err := target.CreateEventAs(r.DDL, snapDB, db, r.Name)
			if err != nil {
				return nil, job.NewCheckError(job.CodeCommonError, "event "+r.Name+": "+err.Error())
			}
			plan.Events = append(plan.Events, RoutinePlan{Name: r.Name, Target: r.Name, DDL: ddl, SQLMode: r.SQLMode})
		}
	}
	for _, f := range files {
		plan.Files++
		plan.Bytes += f.Bytes
	}
	plan.Batches = batches(files)
	return plan, nil
}

// coversAll reports whether the restored partitions are every partition of
// the existing table, so the whole table can be swapped.
func coversAll(existing *target.Table, parts []repository.PartitionData) bool {
	if len(parts) != len(existing.Partitions) {
		return false
	}
	for _, e := range existing.Partitions {
		if !slices.ContainsFunc(parts, func(p repository.PartitionData) bool { return p.Name == e.Name }) {
			return false
		}
	}
	return true
}

func partitionOf(t *target.Table, name string) *target.Partition {
	for i := range t.Partitions {
		if t.Partitions[i].Name == name {
			return &t.Partitions[i]
		}
	}
	return nil
}

// repo opens the job's repository, with StarRocks' in-job text for one
// that is no longer registered.
func (r *Restorer) repo(ctx context.Context, spec job.Spec) (*repository.Repo, error) {
	return r.Pipeline.JobRepository(ctx, spec, job.NewCheckError(job.CodeCommonError, "failed to get repository: "+spec.Repository))
}

// dbErr is the server's message of a database error, without the driver's
// wrapping.
func dbErr(err error) string {
	var me *driver.MySQLError
	if errors.As(err, &me) {
		return me.Message
	}
	return err.Error()
}

// classify makes a database error transient when retrying may help: a lost
// connection, a deadlock or a lock wait timeout.
func classify(what string, err error) error {
	if _, ok := job.AsError(err); ok {
		return err
	}
	var me *driver.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1205, 1213, 1040, 2006, 2013: // lock wait timeout, deadlock, too many connections, gone away, lost
			return &job.TransientError{Message: what, Err: err}
		}
		return fmt.Errorf("%s: %s", what, me.Message)
	}
	if errors.Is(err, driver.ErrInvalidConn) || errors.Is(err, context.DeadlineExceeded) {
		return &job.TransientError{Message: what, Err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// grantTargetParallelism lowers the job's parallelism (the load Map's
// concurrency) to half the target's connection limit, pipeline's one rule
// (Submit applied the deployment's cap: the API and Parse never connect to
// the target), and says so in a warning.
func grantTargetParallelism(spec *job.Spec, maxConnections int) string {
	had := spec.Options.Parallelism
	if !spec.Options.Grant(pipeline.GrantParallelism(had, 0, maxConnections)) {
		return ""
	}
	return fmt.Sprintf("parallelism %d lowered to %d: half the target's max_connections (%d)", had, spec.Options.Parallelism, maxConnections)
}
