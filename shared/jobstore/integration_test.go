package jobstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
)

// The tests below run against the local DynamoDB (minidyn behind the
// localstack wrapper), through the real SDK client.

type env struct {
	store *jobstore.Store
	db    *dynamodb.Client
	table string
	now   time.Time
}

func setup(t *testing.T, opts ...jobstore.Option) *env {
	t.Helper()
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	return &env{store: jobstore.New(db, st.Table, opts...), db: db, table: st.Table, now: time.Now().UTC()}
}

func newSpec(t *testing.T, db, repo, label string) job.Spec {
	t.Helper()
	return newSpecAt(t, db, repo, label, time.Now().UTC())
}

func newSpecAt(t *testing.T, db, repo, label string, created time.Time) job.Spec {
	t.Helper()
	id, err := job.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return job.Spec{
		JobID: id, Database: db, Label: label, Repository: repo,
		Objects:   []job.Object{{Kind: job.KindTable, Name: "t1"}, {Kind: job.KindTable, Name: "t2", Partitions: []string{"p1", "p2"}}},
		Options:   job.Options{Type: "FULL", TimeoutSeconds: 3600, Compression: "zstd", ShardSize: 1 << 20, Parallelism: 4},
		SQL:       fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT %s TO %s", db, label, repo),
		CreatedAt: created,
		Deadline:  created.Add(time.Hour),
	}
}

func lock(t *testing.T, e *env, spec job.Spec) error {
	t.Helper()
	return e.store.Lock(context.Background(), job.NewRecord(spec), jobstore.Lease{Grace: time.Minute})
}

func mustLock(t *testing.T, e *env, spec job.Spec) {
	t.Helper()
	if err := lock(t, e, spec); err != nil {
		t.Fatalf("lock %s/%s: %v", spec.Database, spec.Label, err)
	}
}

func wantConflict(t *testing.T, err error, text string) {
	t.Helper()
	var c *job.ConflictError
	if !errors.As(err, &c) || c.Error() != text {
		t.Fatalf("got %T %v, want ConflictError %q", err, err, text)
	}
}

func TestConcurrentLockOneWinnerPerDatabase(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	specs := make([]job.Spec, n)
	for i := range n {
		specs[i] = newSpec(t, "shop", "repo", fmt.Sprintf("snap%d", i))
	}
	// A second database locks concurrently with the first one's contest.
	other := newSpec(t, "crm", "repo", "crm1")
	var otherErr error
	wg.Add(n + 1)
	go func() { defer wg.Done(); otherErr = lock(t, e, other) }()
	for i := range n {
		go func() { defer wg.Done(); errs[i] = lock(t, e, specs[i]) }()
	}
	wg.Wait()
	if otherErr != nil {
		t.Errorf("second database: %v", otherErr)
	}
	winners := 0
	var winner job.Spec
	for i, err := range errs {
		if err == nil {
			winners++
			winner = specs[i]
			continue
		}
		wantConflict(t, err, "Can only run one backup or restore job of a database at same time")
	}
	if winners != 1 {
		t.Fatalf("%d winners, want 1", winners)
	}
	holder, _, ok, err := e.store.Holder(ctx, "shop")
	if err != nil || !ok || holder != winner.JobID {
		t.Fatalf("Holder(shop) = %q %v %v, want %s", holder, ok, err, winner.JobID)
	}
	// Losers left no job record behind.
	for i, s := range specs {
		if errs[i] == nil {
			continue
		}
		var nf *job.NotFoundError
		if _, err := e.store.Get(ctx, s.JobID); !errors.As(err, &nf) {
			t.Errorf("loser %d: Get = %v, want NotFoundError", i, err)
		}
	}
	// Idempotent for the holder.
	mustLock(t, e, winner)
	last, ok, err := e.store.LastJob(ctx, "shop")
	if err != nil || !ok || last.Spec.JobID != winner.JobID || last.State != job.Pending {
		t.Fatalf("LastJob(shop) = %+v %v %v", last.Spec.JobID, ok, err)
	}
}

