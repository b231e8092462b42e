// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: one
// JSON object per line on the function's standard output, which CloudWatch
// Logs turns into metrics with no API call (and no extra latency or cost
// beyond the log line). No maintained Go EMF library fits, so this is the
// small writer the format needs: one dimension set per line, units from
// CloudWatch's list.
//
// Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Namespace is srbackup's CloudWatch namespace.
const Namespace = "srbackup"

// Units srbackup uses (CloudWatch StandardUnit names).
const (
	Bytes   = "Bytes"
	Count   = "Count"
	Seconds = "Seconds"
)

// Metric names and dimensions, used by the functions and by the CDK app's
// alarms and dashboard: one fact in one place.
const (
	MetricBytes          = "Bytes"
	MetricRows           = "Rows"
	MetricFiles          = "Files"
	MetricDuration       = "Duration"
	MetricJobsFinished   = "JobsFinished"
	MetricJobsCancelled  = "JobsCancelled"
	MetricExpired        = "SnapshotsExpired"
	MetricBackupAge      = "BackupAge"
	DimJobType           = "JobType"
	DimDatabase          = "Database"
	DimRepository        = "Repository"
	maxDimensionsPerSet  = 30
	maxMetricsPerMessage = 100
)

// Dim is one dimension: a name and its value.
type Dim struct{ Name, Value string }

// Metric is one value with its unit.
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

// Writer writes EMF lines; safe for concurrent use. A nil *Writer writes
// nothing.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New returns a writer to w (os.Stdout in a Lambda function).
func New(w io.Writer) *Writer { return &Writer{w: w, now: time.Now} }

// WithClock sets the clock that stamps lines (tests).
func (w *Writer) WithClock(now func() time.Time) *Writer { w.now = now; return w }

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Emit writes one line carrying ms under the dimension set dims.
func (w *Writer) Emit(dims []Dim, ms ...Metric) error {
	if w == nil || len(ms) == 0 {
		return nil
	}
	if len(dims) > maxDimensionsPerSet || len(ms) > maxMetricsPerMessage {
		return fmt.Errorf("emf: %d dimensions, %d metrics: too many", len(dims), len(ms))
	}
	doc := map[string]any{}
	names := make([]string, 0, len(dims))
	for _, d := range dims {
		if d.Name == "" || d.Value == "" {
			return fmt.Errorf("emf: empty dimension %q=%q", d.Name, d.Value)
		}
		names = append(names, d.Name)
		doc[d.Name] = d.Value
	}
	defs := make([]metricDef, 0, len(ms))
	for _, m := range ms {
		if _, taken := doc[m.Name]; taken || m.Name == "_aws" {
			return fmt.Errorf("emf: metric %q collides with a dimension", m.Name)
		}
		defs = append(defs, metricDef{Name: m.Name, Unit: m.Unit})
		doc[m.Name] = m.Value
	}
	doc["_aws"] = metadata{
		Timestamp:         w.now().UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: Namespace, Dimensions: [][]string{names}, Metrics: defs}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("emf: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(append(b, '\n'))
	return err
}
