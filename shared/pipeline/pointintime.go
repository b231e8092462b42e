package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
)

// "snapshot" consistency: one point in time for the whole job.
//
// A MySQL transaction's snapshot cannot be handed to another connection, so
// every upload worker opens its own START TRANSACTION WITH CONSISTENT
// SNAPSHOT while a coordinator holds commits still; each worker then reads
// its whole share of the shards in that one transaction. The state machine
// runs the coordinator (an UploadBatch call with "coordinate": true) beside
// the upload Map, which has exactly one item per worker; they meet on the
// job's rendezvous item in DynamoDB (jobstore.PIT):
//
//  1. every worker connects to the source and registers "ready";
//  2. only when all are ready does the coordinator take the lock (so the
//     window never includes Lambda start-up or connection set-up), read
//     the position and publish HELD;
//  3. each worker starts its transaction and registers "joined", which
//     DynamoDB accepts only while the phase is HELD;
//  4. the coordinator closes the window (CLOSED) and only then releases the
//     lock, on the connection that took it: a successful release proves the
//     lock was never lost, and the rendezvous records it as verified.
//
// Every bound is explicit: the wait for the workers, the wait for the lock
// (lock_wait_timeout), the wait for the joins; and the holding connection
// has a server-side wait_timeout, so a coordinator that dies releases the
// lock with its connection. A worker that cannot join, or fails after the
// window (its transaction cannot be opened again), fails the job, which
// ends CANCELLED: nothing is ever read outside the window.

// PointInTimeConfig tunes "snapshot" consistency.
type PointInTimeConfig struct {
	// ReadyWait bounds the wait for every upload worker to start and
	// connect (no lock is held meanwhile). Default 2 min.
	ReadyWait time.Duration
	// LockWait bounds the wait for the lock itself. While a global lock
	// waits, the server holds other writers back too, so it is short.
	// Default 10 s.
	LockWait time.Duration
	// JoinWait bounds how long commits stay held for the workers to open
	// their transactions. Default 10 s.
	JoinWait time.Duration
	// Poll is how often the rendezvous is read. Default 20 ms.
	Poll time.Duration
	// WorkerBytesPerSecond is the read throughput one upload worker is
	// assumed to sustain, and ShareTime how long its share may take: one
	// Lambda run (15 minutes) with margin. Defaults 50 MB/s and 10 min, so
	// a worker's share is at most about 30 GB.
	WorkerBytesPerSecond int64
	ShareTime            time.Duration
}

func (c PointInTimeConfig) withDefaults() PointInTimeConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadyWait, 2*time.Minute)
	def(&c.LockWait, 10*time.Second)
	def(&c.JoinWait, 10*time.Second)
	def(&c.Poll, 20*time.Millisecond)
	def(&c.ShareTime, 10*time.Minute)
	if c.WorkerBytesPerSecond <= 0 {
		c.WorkerBytesPerSecond = 50 << 20
	}
	return c
}

// maxShareBytes is the most one worker may read in its one transaction.
func (c PointInTimeConfig) maxShareBytes() int64 {
	return int64(c.ShareTime.Seconds()) * c.WorkerBytesPerSecond
}

// errHeld marks a coordinator error once commits may have been held: the
// rendezvous must then fail, a retry could not continue it.
var errHeld = errors.New("commits were held")

// holdIdleMargin is added to JoinWait for the holding connection's
// wait_timeout: the server drops it, releasing the lock, only if the
// coordinator is gone.
const holdIdleMargin = 20 * time.Second

// pitSource returns the source's point-in-time reader.
func (p *Pipeline) pitSource() (source.PointInTime, error) {
	pit, ok := p.Source.(source.PointInTime)
	if !ok {
		return nil, &job.AnalysisError{Detail: `the source cannot read many connections at one point in time; use "consistency" = "shard"`}
	}
	return pit, nil
}

// pitError is a failure to get or keep the job's point in time: not
// retried, since the window cannot be opened again for the same job.
func pitError(format string, args ...any) error {
	return &job.ConflictError{Message: "point in time: " + fmt.Sprintf(format, args...)}
}

