package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/target"
)

// Cleanup ends a failed RESTORE job from the state machine's Catch: the
// target is put back exactly as it was (Undo), then the job is CANCELLED
// with a StarRocks-style Status and its lock released.
func (r *Restorer) Cleanup(ctx context.Context, ev pipeline.CleanupEvent) (pipeline.CleanupResult, error) {
	jobID, status, res := ev.Failed()
	return res, r.cancel(ctx, jobID, ev.ExecutionARN, status)
}

// StatusChanged handles the EventBridge event for a restore execution that
// ended ABORTED, FAILED or TIMED_OUT (CANCEL RESTORE stops the execution,
// and a stopped execution runs no Catch).
func (r *Restorer) StatusChanged(ctx context.Context, d pipeline.StatusChangeDetail) error {
	jobID, status, ok := d.Ended()
	if !ok {
		return nil
	}
	return r.cancel(ctx, jobID, d.ExecutionARN, status)
}

// cancel undoes job jobID, if executionARN runs it, then cancels it. The
// lock is released only after the target is back as it was.
func (r *Restorer) cancel(ctx context.Context, jobID, executionARN string, status job.Status) error {
	rec, ok, err := r.Pipeline.CleanupTarget(ctx, jobID, executionARN, status, true)
	if !ok || err != nil {
		return err
	}
	if rec.State == job.Finished {
		// Only undo copies and the items file can be left.
		if err := r.dropJobTables(ctx, rec.Spec); err != nil {
			return err
		}
		return r.removeItems(ctx, jobID)
	}
	if err := r.Undo(ctx, rec.Spec); err != nil {
		return err
	}
	switch {
	case status.Code == job.CodeCommonError && status.Message == "user cancelled":
		status.Message += ", current state: " + string(rec.State)
	case status.Code == job.CodeTimeout && status.Message == "":
		// StarRocks' J0 text, two spaces included.
		status.Message = "restore job with label: " + rec.Spec.Label + "  timeout."
	}
	_, cerr := r.Pipeline.Store.Cancel(ctx, jobID, status, r.now())
	var conflict *job.ConflictError
	if cerr != nil && !errors.As(cerr, &conflict) {
		return cerr
	}
	// The load Map's items after the job is CANCELLED: a Prepare still
	// running late writes them before this (and they are deleted here) or
	// finds the job CANCELLED after writing them and deletes them itself.
	// A cleanup retried after this failed finds the job CANCELLED (a
	// conflict) and deletes them then.
	if err := r.removeItems(ctx, jobID); err != nil {
		return err
	}
	if cerr != nil {
		return nil // cancelled before, or finished meanwhile
	}
	r.log().Info("restore cancelled", "jobId", jobID, "status", status.String())
	return nil
}

