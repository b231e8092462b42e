package stack_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/srbackup/srbackup/infra/stack"
	"github.com/srbackup/srbackup/shared/app"
)

// TestFunctionsAreTheApps ties the stack's table of functions to the one
// shared/app builds handlers for: every deployed function has a handler
// (the api's is APIHandler) and a functions/<name> main, and every handler
// is deployed.
func TestFunctionsAreTheApps(t *testing.T) {
	built := append([]string{stack.FnAPI}, app.Functions...)
	deployed := slices.Clone(stack.FunctionNames)
	slices.Sort(built)
	slices.Sort(deployed)
	if !slices.Equal(built, deployed) {
		t.Fatalf("shared/app builds %v, the stack deploys %v", built, deployed)
	}
	for _, name := range deployed {
		if _, err := os.Stat(filepath.Join("..", "..", "functions", name, "main.go")); err != nil {
			t.Errorf("function %s: %v", name, err)
		}
	}
}
