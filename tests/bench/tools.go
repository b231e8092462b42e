package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/srbackup/srbackup/localstack/mariadb"
)

// childSample turns finished child processes into a sample: CPU from
// their rusage; rss is from rssWatch.
func childSample(wall time.Duration, out, rss int64, procs ...*os.ProcessState) Sample {
	s := Sample{Wall: wall, OutBytes: out, MaxRSS: rss}
	for _, p := range procs {
		s.CPU += p.UserTime() + p.SystemTime()
	}
	return s
}

// rssWatch follows a child's VmHWM in /proc/<pid>/status. The child's
// rusage Maxrss cannot be used: Go starts children with vfork, and Linux
// carries the parent's high-water mark across exec, so every child would
// report at least the harness's own RSS.
type rssWatch struct {
	done chan struct{}
	peak chan int64
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{done: make(chan struct{}), peak: make(chan int64, 1)}
	status := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		var peak int64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(status); err == nil {
				peak = max(peak, vmHWM(b))
			}
			select {
			case <-w.done:
				w.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// stop ends the watch and returns the highest VmHWM seen, in bytes.
func (w *rssWatch) stop() int64 {
	close(w.done)
	return <-w.peak
}

// findMydumper returns mydumper's path, installing the Debian package
// first when allowed and running as root; otherwise why it is missing.
func findMydumper(ctx context.Context, install bool, log *slog.Logger) (path, why string) {
	if p, err := exec.LookPath("mydumper"); err == nil {
		return p, ""
	}
	if !install {
		return "", "mydumper not installed (apt-get install -y mydumper)"
	}
	if os.Geteuid() != 0 {
		return "", "mydumper not installed and not root to install it (apt-get install -y mydumper)"
	}
	log.Info("installing mydumper")
	out, err := exec.CommandContext(ctx, "apt-get", "install", "-y", "mydumper").CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("apt-get install -y mydumper failed: %v: %s", err, lastLine(out))
	}
	if p, err := exec.LookPath("mydumper"); err == nil {
		return p, ""
	}
	return "", "mydumper still not found after apt-get install"
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func hostPort(srv *mariadb.Server) (host, port string) {
	cfg := srv.Config("")
	host, port, _ = strings.Cut(cfg.Addr, ":")
	return host, port
}

// runMydumper dumps database with 4 threads, compressed, chunked by rows,
// into a temporary folder that it removes.
func runMydumper(ctx context.Context, path string, srv *mariadb.Server, database string, rows int) (Sample, error) {
	dir, err := os.MkdirTemp("", "srbench-mydumper-")
	if err != nil {
		return Sample{}, err
	}
	defer os.RemoveAll(dir)
	return mydumperInto(ctx, path, srv, database, rows, dir)
}

// mydumperInto is runMydumper writing into dir, which it keeps.
func mydumperInto(ctx context.Context, path string, srv *mariadb.Server, database string, rows int, dir string) (Sample, error) {
	host, port := hostPort(srv)
	cmd := exec.CommandContext(ctx, path, "--host", host, "--port", port, "--user", "root",
		"--database", database, "--threads", "4", "--compress", "--rows", strconv.Itoa(rows),
		"--outputdir", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Sample{}, fmt.Errorf("start mydumper: %w", err)
	}
	peak := watchRSS(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	rss := peak.stop()
	if err != nil {
		return Sample{}, fmt.Errorf("mydumper: %w: %s", err, stderr.String())
	}
	size, err := dirSize(dir)
	if err != nil {
		return Sample{}, fmt.Errorf("size of mydumper output: %w", err)
	}
	return childSample(wall, size, rss, cmd.ProcessState), nil
}

// dumpMissing says which of mariadb-dump and zstd is missing, if any.
func dumpMissing() string {
	var missing []string
	for _, b := range []string{"mariadb-dump", "zstd"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return strings.Join(missing, " and ") + " not installed"
}

// runDumpZstd runs mariadb-dump --single-transaction --quick db | zstd -3
// into a temporary file that it removes.
func runDumpZstd(ctx context.Context, srv *mariadb.Server, database string) (Sample, error) {
	f, err := os.CreateTemp("", "srbench-dump-*.sql.zst")
	if err != nil {
		return Sample{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return dumpZstdInto(ctx, srv, database, f)
}

// dumpZstdInto is runDumpZstd writing into f, which it leaves open.
func dumpZstdInto(ctx context.Context, srv *mariadb.Server, database string, f *os.File) (Sample, error) {
	host, port := hostPort(srv)
	dump := exec.CommandContext(ctx, "mariadb-dump", "--no-defaults", "--host", host, "--port", port, "--user", "root",
		"--single-transaction", "--quick", database)
	zstd := exec.CommandContext(ctx, "zstd", "-3", "-q", "-c")
	pipe, err := dump.StdoutPipe()
	if err != nil {
		return Sample{}, err
	}
	zstd.Stdin, zstd.Stdout = pipe, f
	var dumpErr, zstdErr strings.Builder
	dump.Stderr, zstd.Stderr = &dumpErr, &zstdErr
	start := time.Now()
	if err := zstd.Start(); err != nil {
		return Sample{}, fmt.Errorf("start zstd: %w", err)
	}
	zPeak := watchRSS(zstd.Process.Pid)
	if err := dump.Start(); err != nil {
		_ = zstd.Process.Kill()
		_ = zstd.Wait()
		zPeak.stop()
		return Sample{}, fmt.Errorf("start mariadb-dump: %w", err)
	}
	dPeak := watchRSS(dump.Process.Pid)
	errD := dump.Wait()
	dRSS := dPeak.stop()
	errZ := zstd.Wait()
	wall := time.Since(start)
	zRSS := zPeak.stop()
	if errD != nil {
		return Sample{}, fmt.Errorf("mariadb-dump: %w: %s", errD, dumpErr.String())
	}
	if errZ != nil {
		return Sample{}, fmt.Errorf("zstd: %w: %s", errZ, zstdErr.String())
	}
	info, err := f.Stat()
	if err != nil {
		return Sample{}, err
	}
	// The two run at the same time: the sum bounds their joint peak from above.
	return childSample(wall, info.Size(), dRSS+zRSS, dump.ProcessState, zstd.ProcessState), nil
}

// measureInProcess runs f, timing it and measuring this process's CPU
// and peak RSS (the kernel's high-water mark, reset first).
func measureInProcess(f func() (int64, error)) (Sample, error) {
	resetPeakRSS()
	base := procStatus("/proc/self/status", "VmRSS:")
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	out, err := f()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, err
	}
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	return Sample{Wall: wall, OutBytes: out, MaxRSS: peakRSS(), BaseRSS: base, CPU: cpu}, nil
}

// resetPeakRSS resets VmHWM (Linux ≥ 4.0); elsewhere the peak is since start.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS reads VmHWM from /proc/self/status, in bytes; 0 if unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return vmHWM(b)
}

// vmHWM extracts VmHWM from a /proc/<pid>/status, in bytes.
func vmHWM(status []byte) int64 { return statusField(status, "VmHWM:") }

// procStatus reads one kB field (e.g. "VmRSS:") of a /proc/<pid>/status
// file, in bytes; 0 if unknown.
func procStatus(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return statusField(b, field)
}

func statusField(status []byte, field string) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// scanRange is one SELECT of the raw scan.
type scanRange struct {
	table    string
	pk       string // empty: the whole table
	from, to int64  // pk >= from AND pk < to (to unbounded when last)
	last     bool
}

// scan reads ranges (from planScan) with SELECT * over conns connections
// into nothing and returns the bytes of column data received.
func scan(ctx context.Context, srv *mariadb.Server, database string, ranges []scanRange, conns int) (int64, error) {
	db, err := srv.Open(database)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(conns)
	work := make(chan scanRange)
	var total int64
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for range conns {
		g.Go(func() error {
			var n int64
			for r := range work {
				m, err := scanOne(gctx, db, r)
				if err != nil {
					return err
				}
				n += m
			}
			mu.Lock()
			total += n
			mu.Unlock()
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		for _, r := range ranges {
			select {
			case work <- r:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return 0, fmt.Errorf("raw scan: %w", err)
	}
	return total, nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// planScan lists the base tables, biggest first. Big tables with a
// single-column integer primary key are split into pieces key ranges so
// that one big table does not serialize the scan on a single connection.
// The catalog queries are slow in MariaDB and not part of the limit being
// measured, so the plan is made once, before the timed scans.
func planScan(ctx context.Context, srv *mariadb.Server, database string, pieces int) ([]scanRange, error) {
	db, err := srv.Open(database)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `
SELECT t.TABLE_NAME, t.DATA_LENGTH,
       (SELECT IF(COUNT(*) = 1 AND MAX(c.DATA_TYPE) IN ('tinyint','smallint','mediumint','int','bigint'), MAX(c.COLUMN_NAME), '')
          FROM information_schema.KEY_COLUMN_USAGE k
          JOIN information_schema.COLUMNS c
            ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
         WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA AND k.TABLE_NAME = t.TABLE_NAME AND k.CONSTRAINT_NAME = 'PRIMARY')
  FROM information_schema.TABLES t
 WHERE t.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE'
 ORDER BY t.DATA_LENGTH DESC`, database)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	type table struct {
		name, pk string
		size     int64
	}
	var tables []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.name, &t.size, &t.pk); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var total int64
	for _, t := range tables {
		total += t.size
	}
	var out []scanRange
	for _, t := range tables {
		// Only tables big enough to keep one connection busy alone are split.
		if t.pk == "" || t.size < total/int64(pieces) {
			out = append(out, scanRange{table: t.name})
			continue
		}
		var lo, hi sql.NullInt64
		q := fmt.Sprintf("SELECT MIN(%[1]s), MAX(%[1]s) FROM %[2]s", quoteIdent(t.pk), quoteIdent(t.name))
		if err := db.QueryRowContext(ctx, q).Scan(&lo, &hi); err != nil {
			return nil, fmt.Errorf("key range of %s: %w", t.name, err)
		}
		if !lo.Valid || hi.Int64-lo.Int64 < int64(pieces) {
			out = append(out, scanRange{table: t.name})
			continue
		}
		step := (hi.Int64 - lo.Int64) / int64(pieces)
		for i := range pieces {
			from := lo.Int64 + int64(i)*step
			out = append(out, scanRange{table: t.name, pk: t.pk, from: from, to: from + step, last: i == pieces-1})
		}
	}
	return out, nil
}

// scanOne reads one range, returning the bytes of column data.
func scanOne(ctx context.Context, db *sql.DB, r scanRange) (int64, error) {
	q := "SELECT * FROM " + quoteIdent(r.table)
	var args []any
	switch {
	case r.pk != "" && r.last:
		q += " WHERE " + quoteIdent(r.pk) + " >= ?"
		args = append(args, r.from)
	case r.pk != "":
		q += " WHERE " + quoteIdent(r.pk) + " >= ? AND " + quoteIdent(r.pk) + " < ?"
		args = append(args, r.from, r.to)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		for _, v := range vals {
			n += int64(len(v))
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", q, err)
	}
	return n, nil
}