// Undo puts the target back as it was before the job: what COMMITTING did
// is reversed from the journal (functions and views, exchanged partitions,
// rows replaced in place, the swap), then the job's own tables are dropped,
// and the target database too if the job created it. It is idempotent.
func (r *Restorer) Undo(ctx context.Context, spec job.Spec) error {
	db := spec.Database
	exists, err := r.Target.DatabaseExists(ctx, db)
	if err != nil {
		return transient("look up the target database", err)
	}
	if !exists {
		return nil
	}
	own, err := r.Target.Tables(ctx, db, shadowPrefix(spec.JobID))
	if err != nil {
		return transient("list the job's tables", err)
	}
	journal := ""
	committed := false
	switch {
	case slices.Contains(own, committedName(spec.JobID)):
		journal, committed = committedName(spec.JobID), true
	case slices.Contains(own, journalName(spec.JobID)):
		journal = journalName(spec.JobID)
	}
	var entries []target.JournalEntry
	if journal != "" {
		if entries, err = r.Target.Journal(ctx, db, journal); err != nil {
			return transient("read the journal", err)
		}
	}
	plan, _, err := journalPlan(entries)
	if err != nil {
		return fmt.Errorf("undo job %s: %w", spec.JobID, err)
	}
	createdDB := slices.ContainsFunc(entries, func(e target.JournalEntry) bool { return e.Kind == "database" })
	sess, err := r.Target.Session(ctx)
	if err != nil {
		return transient("connect to the target database", err)
	}
	defer sess.Close()
	if err := sess.Use(ctx, db); err != nil {
		return classify("use the target database", err)
	}
	// Newest first.
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		switch e.Kind {
		case "view", "function", "procedure", "trigger", "event":
			kind := strings.ToUpper(e.Kind)
			cur, ok, err := r.Target.ShowCreate(ctx, kind, db, e.Name)
			if err != nil {
				return transient("read "+e.Kind+" "+e.Name, err)
			}
			// The journal row is written before the change, which may not
			// have happened: leave an object that is still the original.
			if e.Data != nil && ok && cur == *e.Data || e.Data == nil && !ok {
				break
			}
			if err := sess.Exec(ctx, "DROP "+kind+" IF EXISTS "+target.Qualified(db, e.Name)); err != nil {
				return classify("undo "+e.Kind+" "+e.Name, err)
			}
			if e.Data != nil {
				if err := sess.Exec(ctx, *e.Data); err != nil {
					return classify("put back "+e.Kind+" "+e.Name, err)
				}
			}
		case "exchange":
			t, p, _ := strings.Cut(e.Name, "/")
			shadow := ""
			for _, tp := range plan.Tables {
				for _, pp := range tp.Partitions {
					if tp.Target == t && pp.Name == p {
						shadow = pp.Shadow
					}
				}
			}
			if shadow == "" {
				return fmt.Errorf("undo job %s: no shadow for exchanged partition %s", spec.JobID, e.Name)
			}
			if err := sess.Exec(ctx, "ALTER TABLE "+target.Qualified(db, t)+" EXCHANGE PARTITION "+target.QuoteIdent(p)+" WITH TABLE "+target.Qualified(db, shadow)); err != nil {
				return classify("exchange partition "+e.Name+" back", err)
			}
		case "inplace":
			err := func() error {
				if err := sess.Begin(ctx); err != nil {
					return err
				}
				for _, t := range tablesIn(plan, ModeInPlace) {
					cols := quoteAll(t.Columns)
					if err := sess.Exec(ctx, "DELETE FROM "+target.Qualified(db, t.Target),
						"INSERT INTO "+target.Qualified(db, t.Target)+" ("+cols+") SELECT "+cols+" FROM "+target.Qualified(db, t.Old)); err != nil {
						return err
					}
				}
				if err := sess.Exec(ctx, "DELETE FROM "+target.Qualified(db, journal)+" WHERE kind = 'inplace'"); err != nil {
					return err
				}
				return sess.Commit(ctx)
			}()
			if err != nil {
				_ = sess.Rollback(context.WithoutCancel(ctx))
				return classify("put back the rows of tables with foreign keys", err)
			}
		default:
			continue
		}
		if e.Kind != "inplace" {
			if err := sess.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE seq = %d", target.Qualified(db, journal), e.Seq)); err != nil {
				return classify("journal", err)
			}
		}
	}
	if committed {
		var pairs []string
		for _, t := range plan.Tables {
			switch t.Mode {
			case ModeSwap:
				pairs = append(pairs, target.Qualified(db, t.Target)+" TO "+target.Qualified(db, t.Shadow),
					target.Qualified(db, t.Old)+" TO "+target.Qualified(db, t.Target))
			case ModeCreate:
				pairs = append(pairs, target.Qualified(db, t.Target)+" TO "+target.Qualified(db, t.Shadow))
			}
		}
		pairs = append(pairs, target.Qualified(db, committedName(spec.JobID))+" TO "+target.Qualified(db, journalName(spec.JobID)))
		if err := sess.Exec(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
			return classify("swap the original tables back", err)
		}
	}
	// The replaced tables' own triggers, once those tables are back.
	for _, e := range entries {
		if e.Kind != "oldtrigger" || e.Data == nil {
			continue
		}
		if _, ok, err := r.Target.ShowCreate(ctx, "TRIGGER", db, e.Name); err != nil {
			return transient("read trigger "+e.Name, err)
		} else if !ok {
			if err := sess.Exec(ctx, *e.Data); err != nil {
				return classify("put back trigger "+e.Name, err)
			}
		}
		if err := sess.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE seq = %d", target.Qualified(db, journalName(spec.JobID)), e.Seq)); err != nil {
			return classify("journal", err)
		}
	}
	if err := r.dropJobTables(ctx, spec); err != nil {
		return err
	}
	if createdDB {
		left, err := r.Target.Tables(ctx, db, "")
		if err != nil {
			return transient("list the target database", err)
		}
		if len(left) == 0 {
			if err := sess.Exec(ctx, "DROP DATABASE IF EXISTS "+target.QuoteIdent(db)); err != nil {
				return classify("drop the database the job created", err)
			}
		} else {
			r.log().Warn("restore cleanup: the database the job created is not empty; kept", "database", db, "tables", len(left))
		}
	}
	return nil
}
