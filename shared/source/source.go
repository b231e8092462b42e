// Package source is what the backup pipeline knows about a source database:
// its catalog (tables, partitions, views, functions, columns, DDL), how a
// partition is split into shards, and how the rows of one shard are
// streamed. The pipeline codes against these interfaces; source/mysql
// implements them for MariaDB and MySQL, and tests fake them.
package source

import (
	"context"
	"errors"
	"time"
)

// Dialect names a source implementation.
const DialectMySQL = "mysql"

// ErrNotFound is wrapped by errors about a database, table, partition, view
// or function that does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnsupported is wrapped by errors about objects a source cannot have,
// such as materialized views in MariaDB. The error's text says which source
// lacks what, so callers can show it as is.
var ErrUnsupported = errors.New("not supported by the source")

// Source is a complete source database.
type Source interface {
	Catalog
	Planner
	Reader
	// Close releases the connection pool.
	Close() error
}

// Features says which kinds of objects a source can have at all.
type Features struct {
	Dialect           string // DialectMySQL, …
	MaterializedViews bool
	ExternalCatalogs  bool
	// FoldedNames says database and table names compare
	// case-insensitively (MariaDB's lower_case_table_names 1 or 2).
	FoldedNames bool
	// MaxConnections is the server's connection limit (max_connections);
	// zero if unknown.
	MaxConnections int
}

// Catalog lists a database's objects and their definitions.
type Catalog interface {
	Features() Features
	// Version is the server's version string, e.g. "10.11.19-MariaDB".
	Version(ctx context.Context) (string, error)
	DatabaseExists(ctx context.Context, db string) (bool, error)
	// Tables lists base tables (and sequences, with Kind KindSequence) by
	// name; views and temporary tables are not included.
	Tables(ctx context.Context, db string) ([]Table, error)
	// Partitions lists a table's partitions in definition order. An
	// unpartitioned table has exactly one, named after the table, with
	// Method "NONE" — StarRocks' convention for single-partition tables.
	Partitions(ctx context.Context, db, table string) ([]Partition, error)
	// Columns lists a table's columns in definition order, including
	// invisible and generated ones.
	Columns(ctx context.Context, db, table string) ([]Column, error)
	Views(ctx context.Context, db string) ([]View, error)
	Functions(ctx context.Context, db string) ([]Function, error)
	// MaterializedViews and ExternalCatalogs return an error wrapping
	// ErrUnsupported for sources that have none (see Features).
	MaterializedViews(ctx context.Context, db string) ([]string, error)
	ExternalCatalogs(ctx context.Context) ([]string, error)
	// Triggers lists db's triggers, Procedures its stored procedures and
	// Events its events, each with its SHOW CREATE statement and session
	// settings.
	Triggers(ctx context.Context, db string) ([]Trigger, error)
	Procedures(ctx context.Context, db string) ([]Routine, error)
	Events(ctx context.Context, db string) ([]Routine, error)
	// TableDDL, ViewDDL and FunctionDDL return SHOW CREATE … output, with
	// identifiers quoted.
	TableDDL(ctx context.Context, db, table string) (DDL, error)
	ViewDDL(ctx context.Context, db, view string) (DDL, error)
	FunctionDDL(ctx context.Context, db, function string) (DDL, error)
}

// Planner splits a partition into shards.
type Planner interface {
	// PlanShards splits one partition (a name from Partitions) into shards
	// of about targetBytes of source data. Together the shards cover every
	// row of the partition exactly once, including rows inserted after
	// planning.
	PlanShards(ctx context.Context, db, table, partition string, targetBytes int64) ([]Shard, error)
	// PlanPartition is PlanShards for a partition as Partitions listed it,
	// which saves listing a table's partitions again for each of them.
	PlanPartition(ctx context.Context, db, table string, p Partition, targetBytes int64) ([]Shard, error)
}

// CatalogReader is implemented by a Source that can read a whole
// database's catalog at once. WithCatalog returns a Source that answers
// Columns, Partitions and the Planner's calls for db's tables from one
// read of db's catalog made now, instead of several statements per table:
// for planning a job of many tables. Its other calls go to the Source.
type CatalogReader interface {
	WithCatalog(ctx context.Context, db string) (Source, error)
}

// Reader streams the rows of a shard.
type Reader interface {
	// OpenShard starts one consistent read of the shard. The caller must
	// Close the Rows.
	OpenShard(ctx context.Context, shard Shard) (Rows, error)
}

// Rows streams the rows of one shard, read in one transaction with a
// consistent snapshot. Like database/sql.Rows, Next advances and Err
// reports the error that stopped it.
type Rows interface {
	// Columns describes the values of each row, in order.
	Columns() []Column
	Next() bool
	// Values is the current row: one element per column, nil for NULL,
	// otherwise the value in the canonical text form of its column's Kind.
	// The slices are valid only until the next call to Next.
	Values() [][]byte
	// SnapshotTime is the server's UTC time right after the snapshot was
	// taken: the shard holds every transaction committed before the
	// snapshot and none committed after.
	SnapshotTime() time.Time
	Err() error
	// Close ends the transaction; it is safe to call more than once.
	Close() error
}

