package mariadbtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/localstack/mariadb"
)

var shared Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

func TestSharedServerAndNewDatabase(t *testing.T) {
	s := shared.Server(t)
	var name string
	t.Run("create", func(t *testing.T) {
		name = NewDatabase(t, s)
		if !strings.HasPrefix(name, "t_testsharedserverandnewdatabase_create_") {
			t.Errorf("NewDatabase name = %q", name)
		}
		if !databaseExists(t, s, name) {
			t.Fatalf("database %s was not created", name)
		}
		if other := NewDatabase(t, s); other == name {
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

func databaseExists(t *testing.T, s *mariadb.Server, name string) bool {
	t.Helper()
	db, err := s.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
	var wrapped *mariadb.Server
	t.Run("inner", func(t *testing.T) {
		wrapped = forTest(t, mariadb.Options{}, func(k string) string {
			if k == EnvDSN {
				return dsn
			}
			return ""
		})
		if wrapped.Pid() != 0 || wrapped.Addr() != s.Addr() {
			t.Errorf("wrapped server: pid %d addr %s, want pid 0 addr %s", wrapped.Pid(), wrapped.Addr(), s.Addr())
		}
		_ = NewDatabase(t, wrapped)
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

// recordingTB records how a test would end, instead of ending it.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()           {}
func (r *recordingTB) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }

func TestMissingBinariesSkipLocallyAndFailInCI(t *testing.T) {
	opts := mariadb.Options{Mariadbd: "/nonexistent/mariadbd", InstallDB: "/nonexistent/mariadb-install-db", TempDir: t.TempDir()}
	_, err := mariadb.Start(t.Context(), opts)
	if !errors.Is(err, mariadb.ErrNotInstalled) {
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
