package jobstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/job"
)

// fakeDB answers the calls a test scripts; anything else is an error. The
// real conditional-write behaviour is tested against the local DynamoDB in
// integration_test.go; these tests cover what the emulator can't show:
// contention retries, paging and unprocessed keys.
type fakeDB struct {
	API
	transact func(*dynamodb.TransactWriteItemsInput) error
	query    func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error)
	batchGet func(*dynamodb.BatchGetItemInput) (*dynamodb.BatchGetItemOutput, error)
	calls    int
}

func (f *fakeDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.calls++
	return &dynamodb.TransactWriteItemsOutput{}, f.transact(in)
}

// GetItem finds nothing (Lock looks up a taken name's holder).
func (f *fakeDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.calls++
	return &dynamodb.GetItemOutput{}, nil
}

func (f *fakeDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.calls++
	return f.query(in)
}

func (f *fakeDB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.calls++
	return f.batchGet(in)
}

func cancelled(codes ...string) error {
	reasons := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		reasons[i] = types.CancellationReason{Code: aws.String(c)}
	}
	return &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
}

func testSpec() job.Spec {
	now := time.Now().UTC()
	return job.Spec{JobID: "j1", Database: "db", Label: "L", Repository: "r",
		Objects: []job.Object{{Kind: job.KindTable, Name: "t"}}, Options: job.Options{TimeoutSeconds: 600},
		CreatedAt: now, Deadline: now.Add(10 * time.Minute)}
}

func TestLockDecodesCancellationReasons(t *testing.T) {
	for _, tc := range []struct {
		codes []string
		want  string
	}{
		{[]string{reasonCondition, reasonNone, reasonNone, reasonNone, reasonNone}, job.ErrDatabaseBusy().Error()},
		// AWS reports every failed condition; the database comes first, as in StarRocks.
		{[]string{reasonCondition, reasonNone, reasonCondition, reasonNone, reasonNone}, job.ErrDatabaseBusy().Error()},
		{[]string{reasonNone, reasonNone, reasonCondition, reasonNone, reasonNone}, "Snapshot with name 'L' already exist in repository"},
		{[]string{reasonNone, reasonCondition, reasonCondition, reasonNone, reasonNone}, "Snapshot 'L' is being dropped"},
	} {
		db := &fakeDB{transact: func(*dynamodb.TransactWriteItemsInput) error { return cancelled(tc.codes...) }}
		err := New(db, "t").Lock(context.Background(), job.NewRecord(testSpec()), Lease{Grace: time.Minute})
		var c *job.ConflictError
		if !errors.As(err, &c) || err.Error() != tc.want {
			t.Errorf("reasons %v: got %T %v, want %q", tc.codes, err, err, tc.want)
		}
	}
}

