package bench

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srbackup/srbackup/localstack/mariadb"
)

// restoredDB is the database every restore goes into. It is dropped
// before and after each run, outside the timing.
const restoredDB = "restored"

// restoreLabel is the snapshot the srbackup restores read.
const restoreLabel = "bench_restore"

// RestoreFacts describes what the restores read.
type RestoreFacts struct {
	Files        int   // data files in the srbackup snapshot
	DataBytes    int64 // their total size
	LargestFile  int64 // the largest one
	MydumperDir  int64 // size of mydumper's output
	DumpFile     int64 // size of dump.sql.zst
	ServerCPUTck bool  // whether the server's CPU could be read from /proc
	ProfileFile  string
}

// restoreInputs are the backups made once, untimed, for the restores.
type restoreInputs struct {
	ts          string // the srbackup snapshot's backup_timestamp
	mydumperDir string // empty when mydumper is missing
	dumpFile    string // empty when mariadb-dump or zstd is missing
	sums        tableSums
	charset     string
	collation   string
}

// runRestores times restoring the fixture with srbackup (each
// parallelism), myloader on mydumper's output and the mariadb client on
// the mariadb-dump | zstd output, interleaved, each into a fresh database,
// and checks every restored table's CHECKSUM TABLE against the source's.
func runRestores(ctx context.Context, cfg Config, sum *Summary, srv *mariadb.Server, srb *srbackupEnv, database, mydumper string, log *slog.Logger) error {
	tmp, err := os.MkdirTemp("", "srbench-restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in, err := makeRestoreInputs(ctx, cfg, sum, srv, srb, database, mydumper, tmp, log)
	if err != nil {
		return err
	}
	pid := srv.Pid()
	_, sum.RestoreFacts.ServerCPUTck = procCPU(pid)

	var tools []tool
	for _, p := range cfg.RestoreParallelisms {
		res := &Result{Tool: "srbackup", Label: fmt.Sprintf("srbackup RESTORE p=%d", p),
			Note: "in-process (harness, Lambdas, S3 and DynamoDB emulators): RSS = VmHWM after reset, RSS delta = VmHWM - VmRSS at the start; CPU = own rusage delta; input = data file bytes read"}
		tools = append(tools, tool{res, func(ctx context.Context, _ int) (Sample, error) {
			return srb.restore(ctx, restoreLabel, in.ts, database, restoredDB, p)
		}})
	}
	myl := &Result{Tool: "myloader", Label: "myloader --threads 4", Note: "on mydumper's --compress output; CPU from child rusage, RSS = child VmHWM polled from /proc"}
	switch {
	case in.mydumperDir == "":
		myl.Missing = "mydumper not installed"
		tools = append(tools, tool{res: myl})
	default:
		if _, err := exec.LookPath("myloader"); err != nil {
			myl.Missing = "myloader not installed (it comes with the mydumper package)"
			tools = append(tools, tool{res: myl})
			break
		}
		tools = append(tools, tool{myl, func(ctx context.Context, _ int) (Sample, error) {
			if err := createLike(ctx, srv, restoredDB, in); err != nil {
				return Sample{}, err
			}
			return runMyloader(ctx, srv, in.mydumperDir)
		}})
	}
	cli := &Result{Tool: "mariadb", Label: "zstd -dc dump.sql.zst | mariadb", Note: "on the mariadb-dump | zstd -3 output; CPU from child rusage, RSS = VmHWM polled from /proc; both processes summed"}
	if in.dumpFile == "" {
		cli.Missing = dumpMissing()
		tools = append(tools, tool{res: cli})
	} else if _, err := exec.LookPath("mariadb"); err != nil {
		cli.Missing = "mariadb client not installed"
		tools = append(tools, tool{res: cli})
	} else {
		tools = append(tools, tool{cli, func(ctx context.Context, _ int) (Sample, error) {
			if err := createLike(ctx, srv, restoredDB, in); err != nil {
				return Sample{}, err
			}
			return runMariadbClient(ctx, srv, in.dumpFile)
		}})
	}

	for i := range cfg.Runs {
		for _, t := range tools {
			if t.run == nil {
				continue
			}
			if err := srv.DropDatabase(ctx, restoredDB); err != nil {
				return err
			}
			// Start every in-process run from the same, small heap.
			runtime.GC()
			debug.FreeOSMemory()
			before, _ := procCPU(pid)
			s, err := t.run(ctx, i)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", t.res.Label, i+1, err)
			}
			after, _ := procCPU(pid)
			s.ServerCPU = after - before
			differ, err := checkRestored(ctx, srv, restoredDB, in)
			if err == nil && len(differ) > 0 && t.res.Tool == "srbackup" {
				err = fmt.Errorf("restored data differs from the source: CHECKSUM TABLE of %s", strings.Join(differ, ", "))
			}
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", t.res.Label, i+1, err)
			}
			if len(differ) > 0 && !slices.Contains(t.res.Lossy, strings.Join(differ, ", ")) {
				t.res.Lossy = append(t.res.Lossy, strings.Join(differ, ", "))
			}
			log.Info("measured restore", "tool", t.res.Label, "run", i+1, "wall", s.Wall, "server_cpu", s.ServerCPU)
			t.res.Samples = append(t.res.Samples, s)
		}
	}
	if err := srv.DropDatabase(ctx, restoredDB); err != nil {
		return err
	}
	for _, t := range tools {
		sum.Restore = append(sum.Restore, t.res)
	}
	if cfg.Timeline {
		for _, p := range cfg.RestoreParallelisms {
			tl, err := srb.traceRestore(ctx, restoreLabel, in.ts, database, restoredDB, p, pid)
			if err != nil {
				return fmt.Errorf("timeline of a restore at p=%d: %w", p, err)
			}
			if differ, err := checkRestored(ctx, srv, restoredDB, in); err != nil || len(differ) > 0 {
				return fmt.Errorf("traced restore: restored data differs from the source: %v %v", differ, err)
			}
			if err := srv.DropDatabase(ctx, restoredDB); err != nil {
				return err
			}
			sum.Timelines = append(sum.Timelines, tl.String())
		}
	}
	if cfg.RestoreProfile != "" {
		if err := profileRestore(ctx, cfg, sum, srv, srb, in, database); err != nil {
			return fmt.Errorf("profile restore: %w", err)
		}
	}
	return nil
}

