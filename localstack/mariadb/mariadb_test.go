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

var shared Shared

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		runOrphanHelper()
		return
	}
	os.Exit(shared.Run(m))
}

// startForTest starts a private throwaway server, honouring the skip/fail
// rules, for tests that need to stop or break it. It ignores EnvDSN: these
// tests are about the throwaway server itself.
func startForTest(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(t.Context(), opts)
	if err != nil {
		unavailable(t, err, os.Getenv)
	}
	return s
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
		unavailable(t, err, os.Getenv)
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

func TestSharedServerAndNewDatabase(t *testing.T) {
	s := shared.Server(t)
	var name string
	t.Run("create", func(t *testing.T) {
		name = s.NewDatabase(t)
		if !strings.HasPrefix(name, "t_testsharedserverandnewdatabase_create_") {
			t.Errorf("NewDatabase name = %q", name)
		}
		if !databaseExists(t, s, name) {
			t.Fatalf("database %s was not created", name)
		}
		if other := s.NewDatabase(t); other == name {
			t.Errorf("NewDatabase returned %q twice", name)
		}
	})
	if databaseExists(t, s, name) {
		t.Errorf("database %s survived its test", name)
	}
	if again := shared.Server(t); again != s {
		t.Error("Shared.Server returned a different server on the second call")
	}
}

func databaseExists(t *testing.T, s *Server, name string) bool {
	t.Helper()
	db, err := s.admin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = db.QueryRowContext(context.Background(),
		"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestCreateDatabaseQuotesNames(t *testing.T) {
	s := shared.Server(t)
	name := "odd`name; DROP DATABASE mysql -- " + uniqueName("x")
	if err := s.CreateDatabase(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if !databaseExists(t, s, name) {
		t.Errorf("database %q was not created", name)
	}
	if err := s.DropDatabase(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if databaseExists(t, s, name) || !databaseExists(t, s, "mysql") {
		t.Errorf("dropping %q did the wrong thing", name)
	}
}

func TestEnvDSNWrapsAnExistingServer(t *testing.T) {
	s := shared.Server(t)
	dsn := s.DSN("")
	var wrapped *Server
	t.Run("inner", func(t *testing.T) {
		wrapped = forTest(t, Options{}, func(k string) string {
			if k == EnvDSN {
				return dsn
			}
			return ""
		})
		if wrapped.Pid() != 0 || wrapped.Addr() != s.Addr() {
			t.Errorf("wrapped server: pid %d addr %s, want pid 0 addr %s", wrapped.Pid(), wrapped.Addr(), s.Addr())
		}
		_ = wrapped.NewDatabase(t)
	})
	// The inner test's cleanup closed the wrapper; the server must still serve.
	db, err := s.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("server stopped by closing a wrapper: %v", err)
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

// recordingTB records how a test would end, instead of ending it.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()           {}
func (r *recordingTB) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }

func TestMissingBinariesSkipLocallyAndFailInCI(t *testing.T) {
	opts := Options{Mariadbd: "/nonexistent/mariadbd", InstallDB: "/nonexistent/mariadb-install-db", TempDir: t.TempDir()}
	_, err := Start(t.Context(), opts)
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Start without binaries: err = %v, want ErrNotInstalled", err)
	}
	for _, ci := range []string{"", "true"} {
		r := &recordingTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			forTest(r, opts, func(k string) string {
				if k == "CI" {
					return ci
				}
				return ""
			})
		}()
		<-done
		got := r.skipped
		if ci == "true" {
			got = r.failed
			if r.skipped != "" {
				t.Errorf("CI=true: skipped (%s), want a failure", r.skipped)
			}
		} else if r.failed != "" {
			t.Errorf("CI unset: failed (%s), want a skip", r.failed)
		}
		for _, want := range []string{"/nonexistent/mariadbd", "apt-get install mariadb-server", EnvDSN} {
			if !strings.Contains(got, want) {
				t.Errorf("CI=%q: message %q does not mention %q", ci, got, want)
			}
		}
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
		unavailable(b, err, os.Getenv)
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
