package pipeline

import (
	"errors"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
)

// TestCheckPinned: a job runs against the repository it was locked with
// (issue 12 §2); the same name registered again, at the same location or
// not, fails it.
func TestCheckPinned(t *testing.T) {
	repo := jobstore.Repository{ID: 3, Name: "repo", Location: "s3://b/backups"}
	spec := job.Spec{JobID: "j", Repository: "repo"}
	if err := CheckPinned(spec, repo); err != nil {
		t.Errorf("a job without a pin: %v", err)
	}
	PinRepository(&spec, repo)
	if err := CheckPinned(spec, repo); err != nil {
		t.Errorf("the same repository: %v", err)
	}
	for _, other := range []jobstore.Repository{
		{ID: 4, Name: "repo", Location: "s3://b/backups"},
		{ID: 3, Name: "repo", Location: "s3://b/elsewhere"},
	} {
		var ce *job.ConflictError
		if err := CheckPinned(spec, other); !errors.As(err, &ce) {
			t.Errorf("%+v: %v, want a ConflictError", other, err)
		}
	}
}
