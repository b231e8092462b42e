package repository

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// FormatVersion is the version of the repository layout and of the
// manifests. Readers refuse versions they do not know.
const FormatVersion = 1

// Object kinds in manifests (the same words as job.ObjectKind).
const (
	KindTable    = "TABLE"
	KindView     = "VIEW"
	KindFunction = "FUNCTION"
)

// RepoInfo is __repo_info, written once when a repository is created.
type RepoInfo struct {
	Name       string    `json:"name"`
	CreateTime time.Time `json:"create_time"`
	Format     int       `json:"format"`
	// DeploymentID is the srbackup deployment that created the repository
	// (empty in repositories created before deployments had ids).
	DeploymentID string `json:"deployment_id,omitempty"`
}

// Source describes the database a snapshot was taken from.
type Source struct {
	Kind    string `json:"kind"`    // "mysql" (MariaDB, MySQL, Aurora MySQL)
	Version string `json:"version"` // the server's version string
}

// FileRef points at one file of a snapshot, relative to the snapshot
// directory (__ss_<label>/), with its size and SHA-256.
type FileRef struct {
	Key    string `json:"key"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // hex
}

// Info is __info_<yyyy-MM-dd-HH-mm-ss-SSS>, the snapshot's manifest and
// commit marker: written last, it lists every data file with its checksum.
// A snapshot without it does not exist for SHOW SNAPSHOT or RESTORE.
type Info struct {
	FormatVersion int    `json:"format_version"`
	Name          string `json:"name"` // snapshot label
	Database      string `json:"database"`
	JobID         string `json:"job_id"`
	// BackupTime is the job's creation time in epoch milliseconds (as
	// StarRocks' backup_time); it names the info file.
	BackupTime int64 `json:"backup_time"`
	// SnapshotTime is when the shard plan was frozen.
	SnapshotTime time.Time `json:"snapshot_time"`
	BackupResult string    `json:"backup_result"` // "OK"
	Source       Source    `json:"source"`
	Compression  string    `json:"compression"` // Parquet codec: "zstd", "snappy" or "none"
	// Consistency is "snapshot" (every row of every table as of one point
	// in time, PointInTime) or "shard" (each shard as of its own moment).
	// Empty in snapshots written before it existed, which are "shard".
	Consistency string       `json:"consistency,omitempty"`
	PointInTime *PointInTime `json:"point_in_time,omitempty"`
	// DeploymentID is the srbackup deployment that wrote the snapshot
	// (SHOW SNAPSHOT's ClusterId). Empty in snapshots written before
	// deployments had ids.
	DeploymentID string `json:"deployment_id,omitempty"`
	// FinishTime is when the snapshot was committed (this file written).
	FinishTime time.Time `json:"finish_time,omitzero"`
	// TTL is the snapshot's time to live as the BACKUP fixed it ("7 DAY",
	// from its ttl property or the repository's snapshot_ttl), and
	// ExpireTime is FinishTime plus TTL: after it the expiry sweep of the
	// deployment that wrote the snapshot drops it. Both empty: kept until
	// dropped.
	TTL        string    `json:"ttl,omitempty"`
	ExpireTime time.Time `json:"expire_time,omitzero"`
	// Meta is __meta, which must match this checksum.
	Meta    FileRef      `json:"meta"`
	Objects []ObjectData `json:"backup_objects"`
}

// PointInTime is the moment a "snapshot" consistency backup reflects: every
// transaction committed before it and none after. It is the server's clock
// and, with binary logging on, the replication position, from which an
// incremental backup or point-in-time restore can continue.
type PointInTime struct {
	ServerTime     time.Time `json:"server_time"`
	Binlog         bool      `json:"binlog"` // binary logging was on
	BinlogFile     string    `json:"binlog_file,omitempty"`
	BinlogPosition uint64    `json:"binlog_position,omitempty"`
	// GTIDVariable is gtid_binlog_pos (MariaDB) or gtid_executed (MySQL).
	GTIDVariable string `json:"gtid_variable,omitempty"`
	GTID         string `json:"gtid,omitempty"`
	// LockMethod is how commits were held while the readers opened their
	// transactions: "BACKUP STAGE BLOCK_COMMIT", "FLUSH TABLES WITH READ
	// LOCK" or "LOCK TABLES READ" (the job's tables only).
	LockMethod string `json:"lock_method"`
	// LockWaitMS is how long the lock took to get; LockWindowMS how long
	// commits were held.
	LockWaitMS   int64 `json:"lock_wait_ms"`
	LockWindowMS int64 `json:"lock_window_ms"`
	// Workers is how many readers share the point in time.
	Workers int    `json:"workers"`
	Note    string `json:"note,omitempty"`
}

// ObjectData is one object of a snapshot and, for tables, its data.
type ObjectData struct {
	Kind       string          `json:"kind"`
	Name       string          `json:"name"`
	Partitions []PartitionData `json:"partitions,omitempty"`
}

// PartitionData is one partition of a table and its files. An unpartitioned
// table has one partition named after the table.
type PartitionData struct {
	Name  string     `json:"name"`
	Rows  int64      `json:"rows"`
	Bytes int64      `json:"bytes"`
	Files []DataFile `json:"files"`
}

// DataFile is one Parquet file: one shard of a partition.
type DataFile struct {
	FileRef
	Shard int `json:"shard"`
	// Piece numbers the files of a shard its reader split (see the README).
	Piece int   `json:"piece,omitempty"`
	Rows  int64 `json:"rows"`
}

// Meta is __meta: what restore needs to recreate the objects.
type Meta struct {
	FormatVersion int            `json:"format_version"`
	Name          string         `json:"name"`
	Database      string         `json:"database"`
	JobID         string         `json:"job_id"`
	Source        Source         `json:"source"`
	Objects       []ObjectMeta   `json:"objects"`
	Functions     []FunctionMeta `json:"functions,omitempty"`
	// Triggers of the tables backed up whole, and the database's
	// procedures and events (whole-database backups only).
	Triggers   []TriggerMeta  `json:"triggers,omitempty"`
	Procedures []FunctionMeta `json:"procedures,omitempty"`
	Events     []FunctionMeta `json:"events,omitempty"`
}

// TriggerMeta is one trigger of a table.
type TriggerMeta struct {
	Name    string `json:"name"`
	Table   string `json:"table"`
	DDL     string `json:"ddl"` // SHOW CREATE TRIGGER
	SQLMode string `json:"sql_mode,omitempty"`
}

// ObjectMeta describes a table or view.
type ObjectMeta struct {
	Kind       string          `json:"kind"` // TABLE or VIEW
	Name       string          `json:"name"`
	DDL        string          `json:"ddl"` // SHOW CREATE TABLE / VIEW
	Columns    []Column        `json:"columns"`
	Partitions []PartitionMeta `json:"partitions,omitempty"`
}

// Column is one column: its source type and how it is stored in Parquet.
type Column struct {
	Name       string `json:"name"`
	SourceType string `json:"source_type"`  // e.g. "decimal(65,30) unsigned"
	Parquet    string `json:"parquet_type"` // e.g. "FIXED_LEN_BYTE_ARRAY(28) DECIMAL(65,30)"
	Nullable   bool   `json:"nullable"`
}

// PartitionMeta is one partition of a table.
type PartitionMeta struct {
	Name string `json:"name"`
	// Method and Description are the partitioning as the source reports it
	// (e.g. "RANGE", "VALUES LESS THAN (2024)"); empty for unpartitioned tables.
	Method      string `json:"method,omitempty"`
	Description string `json:"description,omitempty"`
}

// FunctionMeta is one stored function, procedure or event.
type FunctionMeta struct {
	Name string `json:"name"`
	DDL  string `json:"ddl"` // SHOW CREATE FUNCTION, PROCEDURE or EVENT
	// SQLMode is the sql_mode it was created with (and runs with).
	SQLMode  string `json:"sql_mode,omitempty"`
	TimeZone string `json:"time_zone,omitempty"` // events
}

// Timestamp is the name of the info file: the backup time as
// yyyy-MM-dd-HH-mm-ss-SSS in UTC.
func (i Info) Timestamp() string { return FormatTimestamp(time.UnixMilli(i.BackupTime)) }

// Validate checks an info manifest for completeness and safe keys.
func (i Info) Validate() error {
	var errs []error
	if i.FormatVersion != FormatVersion {
		errs = append(errs, fmt.Errorf("format version %d, want %d", i.FormatVersion, FormatVersion))
	}
	if i.Name == "" || i.Database == "" || i.JobID == "" || i.BackupTime <= 0 {
		errs = append(errs, errors.New("name, database, job_id and backup_time are required"))
	}
	if err := i.Meta.validate(); err != nil {
		errs = append(errs, fmt.Errorf("meta: %w", err))
	}
	for _, o := range i.Objects {
		for _, p := range o.Partitions {
			for _, f := range p.Files {
				if err := f.validate(); err != nil {
					errs = append(errs, fmt.Errorf("%s partition %s: %w", o.Name, p.Name, err))
				} else if !strings.HasPrefix(f.Key, ContentDir+"/") {
					errs = append(errs, fmt.Errorf("%s partition %s: file %q is not under %s/", o.Name, p.Name, f.Key, ContentDir))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid snapshot info: %w", err)
	}
	return nil
}

// Files returns every data file of the snapshot.
func (i Info) Files() []DataFile {
	var out []DataFile
	for _, o := range i.Objects {
		for _, p := range o.Partitions {
			out = append(out, p.Files...)
		}
	}
	return out
}

func (f FileRef) validate() error {
	if f.Key == "" || strings.HasPrefix(f.Key, "/") || strings.Contains("/"+f.Key+"/", "/../") || strings.Contains("/"+f.Key+"/", "/./") {
		return fmt.Errorf("unsafe key %q", f.Key)
	}
	if !isHexSHA256(f.SHA256) {
		return fmt.Errorf("file %s: sha256 %q is not 64 lower-case hex digits", f.Key, f.SHA256)
	}
	if f.Bytes < 0 {
		return fmt.Errorf("file %s: negative size", f.Key)
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// timestampLayout is yyyy-MM-dd-HH-mm-ss; milliseconds are appended.
const timestampLayout = "2006-01-02-15-04-05"

// FormatTimestamp formats t as StarRocks' snapshot timestamps,
// yyyy-MM-dd-HH-mm-ss-SSS, in UTC.
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s-%03d", t.Format(timestampLayout), t.Nanosecond()/int(time.Millisecond))
}

// ParseTimestamp parses a snapshot timestamp.
func ParseTimestamp(s string) (time.Time, error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 || len(s)-i != 4 {
		return time.Time{}, fmt.Errorf("invalid snapshot timestamp %q: want yyyy-MM-dd-HH-mm-ss-SSS", s)
	}
	t, err := time.Parse(timestampLayout, s[:i])
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid snapshot timestamp %q: want yyyy-MM-dd-HH-mm-ss-SSS", s)
	}
	ms := 0
	for _, c := range []byte(s[i+1:]) {
		if c < '0' || c > '9' {
			return time.Time{}, fmt.Errorf("invalid snapshot timestamp %q: bad milliseconds", s)
		}
		ms = ms*10 + int(c-'0')
	}
	return t.Add(time.Duration(ms) * time.Millisecond), nil
}
