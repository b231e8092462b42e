package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
)

// TestRepositoryLookup: the one lookup answers BACKUP's text for a name not
// registered unless the caller brings its own (RESTORE's), and opens a
// job's repository only while the name still means the one the job was
// locked with.
func TestRepositoryLookup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	repo, rec, err := e.p.Repository(ctx, "repo", nil)
	if err != nil || rec.Name != "repo" || repo.Name() != "repo" || repo.Root() != e.repo.Root() {
		t.Fatalf("repo: %+v %v", rec, err)
	}
	_, _, err = e.p.Repository(ctx, "nope", nil)
	if ae := wantErr[*job.AnalysisError](t, "unknown repository", err); ae.Detail != "Repository [nope] does not exist" {
		t.Fatalf("unknown repository: %q", ae.Detail)
	}
	restoreText := &job.SubmitError{Message: "Repository nope does not exist"}
	if _, _, err := e.p.Repository(ctx, "nope", restoreText); err != restoreText {
		t.Fatalf("unknown repository with the caller's error: %v", err)
	}

	spec := job.Spec{JobID: "j", Repository: "repo"}
	PinRepository(&spec, rec)
	if _, err := e.p.JobRepository(ctx, spec, nil); err != nil {
		t.Fatalf("pinned repository: %v", err)
	}
	// Dropped and created again at another location: the job stops.
	if err := e.store.DeleteRepository(ctx, "repo"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PutRepository(ctx, jobstore.Repository{Name: "repo", Location: rec.Location + "/again"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.p.JobRepository(ctx, spec, nil)
	wantErr[*job.ConflictError](t, "repository created again", err)
	if err := e.store.DeleteRepository(ctx, "repo"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.JobRepository(ctx, spec, restoreText); !errors.Is(err, restoreText) {
		t.Fatalf("dropped repository: %v", err)
	}
}
