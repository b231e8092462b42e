package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/source/mysql"
)

// TestHoldCommits: while a hold is in place, a commit waits and a snapshot
// opened during the hold does not see it; once released, the commit goes
// through. Two snapshots opened in the hold see the same data.
func TestHoldCommits(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE a (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO a VALUES (1, 10), (2, 20)")
	h, err := e.src.HoldCommits(e.ctx, source.HoldOptions{Database: e.name, Tables: []string{"a"}, Wait: 5 * time.Second, MaxIdle: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if h.Method() != source.HoldBackupStage {
		t.Errorf("method %q, want %q (root on MariaDB)", h.Method(), source.HoldBackupStage)
	}
	pos := h.Position()
	if pos.ServerTime.IsZero() || time.Since(pos.ServerTime) > time.Minute || time.Since(pos.ServerTime) < -time.Minute {
		t.Errorf("server time %v", pos.ServerTime)
	}
	committed := make(chan error, 1)
	go func() {
		_, err := e.db.ExecContext(e.ctx, "UPDATE a SET v = v + 1")
		committed <- err
	}()
	snaps := make([]source.Snapshot, 2)
	for i := range snaps {
		sn, err := e.src.OpenSnapshot(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Close()
		if _, err := sn.Begin(e.ctx); err != nil {
			t.Fatal(err)
		}
		snaps[i] = sn
	}
	select {
	case err := <-committed:
		t.Fatalf("a commit went through while commits were held (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := h.Release(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	sh := source.Shard{Database: e.name, Table: "a", Partition: "a"}
	for i, sn := range snaps {
		for range 2 { // two shards in one transaction
			rows, err := sn.OpenShard(e.ctx, sh)
			if err != nil {
				t.Fatal(err)
			}
			var sum int
			for rows.Next() {
				var v int
				fmt.Sscan(string(rows.Values()[1]), &v)
				sum += v
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			if sum != 30 {
				t.Errorf("snapshot %d sees a sum of %d, want 30 (the update committed after the hold)", i, sum)
			}
		}
		if err := sn.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHoldCommitsWithoutReload: a user without RELOAD gets LOCK TABLES … READ.
func TestHoldCommitsWithoutReload(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE a (id INT PRIMARY KEY)", "CREATE TABLE b (id INT PRIMARY KEY)")
	user := "norel_" + e.name[len(e.name)-12:]
	e.exec(t, "CREATE USER '"+user+"'@'%'", "GRANT SELECT, LOCK TABLES ON "+q(e.name)+".* TO '"+user+"'@'%'")
	t.Cleanup(func() { e.db.ExecContext(context.Background(), "DROP USER '"+user+"'@'%'") })
	cfg := e.srv.Config("")
	cfg.User = user
	src, err := mysql.OpenConfig(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	h, err := src.HoldCommits(e.ctx, source.HoldOptions{Database: e.name, Tables: []string{"a", "b"}, Wait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if h.Method() != source.HoldLockTables {
		t.Errorf("method %q, want %q", h.Method(), source.HoldLockTables)
	}
	if err := h.Release(e.ctx); err != nil {
		t.Fatal(err)
	}
}

// TestHoldCommitsTimesOut: a table lock held elsewhere makes the hold give
// up within its bound.
func TestHoldCommitsTimesOut(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE a (id INT PRIMARY KEY)")
	conn, err := e.db.Conn(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(e.ctx, "LOCK TABLES a WRITE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = e.src.HoldCommits(e.ctx, source.HoldOptions{Database: e.name, Tables: []string{"a"}, Wait: time.Second})
	if !errors.Is(err, source.ErrHoldTimeout) {
		t.Fatalf("err = %v, want ErrHoldTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
	conn.ExecContext(e.ctx, "UNLOCK TABLES")
}

// TestHintColumns: a snapshot takes a table's columns from the plan's hint
// when the table's definition is still the planned one (an AUTO_INCREMENT
// moved by inserts since does not count), and reads them again when the
// table was altered after planning; the rows read match either way.
func TestHintColumns(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE same (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(5))",
		"CREATE TABLE altered (id INT PRIMARY KEY, v VARCHAR(5))")
	hint := map[string]string{}
	for _, table := range []string{"same", "altered"} {
		ddl, err := e.src.TableDDL(e.ctx, e.name, table)
		if err != nil {
			t.Fatal(err)
		}
		hint[table] = ddl.Statement
	}
	e.exec(t, "INSERT INTO same (v) VALUES ('a'), ('b')", "ALTER TABLE altered ADD COLUMN w INT DEFAULT 7", "INSERT INTO altered VALUES (1, 'x', 8)")
	sn := beginSnapshot(t, e)
	// The hinted columns are marked, so the test sees which were used.
	marked := []source.Column{{Name: "id", Kind: source.KindInt, Bits: 32, SourceType: "int(11)"}, {Name: "v", Kind: source.KindString, SourceType: "varchar(5)", Nullable: true, Charset: "utf8mb4", Collation: "hinted"}}
	h := sn.(source.ColumnsHinter)
	h.HintColumns(e.name, "same", hint["same"], marked)
	h.HintColumns(e.name, "altered", hint["altered"], marked[:2])
	for table, want := range map[string]struct {
		cols      int
		collation string
		rows      int
	}{"same": {2, "hinted", 2}, "altered": {3, "utf8mb4_general_ci", 1}} {
		rows, err := sn.OpenShard(e.ctx, source.Shard{Database: e.name, Table: table, Partition: table})
		if err != nil {
			t.Fatal(err)
		}
		cols := rows.Columns()
		n := 0
		for rows.Next() {
			if len(rows.Values()) != len(cols) {
				t.Errorf("%s: %d values for %d columns", table, len(rows.Values()), len(cols))
			}
			n++
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if len(cols) != want.cols || cols[1].Collation != want.collation || n != want.rows {
			t.Errorf("%s: %d columns (v's collation %q), %d rows; want %d, %q, %d", table, len(cols), cols[1].Collation, n, want.cols, want.collation, want.rows)
		}
	}
}
