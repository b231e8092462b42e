package stack_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/localstack/iam"
)

// TestLocalPoliciesFile ties the local stack's embedded policies to the
// template: localstack/iam/policies.json is exactly what the default stack's
// roles say, resolved to local ARNs. (A synth is too slow for every demo, so
// the local stack embeds the file.)
func TestLocalPoliciesFile(t *testing.T) {
	s := defaults.get(t)
	got, err := s.stack.LocalPolicies(s.json)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(repoRoot, "localstack", "iam", "policies.json")
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what infra/stack says: run `go generate ./localstack/iam`", file)
	}
	p, err := iam.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	// Every function and both state machines have a role with statements,
	// and everything the local stack emulates resolved to a local ARN.
	for _, role := range []string{"api", "parse", "lock", "snapshot", "upload", "finalize", "cleanup",
		"restoreparse", "restoreprepare", "restoreload", "restorecommit", "restorecleanup", "sweep", "verify",
		iam.StateMachineRole("backup"), iam.StateMachineRole("restore"), "schedule:sweep"} {
		if len(p.Roles[role]) == 0 {
			t.Errorf("role %s: no statements", role)
		}
		for _, st := range p.Roles[role] {
			for _, a := range st.Actions {
				svc, _, _ := strings.Cut(a, ":")
				switch svc {
				case "s3", "dynamodb", "states", "lambda":
					for _, r := range st.Resources {
						if strings.Contains(r, "unresolved") {
							t.Errorf("role %s: %s on %s: not resolved to a local ARN", role, a, r)
						}
					}
				}
			}
		}
	}
	if len(p.Roles) != 17 {
		t.Errorf("%d roles, want 17 (14 functions, 2 state machines, the sweep's schedule)", len(p.Roles))
	}
}
