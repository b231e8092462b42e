// Command srbench runs the srbackup benchmark harness (tests/bench):
// srbackup against mydumper, mariadb-dump | zstd and a raw scan, on a
// throwaway MariaDB with a generated fixture. `make bench` runs it.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/srbackup/srbackup/tests/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "srbench:", err)
		os.Exit(1)
	}
}

func run() error {
	size := flag.String("size", cmp.Or(os.Getenv("SIZE"), "256MB"), "fixture size: 10MB, 256MB, 1GB, 4GB (env SIZE)")
	runs := flag.Int("runs", envInt("RUNS", 3), "runs per tool, interleaved; the median is quoted (env RUNS)")
	report := flag.String("report", "tests/bench", "directory for REPORT.md and the chart; empty for none")
	scaling := flag.String("scaling", "", "scaling runs: \"also\" after the main benchmark, \"only\" instead of it (10,000 tiny partitions, 10,000 tables, 1-row backup)")
	partitions := flag.Int("partitions", 10_000, "tiny partitions in the scaling run")
	tables := flag.Int("tables", 10_000, "one-row tables of the scaling run's whole-database backup; 0 leaves it out")
	scalingProfile := flag.String("scaling-profile", "", "write a CPU profile of the scaling run's many-partition backup to this file")
	noRestore := flag.Bool("no-restore", false, "leave out the restore benchmark")
	restoreProfile := flag.String("restore-profile", "", "write a CPU profile of one extra, untimed srbackup restore to this file")
	timeline := flag.Bool("timeline", false, "after the measured runs, trace one extra srbackup backup and restore at each parallelism and print where the wall time and CPU went")
	parallelism := flag.String("parallelism", "", "srbackup parallelisms to measure, comma-separated (default 1,2,4)")
	verbose := flag.Bool("v", false, "log progress")
	flag.Parse()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	bytes, err := bench.ParseSize(*size)
	if err != nil {
		return err
	}
	switch *scaling {
	case "", "also", "only":
	default:
		return fmt.Errorf("-scaling %q: want also or only", *scaling)
	}
	if *scaling != "only" {
		ps, err := parseInts(*parallelism)
		if err != nil {
			return fmt.Errorf("-parallelism: %w", err)
		}
		if _, err := bench.Run(ctx, bench.Config{SizeBytes: bytes, Runs: *runs, ReportDir: *report, InstallMissing: true, Parallelisms: ps,
			SkipRestore: *noRestore, RestoreProfile: *restoreProfile, Timeline: *timeline, Logger: log}, os.Stdout); err != nil {
			return err
		}
	}
	if *scaling != "" {
		if _, err := bench.RunScaling(ctx, bench.ScalingConfig{Partitions: *partitions, Tables: cmp.Or(*tables, -1), Profile: *scalingProfile, Logger: log}, os.Stdout); err != nil {
			return err
		}
	}
	return nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// parseInts parses "2,4"; empty is nil.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