// makeRestoreInputs makes, untimed, the srbackup snapshot, mydumper's
// output and dump.sql.zst that the restores read, and the source's
// checksums.
func makeRestoreInputs(ctx context.Context, cfg Config, sum *Summary, srv *mariadb.Server, srb *srbackupEnv, database, mydumper, tmp string, log *slog.Logger) (*restoreInputs, error) {
	in := &restoreInputs{}
	log.Info("making the restore inputs")
	q := fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT %s TO bench PROPERTIES (\"parallelism\" = \"4\")", quoteIdent(database), restoreLabel)
	if _, err := srb.runBackup(ctx, q, time.Hour); err != nil {
		return nil, fmt.Errorf("snapshot for restore: %w", err)
	}
	var err error
	if in.ts, err = srb.snapshotTimestamp(ctx, restoreLabel); err != nil {
		return nil, err
	}
	f := &sum.RestoreFacts
	if f.Files, f.DataBytes, f.LargestFile, err = srb.snapshotFiles(ctx, restoreLabel); err != nil {
		return nil, err
	}
	if f.Files == 0 {
		return nil, fmt.Errorf("snapshot %s has no data files", restoreLabel)
	}
	if mydumper != "" {
		in.mydumperDir = filepath.Join(tmp, "mydumper")
		if err := os.Mkdir(in.mydumperDir, 0o700); err != nil {
			return nil, err
		}
		s, err := mydumperInto(ctx, mydumper, srv, database, cfg.MydumperRows, in.mydumperDir)
		if err != nil {
			return nil, fmt.Errorf("mydumper for restore: %w", err)
		}
		f.MydumperDir = s.OutBytes
	}
	if dumpMissing() == "" {
		in.dumpFile = filepath.Join(tmp, "dump.sql.zst")
		out, err := os.Create(in.dumpFile)
		if err != nil {
			return nil, err
		}
		s, err := dumpZstdInto(ctx, srv, database, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("mariadb-dump for restore: %w", err)
		}
		f.DumpFile = s.OutBytes
	}
	db, err := srv.Open("")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", database).
		Scan(&in.charset, &in.collation); err != nil {
		return nil, fmt.Errorf("charset of %s: %w", database, err)
	}
	if in.sums, err = checksums(ctx, srv, database); err != nil {
		return nil, err
	}
	return in, nil
}

// createLike creates database name with the source's character set, for
// the tools that load into an existing database.
func createLike(ctx context.Context, srv *mariadb.Server, name string, in *restoreInputs) error {
	db, err := srv.Open("")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s CHARACTER SET %s COLLATE %s", quoteIdent(name), in.charset, in.collation))
	return err
}

// tableSums is CHECKSUM TABLE and COUNT(*) of every base table of a database.
type tableSums map[string]struct{ sum, rows string }

// checksums is CHECKSUM TABLE and COUNT(*) of every base table of database.
func checksums(ctx context.Context, srv *mariadb.Server, database string) (tableSums, error) {
	db, err := srv.Open("")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", database)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	out := tableSums{}
	for _, t := range tables {
		q := quoteIdent(database) + "." + quoteIdent(t)
		var name, sum, n string
		if err := db.QueryRowContext(ctx, "CHECKSUM TABLE "+q).Scan(&name, &sum); err != nil {
			return nil, fmt.Errorf("CHECKSUM TABLE %s: %w", q, err)
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+q).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", q, err)
		}
		out[t] = struct{ sum, rows string }{sum, n}
	}
	return out, nil
}

