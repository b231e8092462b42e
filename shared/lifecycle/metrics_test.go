package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/metrics"
)

// emfLine is what the tests check of an EMF line.
type emfLine struct {
	Namespace  string
	Dimensions []string
	Metrics    map[string]string // name → unit
	Values     map[string]any
}

func parseEMF(t *testing.T, out string) []emfLine {
	t.Helper()
	var lines []emfLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		aws := doc["_aws"].(map[string]any)
		if _, ok := aws["Timestamp"].(float64); !ok {
			t.Fatalf("no Timestamp: %s", l)
		}
		d := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
		e := emfLine{Namespace: d["Namespace"].(string), Metrics: map[string]string{}, Values: doc}
		for _, n := range d["Dimensions"].([]any)[0].([]any) {
			e.Dimensions = append(e.Dimensions, n.(string))
		}
		for _, m := range d["Metrics"].([]any) {
			mm := m.(map[string]any)
			e.Metrics[mm["Name"].(string)] = mm["Unit"].(string)
		}
		lines = append(lines, e)
	}
	return lines
}

func TestSweepMetrics(t *testing.T) {
	e := setup(t)
	var buf bytes.Buffer
	e.lc.Metrics = metrics.New(&buf)
	e.lc.AgeDatabases = []string{"db_nightly", "db_never"}
	e.commit("nightly", "me", time.Hour) // its job backs up db_nightly
	e.now = e.now.Add(2 * time.Hour)
	if _, err := e.lc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := parseEMF(t, buf.String())
	if len(lines) != 2 {
		t.Fatalf("%d EMF lines, want BackupAge for db_nightly (db_never has no backup: no value) and SnapshotsExpired:\n%s", len(lines), buf.String())
	}
	age, expired := lines[0], lines[1]
	if age.Namespace != "srbackup" || strings.Join(age.Dimensions, ",") != "Database" || age.Values["Database"] != "db_nightly" ||
		age.Metrics["BackupAge"] != "Seconds" || age.Values["BackupAge"] != 7200.0 {
		t.Errorf("backup age line %+v", age)
	}
	if strings.Join(expired.Dimensions, ",") != "Repository" || expired.Values["Repository"] != "repo" ||
		expired.Metrics["SnapshotsExpired"] != "Count" || expired.Values["SnapshotsExpired"] != 1.0 {
		t.Errorf("expired line %+v", expired)
	}
}
