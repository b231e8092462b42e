package mysql_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/mariadb"
	"github.com/srbackup/srbackup/localstack/mariadb/mariadbtest"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/source/mysql"
)

// server is the throwaway MariaDB (or SRBACKUP_TEST_MYSQL_DSN) shared by
// the tests of this package. Its buffer pool holds the benchmarks' data;
// the tests touch little of it, and InnoDB allocates it as it fills.
var server = mariadbtest.Shared{Options: mariadb.Options{BufferPoolSize: 2 << 30, RedoLogSize: 512 << 20}}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(worker()) // a benchmark's worker process
	}
	os.Exit(server.Run(m))
}

// env is one test's database, a pool on it, and the source under test.
type env struct {
	ctx  context.Context
	name string
	db   *sql.DB
	src  *mysql.Source
	srv  *mariadb.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := server.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	name := mariadbtest.NewDatabase(t, srv)
	db, err := srv.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src, err := mysql.Open(ctx, srv.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return &env{ctx: ctx, name: name, db: db, src: src, srv: srv}
}

// exec runs statements on one connection, so session settings carry over.
func (e *env) exec(t testing.TB, stmts ...string) {
	t.Helper()
	conn, err := e.db.Conn(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range stmts {
		if _, err := conn.ExecContext(e.ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// readAll reads a shard's rows as strings ("\x00NULL" for NULL).
func readAll(t testing.TB, ctx context.Context, src source.Reader, sh source.Shard) ([]source.Column, [][]string) {
	t.Helper()
	rows, err := src.OpenShard(ctx, sh)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		out = append(out, strs(rows.Values()))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return rows.Columns(), out
}

// count returns SELECT COUNT(*) of a query's FROM/WHERE part.
func (e *env) count(t testing.TB, from string) int64 {
	t.Helper()
	var n int64
	if err := e.db.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM "+from).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// q quotes an identifier.
func q(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// beginSnapshot opens and begins a point-in-time snapshot on e's source,
// closed when the test ends.
func beginSnapshot(t testing.TB, e *env) source.Snapshot {
	t.Helper()
	sn, err := e.src.OpenSnapshot(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.Close() })
	if _, err := sn.Begin(e.ctx); err != nil {
		t.Fatal(err)
	}
	return sn
}
