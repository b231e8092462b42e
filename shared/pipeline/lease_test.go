package pipeline

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestDefaultMaxRunIsTheDefinitionsTimeout: the lock's ceiling (issue 12
// §2) is the execution timeout the state machines are deployed with unless
// a deployment configures another (SRBACKUP_EXECUTION_TIMEOUT_SECONDS).
func TestDefaultMaxRunIsTheDefinitionsTimeout(t *testing.T) {
	for _, f := range []string{"../../statemachine/backup.asl.json", "../../statemachine/restore.asl.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var def struct{ TimeoutSeconds int64 }
		if err := json.Unmarshal(b, &def); err != nil {
			t.Fatal(err)
		}
		if got := time.Duration(def.TimeoutSeconds) * time.Second; got != DefaultMaxRun {
			t.Errorf("%s: TimeoutSeconds %v, DefaultMaxRun %v", f, got, DefaultMaxRun)
		}
	}
	if l := Lease(0, 0); l.Grace != DefaultLockGrace || l.MaxRun != DefaultMaxRun || l.Pending != 0 {
		t.Errorf("default lease %+v", l)
	}
}
