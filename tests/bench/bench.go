// Package bench measures srbackup against mydumper, mariadb-dump piped
// through zstd, and a raw parallel table scan, on the same fixture database
// in one throwaway MariaDB, interleaved so that a noisy machine affects
// every tool alike. Run writes a results table, a summary line, REPORT.md
// and a chart of MB/s per tool.
package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/localstack/mariadb"
)

// Config configures Run.
type Config struct {
	// SizeBytes is the fixture size (data + indexes) to generate.
	SizeBytes int64
	// Runs is how many times each tool runs; the median is quoted.
	Runs int
	// Parallelisms are the srbackup "parallelism" values to measure.
	// Empty means 1, 2, 4.
	Parallelisms []int
	// MydumperRows is mydumper's --rows chunk size. Zero means 100,000.
	MydumperRows int
	// ReportDir receives REPORT.md and the chart; empty writes none.
	ReportDir string
	// InstallMissing lets the harness apt-get install mydumper when it is
	// missing and the process runs as root.
	InstallMissing bool
	// RestoreParallelisms are the srbackup RESTORE "parallelism" values
	// to measure. Empty means Parallelisms.
	RestoreParallelisms []int
	// SkipRestore leaves out the restore benchmark.
	SkipRestore bool
	// RestoreProfile, when set, is where a CPU profile of one extra,
	// untimed srbackup restore (at its fastest parallelism) is written.
	RestoreProfile string
	// Timeline adds, after the measured runs, one traced, untimed srbackup
	// backup and restore at each parallelism, and prints where their wall
	// time and CPU went (TIMELINE lines, before the results table).
	Timeline bool
	// Logger receives progress. Nil discards it.
	Logger *slog.Logger
}

// ParseSize parses sizes such as "10MB", "256MB", "1GB", "4GB" (binary
// units: 1 MB = 2^20 bytes) or a plain byte count.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive size such as 10MB, 256MB, 1GB", s)
	}
	return int64(n * float64(mult)), nil
}

// Sample is one run of one tool.
type Sample struct {
	Wall     time.Duration
	OutBytes int64
	MaxRSS   int64 // bytes
	// BaseRSS is the RSS when an in-process measurement began (0 for a
	// child process), so MaxRSS-BaseRSS is what the measured work added.
	BaseRSS int64
	CPU     time.Duration
	// ServerCPU is the MariaDB server's CPU time during the run (restores only).
	ServerCPU time.Duration
	// Requests counts an srbackup job's billed requests (srbackup only).
	Requests Requests
}

// Result is every run of one tool (or one srbackup parallelism).
type Result struct {
	Tool    string // "srbackup", "mydumper", "dump_zstd", "scan"
	Label   string // e.g. "srbackup p=4"
	Missing string // why the tool could not run; Samples is then empty
	Note    string // how RSS and CPU were measured
	// Lossy (restores) lists, per distinct outcome, the tables whose
	// CHECKSUM TABLE differed from the source's although every row came back.
	Lossy   []string
	Samples []Sample
}

// Median returns the sample with the median wall time (the lower middle
// for an even count), so its other columns come from the same run.
func (r *Result) Median() (Sample, bool) {
	if len(r.Samples) == 0 {
		return Sample{}, false
	}
	s := slices.Clone(r.Samples)
	slices.SortFunc(s, func(a, b Sample) int { return cmp.Compare(a.Wall, b.Wall) })
	return s[(len(s)-1)/2], true
}

// Summary is a whole benchmark run.
type Summary struct {
	Config      Config
	SourceBytes int64 // sum of information_schema data_length
	TotalBytes  int64 // data_length + index_length
	Rows        int64
	Tables      int
	SetupTime   time.Duration
	Results     []*Result
	Machine     Machine
	Started     time.Time
	BestSrb     *Result // srbackup at its fastest parallelism
	// Restore is every restore tool's runs; empty with Config.SkipRestore.
	Restore      []*Result
	RestoreFacts RestoreFacts
	// Timelines are the traced jobs of Config.Timeline, rendered.
	Timelines []string
}

// tool is one measurable thing.
type tool struct {
	res *Result
	run func(ctx context.Context, i int) (Sample, error)
}

