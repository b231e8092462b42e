package mariadb

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		runOrphanHelper()
		return
	}
	os.Exit(m.Run())
}

// startForTest starts a private throwaway server for tests that need to stop
// or break it. These tests are about the throwaway server itself, so they
// ignore SRBACKUP_TEST_MYSQL_DSN (mariadbtest's tests cover it).
func startForTest(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(t.Context(), opts)
	if err != nil {
		unavailable(t, err)
	}
	return s
}

// unavailable skips a test that cannot start a server because MariaDB is not
// installed, or fails it under CI=true (mariadbtest's rule, which this
// package's own tests cannot import).
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

func TestStartServesRealPrivilegesAndCloseLeavesNothing(t *testing.T) {
	s := startForTest(t, Options{})
	pid, dir := s.Pid(), s.dir
	t.Cleanup(func() { _ = s.Close() })

	db, err := s.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user, datadir, version string
	var localInfile int
	err = db.QueryRowContext(t.Context(), "SELECT CURRENT_USER(), @@datadir, @@version, @@local_infile").
		Scan(&user, &datadir, &version, &localInfile)
	if err != nil {
		t.Fatal(err)
	}
	if user != "root@127.0.0.1" && user != "root@localhost" {
		t.Errorf("CURRENT_USER() = %q, want root", user)
	}
	if datadir != filepath.Join(dir, "data")+"/" {
		t.Errorf("@@datadir = %q, want inside %s", datadir, dir)
	}
	if !strings.HasPrefix(s.Version(), strings.SplitN(version, "-", 2)[0]) {
		t.Errorf("Version() = %q, server says %q", s.Version(), version)
	}
	if localInfile != 1 {
		t.Errorf("@@local_infile = %d, want 1", localInfile)
	}

	// Privileges are enforced: a user without grants cannot create a database.
	if _, err := db.ExecContext(t.Context(), "CREATE USER 'nobody'@'127.0.0.1'"); err != nil {
		t.Fatal(err)
	}
	cfg := s.Config("")
	cfg.User = "nobody"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	limited := sql.OpenDB(connector)
	defer limited.Close()
	_, err = limited.ExecContext(t.Context(), "CREATE DATABASE `forbidden`")
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) || myErr.Number != 1044 {
		t.Fatalf("CREATE DATABASE as a user without grants: err = %v, want error 1044 (access denied)", err)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("mariadbd pid %d still exists after Close (kill -0: %v)", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server folder %s still exists after Close (stat: %v)", dir, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseReportsACrashedServer(t *testing.T) {
	s := startForTest(t, Options{})
	if err := syscall.Kill(s.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.proc.done
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "had exited before Close") {
		t.Fatalf("Close after a crash: err = %v, want it to say the server had exited", err)
	}
	if _, statErr := os.Stat(s.dir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("server folder %s still exists after Close", s.dir)
	}
}

// helperEnv makes the test binary act as a parent that starts a server,
// prints its pid and folder, and waits to be killed.
const helperEnv = "SRBACKUP_MARIADB_ORPHAN_HELPER"

func runOrphanHelper() {
	s, err := Start(context.Background(), Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("started", s.Pid(), s.dir)
	select {} // wait for SIGKILL
}

func TestKilledParentTakesServerDown(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux-only")
	}
	if err := (&Options{}).findBinaries(); err != nil {
		unavailable(t, err)
	}
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), helperEnv+"=1")
	parent.Stderr = os.Stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = parent.Process.Kill(); _ = parent.Wait() }()

	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read helper output: %v", err)
	}
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "started" {
		t.Fatalf("helper said %q", line)
	}
	pid, _ := strconv.Atoi(fields[1])
	dir := fields[2]

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("mariadbd pid %d survived its parent", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The orphaned folder is removed by the next Start's sweep.
	removeStale(filepath.Dir(dir), slog.New(slog.DiscardHandler))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphaned folder %s not removed (stat: %v)", dir, err)
	}
}

func TestDSN(t *testing.T) {
	s, err := Existing("root@tcp(127.0.0.1:3999)/ignored?parseTime=true")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(s.DSN("shop"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DBName != "shop" || cfg.Addr != "127.0.0.1:3999" || cfg.User != "root" || cfg.MultiStatements || cfg.InterpolateParams {
		t.Errorf("DSN(shop) = %q", s.DSN("shop"))
	}
	if _, err := Existing("not a dsn"); err == nil {
		t.Error("Existing accepted a malformed DSN")
	}
}

// BenchmarkStartWarm measures Start plus Close with a cached template.
func BenchmarkStartWarm(b *testing.B) {
	benchmarkStart(b, Options{})
}

// BenchmarkStartCold measures Start plus Close with an empty template
// cache, so every start runs mariadb-install-db.
func BenchmarkStartCold(b *testing.B) {
	benchmarkStart(b, Options{}, func(o *Options) { o.CacheDir = b.TempDir() })
}

func benchmarkStart(b *testing.B, opts Options, each ...func(*Options)) {
	// The first start fills the template cache for BenchmarkStartWarm.
	s, err := Start(b.Context(), opts)
	if err != nil {
		unavailable(b, err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	var startTotal time.Duration
	for b.Loop() {
		o := opts
		for _, f := range each {
			f(&o)
		}
		began := time.Now()
		s, err := Start(b.Context(), o)
		if err != nil {
			b.Fatal(err)
		}
		startTotal += time.Since(began)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(startTotal.Milliseconds())/float64(b.N), "start-ms/op")
}