// checkRestored fails unless database has exactly the source's base
// tables, each with the source's row count; it returns the tables whose
// CHECKSUM TABLE differs from the source's.
func checkRestored(ctx context.Context, srv *mariadb.Server, database string, in *restoreInputs) (differ []string, err error) {
	got, err := checksums(ctx, srv, database)
	if err != nil {
		return nil, err
	}
	want := in.sums
	var bad []string
	for _, t := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[t]
		switch {
		case !ok:
			bad = append(bad, t+": missing")
		case g.rows != want[t].rows:
			bad = append(bad, fmt.Sprintf("%s: %s rows, the source has %s", t, g.rows, want[t].rows))
		case g.sum != want[t].sum:
			differ = append(differ, t)
		}
	}
	for t := range got {
		if _, ok := want[t]; !ok {
			bad = append(bad, t+": not in the source")
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("restored database %s is not the source: %s", database, strings.Join(bad, "; "))
	}
	return differ, nil
}

// runMyloader loads mydumper's output in dir into restoredDB with 4 threads.
func runMyloader(ctx context.Context, srv *mariadb.Server, dir string) (Sample, error) {
	host, port := hostPort(srv)
	cmd := exec.CommandContext(ctx, "myloader", "--host", host, "--port", port, "--user", "root",
		"--directory", dir, "--database", restoredDB, "--threads", "4", "--verbose", "1")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Sample{}, fmt.Errorf("start myloader: %w", err)
	}
	peak := watchRSS(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	rss := peak.stop()
	if err != nil {
		return Sample{}, fmt.Errorf("myloader: %w: %s", err, stderr.String())
	}
	size, err := dirSize(dir)
	if err != nil {
		return Sample{}, err
	}
	return childSample(wall, size, rss, cmd.ProcessState), nil
}

// runMariadbClient runs zstd -dc file | mariadb restoredDB.
func runMariadbClient(ctx context.Context, srv *mariadb.Server, file string) (Sample, error) {
	host, port := hostPort(srv)
	zstd := exec.CommandContext(ctx, "zstd", "-dc", "-q", file)
	cli := exec.CommandContext(ctx, "mariadb", "--no-defaults", "--host", host, "--port", port, "--user", "root", restoredDB)
	pipe, err := zstd.StdoutPipe()
	if err != nil {
		return Sample{}, err
	}
	cli.Stdin = pipe
	var zErr, cErr strings.Builder
	zstd.Stderr, cli.Stdout, cli.Stderr = &zErr, &cErr, &cErr
	start := time.Now()
	if err := cli.Start(); err != nil {
		return Sample{}, fmt.Errorf("start mariadb: %w", err)
	}
	cPeak := watchRSS(cli.Process.Pid)
	if err := zstd.Start(); err != nil {
		_ = cli.Process.Kill()
		_ = cli.Wait()
		cPeak.stop()
		return Sample{}, fmt.Errorf("start zstd: %w", err)
	}
	zPeak := watchRSS(zstd.Process.Pid)
	errZ := zstd.Wait()
	zRSS := zPeak.stop()
	errC := cli.Wait()
	wall := time.Since(start)
	cRSS := cPeak.stop()
	if errZ != nil {
		return Sample{}, fmt.Errorf("zstd -dc: %w: %s", errZ, zErr.String())
	}
	if errC != nil {
		return Sample{}, fmt.Errorf("mariadb: %w: %s", errC, cErr.String())
	}
	info, err := os.Stat(file)
	if err != nil {
		return Sample{}, err
	}
	return childSample(wall, info.Size(), cRSS+zRSS, cli.ProcessState, zstd.ProcessState), nil
}

// procCPU is a process's user+system CPU time from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which may hold spaces: state is the
	// first, utime the 12th and stime the 13th.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticksPerSecond = 100 // USER_HZ, 100 on every Linux this runs on
	return time.Duration(u+s) * time.Second / ticksPerSecond, true
}

// profileRestore runs one more, untimed srbackup restore at the fastest
// parallelism with a CPU profile of this process (harness, Lambdas,
// emulators) written to cfg.RestoreProfile.
func profileRestore(ctx context.Context, cfg Config, sum *Summary, srv *mariadb.Server, srb *srbackupEnv, in *restoreInputs, database string) error {
	best := sum.bestOf(sum.Restore, "srbackup")
	p := cfg.RestoreParallelisms[len(cfg.RestoreParallelisms)-1]
	if best != nil {
		if _, err := fmt.Sscanf(best.Label, "srbackup RESTORE p=%d", &p); err != nil {
			return err
		}
	}
	if err := srv.DropDatabase(ctx, restoredDB); err != nil {
		return err
	}
	f, err := os.Create(cfg.RestoreProfile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	_, err = srb.restore(ctx, restoreLabel, in.ts, database, restoredDB, p)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if differ, err := checkRestored(ctx, srv, restoredDB, in); err != nil || len(differ) > 0 {
		return fmt.Errorf("restored data differs from the source: %v %v", differ, err)
	}
	sum.RestoreFacts.ProfileFile = fmt.Sprintf("%s (p=%d)", cfg.RestoreProfile, p)
	return srv.DropDatabase(ctx, restoredDB)
}
