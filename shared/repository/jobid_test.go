package repository_test

import (
	"context"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/repository"
)

// TestJobIDOfReadsTheStart: cleanup's check of whose __meta it is reads
// only the file's start (issue 12 §2), and still answers for a file whose
// job_id comes late.
func TestJobIDOfReadsTheStart(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "repo", "jobid")
	big := repository.Meta{FormatVersion: 1, Name: "l", Database: "shop", JobID: "job-1"}
	for range 2000 {
		big.Objects = append(big.Objects, repository.ObjectMeta{Name: strings.Repeat("t", 60)})
	}
	if _, err := r.PutJSON(ctx, "l", "__meta", big); err != nil {
		t.Fatal(err)
	}
	late := map[string]string{"a": strings.Repeat("x", 10000), "job_id": "job-2"}
	if _, err := r.PutJSON(ctx, "l", "__info_2025-01-01-00-00-00-000", late); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{"__meta": "job-1", "__info_2025-01-01-00-00-00-000": "job-2"} {
		if id, err := r.JobIDOf(ctx, "l", rel); err != nil || id != want {
			t.Errorf("JobIDOf(%s) = %q, %v; want %q", rel, id, err, want)
		}
	}
}
