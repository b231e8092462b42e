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

// TestGrantParallelism is the one rule for parallelism (issue 12 §2).
func TestGrantParallelism(t *testing.T) {
	for _, c := range []struct{ requested, cap, conns, want int }{
		{4, 0, 0, 4},
		{1000, 64, 0, 64},
		{1000, 0, 151, 75},
		{100, 64, 40, 20},
		{8, 64, 1, 1},
		{2, 64, 500, 2},
	} {
		if got := GrantParallelism(c.requested, c.cap, c.conns); got != c.want {
			t.Errorf("GrantParallelism(%d, %d, %d) = %d, want %d", c.requested, c.cap, c.conns, got, c.want)
		}
	}
}
