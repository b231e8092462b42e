package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/lifecycle"
	"github.com/srbackup/srbackup/shared/repository"
)

// env is the local S3 and DynamoDB with one registered repository "repo",
// and a clock the tests move.
type env struct {
	t     *testing.T
	s3    *s3.Client
	store *jobstore.Store
	repo  *repository.Repo
	now   time.Time
	lc    *lifecycle.Lifecycle
}

func setup(t *testing.T) *env {
	t.Helper()
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s3: s3.NewFromConfig(cfg), now: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}
	e.store = jobstore.New(dynamodb.NewFromConfig(cfg), st.Table, jobstore.WithClock(func() time.Time { return e.now }))
	loc := repository.Location{Bucket: st.Bucket, Prefix: "lc"}
	open := func(_ context.Context, rec jobstore.Repository) (*repository.Repo, error) {
		l, err := repository.ParseLocation(rec.Location)
		if err != nil {
			return nil, err
		}
		return repository.New(e.s3, rec.Name, l)
	}
	if _, err := e.store.PutRepository(context.Background(), jobstore.Repository{Name: "repo", Location: loc.String()}); err != nil {
		t.Fatal(err)
	}
	if e.repo, err = repository.New(e.s3, "repo", loc); err != nil {
		t.Fatal(err)
	}
	e.lc = &lifecycle.Lifecycle{Store: e.store, Open: open, Now: func() time.Time { return e.now }}
	return e
}

