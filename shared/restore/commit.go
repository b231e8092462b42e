package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	driver "github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/target"
)

// Commit is COMMIT → COMMITTING → FINISHED. Every table goes in with one
// atomic RENAME TABLE (which also renames the journal, so its name records
// that the swap happened); tables taking part in foreign keys have their
// rows replaced in one transaction; restored partitions are exchanged;
// then foreign keys, AUTO_INCREMENT, views and functions. Each change is
// journaled so Cleanup can reverse it. The job is FINISHED, and its lock
// released, before the undo copies are dropped.
//
// The plan is read from the journal, never from the payload or S3; the
// load Map's items are deleted first (the Map is done), so a retried Commit
// finds them gone and still finishes, and no FINISHED job keeps a file.
func (r *Restorer) Commit(ctx context.Context, st State) (State, error) {
	spec := st.Job
	rec, err := r.Pipeline.Store.Get(ctx, spec.JobID)
	if err != nil {
		return State{}, err
	}
	if err := r.removeItems(ctx, spec.JobID); err != nil {
		return State{}, err
	}
	switch rec.State {
	case job.Finished:
		return State{Job: spec}, r.dropJobTables(ctx, spec)
	case job.Cancelled:
		return State{}, job.ErrJobCancelled(rec)
	case job.Committing:
	default:
		if rec.Spec.Expired(r.now()) {
			return State{}, job.ErrJobTimedOut(rec.Spec)
		}
		if rec.State == job.Download { // no data files: nothing was loaded
			if _, err := r.Pipeline.Store.Advance(ctx, spec.JobID, job.Downloading, r.now()); err != nil {
				return State{}, err
			}
		}
		if _, err := r.Pipeline.Store.UpdateState(ctx, spec.JobID, []job.State{job.Downloading, job.Commit}, job.Commit, r.now()); err != nil {
			return State{}, err
		}
	}
	db := spec.Database
	sess, err := r.Target.Session(ctx)
	if err != nil {
		return State{}, transient("connect to the target database", err)
	}
	defer sess.Close()
	if err := sess.Use(ctx, db); err != nil {
		return State{}, classify("use the target database", err)
	}
	tables, err := r.Target.Tables(ctx, db, shadowPrefix(spec.JobID))
	if err != nil {
		return State{}, transient("list the job's tables", err)
	}
	committed := slices.Contains(tables, committedName(spec.JobID))
	journal := journalName(spec.JobID)
	if committed {
		journal = committedName(spec.JobID)
	}
	done, err := r.Target.Journal(ctx, db, journal)
	if err != nil {
		return State{}, transient("read the journal", err)
	}
	plan, ok, err := journalPlan(done)
	if err != nil {
		return State{}, fmt.Errorf("commit job %s: %w", spec.JobID, err)
	}
	if !ok {
		return State{}, fmt.Errorf("commit job %s: the journal %s holds no plan", spec.JobID, journal)
	}
	has := func(kind, name string) bool {
		return slices.ContainsFunc(done, func(e target.JournalEntry) bool { return e.Kind == kind && e.Name == name })
	}
	if !committed {
		loaded := 0
		for _, e := range done {
			if e.Kind == "file" {
				loaded++
			}
		}
		if int64(loaded) != plan.Files {
			return State{}, fmt.Errorf("commit job %s: %d of %d data files loaded", spec.JobID, loaded, plan.Files)
		}
		// Undo copies of the tables replaced in place, taken before anything changes.
		for _, t := range plan.Tables {
			if t.Mode != ModeInPlace {
				continue
			}
			cols := quoteAll(t.Columns)
			if err := sess.Exec(ctx, "DROP TABLE IF EXISTS "+target.Qualified(db, t.Old),
				"CREATE TABLE "+target.Qualified(db, t.Old)+" LIKE "+target.Qualified(db, t.Target),
				"INSERT INTO "+target.Qualified(db, t.Old)+" ("+cols+") SELECT "+cols+" FROM "+target.Qualified(db, t.Target)); err != nil {
				return State{}, classify("copy "+t.Target+" before replacing it", err)
			}
		}
		// The triggers of the tables to replace, saved while they still
		// name those tables (a rename rewrites them).
		for _, t := range plan.Tables {
			for _, tr := range t.OldTriggers {
				if has("oldtrigger", tr) {
					continue
				}
				ddl, ok, err := r.Target.ShowCreate(ctx, "TRIGGER", db, tr)
				if err != nil {
					return State{}, transient("read trigger "+tr, err)
				}
				if ok {
					if err := sess.Record(ctx, db, journal, "oldtrigger", tr, &ddl); err != nil {
						return State{}, classify("journal", err)
					}
				}
			}
		}
		if _, err := r.Pipeline.Store.UpdateState(ctx, spec.JobID, []job.State{job.Commit, job.Committing}, job.Committing, r.now()); err != nil {
			return State{}, err
		}
		// A table written since Prepare would lose those writes at the swap:
		// refuse instead (StarRocks blocks writes; MySQL cannot).
		for _, t := range plan.Tables {
			if t.Mode == ModeCreate {
				continue
			}
			cur, err := r.Target.Describe(ctx, db, t.Target)
			if err != nil {
				return State{}, transient("describe "+t.Target, err)
			}
			if cur != nil && cur.UpdateTime != t.UpdateTime {
				return State{}, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Table %s was written while the restore ran (last update %s, at the start %s): "+
					"its new rows would be lost; stop the writers and restore again", t.Target, cur.UpdateTime, t.UpdateTime))
			}
		}
		// J17: a new table's name must still be free.
		for _, t := range plan.Tables {
			if t.Mode != ModeCreate {
				continue
			}
			if ex, err := r.Target.Describe(ctx, db, t.Target); err != nil {
				return State{}, transient("describe "+t.Target, err)
			} else if ex != nil {
				return State{}, job.NewCheckError(job.CodeCommonError, fmt.Sprintf("Table %s already exist in db: %s", t.Target, db))
			}
		}
		var pairs []string
		for _, t := range plan.Tables {
			switch t.Mode {
			case ModeSwap:
				pairs = append(pairs, target.Qualified(db, t.Target)+" TO "+target.Qualified(db, t.Old))
				fallthrough
			case ModeCreate:
				pairs = append(pairs, target.Qualified(db, t.Shadow)+" TO "+target.Qualified(db, t.Target))
			}
		}
		pairs = append(pairs, target.Qualified(db, journalName(spec.JobID))+" TO "+target.Qualified(db, committedName(spec.JobID)))
		if err := sess.Exec(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
			return State{}, classify("swap the restored tables in", err)
		}
		journal = committedName(spec.JobID)
	}
	r.log().Info("restore: tables swapped in", "jobId", spec.JobID, "database", db)

	// The replaced tables' own triggers go (saved before the swap, to be
	// put back if the job fails): the snapshot's replace them, and none may
	// fire on rows replaced in place.
	for _, t := range plan.Tables {
		for _, tr := range t.OldTriggers {
			if err := sess.Exec(ctx, "DROP TRIGGER IF EXISTS "+target.Qualified(db, tr)); err != nil {
				return State{}, classify("drop trigger "+tr, err)
			}
		}
	}

	// Tables that take part in foreign keys: their rows, in one transaction
	// with the journal row that says it happened.
	if inPlace := tablesIn(plan, ModeInPlace); len(inPlace) > 0 && !has("inplace", "all") {
		err := func() error {
			if err := sess.Begin(ctx); err != nil {
				return err
			}
			for _, t := range inPlace {
				cols := quoteAll(t.Columns)
				if err := sess.Exec(ctx, "DELETE FROM "+target.Qualified(db, t.Target),
					"INSERT INTO "+target.Qualified(db, t.Target)+" ("+cols+") SELECT "+cols+" FROM "+target.Qualified(db, t.Shadow)); err != nil {
					return err
				}
			}
			if err := sess.Record(ctx, db, journal, "inplace", "all", nil); err != nil {
				return err
			}
			return sess.Commit(ctx)
		}()
		if err != nil {
			_ = sess.Rollback(context.WithoutCancel(ctx))
			return State{}, classify("replace the rows of tables with foreign keys", err)
		}
	}
	for _, t := range tablesIn(plan, ModeExchange) {
		for _, p := range t.Partitions {
			name := t.Target + "/" + p.Name
			if has("exchange", name) {
				continue
			}
			if err := sess.Exec(ctx, "ALTER TABLE "+target.Qualified(db, t.Target)+" EXCHANGE PARTITION "+target.QuoteIdent(p.Name)+
				" WITH TABLE "+target.Qualified(db, p.Shadow)); err != nil {
				return State{}, classify("exchange partition "+name, err)
			}
			if err := sess.Record(ctx, db, journal, "exchange", name, nil); err != nil {
				return State{}, classify("journal", err)
			}
		}
	}
	for _, t := range plan.Tables {
		if t.Mode == ModeCreate {
			for i, fk := range t.ForeignKeys {
				name := fmt.Sprintf("%s/%d", t.Target, i)
				if has("fk", name) {
					continue
				}
				if err := sess.Exec(ctx, "ALTER TABLE "+target.Qualified(db, t.Target)+" ADD "+fk); err != nil {
					return State{}, classify("add a foreign key to "+t.Target, err)
				}
				if err := sess.Record(ctx, db, journal, "fk", name, nil); err != nil {
					return State{}, classify("journal", err)
				}
			}
		}
		if t.Mode == ModeInPlace && t.AutoIncrement > 0 {
			if err := sess.Exec(ctx, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %d", target.Qualified(db, t.Target), t.AutoIncrement)); err != nil {
				return State{}, classify("set AUTO_INCREMENT of "+t.Target, err)
			}
		}
	}
	// Functions first: views and triggers may call them. Triggers come
	// after the rows, so they fired on none of them; events last, DISABLEd.
	for _, step := range []struct {
		kind string
		objs []RoutinePlan
	}{{"FUNCTION", plan.Functions}, {"PROCEDURE", plan.Procedures}, {"VIEW", plan.Views}, {"TRIGGER", plan.Triggers}, {"EVENT", plan.Events}} {
		if err := r.replaceAll(ctx, sess, spec, journal, step.kind, step.objs, has); err != nil {
			return State{}, err
		}
	}
	if _, err := r.Pipeline.Store.Finish(ctx, spec.JobID, r.now()); err != nil {
		return State{}, err
	}
	r.log().Info("restore finished", "jobId", spec.JobID, "database", db)
	return State{Job: spec}, r.dropJobTables(ctx, spec)
}