func TestTransactRetriesContention(t *testing.T) {
	db := &fakeDB{}
	db.transact = func(*dynamodb.TransactWriteItemsInput) error {
		if db.calls < 3 {
			return cancelled(reasonNone, reasonConflict, reasonNone, reasonNone)
		}
		return nil
	}
	if err := New(db, "t").Lock(context.Background(), job.NewRecord(testSpec()), Lease{Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if db.calls != 3 {
		t.Errorf("%d calls, want 3", db.calls)
	}

	// Persistent contention ends with an error, not a wrong StarRocks text.
	db = &fakeDB{transact: func(*dynamodb.TransactWriteItemsInput) error { return cancelled(reasonThrottling) }}
	err := New(db, "t").Lock(context.Background(), job.NewRecord(testSpec()), Lease{Grace: time.Minute})
	var c *job.ConflictError
	if err == nil || errors.As(err, &c) || db.calls != maxTransactAttempts {
		t.Errorf("after %d calls: %v", db.calls, err)
	}

	// An unknown reason is an error at once.
	db = &fakeDB{transact: func(*dynamodb.TransactWriteItemsInput) error { return cancelled("ValidationError") }}
	if err := New(db, "t").Lock(context.Background(), job.NewRecord(testSpec()), Lease{Grace: time.Minute}); err == nil || db.calls != 1 {
		t.Errorf("validation error: %v after %d calls", err, db.calls)
	}
}

func TestLockRejectsBadInput(t *testing.T) {
	s := New(&fakeDB{}, "t")
	bad := testSpec()
	bad.Label = ""
	if err := s.Lock(context.Background(), job.NewRecord(bad), Lease{Grace: time.Minute}); err == nil {
		t.Error("spec without label locked")
	}
	rec := job.NewRecord(testSpec())
	rec.State = job.Uploading
	if err := s.Lock(context.Background(), rec, Lease{Grace: time.Minute}); err == nil {
		t.Error("non-PENDING record locked")
	}
}

func shardItemAV(n int) map[string]types.AttributeValue {
	av, err := shardAV("j1", job.ShardResult{Shard: n, Object: "t", Partition: "p", Key: fmt.Sprintf("k%d", n),
		SHA256: strings.Repeat("0", 64)}, num(0))
	if err != nil {
		panic(err)
	}
	return av
}

func TestShardsFollowsPages(t *testing.T) {
	db := &fakeDB{}
	db.query = func(in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
		start := 0
		if in.ExclusiveStartKey != nil {
			fmt.Sscanf(in.ExclusiveStartKey[AttrSK].(*types.AttributeValueMemberS).Value, "SHARD#%d", &start)
			start++
		}
		out := &dynamodb.QueryOutput{}
		for n := start; n < start+3 && n < 10; n++ {
			out.Items = append(out.Items, shardItemAV(n))
		}
		if last := start + 2; last < 9 {
			out.LastEvaluatedKey = key(jobPK("j1"), shardSK(last))
		}
		return out, nil
	}
	got, err := New(db, "t").Shards(context.Background(), "j1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[9].Shard != 9 || db.calls != 4 {
		t.Fatalf("%d shards in %d calls", len(got), db.calls)
	}
}

func TestBatchGetRetriesUnprocessedKeys(t *testing.T) {
	rec := job.NewRecord(testSpec())
	db := &fakeDB{}
	db.batchGet = func(in *dynamodb.BatchGetItemInput) (*dynamodb.BatchGetItemOutput, error) {
		keys := in.RequestItems["t"].Keys
		if !aws.ToBool(in.RequestItems["t"].ConsistentRead) {
			t.Error("batch read is not consistent")
		}
		out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
		for i, k := range keys {
			if i == 0 && db.calls == 1 {
				out.UnprocessedKeys = map[string]types.KeysAndAttributes{"t": {Keys: []map[string]types.AttributeValue{k}, ConsistentRead: aws.Bool(true)}}
				continue
			}
			r := rec
			r.Spec.JobID = strings.TrimPrefix(k[AttrPK].(*types.AttributeValueMemberS).Value, "JOB#")
			av, err := newJobItem(r)
			if err != nil {
				return nil, err
			}
			out.Responses["t"] = append(out.Responses["t"], av)
		}
		return out, nil
	}
	ids := make([]string, 150)
	for i := range ids {
		ids[i] = fmt.Sprintf("j%03d", i)
	}
	recs, err := New(db, "t").batchGetJobs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	// Two chunks (100 + 50), the first needing a second call.
	if len(recs) != 150 || db.calls != 3 {
		t.Fatalf("%d records in %d calls", len(recs), db.calls)
	}
}

func TestJobItemRoundTrip(t *testing.T) {
	rec := job.NewRecord(testSpec())
	rec.State = job.Uploading
	rec.SnapshotFinishedTime = rec.CreateTime.Add(time.Second)
	rec.TaskErrors = map[int]string{4: "boom", 12: "bang"}
	rec.ShardsDone, rec.ShardsTotal, rec.BytesDone, rec.BytesTotal = 1, 2, 3, 4
	rec.ExecutionARN = "arn"
	av, err := newJobItem(rec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeJob(av)
	if err != nil {
		t.Fatal(err)
	}
	if back.State != rec.State || !back.SnapshotFinishedTime.Equal(rec.SnapshotFinishedTime) || !back.FinishedTime.IsZero() ||
		back.TaskErrors[12] != "bang" || back.BytesTotal != 4 || back.ExecutionARN != "arn" || back.Spec.Label != "L" {
		t.Fatalf("round trip: %+v", back)
	}
	// The GSI sort key sorts by creation time as a string.
	a := formatTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	b := formatTime(time.Date(2025, 1, 1, 0, 0, 0, 100_000_000, time.UTC))
	if !(a < b) {
		t.Errorf("%s sorts after %s", a, b)
	}
}

func TestKeyPartsDoNotCollide(t *testing.T) {
	if snapPK("a#b", "c") == snapPK("a", "b#c") {
		t.Error("snapshot keys collide")
	}
	if snapPK("a%23b", "c") == snapPK("a#b", "c") {
		t.Error("escaping is not injective")
	}
}

// TestJobItemBudgetAt10000Tables: the job item of a whole-database BACKUP
// of 10,000 tables (its list left to the plan) stays far under DynamoDB's
// 400 KB with every warning the record keeps; an item over it is refused
// before DynamoDB sees it, with its size.
func TestJobItemBudgetAt10000Tables(t *testing.T) {
	spec := testSpec()
	spec.Objects = nil
	for i := range 10_000 {
		spec.Objects = append(spec.Objects, job.Object{Kind: job.KindTable, Name: fmt.Sprintf("t%063d", i)})
	}
	spec.WholeDatabase = true
	if err := spec.DeferObjects(0); err != nil {
		t.Fatal(err)
	}
	rec := job.NewRecord(spec)
	rec.State, rec.ExecutionARN = job.Uploading, strings.Repeat("a", 200)
	for range 20 {
		rec.Warnings = append(rec.Warnings, strings.Repeat("w", 300))
	}
	rec.TaskErrors = map[int]string{9_999: strings.Repeat("e", 1000)}
	av, err := newJobItem(rec)
	if err != nil {
		t.Fatal(err)
	}
	if n := ItemSize(av); n > MaxItemBytes/20 {
		t.Errorf("job item of 10,000 tables: %d bytes", n)
	} else {
		t.Logf("job item of 10,000 tables: %d bytes", n)
	}
	// The same spec with its list: over the limit, refused.
	spec.Objects, spec.ObjectCount = make([]job.Object, 10_000), 0
	for i := range spec.Objects {
		spec.Objects[i] = job.Object{Kind: job.KindTable, Name: fmt.Sprintf("t%063d", i)}
	}
	if _, err := newJobItem(job.NewRecord(spec)); err == nil || !strings.Contains(err.Error(), "over DynamoDB's 409600") {
		t.Errorf("an item of 10,000 listed tables: %v", err)
	}
}

func TestItemSize(t *testing.T) {
	item := map[string]types.AttributeValue{
		"s": &types.AttributeValueMemberS{Value: "héllo"},                                                                        // 6 bytes
		"n": &types.AttributeValueMemberN{Value: "12345"},                                                                        // 3
		"b": &types.AttributeValueMemberBOOL{Value: true},                                                                        // 1
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "ab"}}},              // 3+1+2
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "v"}}}, // 3+1+1+1
	}
	if got, want := ItemSize(item), 5+6+3+1+6+6; got != want {
		t.Errorf("ItemSize = %d, want %d", got, want)
	}
}

