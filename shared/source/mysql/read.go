package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// cleanupTimeout bounds the COMMIT that ends a read after its context is
// done.
const cleanupTimeout = 10 * time.Second

// OpenShard starts reading a shard in one REPEATABLE READ transaction with
// a consistent snapshot, streaming the rows (nothing is buffered beyond the
// driver's network buffer).
//
// The table's shared metadata lock is taken right after the snapshot and
// before the columns are read, so the column list matches the rows; a
// table altered between the snapshot and the lock fails the read with the
// server's "Table definition has changed, please retry transaction".
func (s *Source) OpenShard(ctx context.Context, sh source.Shard) (rows source.Rows, err error) {
	from, err := checkShard(sh)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("read %s: %w", from, err)
	}
	r := &shardRows{conn: conn, cancel: cancel, owned: true}
	defer func() {
		if err != nil {
			r.abort()
			err = fmt.Errorf("read shard %d of %s: %w", sh.Index, from, err)
		}
	}()
	if r.snapshot, err = begin(ctx, conn); err != nil {
		return nil, err
	}
	if err := s.query(ctx, conn, sh, r, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// checkShard checks a shard's names and returns its FROM clause.
func checkShard(sh source.Shard) (string, error) {
	if err := checkTable(sh.Database, sh.Table); err != nil {
		return "", err
	}
	if sh.Partitioned {
		if err := checkIdent("partition", sh.Partition); err != nil {
			return "", err
		}
	}
	return fromClause(sh), nil
}

// begin starts a REPEATABLE READ transaction with a consistent snapshot on
// conn and returns the server's UTC time right after.
func begin(ctx context.Context, conn *sql.Conn) (time.Time, error) {
	for _, stmt := range []string{
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return time.Time{}, err
		}
	}
	var snap string
	if err := conn.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6)").Scan(&snap); err != nil {
		return time.Time{}, err
	}
	t, err := parseServerTime(snap)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse snapshot time %q: %w", snap, err)
	}
	return t, nil
}

func parseServerTime(s string) (time.Time, error) {
	return time.Parse("2006-01-02 15:04:05.999999", s)
}

// query starts the streaming SELECT of a shard on conn, inside its
// transaction, filling r's columns and rows.
//
// cols, when not nil, are the table's columns as read earlier in the same
// transaction: its metadata lock, taken then, is held until the
// transaction ends, so they cannot have changed, and neither the lock nor
// the columns (two information_schema queries, the costliest part of a
// tiny shard) are read again.
func (s *Source) query(ctx context.Context, conn *sql.Conn, sh source.Shard, r *shardRows, cols []source.Column) error {
	from := fromClause(sh)
	if cols == nil {
		var err error
		if cols, err = lockColumns(ctx, conn, s, sh); err != nil {
			return err
		}
	}
	r.cols = cols
	var key *source.Column
	exprs := make([]string, len(r.cols))
	for i, c := range r.cols {
		exprs[i] = selectExpr(c)
		if c.Name == sh.Key {
			key = &r.cols[i]
		}
	}
	where, err := whereClause(sh, key)
	if err != nil {
		return err
	}
	// A shard bounded by the primary key is read in its order, which is
	// InnoDB's own, with the key's bound value as a last, hidden column.
	order := ""
	if key != nil && sh.KeyIndex == "" {
		exprs = append(exprs, boundExpr(*key))
		order = " ORDER BY " + quoteIdent(key.Name)
		r.keyed = true
	}
	return r.start(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+from+where+order, len(exprs))
}

// lockColumns takes the table's shared metadata lock in conn's transaction
// (held until it ends), then reads its columns.
func lockColumns(ctx context.Context, conn *sql.Conn, s *Source, sh source.Shard) ([]source.Column, error) {
	if err := lockTable(ctx, conn, sh); err != nil {
		return nil, err
	}
	return columns(ctx, conn, s, sh.Database, sh.Table)
}