// Run sets up the source and measures every tool cfg.Runs times,
// interleaved. It writes the results table and the summary line to w.
func Run(ctx context.Context, cfg Config, w io.Writer) (*Summary, error) {
	if cfg.SizeBytes < fixture.MinSizeBytes {
		return nil, fmt.Errorf("size %d bytes is below the fixture minimum of %d", cfg.SizeBytes, fixture.MinSizeBytes)
	}
	if cfg.Runs <= 0 {
		return nil, fmt.Errorf("runs must be positive, got %d", cfg.Runs)
	}
	if len(cfg.Parallelisms) == 0 {
		cfg.Parallelisms = []int{1, 2, 4}
	}
	if len(cfg.RestoreParallelisms) == 0 {
		cfg.RestoreParallelisms = cfg.Parallelisms
	}
	if cfg.MydumperRows == 0 {
		cfg.MydumperRows = 100_000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sum := &Summary{Config: cfg, Started: time.Now()}

	began := time.Now()
	srv, err := mariadb.Start(ctx, mariadb.Options{
		BufferPoolSize: bufferPool(cfg.SizeBytes),
		RedoLogSize:    256 << 20,
		ExtraArgs:      []string{"--max-connections=200"},
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("start MariaDB: %w", err)
	}
	defer srv.Close()
	const database = "benchdb"
	pool, err := srv.Open("")
	if err != nil {
		return nil, fmt.Errorf("open MariaDB: %w", err)
	}
	defer pool.Close()
	log.Info("generating fixture", "size_bytes", cfg.SizeBytes)
	fx, err := fixture.Generate(ctx, pool, fixture.Options{Database: database, SizeBytes: cfg.SizeBytes, Seed: 1, DropExisting: true, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("generate fixture: %w", err)
	}
	sum.SourceBytes, sum.TotalBytes, sum.Rows, sum.Tables = fx.DataBytes, fx.TotalBytes(), fx.Rows, len(fx.Tables)
	sum.SetupTime = time.Since(began)
	sum.Machine = probeMachine(ctx, pool, srv.Version())
	log.Info("fixture ready", "data_bytes", fx.DataBytes, "rows", fx.Rows, "took", sum.SetupTime)
	// Warm the buffer pool so the first tool does not pay for reading
	// the freshly loaded data from disk alone.
	ranges, err := planScan(ctx, srv, database, 16)
	if err != nil {
		return nil, fmt.Errorf("plan raw scan: %w", err)
	}
	if _, err := scan(ctx, srv, database, ranges, 4); err != nil {
		return nil, fmt.Errorf("warm-up scan: %w", err)
	}

	srb, err := startSrbackup(ctx, srv, log)
	if err != nil {
		return nil, err
	}
	defer srb.Close()

	var tools []tool
	for _, p := range cfg.Parallelisms {
		res := &Result{Tool: "srbackup", Label: fmt.Sprintf("srbackup p=%d", p),
			Note: "in-process (harness, Lambdas, S3 and DynamoDB emulators): RSS = VmHWM after reset, CPU = own rusage delta; node Step Functions server not counted"}
		tools = append(tools, tool{res, func(ctx context.Context, i int) (Sample, error) {
			return srb.backup(ctx, database, fmt.Sprintf("bench_p%d_r%d", p, i), p)
		}})
	}
	myd := &Result{Tool: "mydumper", Label: fmt.Sprintf("mydumper --threads 4 --compress --rows %d", cfg.MydumperRows), Note: "CPU from child rusage; RSS = child VmHWM polled from /proc"}
	mydumper, why := findMydumper(ctx, cfg.InstallMissing, log)
	if path := mydumper; path == "" {
		myd.Missing = why
		log.Warn("mydumper not measured", "reason", why)
		tools = append(tools, tool{res: myd})
	} else {
		tools = append(tools, tool{myd, func(ctx context.Context, _ int) (Sample, error) {
			return runMydumper(ctx, path, srv, database, cfg.MydumperRows)
		}})
	}
	dump := &Result{Tool: "dump_zstd", Label: "mariadb-dump --single-transaction --quick | zstd -3", Note: "CPU from child rusage, RSS = VmHWM polled from /proc; both processes summed"}
	if why := dumpMissing(); why != "" {
		dump.Missing = why
		tools = append(tools, tool{res: dump})
	} else {
		tools = append(tools, tool{dump, func(ctx context.Context, _ int) (Sample, error) {
			return runDumpZstd(ctx, srv, database)
		}})
	}
	scanRes := &Result{Tool: "scan", Label: "raw scan: SELECT * over 4 connections", Note: "in-process: RSS = VmHWM after reset, CPU = own rusage delta"}
	tools = append(tools, tool{scanRes, func(ctx context.Context, _ int) (Sample, error) {
		return measureInProcess(func() (int64, error) { return scan(ctx, srv, database, ranges, 4) })
	}})

	for i := range cfg.Runs {
		for _, t := range tools {
			if t.run == nil {
				continue
			}
			s, err := t.run(ctx, i)
			if err != nil {
				return nil, fmt.Errorf("%s, run %d: %w", t.res.Label, i+1, err)
			}
			log.Info("measured", "tool", t.res.Label, "run", i+1, "wall", s.Wall, "out_bytes", s.OutBytes)
			t.res.Samples = append(t.res.Samples, s)
		}
	}
	for _, t := range tools {
		sum.Results = append(sum.Results, t.res)
	}
	sum.BestSrb = sum.best("srbackup")
	if cfg.Timeline {
		for _, p := range cfg.Parallelisms {
			tl, err := srb.traceBackup(ctx, database, p, srv.Pid())
			if err != nil {
				return nil, fmt.Errorf("timeline of a backup at p=%d: %w", p, err)
			}
			sum.Timelines = append(sum.Timelines, tl.String())
		}
	}
	if !cfg.SkipRestore {
		if err := runRestores(ctx, cfg, sum, srv, srb, database, mydumper, log); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}

	for _, tl := range sum.Timelines {
		if _, err := fmt.Fprintln(w, tl); err != nil {
			return nil, err
		}
	}
	if err := sum.WriteTable(w); err != nil {
		return nil, err
	}
	if cfg.ReportDir != "" {
		if err := sum.WriteReport(cfg.ReportDir); err != nil {
			return nil, fmt.Errorf("write report: %w", err)
		}
	}
	if _, err := fmt.Fprintf(w, "%s\n%s\n", sum.Line(), sum.CostLine()); err != nil {
		return nil, err
	}
	if len(sum.Restore) > 0 {
		if _, err := fmt.Fprintf(w, "%s\n%s\n", sum.RestoreDetail(), sum.RestoreLine()); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// bufferPool sizes the InnoDB buffer pool to hold the whole fixture, so
// every tool reads from memory, within reason for a shared machine.
func bufferPool(size int64) int64 {
	return min(max(size*3/2, 512<<20), 8<<30)
}

// best returns the tool's result with the fastest median, or nil.
func (s *Summary) best(name string) *Result { return s.bestOf(s.Results, name) }

// bestOf returns the tool's result in results with the fastest median, or nil.
func (s *Summary) bestOf(results []*Result, name string) *Result {
	var best *Result
	var bestWall time.Duration
	for _, r := range results {
		m, ok := r.Median()
		if r.Tool != name || !ok {
			continue
		}
		if best == nil || m.Wall < bestWall {
			best, bestWall = r, m.Wall
		}
	}
	return best
}

// median returns the median sample of the named tool's best result.
func (s *Summary) median(name string) (Sample, bool) {
	r := s.best(name)
	if r == nil {
		return Sample{}, false
	}
	return r.Median()
}

// MB returns bytes in binary megabytes.
func MB(b int64) float64 { return float64(b) / (1 << 20) }

// Line is the one-line summary: srbackup at its best parallelism against
// the others; NA where a tool could not run.
func (s *Summary) Line() string {
	srb, okS := s.median("srbackup")
	myd, okM := s.median("mydumper")
	dz, okD := s.median("dump_zstd")
	sc, okC := s.median("scan")
	secs := func(x Sample, ok bool) string {
		if !ok {
			return "NA"
		}
		return fmt.Sprintf("%.3f", x.Wall.Seconds())
	}
	ratio := func(a, b float64, ok bool) string {
		if !ok || b == 0 {
			return "NA"
		}
		return fmt.Sprintf("%.3f", a/b)
	}
	// CPU-seconds per GB (2^30 bytes) of source data_length.
	perGB := func(x Sample, ok bool) string {
		if !ok || s.SourceBytes == 0 {
			return "NA"
		}
		return fmt.Sprintf("%.2f", x.CPU.Seconds()/(float64(s.SourceBytes)/(1<<30)))
	}
	return fmt.Sprintf("BENCH size_mb=%.0f srbackup_s=%s mydumper_s=%s dump_zstd_s=%s scan_s=%s time_ratio_vs_mydumper=%s size_ratio_vs_mydumper=%s scan_fraction=%s"+
		" time_ratio_vs_dump_zstd=%s size_ratio_vs_dump_zstd=%s cpu_s_per_gb=%s scan_cpu_s_per_gb=%s",
		MB(s.SourceBytes), secs(srb, okS), secs(myd, okM), secs(dz, okD), secs(sc, okC),
		ratio(srb.Wall.Seconds(), myd.Wall.Seconds(), okS && okM),
		ratio(float64(srb.OutBytes), float64(myd.OutBytes), okS && okM),
		ratio(sc.Wall.Seconds(), srb.Wall.Seconds(), okS && okC),
		ratio(srb.Wall.Seconds(), dz.Wall.Seconds(), okS && okD),
		ratio(float64(srb.OutBytes), float64(dz.OutBytes), okS && okD),
		perGB(srb, okS), perGB(sc, okC))
}

// CostLine is what srbackup's median backup and restore (each at its
// fastest parallelism) asked of the billed AWS services, per GB (2^30
// bytes) of source data_length: the counts the README's cost table uses.
func (s *Summary) CostLine() string {
	gb := float64(s.SourceBytes) / (1 << 30)
	field := func(prefix string, x Sample, ok bool) string {
		if !ok || gb == 0 {
			return fmt.Sprintf(" %s_invocations_per_gb=NA %s_transitions_per_gb=NA %s_s3_class1_per_gb=NA %s_s3_class2_per_gb=NA", prefix, prefix, prefix, prefix)
		}
		r := x.Requests
		return fmt.Sprintf(" %s_invocations_per_gb=%.0f %s_transitions_per_gb=%.0f %s_s3_class1_per_gb=%.0f %s_s3_class2_per_gb=%.0f",
			prefix, float64(r.Invocations)/gb, prefix, float64(r.Transitions)/gb, prefix, float64(r.S3Class1)/gb, prefix, float64(r.S3Class2)/gb)
	}
	srb, okS := s.median("srbackup")
	res, okR := s.restoreMedian("srbackup")
	return "COST" + field("backup", srb, okS) + field("restore", res, okR)
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}
