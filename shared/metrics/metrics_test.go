package metrics_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/metrics"
)

func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	w := metrics.New(&buf).WithClock(func() time.Time { return at })
	err := w.Emit([]metrics.Dim{{"JobType", "BACKUP"}, {"Database", "shop"}},
		metrics.Metric{Name: "Bytes", Unit: metrics.Bytes, Value: 1024}, metrics.Metric{Name: "Duration", Unit: metrics.Seconds, Value: 2.5})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Bytes":1024,"Database":"shop","Duration":2.5,"JobType":"BACKUP","_aws":{"Timestamp":1795489200000,"CloudWatchMetrics":[{"Namespace":"srbackup","Dimensions":[["JobType","Database"]],"Metrics":[{"Name":"Bytes","Unit":"Bytes"},{"Name":"Duration","Unit":"Seconds"}]}]}}` + "\n"
	if buf.String() != want {
		t.Fatalf("line\n got %s\nwant %s", buf.String(), want)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
}

func TestEmitRefusesBadInput(t *testing.T) {
	w := metrics.New(&bytes.Buffer{})
	if err := w.Emit([]metrics.Dim{{"Database", ""}}, metrics.Metric{Name: "Bytes", Unit: metrics.Bytes}); err == nil {
		t.Error("empty dimension value accepted")
	}
	if err := w.Emit([]metrics.Dim{{"Bytes", "x"}}, metrics.Metric{Name: "Bytes", Unit: metrics.Bytes}); err == nil {
		t.Error("metric named like a dimension accepted")
	}
	var nilWriter *metrics.Writer
	if err := nilWriter.Emit(nil, metrics.Metric{Name: "Bytes"}); err != nil {
		t.Errorf("nil writer: %v", err)
	}
}
