package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestDeferObjects: a whole-database spec of 10,000 tables leaves its list
// to the plan and stays small; a listed one of that size is refused; a
// short list stays in the spec. SHOW BACKUP's BackupObjs shows the first
// MaxShownObjects and how many more, or the count of an unlisted database.
func TestDeferObjects(t *testing.T) {
	big := sampleRecord().Spec
	big.Objects = nil
	for i := range 10_000 {
		big.Objects = append(big.Objects, Object{Kind: KindTable, Name: fmt.Sprintf("t%063d", i)})
	}
	listed := big
	big.WholeDatabase = true
	if err := big.DeferObjects(0); err != nil {
		t.Fatal(err)
	}
	if big.ObjectCount != 10_000 || big.Objects != nil {
		t.Fatalf("deferred: %d listed, count %d", len(big.Objects), big.ObjectCount)
	}
	if err := big.Validate(); err != nil {
		t.Errorf("deferred spec: %v", err)
	}
	if b, _ := json.Marshal(big); len(b) > 2048 {
		t.Errorf("deferred spec: %d bytes of JSON", len(b))
	}
	rec := NewRecord(big)
	if got := rec.BackupObjs(); got != "[shop.*] (10000 objects, listed in the snapshot's __info)" {
		t.Errorf("BackupObjs of a deferred list: %q", got)
	}

	var ae *AnalysisError
	if err := listed.DeferObjects(0); !errors.As(err, &ae) || !strings.Contains(err.Error(), "10000 objects are too many for one job") {
		t.Errorf("a listed spec of 10,000 tables: %v", err)
	}
	bad := big
	bad.Objects = []Object{{Kind: KindTable, Name: "t"}}
	if err := bad.Validate(); err == nil {
		t.Error("a count beside a list passed")
	}

	small := sampleRecord().Spec
	small.WholeDatabase = true
	before := len(small.Objects)
	if err := small.DeferObjects(0); err != nil || len(small.Objects) != before || small.ObjectCount != 0 {
		t.Errorf("short list: %v, %d objects, count %d", err, len(small.Objects), small.ObjectCount)
	}

	listed.Objects = listed.Objects[:MaxShownObjects+50]
	got := NewRecord(listed).BackupObjs()
	if n := strings.Count(got, "[shop."); n != MaxShownObjects || !strings.HasSuffix(got, ", … (50 more)") {
		t.Errorf("BackupObjs of %d objects: %d shown, ends %q", len(listed.Objects), n, got[len(got)-30:])
	}
}

// TestDeferRestoreObjects: a RESTORE of 10,000 objects keeps their count
// (whole snapshot or ON (ALL TABLES)), SHOW RESTORE's RestoreObjs shows the
// count, or the first MaxShownObjects of a listed job; a statement that
// itself names thousands of objects is refused with a SubmitError.
func TestDeferRestoreObjects(t *testing.T) {
	spec := sampleRecord().Spec
	spec.Type, spec.SQL = TypeRestore, `RESTORE SNAPSHOT s FROM repo PROPERTIES ("backup_timestamp" = "2026-12-01-09-20-38-945")`
	spec.Restore = &RestoreSpec{SnapshotDatabase: "shop", Timestamp: "2026-12-01-09-20-38-945", WholeSnapshot: true}
	spec.Objects = nil
	for i := range 10_000 {
		spec.Objects = append(spec.Objects, Object{Kind: KindTable, Name: fmt.Sprintf("t%063d", i)})
	}
	listed := spec
	if err := spec.DeferObjects(0); err != nil {
		t.Fatal(err)
	}
	if !spec.Unlisted() || spec.ObjectCount != 10_000 {
		t.Fatalf("deferred: %d listed, count %d", len(spec.Objects), spec.ObjectCount)
	}
	if err := spec.Validate(); err != nil {
		t.Errorf("deferred restore spec: %v", err)
	}
	if got := NewRecord(spec).RestoreObjs(); got != "* (all 10000 objects of the snapshot, listed in its __info)" {
		t.Errorf("RestoreObjs of a deferred restore: %q", got)
	}
	onList := spec
	onList.Restore = &RestoreSpec{Timestamp: "x"}
	if got := NewRecord(onList).RestoreObjs(); !strings.HasPrefix(got, "(10000 objects: the statement's ON list") {
		t.Errorf("RestoreObjs of a deferred ON list: %q", got)
	}

	long := listed
	var names []string
	for _, o := range listed.Objects[:3000] {
		names = append(names, "TABLE "+o.Name)
	}
	long.SQL = "RESTORE SNAPSHOT s FROM repo ON (" + strings.Join(names, ", ") + `) PROPERTIES ("backup_timestamp" = "x")`
	var se *SubmitError
	if err := long.DeferObjects(0); !errors.As(err, &se) || !strings.Contains(err.Error(), "10000 objects are too many for one job") {
		t.Errorf("a RESTORE naming 3,000 tables: %v", err)
	}

	listed.Objects = listed.Objects[:MaxShownObjects+7]
	got := NewRecord(listed).RestoreObjs()
	if n := strings.Count(got, ", t0"); n != MaxShownObjects-1 || !strings.HasSuffix(got, ", … (7 more)") {
		t.Errorf("RestoreObjs of %d objects: %d shown, ends %q", len(listed.Objects), n+1, got[len(got)-30:])
	}
}