// lockTable takes the table's shared metadata lock in conn's transaction,
// held until it ends: the table's definition cannot change meanwhile.
func lockTable(ctx context.Context, conn *sql.Conn, sh source.Shard) error {
	if _, err := conn.ExecContext(ctx, "SELECT 1 FROM "+fromClause(sh)+" LIMIT 0"); err != nil {
		if isNoSuchObject(err) {
			return fmt.Errorf("%w: %w", source.ErrNotFound, err)
		}
		return err
	}
	return nil
}

// start runs the streaming SELECT of n values per row, the first
// len(r.cols) of them the columns and the rest hidden.
func (r *shardRows) start(ctx context.Context, query string, n int) error {
	var err error
	// No arguments: the driver uses the text protocol and streams.
	if r.rows, err = r.conn.QueryContext(ctx, query); err != nil {
		return err
	}
	r.raw = make([]sql.RawBytes, n)
	r.dest = make([]any, n)
	r.vals = make([][]byte, len(r.cols))
	for i := range r.raw {
		r.dest[i] = &r.raw[i]
	}
	return nil
}

var _ source.KeyedRows = (*shardRows)(nil)

// shardRows implements source.Rows over one connection.
type shardRows struct {
	conn   *sql.Conn
	cancel context.CancelFunc
	// owned says the rows own their connection and transaction (a shard
	// read on its own); otherwise they are one read of a snapshot, which
	// ends the transaction itself.
	owned    bool
	snap     *snapshot // the snapshot of a not-owned read
	rows     *sql.Rows
	cols     []source.Column
	snapshot time.Time
	raw      []sql.RawBytes
	dest     []any
	vals     [][]byte
	keyed    bool // the last raw value is the key's bound, rows in key order
	done     bool // Next returned false
	closed   bool
	err      error
}

func (r *shardRows) Columns() []source.Column { return r.cols }

func (r *shardRows) SnapshotTime() time.Time { return r.snapshot }

func (r *shardRows) Next() bool {
	if r.done || r.closed {
		return false
	}
	if !r.rows.Next() {
		r.done = true
		if err := r.rows.Err(); err != nil {
			r.err = err
		}
		return false
	}
	if err := r.rows.Scan(r.dest...); err != nil {
		r.err, r.done = err, true
		return false
	}
	for i := range r.vals {
		r.vals[i] = r.raw[i]
	}
	return true
}

// KeyBound is the current row's key value in the bound encoding, or nil
// when the rows are not read in key order.
func (r *shardRows) KeyBound() []byte {
	if !r.keyed {
		return nil
	}
	return r.raw[len(r.raw)-1]
}

func (r *shardRows) Values() [][]byte { return r.vals }

func (r *shardRows) Err() error {
	if r.err != nil {
		return fmt.Errorf("read rows: %w", r.err)
	}
	return nil
}

// Close ends the transaction and returns the connection to the pool. A
// read stopped early is aborted instead: draining the rest of a large
// result would read it all, and a connection whose COMMIT failed must not
// return to the pool inside a transaction.
func (r *shardRows) Close() error {
	if r.closed {
		return nil
	}
	if !r.done || r.err != nil {
		r.abort()
		return nil
	}
	r.closed = true
	defer r.cancel()
	if err := r.rows.Close(); err != nil {
		r.discard()
		return fmt.Errorf("close rows: %w", err)
	}
	if !r.owned {
		r.snap.busy = false
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if _, err := r.conn.ExecContext(ctx, "COMMIT"); err != nil {
		r.discard()
		return fmt.Errorf("commit read: %w", err)
	}
	return r.conn.Close()
}

// abort drops the connection without draining or committing; the server
// rolls the read-only transaction back when the connection closes.
func (r *shardRows) abort() {
	r.closed = true
	if r.snap != nil {
		r.snap.broken = true
	}
	r.cancel() // the driver closes the network connection of a cancelled query
	if r.rows != nil {
		_ = r.rows.Close()
	}
	r.discard()
}

// discard closes the connection and keeps it out of the pool.
func (r *shardRows) discard() {
	_ = r.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = r.conn.Close() // ErrConnDone once Raw has discarded it
}
