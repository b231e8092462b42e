package pipeline

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
)

// env is a pipeline over the in-process S3 (gofakes3) and DynamoDB
// (minidyn) of the local stack, with a source the test supplies: no
// MariaDB, no Node. Two repositories are registered: "repo" (writable) and
// "ro" (read only), both in the stack's bucket.
type env struct {
	t     *testing.T
	s3    *s3.Client
	store *jobstore.Store
	repo  *repository.Repo // "repo"
	now   time.Time        // the clock of the store and the pipeline; steps bound their work by real deadlines
	p     *Pipeline
}

func newEnv(t *testing.T, src source.Source) *env {
	t.Helper()
	ctx := context.Background()
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s3: s3.NewFromConfig(cfg), now: time.Now().UTC().Truncate(time.Second)}
	clock := func() time.Time { return e.now }
	e.store = jobstore.New(dynamodb.NewFromConfig(cfg), st.Table, jobstore.WithClock(clock))
	open := func(_ context.Context, rec jobstore.Repository) (*repository.Repo, error) {
		loc, err := repository.ParseLocation(rec.Location)
		if err != nil {
			return nil, &job.AnalysisError{Detail: err.Error()}
		}
		return repository.New(e.s3, rec.Name, loc)
	}
	for _, r := range []jobstore.Repository{
		{Name: "repo", Location: "s3://" + st.Bucket + "/bk"},
		{Name: "ro", Location: "s3://" + st.Bucket + "/ro", ReadOnly: true},
	} {
		rec, err := e.store.PutRepository(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if r.Name == "repo" {
			if e.repo, err = open(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.p = &Pipeline{Store: e.store, Source: src, Open: open, Now: clock, Log: slog.New(slog.DiscardHandler)}
	return e
}

// repoRecord is the registry's record of "repo".
func (e *env) repoRecord() jobstore.Repository {
	e.t.Helper()
	rec, ok, err := e.store.GetRepository(context.Background(), "repo")
	if err != nil || !ok {
		e.t.Fatalf("repository repo: %v %v", ok, err)
	}
	return rec
}