// commit writes a committed snapshot with one data file, as deployment dep
// (this deployment's when dep is "me"), expiring after ttl (0: never), and
// records its BACKUP job as FINISHED holding the name, as a real one does.
func (e *env) commit(label, dep string, ttl time.Duration) {
	e.t.Helper()
	ctx := context.Background()
	if dep == "me" {
		var err error
		if dep, err = e.store.DeploymentID(ctx); err != nil {
			e.t.Fatal(err)
		}
	}
	spec := e.spec(label, "db_"+label)
	if err := e.store.Lock(ctx, job.NewRecord(spec), time.Minute); err != nil {
		e.t.Fatal(err)
	}
	rel, _ := repository.ContentPath("shop", "t", "t", 0, spec.JobID)
	key, _ := e.repo.SnapshotKey(label, rel)
	n, sum, err := e.repo.PutStream(ctx, key, bytesReader("rows of "+label))
	if err != nil {
		e.t.Fatal(err)
	}
	meta, err := e.repo.WriteMeta(ctx, label, repository.Meta{Name: label, Database: "shop", JobID: spec.JobID})
	if err != nil {
		e.t.Fatal(err)
	}
	info := repository.Info{Name: label, Database: "shop", JobID: spec.JobID, BackupTime: spec.CreatedAt.UnixMilli(), BackupResult: "OK",
		Meta: meta, DeploymentID: dep, FinishTime: e.now,
		Objects: []repository.ObjectData{{Kind: repository.KindTable, Name: "t", Partitions: []repository.PartitionData{{Name: "t",
			Files: []repository.DataFile{{FileRef: repository.FileRef{Key: rel, Bytes: n, SHA256: sum}}}}}}}}
	if ttl > 0 {
		info.TTL, info.ExpireTime = ttl.String(), e.now.Add(ttl)
	}
	if _, err := e.repo.WriteInfo(ctx, info); err != nil {
		e.t.Fatal(err)
	}
	for _, st := range []job.State{job.Snapshoting, job.UploadSnapshot, job.Uploading, job.SaveMeta, job.UploadInfo} {
		if _, err := e.store.Advance(ctx, spec.JobID, st, e.now); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.store.Finish(ctx, spec.JobID, e.now); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) spec(label, db string) job.Spec {
	e.t.Helper()
	id, err := job.NewID()
	if err != nil {
		e.t.Fatal(err)
	}
	return job.Spec{JobID: id, Database: db, Label: label, Repository: "repo",
		Objects: []job.Object{{Kind: job.KindTable, Name: "t"}}, Options: job.Options{Type: "FULL", TimeoutSeconds: 3600},
		CreatedAt: e.now, Deadline: e.now.Add(time.Hour)}
}

// keys lists the objects under a label's prefix.
func (e *env) keys(label string) map[string]int64 {
	e.t.Helper()
	p, _ := e.repo.SnapshotPrefix(label)
	objs, err := e.repo.List(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return objs
}

func (e *env) listed() []string {
	e.t.Helper()
	rows, err := e.repo.ListSnapshots(context.Background(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Snapshot)
	}
	return out
}

func (e *env) drop(label string, force bool) error {
	_, err := e.lc.Drop(context.Background(), lifecycle.DropRequest{Repository: "repo", Label: label, Force: force})
	return err
}

func wantConflict(t *testing.T, err error, want string) {
	t.Helper()
	var c *job.ConflictError
	if !errors.As(err, &c) || (want != "" && c.Error() != want) {
		t.Fatalf("got %T %v, want ConflictError %q", err, err, want)
	}
}

func TestDropSnapshot(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.commit("s1", "me", 0)
	e.commit("s2", "me", 0)
	if err := e.drop("s1", false); err != nil {
		t.Fatal(err)
	}
	if got := e.listed(); len(got) != 1 || got[0] != "s2" {
		t.Fatalf("SHOW SNAPSHOT after the drop: %v", got)
	}
	if left := e.keys("s1"); len(left) != 0 {
		t.Fatalf("objects left under s1: %v", left)
	}
	if _, ok, _ := e.store.Reservation(ctx, "repo", "s1"); ok {
		t.Fatal("the name s1 is still reserved")
	}
	// The label is reusable.
	if err := e.store.Lock(ctx, job.NewRecord(e.spec("s1", "db_new")), time.Minute); err != nil {
		t.Fatalf("a new BACKUP of s1: %v", err)
	}
	// Nothing left to drop.
	var nf *job.NotFoundError
	if err := e.drop("nope", false); !errors.As(err, &nf) || err.Error() != "Snapshot 'nope' does not exist in repository repo" {
		t.Fatalf("drop of a missing snapshot: %v", err)
	}
	if _, err := e.lc.Drop(ctx, lifecycle.DropRequest{Repository: "other", Label: "s2"}); err == nil || err.Error() != job.ErrRepositoryNotFound("other").Error() {
		t.Fatalf("drop in an unknown repository: %v", err)
	}
}

func TestDropRefusedWhileInUse(t *testing.T) {
	e := setup(t)
	ctx := context.Background()

	// A BACKUP writing the snapshot holds its name.
	writing := e.spec("w", "db_w")
	if err := e.store.Lock(ctx, job.NewRecord(writing), time.Minute); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, e.drop("w", true), job.ErrSnapshotInUse("w", "BACKUP", writing.JobID, "PENDING").Error())

	// A RESTORE reading it.
	e.commit("r", "me", 0)
	restore := e.spec("r", "db_target")
	restore.Type = job.TypeRestore
	if err := e.store.Lock(ctx, job.NewRecord(restore), time.Minute); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, e.drop("r", true), job.ErrSnapshotInUse("r", "RESTORE", restore.JobID, "PENDING").Error())
	if got := e.listed(); len(got) != 1 || got[0] != "r" {
		t.Fatalf("a refused drop touched the snapshot: %v", got)
	}
	if drops, _ := e.store.Drops(ctx); len(drops) != 0 {
		t.Fatalf("a refused drop left its marker: %+v", drops)
	}
	// Once the RESTORE is over, the drop goes through.
	if _, err := e.store.Cancel(ctx, restore.JobID, job.StatusUserCancelled(), e.now); err != nil {
		t.Fatal(err)
	}
	if err := e.drop("r", false); err != nil {
		t.Fatal(err)
	}

	// A read-only repository.
	if _, err := e.store.PutRepository(ctx, jobstore.Repository{Name: "ro", Location: "s3://b/ro", ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	_, err := e.lc.Drop(ctx, lifecycle.DropRequest{Repository: "ro", Label: "x", Force: true})
	wantConflict(t, err, "Repository ro is read only")
}

func TestDropForeignNeedsForce(t *testing.T) {
	e := setup(t)
	e.commit("theirs", "dep-elsewhere", 0)
	wantConflict(t, e.drop("theirs", false), job.ErrForeignSnapshot("theirs", "dep-elsewhere").Error())
	if err := e.drop("theirs", true); err != nil {
		t.Fatal(err)
	}
	if len(e.keys("theirs")) != 0 {
		t.Fatal("objects left")
	}

	// Written before deployment ids: ours while our history has its job.
	e.commit("legacy", "", 0)
	if err := e.drop("legacy", false); err != nil {
		t.Fatalf("a legacy snapshot whose job is in this deployment's history: %v", err)
	}
	// A partial upload without any committed run needs FORCE.
	key, _ := e.repo.SnapshotKey("partial", "__ss_content/shop/t/t/000000-j.parquet")
	if _, _, err := e.repo.PutStream(context.Background(), key, bytesReader("x")); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, e.drop("partial", false), "")
	if err := e.drop("partial", true); err != nil || len(e.keys("partial")) != 0 {
		t.Fatalf("FORCE drop of a partial upload: %v, left %v", err, e.keys("partial"))
	}
}

// interrupt leaves label as a drop interrupted after its commit markers were
// deleted: the marker in the table, the info files gone, the rest there.
func (e *env) interrupt(label string) {
	e.t.Helper()
	ctx := context.Background()
	holder, _, _ := e.store.Reservation(ctx, "repo", label)
	if err := e.store.BeginDrop(ctx, "repo", label, "crashed-drop", holder); err != nil {
		e.t.Fatal(err)
	}
	ts, _ := e.repo.Timestamps(ctx, label)
	p, _ := e.repo.SnapshotPrefix(label)
	for _, t := range ts {
		if err := e.repo.DeleteKeys(ctx, []string{p + "__info_" + t}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestInterruptedDropIsFinished(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.commit("a", "me", 0)
	e.commit("b", "me", 0)
	e.interrupt("a")
	e.interrupt("b")
	if got := e.listed(); len(got) != 0 {
		t.Fatalf("an interrupted drop is still listed: %v", got)
	}
	if len(e.keys("a")) == 0 || len(e.keys("b")) == 0 {
		t.Fatal("nothing left behind: the test proves nothing")
	}
	// No BACKUP or RESTORE of a half-dropped snapshot.
	wantConflict(t, e.store.Lock(ctx, job.NewRecord(e.spec("a", "db_x")), time.Minute), "Snapshot 'a' is being dropped")

	// A second DROP finishes a.
	if err := e.drop("a", false); err != nil {
		t.Fatal(err)
	}
	if len(e.keys("a")) != 0 {
		t.Fatal("objects left under a")
	}
	// The sweep finishes b once its marker is old enough.
	res, err := e.lc.Sweep(ctx)
	if err != nil || len(res.Resumed) != 0 {
		t.Fatalf("a young marker was resumed: %+v %v", res, err)
	}
	e.now = e.now.Add(lifecycle.ResumeAfter)
	res, err = e.lc.Sweep(ctx)
	if err != nil || len(res.Resumed) != 1 || res.Resumed[0] != "repo/b" || len(res.Errors) != 0 {
		t.Fatalf("sweep = %+v %v", res, err)
	}
	if len(e.keys("b")) != 0 {
		t.Fatal("objects left under b")
	}
	if drops, _ := e.store.Drops(ctx); len(drops) != 0 {
		t.Fatalf("markers left: %+v", drops)
	}
	for _, l := range []string{"a", "b"} {
		if err := e.store.Lock(ctx, job.NewRecord(e.spec(l, "db_"+l+"2")), time.Minute); err != nil {
			t.Fatalf("label %s not reusable: %v", l, err)
		}
	}
}

func TestSweepExpiresSnapshots(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.commit("day", "me", 24*time.Hour)
	e.commit("week", "me", 7*24*time.Hour)
	e.commit("forever", "me", 0)
	e.commit("foreign", "dep-elsewhere", time.Hour)
	e.commit("read", "me", time.Hour)
	restore := e.spec("read", "db_target")
	restore.Type = job.TypeRestore
	if err := e.store.Lock(ctx, job.NewRecord(restore), 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}

	res, err := e.lc.Sweep(ctx)
	if err != nil || len(res.Dropped) != 0 || res.Kept != 5 {
		t.Fatalf("nothing has expired yet: %+v %v", res, err)
	}
	e.now = e.now.Add(25 * time.Hour)
	res, err = e.lc.Sweep(ctx)
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if len(res.Dropped) != 1 || res.Dropped[0] != "repo/day" {
		t.Fatalf("dropped %v, want only repo/day (read is in use by a RESTORE, foreign is not ours)", res.Dropped)
	}
	want := []string{"foreign", "forever", "read", "week"}
	if got := e.listed(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("left %v, want %v", got, want)
	}
	if len(e.keys("day")) != 0 {
		t.Fatal("objects of the expired snapshot left")
	}
	// Once the RESTORE is over, its snapshot goes at the next sweep.
	if _, err := e.store.Cancel(ctx, restore.JobID, job.StatusUserCancelled(), e.now); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(7 * 24 * time.Hour)
	res, err = e.lc.Sweep(ctx)
	if err != nil || len(res.Dropped) != 2 || res.Dropped[0] != "repo/read" || res.Dropped[1] != "repo/week" {
		t.Fatalf("second sweep: %+v %v", res, err)
	}
}

func TestRepositoryInUse(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, busy, err := lifecycle.RepositoryInUse(ctx, e.store, "repo"); err != nil || busy {
		t.Fatalf("idle repository in use: %v %v", busy, err)
	}
	spec := e.spec("s", "db")
	if err := e.store.Lock(ctx, job.NewRecord(spec), time.Minute); err != nil {
		t.Fatal(err)
	}
	if rec, busy, err := lifecycle.RepositoryInUse(ctx, e.store, "repo"); err != nil || !busy || rec.Spec.JobID != spec.JobID {
		t.Fatalf("RepositoryInUse = %v %v %v", rec.Spec.JobID, busy, err)
	}
}

func TestVerify(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.commit("v", "me", 0)
	v, err := e.lc.SubmitVerify(ctx, lifecycle.VerifyRequest{Repository: "repo", Label: "v"})
	if err != nil || v.State != jobstore.VerifyPending || v.Timestamp == "" {
		t.Fatalf("SubmitVerify = %+v %v", v, err)
	}
	v, err = e.lc.RunVerify(ctx, v.ID)
	if err != nil || v.State != jobstore.VerifyFinished || v.Files != 2 || v.OK != 2 {
		t.Fatalf("RunVerify = %+v %v", v, err)
	}
	rows, err := e.store.VerifyRows(ctx, v.ID)
	if err != nil || len(rows) != 2 || rows[0].File != "__meta" || rows[1].Status != "OK" {
		t.Fatalf("rows %+v %v", rows, err)
	}
	// The data file deleted: MISSING, cheap or deep.
	p, _ := e.repo.SnapshotPrefix("v")
	var data []string
	for k := range e.keys("v") {
		if strings.Contains(k, "__ss_content/") {
			data = append(data, k)
		}
	}
	if err := e.repo.DeleteKeys(ctx, data); err != nil || len(data) != 1 {
		t.Fatalf("delete %v: %v (under %s)", data, err, p)
	}
	v, _ = e.lc.SubmitVerify(ctx, lifecycle.VerifyRequest{Repository: "repo", Label: "v", Deep: true})
	if v, err = e.lc.RunVerify(ctx, v.ID); err != nil || v.Missing != 1 || v.OK != 1 {
		t.Fatalf("deep verify of a damaged snapshot = %+v %v", v, err)
	}
	var nf *job.NotFoundError
	if _, err := e.lc.SubmitVerify(ctx, lifecycle.VerifyRequest{Repository: "repo", Label: "nope"}); !errors.As(err, &nf) {
		t.Fatalf("verify of a missing snapshot: %v", err)
	}
	if _, err := e.lc.SubmitVerify(ctx, lifecycle.VerifyRequest{Repository: "repo", Label: "v", Timestamp: "2020-01-01-00-00-00-000"}); !errors.As(err, &nf) {
		t.Fatalf("verify of a missing run: %v", err)
	}
}