// TestRestoreJobItemBudgetAt10000Tables: a RESTORE of a snapshot of
// 10,000 tables keeps only their count in its spec, so its job item, with
// every warning and a long statement, stays far under DynamoDB's 400 KB.
func TestRestoreJobItemBudgetAt10000Tables(t *testing.T) {
	spec := testSpec()
	spec.Type = job.TypeRestore
	spec.SQL = `RESTORE SNAPSHOT s FROM repo DATABASE big AS big2 PROPERTIES ("backup_timestamp" = "2026-12-01-09-20-38-945")`
	spec.Restore = &job.RestoreSpec{SnapshotDatabase: "big", Timestamp: "2026-12-01-09-20-38-945", WholeSnapshot: true, ReplicationNum: 3}
	spec.Objects = nil
	for i := range 10_000 {
		spec.Objects = append(spec.Objects, job.Object{Kind: job.KindTable, Name: fmt.Sprintf("t%063d", i)})
	}
	if err := spec.DeferObjects(0); err != nil {
		t.Fatal(err)
	}
	if !spec.Unlisted() || spec.ObjectCount != 10_000 {
		t.Fatalf("spec: %d objects listed, count %d", len(spec.Objects), spec.ObjectCount)
	}
	rec := job.NewRecord(spec)
	rec.State, rec.ExecutionARN = job.Downloading, strings.Repeat("a", 200)
	for range 20 {
		rec.Warnings = append(rec.Warnings, strings.Repeat("w", 300))
	}
	av, err := newJobItem(rec)
	if err != nil {
		t.Fatal(err)
	}
	if n := ItemSize(av); n > MaxItemBytes/20 {
		t.Errorf("restore job item of 10,000 tables: %d bytes", n)
	} else {
		t.Logf("restore job item of 10,000 tables: %d bytes", n)
	}
}
