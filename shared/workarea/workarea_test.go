package workarea

import (
	"context"
	"errors"
	"path"
	"testing"
)

// TestRestoreItemsKey: every job's key is under Prefix, matches the
// pattern the grants name, and escapes what a job id could hold.
func TestRestoreItemsKey(t *testing.T) {
	for _, id := range []string{"0190d1c2-7a7b-7cde-8f00-123456789abc", "console_run-1", "../x", "a/b"} {
		key, err := RestoreItemsKey(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := path.Match(RestoreItemsPattern, key); !ok {
			t.Errorf("job %q: key %s does not match %s", id, key, RestoreItemsPattern)
		}
	}
	if _, err := RestoreItemsKey(""); err == nil {
		t.Error("an empty job id has a key")
	}
}

// TestNotConfigured: a function started without a work bucket says so.
func TestNotConfigured(t *testing.T) {
	var a *Area
	if err := a.PutJSON(context.Background(), "k", 1); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("PutJSON: %v", err)
	}
	if err := (&Area{}).Delete(context.Background(), "k"); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Delete: %v", err)
	}
}
