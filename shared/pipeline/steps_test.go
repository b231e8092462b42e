package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
)

// memSource is a source database in memory: database shop with table t
// (id INT, name VARCHAR), unpartitioned, one shard, and view v.
type memSource struct {
	*fakeCatalog
	rows [][]string
	// openErr, when set, fails every read of a shard.
	openErr error
	opened  int
}

func newMemSource(n int) *memSource {
	s := &memSource{fakeCatalog: &fakeCatalog{
		dbs:    map[string]bool{"shop": true},
		tables: []source.Table{{Name: "t", Kind: source.KindTable}},
		parts:  map[string][]source.Partition{"t": {{Name: "t", Method: "NONE"}}},
		views:  []source.View{{Name: "v"}},
	}}
	for i := range n {
		s.rows = append(s.rows, []string{fmt.Sprint(i), fmt.Sprintf("name %d", i)})
	}
	return s
}

var memColumns = []source.Column{
	{Name: "id", Kind: source.KindInt, SourceType: "int(11)", Bits: 32},
	{Name: "name", Kind: source.KindString, SourceType: "varchar(20)", Nullable: true, Charset: "utf8mb4"},
}

func (s *memSource) Version(context.Context) (string, error) { return "10.11.0-MariaDB", nil }
func (s *memSource) Features() source.Features {
	return source.Features{Dialect: "memory"}
}
func (s *memSource) TableDDL(_ context.Context, _, table string) (source.DDL, error) {
	return source.DDL{Statement: "CREATE TABLE `" + table + "` (`id` int(11), `name` varchar(20))"}, nil
}
func (s *memSource) ViewDDL(_ context.Context, _, view string) (source.DDL, error) {
	return source.DDL{Statement: "CREATE VIEW `" + view + "` AS SELECT 1"}, nil
}
func (s *memSource) Columns(context.Context, string, string) ([]source.Column, error) {
	return memColumns, nil
}
func (s *memSource) Triggers(context.Context, string) ([]source.Trigger, error)   { return nil, nil }
func (s *memSource) Procedures(context.Context, string) ([]source.Routine, error) { return nil, nil }
func (s *memSource) Events(context.Context, string) ([]source.Routine, error)     { return nil, nil }
func (s *memSource) PlanPartition(_ context.Context, db, table string, p source.Partition, _ int64) ([]source.Shard, error) {
	return []source.Shard{{Database: db, Table: table, Partition: p.Name, Unsplit: "no key", EstRows: int64(len(s.rows)), EstBytes: int64(len(s.rows)) * 16}}, nil
}
func (s *memSource) OpenShard(context.Context, source.Shard) (source.Rows, error) {
	s.opened++
	if s.openErr != nil {
		return nil, s.openErr
	}
	return &memRows{rows: s.rows, i: -1}, nil
}

type memRows struct {
	rows [][]string
	i    int
	vals [][]byte
}

func (r *memRows) Columns() []source.Column { return memColumns }
func (r *memRows) Next() bool {
	r.i++
	if r.i >= len(r.rows) {
		return false
	}
	r.vals = r.vals[:0]
	for _, v := range r.rows[r.i] {
		r.vals = append(r.vals, []byte(v))
	}
	return true
}
func (r *memRows) Values() [][]byte        { return r.vals }
func (r *memRows) SnapshotTime() time.Time { return time.Unix(1e9, 0).UTC() }
func (r *memRows) Err() error              { return nil }
func (r *memRows) Close() error            { return nil }

const arnPrefix = "arn:aws:states:us-east-1:123456789012:execution:backup:"

// parse runs the Parse step for sql as execution name.
func (e *env) parse(name, sql string) (JobState, error) {
	e.t.Helper()
	return e.p.Parse(context.Background(), ParseEvent{Input: ExecutionInput{SQL: sql}, ExecutionARN: arnPrefix + name})
}

// locked runs Parse and Lock, failing the test on an error.
func (e *env) locked(name, sql string) JobState {
	e.t.Helper()
	st, err := e.parse(name, sql)
	if err != nil {
		e.t.Fatalf("parse %s: %v", name, err)
	}
	if st, err = e.p.Lock(context.Background(), st); err != nil {
		e.t.Fatalf("lock %s: %v", name, err)
	}
	return st
}

