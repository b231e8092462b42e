package stack_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireTool returns the path of a tool the validation tests run, or skips
// (fails in CI) saying how to get it.
func requireTool(t *testing.T, path, hint string) string {
	t.Helper()
	if filepath.Base(path) == path {
		p, err := exec.LookPath(path)
		if err == nil {
			return p
		}
	} else if _, err := os.Stat(path); err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found: %s", path, hint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func TestTemplatesPassCloudFormationValidate(t *testing.T) {
	node := requireTool(t, "node", "install Node.js 20+")
	requireTool(t, filepath.Join(repoRoot, "_tools/node_modules/@aws/cloudformation-validate/package.json"), "run `make tools`")
	// One engine run for both templates: loading the WASM engine is most of the time.
	args := []string{filepath.Join(repoRoot, "infra/validate/cfn-validate.js"), "--strict"}
	for _, f := range []*fixture{defaults, full, vpcKMS, noAccessLogs} {
		args = append(args, f.get(t).path)
	}
	if out, err := exec.Command(node, args...).CombinedOutput(); err != nil {
		t.Errorf("cfn-validate: %v\n%s", err, out)
	}
}

func TestStateMachinesPassASLValidator(t *testing.T) {
	node := requireTool(t, "node", "install Node.js 20+")
	validator := requireTool(t, filepath.Join(repoRoot, "_tools/node_modules/asl-validator/dist/bin/asl-validator.js"), "run `make tools`")
	files, err := filepath.Glob(filepath.Join(repoRoot, "statemachine/*.asl.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no statemachine/*.asl.json (%v)", err)
	}
	for _, f := range files {
		out, err := exec.Command(node, validator, "--json-path", f).CombinedOutput()
		if err != nil {
			t.Errorf("asl-validator %s: %v\n%s", f, err, out)
		}
	}
}