// planPointInTime makes a plan's batches one share per worker, checks each
// share fits one Lambda run, and creates the job's rendezvous.
func (p *Pipeline) planPointInTime(ctx context.Context, spec job.Spec, plan *Plan) error {
	if _, err := p.pitSource(); err != nil {
		return err
	}
	cfg := p.PointInTime.withDefaults()
	plan.Batches = workerShares(plan.Shards, spec.Options.Parallelism)
	limit := cfg.maxShareBytes()
	if most := shareBytes(plan); most > limit {
		var total, biggest int64
		for _, s := range plan.Shards {
			total += s.Shard.EstBytes
			biggest = max(biggest, s.Shard.EstBytes)
		}
		need := (total + limit - 1) / limit
		if biggest > limit || need > 1000 {
			return pitError("a shard of %d bytes is larger than one worker reads in one Lambda run (%d bytes at %d bytes/s); lower shard_size or use \"consistency\" = \"shard\"", biggest, limit, cfg.WorkerBytesPerSecond)
		}
		return pitError("each upload worker reads its share in one transaction within one Lambda run: %d bytes need \"parallelism\" = \"%d\" or more (at most %d bytes per worker at %d bytes/s), or \"consistency\" = \"shard\"", total, need, limit, cfg.WorkerBytesPerSecond)
	}
	if err := p.Store.CreatePIT(ctx, spec.JobID, len(plan.Batches), spec.Deadline); err != nil {
		return transient("create point-in-time rendezvous", err)
	}
	return nil
}

