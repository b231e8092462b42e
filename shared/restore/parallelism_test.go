package restore

import (
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
)

// The load's parallelism is lowered to half the target's connection limit,
// keeping what was asked first, with a warning; left alone when it fits.
func TestGrantTargetParallelism(t *testing.T) {
	spec := job.Spec{Options: job.Options{Parallelism: 16}}
	if w := grantTargetParallelism(&spec, 151); w != "" || spec.Options.Parallelism != 16 || spec.Options.RequestedParallelism != 0 {
		t.Errorf("151 connections: %q, %+v", w, spec.Options)
	}
	w := grantTargetParallelism(&spec, 10)
	if spec.Options.Parallelism != 5 || spec.Options.RequestedParallelism != 16 || !strings.Contains(w, "lowered to 5") {
		t.Errorf("10 connections: %q, %+v", w, spec.Options)
	}
	// Submit lowered it already (the deployment's cap): the request stays the user's.
	spec = job.Spec{Options: job.Options{Parallelism: 8, RequestedParallelism: 100}}
	if grantTargetParallelism(&spec, 4); spec.Options.Parallelism != 2 || spec.Options.RequestedParallelism != 100 {
		t.Errorf("after the deployment's cap: %+v", spec.Options)
	}
}