// replaceAll creates views or functions, journaling each one's current
// definition (nil: it did not exist) before replacing it. Views are created
// in as many passes as their dependencies on each other need.
func (r *Restorer) replaceAll(ctx context.Context, sess *target.Session, spec job.Spec, journal, kind string, objs []RoutinePlan, has func(kind, name string) bool) error {
	db := spec.Database
	kindKey := strings.ToLower(kind)
	pending := slices.Clone(objs)
	for len(pending) > 0 {
		var failed []RoutinePlan
		var lastErr error
		for _, o := range pending {
			if !has(kindKey, o.Target) {
				old, ok, err := r.Target.ShowCreate(ctx, kind, db, o.Target)
				if err != nil {
					return transient("read the current "+kindKey+" "+o.Target, err)
				}
				var data *string
				if ok {
					data = &old
				}
				if err := sess.Record(ctx, db, journal, kindKey, o.Target, data); err != nil {
					return classify("journal", err)
				}
			}
			if err := r.create(ctx, sess, o); err != nil {
				var me *driver.MySQLError
				if kind == "VIEW" && errors.As(err, &me) && me.Number == 1146 { // a view it reads comes later
					failed = append(failed, o)
					lastErr = err
					continue
				}
				return fmt.Errorf("create %s %s: %s", kindKey, o.Target, dbErr(err))
			}
		}
		if len(failed) == len(pending) {
			return fmt.Errorf("create %s %s: %s", kindKey, failed[0].Target, dbErr(lastErr))
		}
		pending = failed
	}
	return nil
}

