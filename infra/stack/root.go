package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RepoRoot returns the first directory at or above dir that holds go.mod: the
// root that asset and definition paths are relative to, whether the app runs
// from the root (cdk synth) or a test runs inside infra/.
func RepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("repository root: %w", err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("repository root: no go.mod at or above %s", abs)
		}
	}
}