func TestSnapshotNameIsUniquePerRepository(t *testing.T) {
	e := setup(t)
	first := newSpec(t, "shop", "repo1", "daily")
	mustLock(t, e, first)

	// Same label, same repository, another database: the name is taken.
	err := lock(t, e, newSpec(t, "crm", "repo1", "daily"))
	wantConflict(t, err, "Snapshot with name 'daily' already exist in repository")

	// Same label in another repository works.
	mustLock(t, e, newSpec(t, "crm", "repo2", "daily"))

	// Database busy is reported before the name, as StarRocks checks it first.
	err = lock(t, e, newSpec(t, "shop", "repo1", "daily"))
	wantConflict(t, err, "Can only run one backup or restore job of a database at same time")

	// Names with the key separator don't collide: repo "a#b"+label "c" vs repo "a"+label "b#c".
	mustLock(t, e, newSpec(t, "d1", "a#b", "c"))
	mustLock(t, e, newSpec(t, "d2", "a", "b#c"))

	// Finishing keeps the name taken.
	finish(t, e, first.JobID)
	err = lock(t, e, newSpec(t, "shop", "repo1", "daily"))
	wantConflict(t, err, "Snapshot with name 'daily' already exist in repository")
}

// finish walks a job through every state to FINISHED.
func finish(t *testing.T, e *env, jobID string) job.Record {
	t.Helper()
	ctx := context.Background()
	for _, st := range []job.State{job.Snapshoting, job.UploadSnapshot, job.Uploading, job.SaveMeta, job.UploadInfo} {
		if _, err := e.store.Advance(ctx, jobID, st, time.Now()); err != nil {
			t.Fatalf("advance %s to %s: %v", jobID, st, err)
		}
	}
	rec, err := e.store.Finish(ctx, jobID, time.Now())
	if err != nil {
		t.Fatalf("finish %s: %v", jobID, err)
	}
	return rec
}

func TestFinishReleasesLockConditionally(t *testing.T) {
	e := setup(t, jobstore.WithRetention(48*time.Hour))
	ctx := context.Background()
	spec := newSpec(t, "shop", "repo", "s1")
	mustLock(t, e, spec)

	if _, err := e.store.Finish(ctx, spec.JobID, time.Now()); err == nil {
		t.Fatal("Finish from PENDING succeeded")
	}
	rec := finish(t, e, spec.JobID)
	if rec.State != job.Finished || rec.FinishedTime.IsZero() || rec.SnapshotFinishedTime.IsZero() || rec.UploadFinishedTime.IsZero() {
		t.Fatalf("finished record: %+v", rec)
	}
	if _, _, ok, _ := e.store.Holder(ctx, "shop"); ok {
		t.Fatal("lock still held after Finish")
	}
	ttl := rawItem(t, e, "JOB#"+spec.JobID, "JOB")["ttl"]
	if ttl == nil {
		t.Fatal("finished job has no ttl")
	}
	if got := ttl.(*types.AttributeValueMemberN).Value; got != fmt.Sprint(rec.FinishedTime.Add(48*time.Hour).Unix()) {
		t.Errorf("ttl %s, want finished + 48h", got)
	}
	// Finish is idempotent.
	again, err := e.store.Finish(ctx, spec.JobID, time.Now().Add(time.Hour))
	if err != nil || !again.FinishedTime.Equal(rec.FinishedTime) {
		t.Fatalf("second Finish: %v %v", again.FinishedTime, err)
	}
	// A finished job can't be cancelled, with StarRocks' text.
	_, err = e.store.Cancel(ctx, spec.JobID, job.StatusUserCancelled(), time.Now())
	wantConflict(t, err, "Job with label s1 can not be cancelled. state: FINISHED")

	// The database is free for the next job.
	mustLock(t, e, newSpec(t, "shop", "repo", "s2"))
}