// create runs an object's CREATE with the sql_mode it was created with.
func (r *Restorer) create(ctx context.Context, sess *target.Session, o RoutinePlan) error {
	if o.SQLMode == "" {
		return sess.Exec(ctx, o.DDL)
	}
	return sess.ExecWithSQLMode(ctx, o.SQLMode, o.DDL)
}

// dropJobTables drops the job's own tables: once it is FINISHED the
// replaced tables, the shadows holding exchanged-out partitions, and the
// journal; in Undo whatever is left of them.
func (r *Restorer) dropJobTables(ctx context.Context, spec job.Spec) error {
	db := spec.Database
	var names []string
	for _, p := range []string{shadowPrefix(spec.JobID), oldPrefix(spec.JobID)} {
		ts, err := r.Target.Tables(ctx, db, p)
		if err != nil {
			return transient("list the job's tables", err)
		}
		names = append(names, ts...)
	}
	if len(names) == 0 {
		return nil
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = target.Qualified(db, n)
	}
	if err := r.Target.Exec(ctx, "DROP TABLE IF EXISTS "+strings.Join(q, ", ")); err != nil {
		return classify("drop the job's tables", err)
	}
	return nil
}

// journalPlan is the plan Prepare journaled (ok false: none yet).
func journalPlan(entries []target.JournalEntry) (plan *Plan, ok bool, err error) {
	for _, e := range entries {
		if e.Kind != "plan" || e.Data == nil {
			continue
		}
		plan = &Plan{}
		if err := json.Unmarshal([]byte(*e.Data), plan); err != nil {
			return nil, false, fmt.Errorf("decode the journal's plan: %w", err)
		}
		return plan, true, nil
	}
	return &Plan{}, false, nil
}

func tablesIn(plan *Plan, mode string) []TablePlan {
	var out []TablePlan
	for _, t := range plan.Tables {
		if t.Mode == mode {
			out = append(out, t)
		}
	}
	return out
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = target.QuoteIdent(n)
	}
	return strings.Join(q, ", ")
}