// tables lists the base tables a plan reads, for LOCK TABLES.
func (plan *Plan) tables() []string {
	var out []string
	for _, o := range plan.Objects {
		if o.Kind == string(job.KindTable) {
			out = append(out, o.Name)
		}
	}
	return out
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// awaitPIT polls the rendezvous until done says stop, the phase is FAILED,
// or the bound passes (timedOut gives the error then).
func (p *Pipeline) awaitPIT(ctx context.Context, jobID string, bound time.Duration, done func(jobstore.PIT) (bool, error), timedOut func(jobstore.PIT) error) (jobstore.PIT, error) {
	cfg := p.PointInTime.withDefaults()
	until := time.Now().Add(bound)
	lastActive := time.Now()
	for {
		pit, ok, err := p.Store.GetPIT(ctx, jobID)
		if err != nil {
			return pit, transient("read point-in-time rendezvous", err)
		}
		if !ok {
			return pit, pitError("job %s has no rendezvous", jobID)
		}
		if pit.Phase == jobstore.PITFailed {
			return pit, pitError("%s", pit.Reason)
		}
		if stop, err := done(pit); stop || err != nil {
			return pit, err
		}
		if time.Now().After(until) {
			return pit, timedOut(pit)
		}
		if time.Since(lastActive) > time.Second {
			if _, err := p.Store.Active(ctx, jobID); err != nil {
				return pit, err
			}
			lastActive = time.Now()
		}
		if err := sleepCtx(ctx, cfg.Poll); err != nil {
			return pit, err
		}
	}
}

// Coordinate holds commits for the upload workers of a point-in-time job
// to open their transactions (see the comment at the top of this file). It
// returns once the window is closed and the lock released.
func (p *Pipeline) Coordinate(ctx context.Context, ev BatchEvent) (BatchResult, error) {
	spec := ev.Job
	out := BatchResult{Batch: -1}
	ctx, cancel := context.WithDeadline(ctx, spec.Deadline)
	defer cancel()
	res, err := p.coordinate(ctx, ev)
	if err != nil {
		err = p.deadline(spec, err)
		var te *job.TransientError
		if errors.As(err, &te) && !errors.Is(err, errHeld) {
			// Nothing is held: the state machine retries the coordinator,
			// which picks the rendezvous up where it is.
			return out, err
		}
		if ferr := p.Store.PITFail(context.WithoutCancel(ctx), spec.JobID, errMessage(err)); ferr != nil {
			p.log().Warn("mark point in time failed", "jobId", spec.JobID, "error", ferr)
		}
		return out, err
	}
	return res, nil
}

// errMessage is an error's text without the "point in time: " prefix of a
// pitError, for the rendezvous' reason.
func errMessage(err error) string {
	var c *job.ConflictError
	if errors.As(err, &c) {
		if m, ok := strings.CutPrefix(c.Message, "point in time: "); ok {
			return m
		}
	}
	return err.Error()
}

func (p *Pipeline) coordinate(ctx context.Context, ev BatchEvent) (_ BatchResult, err error) {
	spec := ev.Job
	out := BatchResult{Batch: -1}
	heldCommits := false
	defer func() {
		if err != nil && heldCommits {
			err = fmt.Errorf("%w: %w", errHeld, err)
		}
	}()
	cfg := p.PointInTime.withDefaults()
	pitSrc, err := p.pitSource()
	if err != nil {
		return out, err
	}
	if _, err := p.Store.Active(ctx, spec.JobID); err != nil {
		return out, err
	}
	repo, err := p.JobRepository(ctx, spec, nil)
	if err != nil {
		return out, err
	}
	var plan Plan
	if err := p.readPlan(ctx, repo, spec, ev.PlanKey, &plan); err != nil {
		return out, err
	}
	// 1. Every worker started and connected; no lock yet.
	started := time.Now()
	pit, err := p.awaitPIT(ctx, spec.JobID, cfg.ReadyWait,
		func(pit jobstore.PIT) (bool, error) {
			switch {
			case pit.Phase == jobstore.PITClosed && pit.Verified:
				return true, nil // a retry after a success whose answer was lost
			case pit.Phase != jobstore.PITWaiting:
				// A coordinator before this one took the lock and was lost:
				// the server released the lock with its connection, at a
				// moment nobody knows.
				return false, pitError("the coordinator was lost while commits were held (phase %s)", pit.Phase)
			}
			return pit.Ready >= pit.Workers, nil
		},
		func(pit jobstore.PIT) error {
			return pitError("only %d of %d upload workers started within %s; lower \"parallelism\" or raise the upload function's concurrency", pit.Ready, pit.Workers, cfg.ReadyWait)
		})
	if err != nil {
		return out, err
	}
	if pit.Phase == jobstore.PITClosed {
		return out, nil
	}
	readyAfter := time.Since(started)
	// 2. Hold commits and publish where.
	h, err := pitSrc.HoldCommits(ctx, source.HoldOptions{
		Database: spec.Database, Tables: plan.tables(), Wait: cfg.LockWait, MaxIdle: cfg.JoinWait + holdIdleMargin,
	})
	if err != nil {
		if errors.Is(err, source.ErrHoldTimeout) {
			return out, pitError("could not hold commits within %s (a long-running statement or a table lock is in the way): %v", cfg.LockWait, err)
		}
		return out, pitError("could not hold commits: %v", err)
	}
	held := time.Now()
	heldCommits = true
	released := false
	release := func() error {
		if released {
			return nil
		}
		released = true
		return h.Release(ctx)
	}
	defer release()
	if ok, err := p.Store.PITHeld(ctx, spec.JobID, h.Method(), h.Position(), h.Waited()); err != nil {
		return out, transient("publish point in time", err)
	} else if !ok {
		return out, pitError("the rendezvous failed while commits were being held")
	}
	// 3. Every worker opened its transaction.
	_, err = p.awaitPIT(ctx, spec.JobID, cfg.JoinWait,
		func(pit jobstore.PIT) (bool, error) { return pit.Joined >= pit.Workers, nil },
		func(pit jobstore.PIT) error {
			return pitError("only %d of %d upload workers opened their snapshot within %s while commits were held", pit.Joined, pit.Workers, cfg.JoinWait)
		})
	if err != nil {
		return out, err
	}
	// 4. Close the window, then release on the holding connection.
	if ok, err := p.Store.PITClose(ctx, spec.JobID); err != nil {
		return out, transient("close point-in-time window", err)
	} else if !ok {
		pit, _, _ := p.Store.GetPIT(ctx, spec.JobID)
		return out, pitError("the window failed before it closed: %s", pit.Reason)
	}
	if err := release(); err != nil {
		return out, pitError("%v", err)
	}
	window := time.Since(held)
	if err := p.Store.PITReleased(ctx, spec.JobID, window); err != nil {
		return out, transient("record point-in-time window", err)
	}
	pos := h.Position()
	p.log().Info("point in time held", "jobId", spec.JobID, "method", h.Method(),
		"lockWindowMs", window.Milliseconds(), "lockWaitMs", h.Waited().Milliseconds(), "workersReadyMs", readyAfter.Milliseconds(),
		"workers", len(plan.Batches), "serverTime", pos.ServerTime, "binlogFile", pos.BinlogFile, "binlogPosition", pos.BinlogPosition, "gtid", pos.GTID)
	return out, nil
}

// uploadWorker is one upload worker of a point-in-time job: it joins the
// window, then reads every shard of its share in its one transaction.
func (p *Pipeline) uploadWorker(ctx context.Context, repo *repository.Repo, spec job.Spec, plan *Plan, worker int) (BatchResult, error) {
	out := BatchResult{Batch: worker}
	cfg := p.PointInTime.withDefaults()
	// What an earlier attempt recorded, in one query rather than one read
	// per shard.
	recorded, err := p.recordedShards(ctx, spec.JobID)
	if err != nil {
		return out, err
	}
	var pending []int
	for _, n := range plan.Batches[worker] {
		out.Shards++
		if done, ok := recorded[n]; ok && isComplete(done) {
			rows, bytes := sums(done)
			out.Rows += rows
			out.Bytes += bytes
			continue
		}
		pending = append(pending, n)
	}
	// Nothing left (a retry after a success whose answer was lost): every
	// recorded shard was read inside the window.
	if len(pending) == 0 {
		return out, nil
	}
	pitSrc, err := p.pitSource()
	if err != nil {
		return out, err
	}
	sn, err := pitSrc.OpenSnapshot(ctx)
	if err != nil {
		return out, transient(fmt.Sprintf("worker %d", worker), err)
	}
	defer sn.Close()
	if ok, err := p.Store.PITReady(ctx, spec.JobID, worker); err != nil {
		return out, transient("register worker", err)
	} else if !ok {
		pit, _, _ := p.Store.GetPIT(ctx, spec.JobID)
		why := fmt.Sprintf("phase %s", pit.Phase)
		if pit.Reason != "" {
			why = pit.Reason
		}
		return out, pitError("upload worker %d of %d cannot join the point in time (%s): it started late, or was restarted after the window, and its transaction cannot be opened again", worker, len(plan.Batches), why)
	}
	bound := cfg.ReadyWait + cfg.LockWait + holdIdleMargin
	pit, err := p.awaitPIT(ctx, spec.JobID, bound,
		func(pit jobstore.PIT) (bool, error) {
			switch pit.Phase {
			case jobstore.PITHeld:
				return true, nil
			case jobstore.PITClosed:
				return false, pitError("the window closed before upload worker %d joined", worker)
			}
			return false, nil
		},
		func(jobstore.PIT) error {
			return pitError("upload worker %d waited %s for commits to be held", worker, bound)
		})
	if err != nil {
		return out, err
	}
	pos, err := sn.Begin(ctx)
	if err != nil {
		return out, p.failPIT(ctx, spec.JobID, "upload worker %d could not open its snapshot: %v", worker, err)
	}
	// On MariaDB with binary logging each snapshot says which binlog
	// position it corresponds to: under a global hold it must be the one
	// commits were held at.
	if held := pit.Position; pit.Method != source.HoldLockTables && held.BinlogFile != "" && pos.BinlogFile != "" &&
		(held.BinlogFile != pos.BinlogFile || held.BinlogPosition != pos.BinlogPosition) {
		return out, p.failPIT(ctx, spec.JobID, "upload worker %d's snapshot is at binlog %s:%d, but commits were held at %s:%d",
			worker, pos.BinlogFile, pos.BinlogPosition, held.BinlogFile, held.BinlogPosition)
	}
	if ok, err := p.Store.PITJoin(ctx, spec.JobID, worker, pos); err != nil {
		return out, p.failPIT(ctx, spec.JobID, "upload worker %d could not register its snapshot: %v", worker, err)
	} else if !ok {
		return out, pitError("upload worker %d opened its snapshot after the window closed", worker)
	}
	// Nothing of a pending shard can have been recorded: that would have
	// been in an earlier attempt, which could not have joined.
	w := p.newShareWriter(ctx, repo, spec, out)
	if h, ok := sn.(source.ColumnsHinter); ok {
		// A table still as planned is read without looking up its columns.
		for _, o := range plan.Objects {
			if o.Kind == string(job.KindTable) && o.DDL.Statement != "" && len(o.Columns) > 0 {
				h.HintColumns(plan.Database, o.Name, o.DDL.Statement, o.Columns)
			}
		}
	}
	gr, _ := sn.(source.GroupReader)
	for _, g := range shareReads(plan, pending) {
		if w.read(g, sn, gr) != nil {
			break
		}
	}
	if out, err = w.close(); err != nil {
		n := -1
		var se *shardError
		if errors.As(err, &se) {
			n = se.n
		}
		err = p.deadline(spec, err)
		if n >= 0 {
			if rerr := p.Store.RecordTaskError(context.WithoutCancel(ctx), spec.JobID, n, err.Error()); rerr != nil {
				p.log().Warn("record task error", "jobId", spec.JobID, "shard", n, "error", rerr)
			}
		}
		if _, domain := job.AsError(err); domain {
			return out, err
		}
		// Not retried: a new attempt could not open the same snapshot.
		return out, pitError("upload worker %d lost its snapshot at shard %d, after the window closed, so the job cannot complete at its point in time: %v", worker, n, err)
	}
	if err := sn.Close(); err != nil {
		p.log().Warn("end snapshot", "jobId", spec.JobID, "worker", worker, "error", err)
	}
	return out, nil
}

// failPIT marks the rendezvous FAILED (so the coordinator releases at once)
// and returns the error.
func (p *Pipeline) failPIT(ctx context.Context, jobID, format string, args ...any) error {
	err := pitError(format, args...)
	if ferr := p.Store.PITFail(context.WithoutCancel(ctx), jobID, errMessage(err)); ferr != nil {
		p.log().Warn("mark point in time failed", "jobId", jobID, "error", ferr)
	}
	return err
}

// verifyPointInTime checks, before a point-in-time snapshot is committed,
// that its window completed: every worker joined while commits were held,
// and the lock was released on the connection that took it.
func (p *Pipeline) verifyPointInTime(ctx context.Context, spec job.Spec, plan *Plan) (*repository.PointInTime, error) {
	pit, ok, err := p.Store.GetPIT(ctx, spec.JobID)
	if err != nil {
		return nil, transient("read point-in-time rendezvous", err)
	}
	switch {
	case !ok:
		return nil, pitError("job %s has no rendezvous", spec.JobID)
	case pit.Phase != jobstore.PITClosed || !pit.Verified:
		return nil, pitError("the window did not complete (phase %s, verified %t): %s", pit.Phase, pit.Verified, pit.Reason)
	case pit.Workers != len(plan.Batches) || pit.Joined != pit.Workers:
		return nil, pitError("%d of %d workers joined the window (%d planned)", pit.Joined, pit.Workers, len(plan.Batches))
	}
	pos := pit.Position
	out := &repository.PointInTime{
		LockMethod: pit.Method, ServerTime: pos.ServerTime, Binlog: pos.Binlog,
		BinlogFile: pos.BinlogFile, BinlogPosition: pos.BinlogPosition, GTIDVariable: pos.GTIDVariable, GTID: pos.GTID,
		Note: pos.Note, LockWaitMS: pit.WaitedMS, LockWindowMS: pit.WindowMS, Workers: pit.Workers,
	}
	if pit.Method == source.HoldLockTables {
		out.Note = joinNote(out.Note, "commits were held on the job's tables only (LOCK TABLES … READ): other tables kept committing, so the binlog position is a point at which the job's tables had exactly these rows")
	}
	return out, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