func TestReleaseDoesNotTouchAnotherJobsLock(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := setup(t, jobstore.WithClock(clock))
	ctx := context.Background()

	old := newSpec(t, "shop", "repo", "old")
	mustLock(t, e, old) // expires a minute after its deadline
	// The old job's lease expires (crashed execution); another job takes over.
	now = old.Deadline.Add(2 * time.Minute)
	newer := newSpecAt(t, "shop", "repo", "new", now)
	mustLock(t, e, newer)
	if holder, _, _, _ := e.store.Holder(ctx, "shop"); holder != newer.JobID {
		t.Fatalf("holder %s, want the newer job", holder)
	}
	// The old job relocking fails: the database is busy.
	wantConflict(t, e.store.Lock(ctx, job.NewRecord(old), jobstore.Lease{Grace: time.Minute}),
		"Can only run one backup or restore job of a database at same time")
	// Cancelling the old job must not release the newer job's lock.
	rec, err := e.store.Cancel(ctx, old.JobID, job.StatusTimeout(), now)
	if err != nil || rec.State != job.Cancelled || rec.Status.String() != "[TIMEOUT, msg: ]" {
		t.Fatalf("cancel old: %+v %v", rec.Status, err)
	}
	if holder, _, _, _ := e.store.Holder(ctx, "shop"); holder != newer.JobID {
		t.Fatalf("holder %s after cancelling the old job, want %s", holder, newer.JobID)
	}
	// And the old label is free again.
	mustLock(t, e, newSpec(t, "crm", "repo", "old"))
}