// uploaded runs a job through Parse, Lock, SnapshotShard and every upload
// batch.
func (e *env) uploaded(name, sql string) JobState {
	e.t.Helper()
	ctx := context.Background()
	st, err := e.p.SnapshotShard(ctx, e.locked(name, sql))
	if err != nil {
		e.t.Fatalf("snapshot %s: %v", name, err)
	}
	for _, b := range st.Plan.Batches {
		if _, err := e.p.UploadBatch(ctx, BatchEvent{Job: st.Job, PlanKey: st.Plan.Key, Batch: b}); err != nil {
			e.t.Fatalf("upload %s batch %d: %v", name, b, err)
		}
	}
	return st
}

func (e *env) state(jobID string) job.Record {
	e.t.Helper()
	rec, err := e.store.Get(context.Background(), jobID)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

// files lists the keys under a snapshot's folder, relative to it.
func (e *env) files(label string) []string {
	e.t.Helper()
	dir, err := e.repo.SnapshotPrefix(label)
	if err != nil {
		e.t.Fatal(err)
	}
	got, err := e.repo.List(context.Background(), dir)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for k := range got {
		out = append(out, strings.TrimPrefix(k, dir))
	}
	return out
}

func hasFile(files []string, match func(string) bool) bool {
	for _, f := range files {
		if match(f) {
			return true
		}
	}
	return false
}

func wantErr[T error](t *testing.T, what string, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("%s: got %T %v, want %T", what, err, err, target)
	}
	return target
}

// backupOf is a BACKUP of database shop as snapshot label, read shard by
// shard (point-in-time reads need a source that can hold commits).
func backupOf(label string) string {
	return "BACKUP DATABASE shop SNAPSHOT " + label + ` TO repo PROPERTIES ("consistency" = "shard")`
}

var backupShop = backupOf("s1")

