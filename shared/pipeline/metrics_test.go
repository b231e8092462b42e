package pipeline

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/metrics"
)

func TestJobMetrics(t *testing.T) {
	created := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	rec := job.Record{Spec: job.Spec{JobID: "j", Database: "shop"}, State: job.Finished, CreateTime: created, FinishedTime: created.Add(90 * time.Second)}
	var buf bytes.Buffer
	p := &Pipeline{Metrics: metrics.New(&buf)}
	p.emitJob(rec, SnapshotRef{Files: 3, Rows: 1000, Bytes: 4096})
	rec.State, rec.FinishedTime = job.Cancelled, created.Add(time.Minute)
	p.emitJob(rec, SnapshotRef{})

	var lines []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var l map[string]any
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	units := func(l map[string]any) map[string]string {
		d := l["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if dims, _ := json.Marshal(d["Dimensions"]); string(dims) != `[["JobType","Database"]]` || d["Namespace"] != "srbackup" {
			t.Errorf("dimensions %s, namespace %v", dims, d["Namespace"])
		}
		out := map[string]string{}
		for _, m := range d["Metrics"].([]any) {
			out[m.(map[string]any)["Name"].(string)] = m.(map[string]any)["Unit"].(string)
		}
		return out
	}
	fin, can := lines[0], lines[1]
	want := map[string]string{"JobsFinished": "Count", "Bytes": "Bytes", "Rows": "Count", "Files": "Count", "Duration": "Seconds"}
	if got := units(fin); len(got) != len(want) {
		t.Errorf("finished metrics %v, want %v", got, want)
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s unit %q, want %q", k, got[k], v)
			}
		}
	}
	if fin["JobType"] != "BACKUP" || fin["Database"] != "shop" || fin["Bytes"] != 4096.0 || fin["Rows"] != 1000.0 || fin["Files"] != 3.0 || fin["Duration"] != 90.0 {
		t.Errorf("finished line %v", fin)
	}
	if got := units(can); len(got) != 2 || got["JobsCancelled"] != "Count" || can["Duration"] != 60.0 {
		t.Errorf("cancelled line %v", can)
	}
}
