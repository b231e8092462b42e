package source

import (
	"context"
	"errors"
	"time"
)

// Ways a source holds commits still while the readers of a point-in-time
// job open their transactions, in the order they are tried.
const (
	// HoldBackupStage is MariaDB's BACKUP STAGE START + BLOCK_COMMIT: it
	// blocks commits (and DDL) only, not reads, and needs RELOAD.
	HoldBackupStage = "BACKUP STAGE BLOCK_COMMIT"
	// HoldFTWRL is FLUSH TABLES WITH READ LOCK (needs RELOAD; Amazon RDS and
	// Aurora refuse it).
	HoldFTWRL = "FLUSH TABLES WITH READ LOCK"
	// HoldLockTables is LOCK TABLES … READ on the job's tables only (needs
	// LOCK TABLES): those tables are frozen, other tables keep committing.
	HoldLockTables = "LOCK TABLES READ"
)

// ErrHoldTimeout is wrapped by HoldCommits' error when the lock could not
// be had within HoldOptions.Wait (a long query or a table lock in the way).
var ErrHoldTimeout = errors.New("timed out waiting for the lock that holds commits")

// Position is one moment of the source server: its clock and, when binary
// logging is on, the replication position, so that an incremental backup or
// a point-in-time restore can start from it.
type Position struct {
	ServerTime time.Time `json:"server_time"`
	// Binlog says binary logging is on (@@log_bin).
	Binlog         bool   `json:"binlog"`
	BinlogFile     string `json:"binlog_file,omitempty"`
	BinlogPosition uint64 `json:"binlog_position,omitempty"`
	// GTIDVariable names the variable GTID was read from: gtid_binlog_pos
	// (MariaDB) or gtid_executed (MySQL).
	GTIDVariable string `json:"gtid_variable,omitempty"`
	GTID         string `json:"gtid,omitempty"`
	// Note says why a part of the position is missing, e.g. no privilege
	// to read the binary log status.
	Note string `json:"note,omitempty"`
}

// HoldOptions say how to hold commits.
type HoldOptions struct {
	// Database and Tables are the job's base tables, locked one by one when
	// no global method is permitted.
	Database string
	Tables   []string
	// Wait bounds the wait for the lock (lock_wait_timeout): while a global
	// lock waits, the server holds back other writers too.
	Wait time.Duration
	// MaxIdle makes the server drop the holding connection, and so release
	// the lock, once it has been idle that long (wait_timeout): a holder
	// that dies or hangs can never keep commits held for longer.
	MaxIdle time.Duration
}

// PointInTime is implemented by sources that can read many shards, over
// many connections, at one point in time: a coordinator holds commits, and
// while they are held every reader opens its consistent snapshot.
type PointInTime interface {
	// HoldCommits blocks commits on the server (or, failing the privilege,
	// writes to the job's tables) and reads the position they stopped at.
	HoldCommits(ctx context.Context, o HoldOptions) (Hold, error)
	// OpenSnapshot takes a connection for one reader; Begin then starts its
	// transaction.
	OpenSnapshot(ctx context.Context) (Snapshot, error)
}

// Hold is commits held still on one connection.
type Hold interface {
	// Method is one of the Hold* constants.
	Method() string
	// Waited is how long the lock took to get.
	Waited() time.Duration
	// Position is where commits were held, read under the lock.
	Position() Position
	// Release releases the lock. An error means the lock may have ended
	// before Release was called (the connection was lost), so nothing
	// read at "this point in time" can be trusted.
	Release(ctx context.Context) error
}

// Snapshot is one reader's connection and, after Begin, its consistent
// snapshot transaction, in which it reads all its shards one after another.
type Snapshot interface {
	// Begin starts a REPEATABLE READ transaction WITH CONSISTENT SNAPSHOT
	// and returns the server time and, where the server tells (MariaDB with
	// binary logging), the binlog position the snapshot corresponds to.
	Begin(ctx context.Context) (Position, error)
	// OpenShard reads one shard in the transaction. The Rows must be read
	// to the end and closed before the next shard is opened; a read
	// stopped early ends the snapshot.
	OpenShard(ctx context.Context, shard Shard) (Rows, error)
	// Close ends the transaction and releases the connection.
	Close() error
}

// ErrNotGroupable is returned by GroupReader.OpenGroup, before anything is
// read, for a table whose partitioning does not let a reader tell from a
// row which partition holds it (KEY methods, or COLUMNS on text, say): its
// partitions are read one statement each.
var ErrNotGroupable = errors.New("the partitions cannot be read in one statement")

// GroupReader is implemented by a Snapshot that can read many whole
// partitions of one table in one statement, which costs the server about
// what reading one of them does: on a table of thousands of partitions
// every statement pays for all of them.
type GroupReader interface {
	// OpenGroup reads shards, each a whole partition (no key range) of
	// the same table, in one statement of the snapshot's transaction. The
	// Rows must be read to the end and closed before the next read.
	OpenGroup(ctx context.Context, shards []Shard) (GroupRows, error)
}

// GroupRows are the rows of a group of partitions, partition after
// partition: every row of one shard comes before any row of another.
type GroupRows interface {
	Rows
	// Shard is the index, in the group given to OpenGroup, of the shard
	// (the partition) that holds the current row.
	Shard() int
}

// ColumnsHinter is implemented by a Snapshot that can take a table's
// columns from its plan: HintColumns gives the table's definition (its
// DDL statement as planned) and columns, used when the table's
// definition, checked under its metadata lock, is still that one, so its
// columns need not be read again.
type ColumnsHinter interface {
	HintColumns(db, table, ddl string, cols []Column)
}
