// Package mariadbtest gives tests a MariaDB server: a throwaway one (see
// package mariadb) or the existing one EnvDSN names, with the skip-or-fail
// rules of a missing install. It imports testing, so only _test files import
// it: no shipped binary links it.
package mariadbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/mariadb"
)

// EnvDSN names the environment variable that points tests at an existing
// server instead of a throwaway one: a go-sql-driver DSN whose user may
// create and drop databases.
const EnvDSN = "SRBACKUP_TEST_MYSQL_DSN"

// ForTest returns a server for one test: the one EnvDSN names, or else a
// throwaway one that tb's cleanup stops. When neither is possible because
// the binaries are missing, the test is skipped, or fails when CI=true.
// Tests of one binary should share a server through Shared instead.
func ForTest(tb testing.TB) *mariadb.Server {
	tb.Helper()
	return forTest(tb, mariadb.Options{}, os.Getenv)
}

// ForTestWith is ForTest with options for the throwaway server, e.g. a
// larger buffer pool for a benchmark. The options do not apply to an
// EnvDSN server.
func ForTestWith(tb testing.TB, opts mariadb.Options) *mariadb.Server {
	tb.Helper()
	return forTest(tb, opts, os.Getenv)
}

func forTest(tb testing.TB, opts mariadb.Options, getenv func(string) string) *mariadb.Server {
	tb.Helper()
	s, err := open(context.Background(), opts, getenv)
	if err != nil {
		unavailable(tb, err, getenv)
		return nil // unreachable in a real test: Skip and Fatal stop the goroutine
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("stop MariaDB: %v", err)
		}
	})
	return s
}

// open wraps the EnvDSN server when set, else starts a throwaway one.
func open(ctx context.Context, opts mariadb.Options, getenv func(string) string) (*mariadb.Server, error) {
	if dsn := getenv(EnvDSN); dsn != "" {
		s, err := mariadb.Existing(dsn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvDSN, err)
		}
		return s, nil
	}
	return mariadb.Start(ctx, opts)
}

// unavailable ends a test that cannot get a server. A missing install is a
// skip on a developer machine but a failure in CI, so CI never passes
// without running the database tests.
func unavailable(tb testing.TB, err error, getenv func(string) string) {
	tb.Helper()
	msg := fmt.Sprintf("no MariaDB for this test: %v (or set %s to an existing server)", err, EnvDSN)
	if errors.Is(err, mariadb.ErrNotInstalled) && getenv("CI") != "true" {
		tb.Skip(msg)
	}
	tb.Fatal(msg)
}

// Shared is one server shared by all tests of a test binary, started on
// first use and stopped when the tests end. Declare it as a variable of the
// test package and run the tests through it:
//
//	var db mariadbtest.Shared
//
//	func TestMain(m *testing.M) { os.Exit(db.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		srv := db.Server(t)
//		name := mariadbtest.NewDatabase(t, srv) // a fresh database, dropped after the test
//		...
//	}
type Shared struct {
	// Options configure the throwaway server; they are read on first use.
	Options mariadb.Options

	mu      sync.Mutex
	running bool // inside Run
	srv     *mariadb.Server
	err     error
}

// Run runs the tests and then stops the server if one was started. It
// returns m.Run's exit code, or 1 if stopping the server failed.
func (sh *Shared) Run(m *testing.M) int {
	sh.mu.Lock()
	sh.running = true
	sh.mu.Unlock()

	code := m.Run()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.running = false
	if sh.srv != nil {
		if err := sh.srv.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "stop shared MariaDB: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		sh.srv = nil
	}
	return code
}

// Server returns the shared server, starting it on first use, with
// ForTest's rules when none is available. Outside Run (no TestMain) it
// falls back to a server per test, which is correct but slow.
func (sh *Shared) Server(tb testing.TB) *mariadb.Server {
	tb.Helper()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.running {
		tb.Log("mariadbtest.Shared used without TestMain calling Run: starting a server for this test only")
		return forTest(tb, sh.Options, os.Getenv)
	}
	if sh.srv == nil && sh.err == nil {
		sh.srv, sh.err = open(context.Background(), sh.Options, os.Getenv)
	}
	if sh.err != nil {
		unavailable(tb, sh.err, os.Getenv)
	}
	return sh.srv
}

// NewDatabase creates a database on s with a unique name derived from the
// test's name, drops it when the test ends, and returns the name.
func NewDatabase(tb testing.TB, s *mariadb.Server) string {
	tb.Helper()
	name := uniqueName(tb.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateDatabase(ctx, name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return name
}

// uniqueName turns a test name into a database name: lower-case letters,
// digits and underscores, a random suffix, at most 64 characters.
func uniqueName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	base := b.String()
	if len(base) > 40 {
		base = base[:40]
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	return "t_" + base + "_" + hex.EncodeToString(suffix)
}
