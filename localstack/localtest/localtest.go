// Package localtest holds the test helpers of the local AWS stack. It
// imports testing, so only _test files import it: no shipped binary links it.
package localtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/iam"
)

// StartForTest starts a stack for a test and stops it when the test ends.
// When the stack needs Step Functions and node or the npm tools are missing,
// the test fails if CI=true and is skipped otherwise, naming what is missing.
func StartForTest(tb testing.TB, opts localstack.Options) *localstack.Stack {
	tb.Helper()
	if opts.StepFunctions {
		RequireNodeTools(tb)
	}
	s, err := localstack.Start(context.Background(), opts)
	if err != nil {
		tb.Fatalf("start local AWS stack: %v", err)
	}
	tb.Cleanup(s.Close)
	if s.IAM != nil {
		tb.Cleanup(func() { observed.Add(s.IAM) })
	}
	return s
}

// observed is what the stacks of this test binary authorized: a test
// binary's TestMain reads it (ObservedIAM) once every test has run.
var observed iam.Usage

// ObservedIAM returns the IAM actions used by every stack StartForTest
// started in this test binary so far.
func ObservedIAM() *iam.Usage { return &observed }

// RequireNodeTools checks that node and the npm tools (`make tools`) are
// installed. When they are not, it fails the test under CI=true and skips it
// otherwise, saying what is missing: an integration test never skips silently in CI.
func RequireNodeTools(tb testing.TB) {
	tb.Helper()
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not in PATH (install Node.js 20+)"
	} else if root, err := localstack.Root(); err != nil {
		missing = err.Error()
	} else if _, err := os.Stat(filepath.Join(root, "_tools", "node_modules", "aws-local-stepfunctions")); err != nil {
		missing = "_tools/node_modules is not installed (run `make tools`)"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true and a dependency is missing: %s", missing)
	}
	tb.Skipf("skipping: %s", missing)
}
