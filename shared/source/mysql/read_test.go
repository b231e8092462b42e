package mysql_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// TestShardReadIsConsistent changes the table while a shard is being read:
// the read sees the table as it was when the shard's snapshot was taken.
func TestShardReadIsConsistent(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE c (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO c SELECT seq, 0 FROM seq_1_to_1000")
	before := e.now(t)
	for _, sh := range []source.Shard{
		{Database: e.name, Table: "c", Partition: "c"},
		{Database: e.name, Table: "c", Partition: "c", Key: "id", Lo: ptr("1"), Hi: ptr("1001")},
	} {
		rows, err := e.src.OpenShard(e.ctx, sh)
		if err != nil {
			t.Fatal(err)
		}
		// Committed after the snapshot: none of it may show.
		e.exec(t, "INSERT INTO c SELECT seq, 2 FROM seq_1001_to_1100",
			"UPDATE c SET v = 1 WHERE id <= 500",
			"DELETE FROM c WHERE id BETWEEN 900 AND 999")
		n := 0
		for rows.Next() {
			vals := rows.Values()
			n++
			if string(vals[1]) != "0" {
				t.Errorf("row %s has v = %s: a change made after the snapshot", vals[0], vals[1])
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 1000 {
			t.Errorf("read %d rows, the snapshot had 1000", n)
		}
		snap := rows.SnapshotTime()
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		after := e.now(t)
		if snap.Before(before) || snap.After(after) {
			t.Errorf("snapshot time %v outside [%v, %v]", snap, before, after)
		}
		// Put the table back for the next shard.
		e.exec(t, "DELETE FROM c WHERE id > 1000", "UPDATE c SET v = 0",
			"INSERT INTO c SELECT seq, 0 FROM seq_900_to_999")
	}
}

// TestCloseEarly stops reading a large shard after one row: Close returns
// at once without draining, and no transaction is left open on the server.
func TestCloseEarly(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(2000))",
		"INSERT INTO big SELECT seq, REPEAT('x', 2000) FROM seq_1_to_20000")
	sh := source.Shard{Database: e.name, Table: "big", Partition: "big"}
	for range 3 { // more often than the pool has idle connections
		rows, err := e.src.OpenShard(e.ctx, sh)
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatal(rows.Err())
		}
		time.Sleep(250 * time.Millisecond) // let INNODB_TRX's cache expire
		if n := e.openReadTransactions(t); n == 0 {
			t.Fatal("the shard's transaction is not visible in INNODB_TRX")
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if err := rows.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if rows.Next() {
			t.Fatal("Next after Close")
		}
	}
	e.waitNoTransactions(t)

	// A cancelled read fails and leaves nothing open either.
	ctx, cancel := context.WithCancel(e.ctx)
	rows, err := e.src.OpenShard(ctx, sh)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	cancel()
	for rows.Next() {
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after cancel = %v", err)
	}
	rows.Close()
	e.waitNoTransactions(t)

	// The pool still works.
	_, all := readAll(t, e.ctx, e.src, sh)
	if len(all) != 20000 {
		t.Errorf("read %d rows", len(all))
	}
	e.waitNoTransactions(t)
}

// openReadTransactions counts the server's open read-only transactions.
func (e *env) openReadTransactions(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_is_read_only = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitNoTransactions waits until the server has no open read-only
// transaction: it rolls back a dropped connection's asynchronously.
func (e *env) waitNoTransactions(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := e.openReadTransactions(t)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions still open", n)
		}
		// INNODB_TRX is a cache refreshed only when it has not been read
		// for 100 ms: poll more slowly than that.
		time.Sleep(250 * time.Millisecond)
	}
}

// now is the server's UTC time.
func (e *env) now(t *testing.T) time.Time {
	t.Helper()
	var s string
	if err := e.db.QueryRowContext(e.ctx, "SELECT UTC_TIMESTAMP(6)").Scan(&s); err != nil {
		t.Fatal(err)
	}
	tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
