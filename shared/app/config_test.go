package app

import (
	"strings"
	"testing"
)

// TestWorkBucketRequired: the functions that write or delete work files
// refuse to start without SRBACKUP_WORK_BUCKET; the others do not need it.
func TestWorkBucketRequired(t *testing.T) {
	env := map[string]string{"SRBACKUP_TABLE": "t", "SRBACKUP_TARGET_DSN": "u@tcp(h)/"}
	getenv := func(k string) string { return env[k] }
	for _, fn := range []string{"restoreprepare", "restorecommit", "restorecleanup"} {
		if _, err := LoadConfig(fn, getenv); err == nil || !strings.Contains(err.Error(), "SRBACKUP_WORK_BUCKET") {
			t.Errorf("%s without a work bucket: %v", fn, err)
		}
	}
	if _, err := LoadConfig("restoreload", getenv); err != nil {
		t.Errorf("restoreload needs no work bucket: %v", err)
	}
	env["SRBACKUP_WORK_BUCKET"] = "b"
	if c, err := LoadConfig("restoreprepare", getenv); err != nil || c.WorkBucket != "b" {
		t.Errorf("restoreprepare with a work bucket: %+v %v", c.WorkBucket, err)
	}
}