// KeyedRows is implemented by the Rows of a shard read in the order of its
// Key (the primary key: an InnoDB table's own order, so ordering costs
// nothing). KeyBound is the current row's Key value in the bound encoding
// of the key's Kind, valid until the next call to Next, or nil when the
// rows are not in key order: a reader can end a piece of the shard where
// the value changes and describe the rest as the range from there.
type KeyedRows interface {
	Rows
	KeyBound() []byte
}

// Table kinds.
const (
	KindTable    = "TABLE"
	KindSequence = "SEQUENCE"
)

// Table is a base table.
type Table struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // KindTable or KindSequence
	Engine      string `json:"engine,omitempty"`
	Partitioned bool   `json:"partitioned,omitempty"`
	// Versioned marks a MariaDB system-versioned table; only its current
	// rows are read.
	Versioned bool  `json:"versioned,omitempty"`
	Rows      int64 `json:"rows"`       // estimate from the server's statistics
	DataBytes int64 `json:"data_bytes"` // estimate from the server's statistics
}

// Partition is one partition of a table; subpartitions are folded into
// their partition, which is the unit of selection and of the repository
// layout.
type Partition struct {
	Name string `json:"name"`
	// Method is RANGE, LIST, HASH, KEY, LINEAR HASH, LINEAR KEY,
	// RANGE COLUMNS, LIST COLUMNS, SYSTEM_TIME, or NONE for an
	// unpartitioned table.
	Method             string   `json:"method"`
	Expression         string   `json:"expression,omitempty"`
	Description        string   `json:"description,omitempty"` // VALUES LESS THAN / IN list
	SubpartitionMethod string   `json:"subpartition_method,omitempty"`
	Subpartitions      []string `json:"subpartitions,omitempty"`
	Rows               int64    `json:"rows"`       // estimate
	DataBytes          int64    `json:"data_bytes"` // estimate
}

// View is a view; its definition is in ViewDDL.
type View struct {
	Name string `json:"name"`
}

// Function is a stored function; its definition is in FunctionDDL.
type Function struct {
	Name    string `json:"name"`
	Returns string `json:"returns"` // the return type, e.g. "int(11)"
}

// Trigger is a trigger of a table.
type Trigger struct {
	Name  string `json:"name"`
	Table string `json:"table"`
	DDL   DDL    `json:"ddl"`
}

// Routine is a stored procedure or an event.
type Routine struct {
	Name string `json:"name"`
	DDL  DDL    `json:"ddl"`
}

// DDL is a SHOW CREATE statement with the session settings it needs to be
// replayed exactly.
type DDL struct {
	Statement           string `json:"statement"`
	SQLMode             string `json:"sql_mode,omitempty"`
	CharacterSetClient  string `json:"character_set_client,omitempty"`
	CollationConnection string `json:"collation_connection,omitempty"`
	DatabaseCollation   string `json:"database_collation,omitempty"`
	TimeZone            string `json:"time_zone,omitempty"` // events
}

// Shard is a part of one partition: the whole partition, or a half-open
// range [Lo, Hi) of the leading column of its primary (or unique) key. It is small JSON, meant
// to travel in Step Functions payloads.
type Shard struct {
	Database  string `json:"db"`
	Table     string `json:"table"`
	Partition string `json:"partition"` // the table's name for an unpartitioned table
	// Partitioned says the read selects PARTITION (Partition).
	Partitioned bool `json:"partitioned,omitempty"`
	// Index numbers the shards of a partition from 0 in key order.
	Index int `json:"index"`
	// Key is the leading column of the key that Lo and Hi bound: the
	// primary key, or KeyIndex. It is set on every shard of a table that
	// has such a key, also when one shard holds the whole partition, so
	// a reader that finds the shard bigger than planned can split it.
	Key string `json:"key,omitempty"`
	// KeyIndex names the unique NOT NULL key Key leads, for a table
	// without a usable primary key; empty for the primary key.
	KeyIndex string `json:"key_index,omitempty"`
	// Unsplit says why a whole-partition shard cannot be split, e.g. the
	// table has no key to split on.
	Unsplit string `json:"unsplit,omitempty"`
	// Lo (inclusive) and Hi (exclusive) are key values in the bound
	// encoding of the key's Kind (see Column); nil is unbounded.
	Lo *string `json:"lo,omitempty"`
	Hi *string `json:"hi,omitempty"`
	// EstBytes and EstRows are the planner's estimate; bytes are those of
	// the rows' values, the unit of shard_size (see the README).
	EstBytes int64 `json:"est_bytes,omitempty"`
	EstRows  int64 `json:"est_rows,omitempty"`
}
