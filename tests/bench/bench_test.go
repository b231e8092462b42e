package bench

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/localstack/mariadb"
)

// requireDeps fails under CI=true, and skips otherwise, when a required
// binary is missing. mydumper is optional: the harness reports it missing.
func requireDeps(tb testing.TB) {
	tb.Helper()
	var missing []string
	for _, b := range []string{"mariadb-dump", "mariadb", "zstd", "node"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "benchmark harness needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

var benchLine = regexp.MustCompile(`(?m)^BENCH size_mb=\d+ srbackup_s=[0-9.]+ mydumper_s=([0-9.]+|NA) dump_zstd_s=[0-9.]+ scan_s=[0-9.]+ time_ratio_vs_mydumper=([0-9.]+|NA) size_ratio_vs_mydumper=([0-9.]+|NA) scan_fraction=[0-9.]+` +
	` time_ratio_vs_dump_zstd=[0-9.]+ size_ratio_vs_dump_zstd=[0-9.]+ cpu_s_per_gb=[0-9.]+ scan_cpu_s_per_gb=[0-9.]+\n` +
	`COST( (backup|restore)_(invocations|transitions|s3_class1|s3_class2)_per_gb=[0-9]+){8}\n` +
	`RESTORE_SRBACKUP( p\d+_s=[0-9.]+( p1_rss_delta_mb=-?\d+)?)+ files=\d+ data_mb=[0-9.]+ largest_file_mb=[0-9.]+\n` +
	`RESTORE size_mb=\d+ srbackup_s=[0-9.]+ myloader_s=([0-9.]+|NA) mariadb_s=[0-9.]+ time_ratio_vs_myloader=([0-9.]+|NA) time_ratio_vs_mariadb=[0-9.]+\n\z`)

// BenchmarkHarnessSmoke runs the whole harness once at 10 MB, backups and
// restores, so it cannot rot.
func BenchmarkHarnessSmoke(b *testing.B) {
	requireDeps(b)
	for b.Loop() {
		var out bytes.Buffer
		dir := b.TempDir()
		// Restores at one parallelism only, to keep the smoke run short.
		sum, err := Run(context.Background(), Config{SizeBytes: 10 << 20, Runs: 1, ReportDir: dir, RestoreParallelisms: []int{4}, Timeline: true,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}, &out)
		if errors.Is(err, mariadb.ErrNotInstalled) {
			if os.Getenv("CI") == "true" {
				b.Fatal(err)
			}
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Log("\n" + out.String())
		for _, kind := range []string{"TIMELINE backup p=", "TIMELINE restore p=4", "worker 0 shard 0.0"} {
			if !strings.Contains(out.String(), kind) {
				b.Fatalf("no %q in the timelines:\n%s", kind, out.String())
			}
		}
		if !benchLine.Match(out.Bytes()) {
			b.Fatalf("output does not end with the summary line:\n%s", out.String())
		}
		for _, r := range sum.Results {
			if r.Missing != "" {
				b.Logf("note: %s not measured: %s", r.Label, r.Missing)
			}
		}
		for _, f := range []string{"REPORT.md", ChartFile} {
			if st, err := os.Stat(dir + "/" + f); err != nil || st.Size() == 0 {
				b.Fatalf("%s not written: %v", f, err)
			}
		}
		// The cost inputs were counted: every backup and restore invoked
		// functions, entered states and read and wrote S3.
		for _, r := range append(slices.Clone(sum.Results), sum.Restore...) {
			for _, s := range r.Samples {
				if q := s.Requests; r.Tool == "srbackup" && (q.Invocations == 0 || q.Transitions == 0 || q.S3Class1 == 0 || q.S3Class2 == 0) {
					b.Fatalf("%s: requests not counted: %+v", r.Label, q)
				}
			}
		}
		if m, ok := sum.median("srbackup"); ok {
			b.ReportMetric(MB(sum.SourceBytes)/m.Wall.Seconds(), "srbackup_MB/s")
		}
	}
}