func TestCancelReleasesLockAndName(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	spec := newSpec(t, "shop", "repo", "nightly")
	mustLock(t, e, spec)
	if _, err := e.store.Advance(ctx, spec.JobID, job.Snapshoting, time.Now()); err != nil {
		t.Fatal(err)
	}
	rec, err := e.store.Cancel(ctx, spec.JobID, job.Status{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != job.Cancelled || rec.Status.String() != "[COMMON_ERROR, msg: user cancelled]" || rec.FinishedTime.IsZero() {
		t.Fatalf("cancelled record: %+v", rec)
	}
	row := rec.ShowBackupRow()
	if *row[3] != "CANCELLED" || *row[12] != "[COMMON_ERROR, msg: user cancelled]" {
		t.Errorf("SHOW BACKUP row %v", *row[12])
	}
	// Idempotent, keeping the first status.
	again, err := e.store.Cancel(ctx, spec.JobID, job.StatusTimeout(), time.Now())
	if err != nil || again.Status != rec.Status {
		t.Fatalf("second cancel: %v %v", again.Status, err)
	}
	// Steps see the cancellation.
	_, err = e.store.Advance(ctx, spec.JobID, job.UploadSnapshot, time.Now())
	var ce *job.CancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("Advance after cancel: %T %v", err, err)
	}
	if _, err := e.store.Active(ctx, spec.JobID); !errors.As(err, &ce) {
		t.Fatalf("Active after cancel: %v", err)
	}
	// Relocking a cancelled job fails with CancelledError.
	if err := e.store.Lock(ctx, job.NewRecord(spec), jobstore.Lease{Grace: time.Minute}); !errors.As(err, &ce) {
		t.Fatalf("Lock of a cancelled job: %T %v", err, err)
	}
	// Lock and label are free: the same label works in the same repository.
	mustLock(t, e, newSpec(t, "shop", "repo", "nightly"))
}

func TestStateTransitionsAndProgress(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	spec := newSpec(t, "shop", "repo", "s")
	locked := job.NewRecord(spec)
	locked.ExecutionARN = "arn:aws:states:us-east-1:123456789012:execution:backup:x"
	if err := e.store.Lock(ctx, locked, jobstore.Lease{Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	// Relock by the execution recorded with the job keeps the record (the
	// state machine's Lock state after the API's).
	again := job.NewRecord(spec)
	again.ExecutionARN = "arn:aws:states:us-east-1:123456789012:execution:backup:x"
	if err := e.store.Lock(ctx, again, jobstore.Lease{Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}

	// Skipping a state is refused before any write.
	if _, err := e.store.UpdateState(ctx, spec.JobID, []job.State{job.Pending}, job.Uploading, time.Now()); err == nil {
		t.Fatal("PENDING → UPLOADING accepted")
	}
	// A wrong source state is a ConflictError.
	_, err := e.store.UpdateState(ctx, spec.JobID, []job.State{job.Snapshoting}, job.UploadSnapshot, time.Now())
	var c *job.ConflictError
	if !errors.As(err, &c) {
		t.Fatalf("from the wrong state: %T %v", err, err)
	}
	t1 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := e.store.Advance(ctx, spec.JobID, job.Snapshoting, t1); err != nil {
		t.Fatal(err)
	}
	rec, err := e.store.Advance(ctx, spec.JobID, job.UploadSnapshot, t1)
	if err != nil || !rec.SnapshotFinishedTime.Equal(t1) {
		t.Fatalf("UPLOAD_SNAPSHOT: %v %v", rec.SnapshotFinishedTime, err)
	}
	// Retried step: idempotent, keeps the first time.
	rec, err = e.store.Advance(ctx, spec.JobID, job.UploadSnapshot, t1.Add(time.Hour))
	if err != nil || !rec.SnapshotFinishedTime.Equal(t1) {
		t.Fatalf("retried UPLOAD_SNAPSHOT: %v %v", rec.SnapshotFinishedTime, err)
	}
	if err := e.store.SetBackupPlan(ctx, spec.JobID, 3, 3000, 30, []string{"table shop.heap is read whole"}); err != nil {
		t.Fatal(err)
	}
	res := func(n int) job.ShardResult {
		return job.ShardResult{Shard: n, Object: "t1", Partition: "t1", Key: fmt.Sprintf("__ss_content/shop/t1/t1/%06d.parquet", n),
			Rows: int64(10 * n), Bytes: int64(100 * n), SHA256: strings.Repeat(fmt.Sprint(n%10), 64),
			SourceBytes: 1000 + int64(n), EstBytes: 1000, EstRows: 10}
	}
	// Shards only count while UPLOADING.
	if err := e.store.RecordShard(ctx, spec.JobID, res(0)); !errors.As(err, &c) {
		t.Fatalf("RecordShard in UPLOAD_SNAPSHOT: %T %v", err, err)
	}
	if _, err := e.store.Advance(ctx, spec.JobID, job.Uploading, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Two in one transaction, one alone.
	if err := e.store.RecordShards(ctx, spec.JobID, []job.ShardResult{res(0), res(1)}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RecordShard(ctx, spec.JobID, res(2)); err != nil {
		t.Fatal(err)
	}
	// A retry with the same result is a no-op; a different one a conflict.
	if err := e.store.RecordShard(ctx, spec.JobID, res(1)); err != nil {
		t.Fatalf("same result again: %v", err)
	}
	if err := e.store.RecordShards(ctx, spec.JobID, []job.ShardResult{res(1), res(2)}); err != nil {
		t.Fatalf("same results again, batched: %v", err)
	}
	changed := res(1)
	changed.Rows++
	if err := e.store.RecordShard(ctx, spec.JobID, changed); !errors.As(err, &c) {
		t.Fatalf("different result: %T %v", err, err)
	}
	if err := e.store.RecordShards(ctx, spec.JobID, []job.ShardResult{res(2), changed}); !errors.As(err, &c) {
		t.Fatalf("different result, batched: %T %v", err, err)
	}
	if err := e.store.RecordTaskError(ctx, spec.JobID, 2, "connection reset by peer"); err != nil {
		t.Fatal(err)
	}
	rec, err = e.store.Get(ctx, spec.JobID)
	if err != nil {
		t.Fatal(err)
	}
	// Done counts what was read; the totals are corrected by it.
	if rec.ShardsDone != 3 || rec.ShardsTotal != 3 || rec.BytesDone != 3003 || rec.BytesTotal != 3003 ||
		rec.RowsDone != 30 || rec.RowsTotal != 30 {
		t.Errorf("progress %d/%d %d/%d %d/%d", rec.ShardsDone, rec.ShardsTotal, rec.BytesDone, rec.BytesTotal, rec.RowsDone, rec.RowsTotal)
	}
	if rec.ExecutionARN == "" || rec.TaskErrors[2] != "connection reset by peer" {
		t.Errorf("record: arn %q task errors %v", rec.ExecutionARN, rec.TaskErrors)
	}
	row := rec.ShowBackupRow()
	if *row[10] != "[shards: 3/3], [bytes: 3003/3003], [rows: 30/30]" ||
		*row[11] != "[2: connection reset by peer], [warning: table shop.heap is read whole]" {
		t.Errorf("row progress %q errs %q", *row[10], *row[11])
	}
	shards, err := e.store.Shards(ctx, spec.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 || !reflect.DeepEqual(shards[2], res(2)) {
		t.Fatalf("shards %+v", shards)
	}
	if got, ok, err := e.store.Shard(ctx, spec.JobID, 1); err != nil || !ok || got != res(1) {
		t.Fatalf("Shard(1) = %+v %v %v", got, ok, err)
	}
	if _, ok, err := e.store.Shard(ctx, spec.JobID, 9); err != nil || ok {
		t.Fatalf("Shard(9) = %v %v", ok, err)
	}
	// A shard its reader split: each piece adds what it read, the shard is
	// done with its last piece, and its pieces are listed in order.
	first := res(5)
	first.More, first.Next, first.SourceBytes, first.EstBytes, first.Rows, first.EstRows = true, "0010", 700, 700, 7, 7
	second := first
	second.Piece, second.More, second.Next, second.Key = 1, false, "", first.Key+".1"
	second.SourceBytes, second.EstBytes, second.Rows, second.EstRows = 900, 300, 9, 3
	for _, r := range []job.ShardResult{first, second} {
		if err := e.store.RecordShard(ctx, spec.JobID, r); err != nil {
			t.Fatal(err)
		}
		if rec, err := e.store.Get(ctx, spec.JobID); err != nil || rec.ShardsDone != 3+int64(r.Piece) {
			t.Fatalf("after piece %d: %d shards done, %v", r.Piece, rec.ShardsDone, err)
		}
	}
	if pieces, err := e.store.ShardPieces(ctx, spec.JobID, 5); err != nil || len(pieces) != 2 || pieces[1] != second {
		t.Fatalf("pieces %+v %v", pieces, err)
	}
	if rec, err := e.store.Get(ctx, spec.JobID); err != nil || rec.BytesDone != 3003+1600 || rec.BytesTotal != 3003+600 || rec.RowsTotal != 30+6 {
		t.Fatalf("progress after pieces: %+v %v", rec, err)
	}
	if _, err := e.store.Active(ctx, spec.JobID); err != nil {
		t.Fatalf("Active: %v", err)
	}
}

func TestShardsPaging(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	spec := newSpec(t, "big", "repo", "s")
	mustLock(t, e, spec)
	for _, st := range []job.State{job.Snapshoting, job.UploadSnapshot, job.Uploading} {
		if _, err := e.store.Advance(ctx, spec.JobID, st, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// About 1.5 KB each: 1000 of them need more than one 1 MB Query page on
	// AWS. minidyn answers in one page; store_test.go covers paging.
	pad := strings.Repeat("x", 1500)
	const n = 1000
	var rs []job.ShardResult
	for i := range n {
		rs = append(rs, job.ShardResult{Shard: i, Object: "t", Partition: "p", Key: fmt.Sprintf("__ss_content/big/t/%s/%06d.parquet", pad, i),
			Rows: 1, Bytes: 1, SHA256: strings.Repeat("a", 64)})
	}
	// One call, many transactions of at most MaxShardsPerTransaction.
	if err := e.store.RecordShards(ctx, spec.JobID, rs); err != nil {
		t.Fatal(err)
	}
	if rec, err := e.store.Get(ctx, spec.JobID); err != nil || rec.ShardsDone != n || rec.RowsDone != n {
		t.Fatalf("progress after RecordShards: %d shards, %d rows, %v", rec.ShardsDone, rec.RowsDone, err)
	}
	shards, err := e.store.Shards(ctx, spec.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != n {
		t.Fatalf("%d shards, want %d", len(shards), n)
	}
	for i, s := range shards {
		if s.Shard != i {
			t.Fatalf("shard %d at position %d", s.Shard, i)
		}
	}
}

func TestTimedOutJob(t *testing.T) {
	now := time.Now()
	e := setup(t, jobstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	spec := newSpec(t, "shop", "repo", "s")
	mustLock(t, e, spec)
	now = spec.Deadline.Add(time.Second)
	_, err := e.store.Active(ctx, spec.JobID)
	var te *job.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("Active past the deadline: %T %v", err, err)
	}
	rec, err := e.store.Cancel(ctx, spec.JobID, job.StatusOf(err), now)
	if err != nil || rec.Status.String() != "[TIMEOUT, msg: ]" {
		t.Fatalf("cancel: %v %v", rec.Status, err)
	}
}

func TestShowBackupQueries(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if recs, err := e.store.LastJobs(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("LastJobs on an empty table: %v %v", recs, err)
	}
	if _, ok, err := e.store.LastJob(ctx, "nope"); err != nil || ok {
		t.Fatalf("LastJob(nope) = %v %v", ok, err)
	}
	var shop []job.Spec
	for i := range 3 {
		s := newSpec(t, "shop", "repo", fmt.Sprintf("s%d", i))
		mustLock(t, e, s)
		if i < 2 {
			finish(t, e, s.JobID)
		}
		shop = append(shop, s)
		time.Sleep(2 * time.Millisecond) // distinct create times
	}
	crm := newSpec(t, "crm", "repo", "c0")
	mustLock(t, e, crm)

	last, ok, err := e.store.LastJob(ctx, "shop")
	if err != nil || !ok || last.Spec.JobID != shop[2].JobID {
		t.Fatalf("LastJob(shop) = %s %v %v", last.Spec.JobID, ok, err)
	}
	all, err := e.store.LastJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Spec.JobID != crm.JobID || all[1].Spec.JobID != shop[2].JobID {
		t.Fatalf("LastJobs = %v", ids(all))
	}
	hist, err := e.store.History(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{shop[2].JobID, shop[1].JobID, shop[0].JobID}; !reflect.DeepEqual(ids(hist), want) {
		t.Fatalf("History(shop) = %v, want %v", ids(hist), want)
	}
	hist, err = e.store.History(ctx, "shop", 2)
	if err != nil || len(hist) != 2 || hist[0].Spec.JobID != shop[2].JobID {
		t.Fatalf("History(shop, 2) = %v %v", ids(hist), err)
	}
	if hist[1].State != job.Finished {
		t.Errorf("history state %s", hist[1].State)
	}
}

func ids(recs []job.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Spec.JobID
	}
	return out
}

func TestRepositories(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r1, err := e.store.PutRepository(ctx, jobstore.Repository{Name: "repo", Location: "s3://bucket/backups", CreateTime: created,
		Properties: map[string]string{"aws.s3.region": "us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.store.PutRepository(ctx, jobstore.Repository{Name: "repo", Location: "s3://other"})
	wantConflict(t, err, "Failed to create repository: repository with same name already exist: repo")
	r2, err := e.store.PutRepository(ctx, jobstore.Repository{Name: "ro", Location: "s3://bucket/ro", ReadOnly: true, Broker: "b1"})
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID <= r1.ID {
		t.Errorf("ids %d then %d", r1.ID, r2.ID)
	}
	got, ok, err := e.store.GetRepository(ctx, "repo")
	if err != nil || !ok || got.Location != "s3://bucket/backups" || !got.CreateTime.Equal(created) || got.Properties["aws.s3.region"] != "us-east-1" {
		t.Fatalf("GetRepository = %+v %v %v", got, ok, err)
	}
	if _, ok, _ := e.store.GetRepository(ctx, "REPO"); ok {
		t.Error("repository names are case-sensitive")
	}
	list, err := e.store.ListRepositories(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "repo" || list[1].Name != "ro" {
		t.Fatalf("ListRepositories = %+v %v", list, err)
	}
	row := list[1].ShowRow()
	if *row[1] != "ro" || *row[3] != "true" || *row[4] != "s3://bucket/ro" || *row[5] != "b1" || row[6] != nil {
		t.Errorf("SHOW REPOSITORIES row %v", row)
	}
	if *list[0].ShowRow()[2] != "2025-01-02 03:04:05" || *list[0].ShowRow()[5] != "-" {
		t.Errorf("row 0 %v", list[0].ShowRow())
	}
	if err := e.store.DeleteRepository(ctx, "repo"); err != nil {
		t.Fatal(err)
	}
	var ae *job.AnalysisError
	if err := e.store.DeleteRepository(ctx, "repo"); !errors.As(err, &ae) || ae.Detail != "Repository does not exist" {
		t.Fatalf("dropping again: %v", err)
	}
	if list, _ := e.store.ListRepositories(ctx); len(list) != 1 {
		t.Fatalf("after drop: %+v", list)
	}
}

func rawItem(t *testing.T, e *env, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(e.table),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// TestRelockOnlyByItsExecution: a second execution of the same job (the
// console's "New execution" copies the input, jobId included) can not lock
// it again (issue 12 §2); the execution recorded for it can, and the lock
// stays with the job.
func TestRelockOnlyByItsExecution(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	spec := newSpec(t, "shop", "repo", "twice")
	arn := "arn:aws:states:us-east-1:123456789012:execution:backup:" + spec.JobID
	rec := job.NewRecord(spec)
	rec.ExecutionARN = arn
	if err := e.store.Lock(ctx, rec, jobstore.Lease{Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Lock(ctx, rec, jobstore.Lease{Grace: time.Minute}); err != nil {
		t.Fatalf("re-lock by the job's own execution: %v", err)
	}
	for _, other := range []string{"arn:aws:states:us-east-1:123456789012:execution:backup:copy", ""} {
		second := job.NewRecord(spec)
		second.ExecutionARN = other
		wantConflict(t, e.store.Lock(ctx, second, jobstore.Lease{Grace: time.Minute}),
			"backup job "+spec.JobID+" is run by another execution; this one can not run it too")
	}
	got, err := e.store.Get(ctx, spec.JobID)
	if err != nil || got.ExecutionARN != arn {
		t.Fatalf("job's execution %q, %v; want %q", got.ExecutionARN, err, arn)
	}
	if holder, _, _, _ := e.store.Holder(ctx, "shop"); holder != spec.JobID {
		t.Fatalf("holder %s, want the job", holder)
	}
}

// TestLockLease (issue 12 §2): a lock ends at the job's deadline bounded
// by the execution timeout, plus the grace; the API's lock, taken before
// the execution starts, ends after a short Pending lease unless the
// execution locks the job again.
func TestLockLease(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := setup(t, jobstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	lease := jobstore.Lease{Grace: time.Minute, MaxRun: 7 * 24 * time.Hour}

	// timeout = 365 days: the lock lasts the execution's 7 days, not a year.
	long := newSpecAt(t, "shop", "repo", "long", now)
	long.Options.TimeoutSeconds = 365 * 86400
	long.Deadline = now.Add(365 * 24 * time.Hour)
	if err := e.store.Lock(ctx, job.NewRecord(long), lease); err != nil {
		t.Fatal(err)
	}
	if _, exp, _, _ := e.store.Holder(ctx, "shop"); !exp.Equal(now.Add(7*24*time.Hour + time.Minute)) {
		t.Errorf("lock of a 365-day job expires %v, want 7 days and the grace from now", exp)
	}
	// A short timeout keeps its own deadline.
	short := newSpecAt(t, "crm", "repo", "short", now)
	if err := e.store.Lock(ctx, job.NewRecord(short), lease); err != nil {
		t.Fatal(err)
	}
	if _, exp, _, _ := e.store.Holder(ctx, "crm"); !exp.Equal(short.Deadline.Add(time.Minute)) {
		t.Errorf("lock expires %v, want the deadline and the grace", exp)
	}

	// The API's lock is pending: 15 minutes, until its execution locks again.
	pending := lease
	pending.Pending = 15 * time.Minute
	started := newSpecAt(t, "erp", "repo", "started", now)
	if err := e.store.Lock(ctx, job.NewRecord(started), pending); err != nil {
		t.Fatal(err)
	}
	if _, exp, _, _ := e.store.Holder(ctx, "erp"); !exp.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("pending lock expires %v, want in 15 minutes", exp)
	}
	if err := e.store.Lock(ctx, job.NewRecord(started), lease); err != nil {
		t.Fatalf("the execution's re-lock: %v", err)
	}
	if _, exp, _, _ := e.store.Holder(ctx, "erp"); !exp.Equal(started.Deadline.Add(time.Minute)) {
		t.Errorf("re-locked lock expires %v, want the full lease", exp)
	}
	// An API that died before StartExecution: the database is free once
	// the pending lease ends.
	lost := newSpecAt(t, "hr", "repo", "lost", now)
	if err := e.store.Lock(ctx, job.NewRecord(lost), pending); err != nil {
		t.Fatal(err)
	}
	now = now.Add(16 * time.Minute)
	mustLock(t, e, newSpecAt(t, "hr", "repo", "next", now))
}

// TestLockFollowsFoldedNames (issue 12 §2): on a server that folds names
// (lower_case_table_names 1 or 2) SHOP and shop are one database and one
// lock; on a case-sensitive one they are two.
func TestLockFollowsFoldedNames(t *testing.T) {
	e := setup(t)
	upper, lower := newSpec(t, "SHOP", "repo", "u1"), newSpec(t, "shop", "repo", "l1")
	mustLock(t, e, upper)
	mustLock(t, e, lower)

	upper, lower = newSpec(t, "CRM", "repo", "u2"), newSpec(t, "crm", "repo", "l2")
	upper.FoldedNames, lower.FoldedNames = true, true
	mustLock(t, e, upper)
	wantConflict(t, lock(t, e, lower), "Can only run one backup or restore job of a database at same time")
	// Finishing releases the folded lock.
	if _, err := e.store.Cancel(context.Background(), upper.JobID, job.Status{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	mustLock(t, e, lower)
}

// TestRecordPlanSHA256: a job's plan checksum is recorded once; another
// one is refused, the same one accepted again (a retried SnapshotShard).
func TestRecordPlanSHA256(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	spec := newSpec(t, "shop", "repo", "p")
	mustLock(t, e, spec)
	for range 2 {
		if err := e.store.RecordPlanSHA256(ctx, spec.JobID, "aa"); err != nil {
			t.Fatal(err)
		}
	}
	var ce *job.ConflictError
	if err := e.store.RecordPlanSHA256(ctx, spec.JobID, "bb"); !errors.As(err, &ce) {
		t.Fatalf("another checksum: %v, want a ConflictError", err)
	}
	if rec, err := e.store.Get(ctx, spec.JobID); err != nil || rec.PlanSHA256 != "aa" {
		t.Fatalf("recorded %q, %v", rec.PlanSHA256, err)
	}
}