// TestParseAndLock: Parse prepares the job named after its execution; Lock
// records it PENDING with its execution, is idempotent for that execution,
// and refuses what StarRocks refuses (a second job on the database, a
// snapshot name the repository has, an unknown repository) without
// recording anything for the refused job.
func TestParseAndLock(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newMemSource(3))
	st := e.locked("job1", backupShop)
	if st.Job.JobID != "job1" || st.Job.Label != "s1" || len(st.Job.Objects) != 2 || st.Job.RepositoryID != e.repoRecord().ID {
		t.Fatalf("job = %+v", st.Job)
	}
	rec := e.state("job1")
	if rec.State != job.Pending || rec.ExecutionARN != arnPrefix+"job1" {
		t.Fatalf("record: %s %q", rec.State, rec.ExecutionARN)
	}
	if _, err := e.p.Lock(ctx, st); err != nil {
		t.Fatalf("second Lock of the same execution: %v", err)
	}
	other := st
	other.ExecutionARN = arnPrefix + "copy"
	if _, err := e.p.Lock(ctx, other); err == nil {
		t.Fatal("another execution re-locked job1")
	}

	// The database is locked by job1.
	st2, err := e.parse("job2", backupOf("s2"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.p.Lock(ctx, st2)
	wantErr[*job.ConflictError](t, "second job on the database", err)
	if _, err := e.store.Get(ctx, "job2"); !errors.As(err, new(*job.NotFoundError)) {
		t.Fatalf("refused job2 was recorded: %v", err)
	}

	// Parse of an API job returns the recorded job; a cancelled one stops.
	got, err := e.p.Parse(ctx, ParseEvent{Input: ExecutionInput{JobID: "job1"}, ExecutionARN: arnPrefix + "job1"})
	if err != nil || got.Job.JobID != "job1" || got.Job.Label != "s1" {
		t.Fatalf("parse of a locked job: %+v %v", got.Job, err)
	}
	if _, err := e.store.Cancel(ctx, "job1", job.StatusUserCancelled(), e.now); err != nil {
		t.Fatal(err)
	}
	_, err = e.p.Parse(ctx, ParseEvent{Input: ExecutionInput{JobID: "job1"}, ExecutionARN: arnPrefix + "job1"})
	wantErr[*job.CancelledError](t, "parse of a cancelled job", err)

	// A snapshot folder of that name in the repository refuses the lock.
	key, _ := e.repo.SnapshotKey("s3", "__info_x")
	if _, err := e.repo.PutFile(ctx, key, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	st3, err := e.parse("job3", backupOf("s3"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.p.Lock(ctx, st3)
	if ce := wantErr[*job.ConflictError](t, "existing snapshot", err); !strings.Contains(ce.Message, "'s3' already exist") {
		t.Fatalf("existing snapshot: %v", ce)
	}

	// Parse refuses an unknown repository with StarRocks' text.
	_, err = e.parse("job4", "BACKUP DATABASE shop SNAPSHOT s4 TO nope")
	if ae := wantErr[*job.AnalysisError](t, "unknown repository", err); ae.Detail != "Repository [nope] does not exist" {
		t.Fatalf("unknown repository: %q", ae.Detail)
	}
}

// TestLockPendingLease: the API's lock holds the database only for the
// pending lease; the execution's Lock extends it to the job's deadline.
func TestLockPendingLease(t *testing.T) {
	ctx := context.Background()
	// lockedByAPI locks a day-long job as the API does, then lets the
	// pending lease pass and says whether another job may lock.
	lockedByAPI := func(execution bool) error {
		e := newEnv(t, newMemSource(1))
		st, err := e.parse("job1", `BACKUP DATABASE shop SNAPSHOT s1 TO repo PROPERTIES ("timeout" = "86400", "consistency" = "shard")`)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.p.LockPending(ctx, st.Job, st.ExecutionARN); err != nil {
			t.Fatal(err)
		}
		if execution {
			if _, err := e.p.Lock(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		e.now = e.now.Add(DefaultPendingLease + time.Minute)
		st2, err := e.parse("job2", backupOf("s2"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.p.Lock(ctx, st2)
		return err
	}
	if err := lockedByAPI(false); err != nil {
		t.Fatalf("database still locked past the pending lease: %v", err)
	}
	wantErr[*job.ConflictError](t, "lock after the execution's Lock", lockedByAPI(true))
}

// TestSnapshotShard: the plan is written to the snapshot folder and
// recorded, the job moves to UPLOADING; a retried step keeps the plan an
// earlier attempt wrote; a cancelled job stops.
func TestSnapshotShard(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newMemSource(5))
	st, err := e.p.SnapshotShard(ctx, e.locked("job1", backupShop))
	if err != nil {
		t.Fatal(err)
	}
	if st.Plan == nil || st.Plan.Key != planFile("job1") || st.Plan.Shards != 1 || len(st.Plan.Batches) != 1 || st.Plan.Consistency != job.ConsistencyShard {
		t.Fatalf("plan ref = %+v", st.Plan)
	}
	rec := e.state("job1")
	if rec.State != job.Uploading || rec.ShardsTotal != 1 || rec.PlanSHA256 == "" || len(rec.Warnings) != 1 {
		t.Fatalf("record: state %s, shards %d, plan sha %q, warnings %q", rec.State, rec.ShardsTotal, rec.PlanSHA256, rec.Warnings)
	}
	var plan Plan
	ref, err := e.repo.GetJSON(ctx, "s1", planFile("job1"), &plan)
	if err != nil {
		t.Fatal(err)
	}
	if ref.SHA256 != rec.PlanSHA256 || plan.JobID != "job1" || len(plan.Objects) != 2 || len(plan.Shards) != 1 || plan.Shards[0].Shard.Table != "t" {
		t.Fatalf("plan (sha %s) = %+v", ref.SHA256, plan)
	}

	// A cancelled job stops here.
	if _, err := e.store.Cancel(ctx, "job1", job.StatusUserCancelled(), e.now); err != nil {
		t.Fatal(err)
	}
	_, err = e.p.SnapshotShard(ctx, st)
	wantErr[*job.CancelledError](t, "snapshot of a cancelled job", err)

	// An earlier attempt wrote its plan and failed: the retry keeps it.
	st2 := e.locked("job2", backupOf("s2"))
	earlier, err := e.p.plan(ctx, st2.Job)
	if err != nil {
		t.Fatal(err)
	}
	earlier.Time = earlier.Time.Add(-time.Minute)
	ref, err = e.repo.PutJSON(ctx, "s2", planFile("job2"), earlier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.SnapshotShard(ctx, st2); err != nil {
		t.Fatalf("retried SnapshotShard: %v", err)
	}
	var kept Plan
	if _, err := e.repo.GetJSON(ctx, "s2", planFile("job2"), &kept); err != nil || !kept.Time.Equal(earlier.Time) {
		t.Fatalf("plan replaced on retry: %v %v", kept.Time, err)
	}
	if got := e.state("job2").PlanSHA256; got != ref.SHA256 {
		t.Fatalf("recorded plan checksum %s, the kept plan's is %s", got, ref.SHA256)
	}

}

// TestUploadBatch: a batch writes one Parquet file per shard and records
// it; a retried batch skips recorded shards; a plan replaced in S3 stops
// the job; a source failure is transient and recorded as the shard's task
// error.
func TestUploadBatch(t *testing.T) {
	ctx := context.Background()
	src := newMemSource(100)
	e := newEnv(t, src)
	st, err := e.p.SnapshotShard(ctx, e.locked("job1", backupShop))
	if err != nil {
		t.Fatal(err)
	}
	ev := BatchEvent{Job: st.Job, PlanKey: st.Plan.Key, Batch: 0}
	res, err := e.p.UploadBatch(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Shards != 1 || res.Uploaded != 1 || res.Rows != 100 || res.Bytes == 0 {
		t.Fatalf("result = %+v", res)
	}
	shards, err := e.store.Shards(ctx, "job1")
	if err != nil || len(shards) != 1 || shards[0].Rows != 100 || shards[0].SHA256 == "" {
		t.Fatalf("recorded shards: %+v %v", shards, err)
	}
	if files := e.files("s1"); !hasFile(files, func(f string) bool { return f == shards[0].Key }) {
		t.Fatalf("data file %s not in %v", shards[0].Key, files)
	}
	again, err := e.p.UploadBatch(ctx, ev)
	if err != nil || again.Uploaded != 0 || again.Rows != 100 || src.opened != 1 {
		t.Fatalf("retried batch: %+v %v, source read %d times", again, err, src.opened)
	}
	if _, err := e.p.UploadBatch(ctx, BatchEvent{Job: st.Job, PlanKey: st.Plan.Key, Batch: 1}); err == nil {
		t.Fatal("batch 1 of a one-batch plan was accepted")
	}

	// A source failure: transient (retried by the state machine), recorded.
	e2 := newEnv(t, newMemSource(1))
	e2.p.Source.(*memSource).openErr = errors.New("connection reset")
	st2, err := e2.p.SnapshotShard(ctx, e2.locked("job2", backupShop))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e2.p.UploadBatch(ctx, BatchEvent{Job: st2.Job, PlanKey: st2.Plan.Key, Batch: 0})
	wantErr[*job.TransientError](t, "source failure", err)
	if rec := e2.state("job2"); !strings.Contains(rec.TaskErrors[0], "connection reset") {
		t.Fatalf("task errors = %v", rec.TaskErrors)
	}

	// A plan replaced in S3 is not the plan written for the job.
	var plan Plan
	if _, err := e.repo.GetJSON(ctx, "s1", st.Plan.Key, &plan); err != nil {
		t.Fatal(err)
	}
	plan.Shards[0].Shard.Table = "other"
	if _, err := e.repo.PutJSON(ctx, "s1", st.Plan.Key, plan); err != nil {
		t.Fatal(err)
	}
	_, err = e.p.UploadBatch(ctx, ev)
	wantErr[*job.ConflictError](t, "replaced plan", err)
}

// TestFinalize: the snapshot is committed (__meta, then __info), the plan
// removed, the job FINISHED and its database free; a retry after success
// answers the same snapshot; a missing data file fails the commit with
// nothing committed.
func TestFinalize(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newMemSource(10))
	st := e.uploaded("job1", backupShop)
	res, err := e.p.Finalize(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot.Name != "s1" || res.Snapshot.Files != 1 || res.Snapshot.Rows != 10 || res.Snapshot.Timestamp == "" {
		t.Fatalf("snapshot = %+v", res.Snapshot)
	}
	if rec := e.state("job1"); rec.State != job.Finished {
		t.Fatalf("state %s", rec.State)
	}
	files := e.files("s1")
	if !hasFile(files, func(f string) bool { return f == "__meta" }) || !hasFile(files, func(f string) bool { return f == "__info_"+res.Snapshot.Timestamp }) {
		t.Fatalf("files %v: want __meta and __info_%s", files, res.Snapshot.Timestamp)
	}
	if hasFile(files, func(f string) bool { return f == planFile("job1") }) {
		t.Fatalf("plan left behind: %v", files)
	}
	info, err := e.repo.ReadInfo(ctx, "s1", res.Snapshot.Timestamp)
	if err != nil || info.JobID != "job1" || info.Database != "shop" || len(info.Objects) != 2 || info.Source.Kind != "memory" || info.Source.Version != "10.11.0-MariaDB" {
		t.Fatalf("info = %+v %v", info, err)
	}
	again, err := e.p.Finalize(ctx, st)
	if err != nil || again.Snapshot.Files != 1 || again.Snapshot.Rows != 10 {
		t.Fatalf("retried Finalize: %+v %v", again.Snapshot, err)
	}
	// The lock is released: the next job on the database locks.
	e.locked("job2", backupOf("s2"))

	// A data file gone from the repository: no commit.
	e2 := newEnv(t, newMemSource(10))
	st2 := e2.uploaded("job3", backupShop)
	shards, err := e2.store.Shards(ctx, "job3")
	if err != nil || len(shards) != 1 {
		t.Fatal(shards, err)
	}
	key, _ := e2.repo.SnapshotKey("s1", shards[0].Key)
	if err := e2.repo.DeleteKeys(ctx, []string{key}); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.p.Finalize(ctx, st2); err == nil || !strings.Contains(err.Error(), "missing from the repository") {
		t.Fatalf("Finalize with a missing file: %v", err)
	}
	if files := e2.files("s1"); hasFile(files, func(f string) bool { return strings.HasPrefix(f, "__info_") }) {
		t.Fatalf("a snapshot with a missing file was committed: %v", files)
	}
	if rec := e2.state("job3"); rec.State == job.Finished {
		t.Fatal("job finished without its file")
	}
}

// TestCleanup: a failed job is CANCELLED with the step's error as its
// status, its files (data and plan) deleted and its database and name
// freed; a cleanup from another execution, or of a finished job, changes
// nothing; the status-change event of a timed-out execution cleans up too.
func TestCleanup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newMemSource(10))
	st := e.uploaded("job1", backupShop)
	if files := e.files("s1"); len(files) != 2 {
		t.Fatalf("before cleanup: %v, want the plan and one data file", files)
	}
	ev := CleanupEvent{ExecutionARN: arnPrefix + "other"}
	ev.Input.Job = &st.Job
	ev.Input.Error = StepError{Error: "TransientError", Cause: `{"errorMessage":"source database: boom"}`}
	if _, err := e.p.Cleanup(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if rec := e.state("job1"); rec.State != job.Uploading || len(e.files("s1")) != 2 {
		t.Fatalf("cleanup of another execution acted: %s, files %v", rec.State, e.files("s1"))
	}
	ev.ExecutionARN = st.ExecutionARN
	res, err := e.p.Cleanup(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != "TransientError" || res.Cause != "source database: boom" {
		t.Fatalf("result = %+v", res)
	}
	rec := e.state("job1")
	if rec.State != job.Cancelled || !strings.Contains(rec.Status.String(), "source database: boom") {
		t.Fatalf("record: %s %s", rec.State, rec.Status)
	}
	if files := e.files("s1"); len(files) != 0 {
		t.Fatalf("files left behind: %v", files)
	}
	// Database and name are free again.
	e.locked("job2", backupShop)

	// A finished job is left alone.
	e2 := newEnv(t, newMemSource(1))
	st2 := e2.uploaded("job3", backupShop)
	if _, err := e2.p.Finalize(ctx, st2); err != nil {
		t.Fatal(err)
	}
	ev.Input.Job, ev.ExecutionARN = &st2.Job, st2.ExecutionARN
	if _, err := e2.p.Cleanup(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if rec := e2.state("job3"); rec.State != job.Finished || !hasFile(e2.files("s1"), func(f string) bool { return strings.HasPrefix(f, "__info_") }) {
		t.Fatalf("cleanup touched a finished job: %s %v", rec.State, e2.files("s1"))
	}

	// A timed-out execution (no Catch runs) is cleaned up from its event.
	st3 := e2.uploaded("job4", backupOf("s4"))
	if err := e2.p.StatusChanged(ctx, StatusChangeDetail{ExecutionARN: st3.ExecutionARN, Status: "TIMED_OUT", Input: `{"sql":"x"}`}); err != nil {
		t.Fatal(err)
	}
	if rec := e2.state("job4"); rec.State != job.Cancelled || rec.Status.Code != job.CodeTimeout {
		t.Fatalf("timed out job: %s %s", rec.State, rec.Status)
	}
	if files := e2.files("s4"); len(files) != 0 {
		t.Fatalf("files of the timed-out job left behind: %v", files)
	}
}
