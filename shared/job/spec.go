package job

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ObjectKind is the kind of one object a backup contains, after the
// catalog has expanded ALL TABLES / ALL VIEWS / ALL FUNCTIONS.
type ObjectKind string

// Object kinds.
const (
	KindTable    ObjectKind = "TABLE"
	KindView     ObjectKind = "VIEW"
	KindFunction ObjectKind = "FUNCTION"
)

// Valid reports whether k is one of the known kinds.
func (k ObjectKind) Valid() bool {
	switch k {
	case KindTable, KindView, KindFunction:
		return true
	}
	return false
}

// Object is one object of a backup. Partitions is set only when the
// statement named partitions (PARTITION (p1, p2)); empty means all.
type Object struct {
	Kind       ObjectKind `json:"kind"`
	Name       string     `json:"name"`
	Partitions []string   `json:"partitions,omitempty"`
}

// Options are the job's properties after parsing: StarRocks' own (type,
// timeout) and srbackup's (compression, shard size, parallelism,
// consistency).
type Options struct {
	Type           string `json:"type"`            // "FULL"
	TimeoutSeconds int64  `json:"timeout_seconds"` // from "timeout"
	Compression    string `json:"compression"`     // "zstd", "snappy" or "none"
	ShardSize      int64  `json:"shard_size"`      // target bytes of source data per shard
	Parallelism    int    `json:"parallelism"`     // upload Map MaxConcurrency
	// Consistency is "snapshot" (one point in time for the whole job) or
	// "shard" (each shard consistent on its own, no lock). Empty, in a
	// job recorded before the property existed, means "shard".
	Consistency string `json:"consistency,omitempty"`
	// TTL is the snapshot's time to live ("7 DAY"), fixed at BACKUP time
	// from the ttl property or the repository's snapshot_ttl; empty: none.
	TTL string `json:"ttl,omitempty"`
}

// Consistency modes (the values of the "consistency" property).
const (
	ConsistencySnapshot = "snapshot"
	ConsistencyShard    = "shard"
)

// PointInTime reports whether the job reads all its data at one point in time.
func (o Options) PointInTime() bool { return o.Consistency == ConsistencySnapshot }

// Job types. A spec without a type is a BACKUP (every spec written before
// RESTORE existed).
const (
	TypeBackup  = "BACKUP"
	TypeRestore = "RESTORE"
)

// Spec is what a BACKUP or RESTORE statement becomes once parsed and
// validated. It is small on purpose: it travels in every Step Functions
// payload. For a RESTORE, Database is the target database, Label the
// snapshot, Objects the snapshot objects restored, and Restore the rest.
type Spec struct {
	Type       string    `json:"type,omitempty"`
	JobID      string    `json:"job_id"`
	Database   string    `json:"database"`
	Label      string    `json:"label"`
	Repository string    `json:"repository"`
	Objects    []Object  `json:"objects"`
	Options    Options   `json:"options"`
	SQL        string    `json:"sql"`
	CreatedAt  time.Time `json:"created_at"`
	Deadline   time.Time `json:"deadline"`
	// WholeDatabase is set for a BACKUP without ON: it also takes the
	// database's procedures and events.
	WholeDatabase bool `json:"whole_database,omitempty"`
	// Restore is set for a RESTORE job.
	Restore *RestoreSpec `json:"restore,omitempty"`
}

// IsRestore reports whether the spec is a RESTORE job's.
func (s Spec) IsRestore() bool { return s.Type == TypeRestore }

// Kind is the spec's job type, TypeBackup or TypeRestore.
func (s Spec) Kind() string {
	if s.IsRestore() {
		return TypeRestore
	}
	return TypeBackup
}

// NewID returns a new job id: a UUIDv7, so ids sort by creation time.
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new job id: %w", err)
	}
	return id.String(), nil
}

// Timeout is the job's timeout as a duration.
func (s Spec) Timeout() time.Duration {
	return time.Duration(s.Options.TimeoutSeconds) * time.Second
}

// Expired reports whether the job's deadline has passed at now.
func (s Spec) Expired(now time.Time) bool {
	return !s.Deadline.IsZero() && !now.Before(s.Deadline)
}

// Validate checks that the spec is complete enough to be stored and run.
func (s Spec) Validate() error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"job_id", s.JobID}, {"database", s.Database}, {"label", s.Label}, {"repository", s.Repository},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	if len(s.Objects) == 0 {
		errs = append(errs, errors.New("no objects"))
	}
	for i, o := range s.Objects {
		if !o.Kind.Valid() {
			errs = append(errs, fmt.Errorf("object %d: unknown kind %q", i, o.Kind))
		}
		if o.Name == "" {
			errs = append(errs, fmt.Errorf("object %d: empty name", i))
		}
		if o.Kind != KindTable && len(o.Partitions) > 0 {
			errs = append(errs, fmt.Errorf("object %d: partitions on a %s", i, o.Kind))
		}
	}
	if s.Options.TimeoutSeconds <= 0 {
		errs = append(errs, errors.New("timeout is not positive"))
	}
	if s.CreatedAt.IsZero() {
		errs = append(errs, errors.New("created_at is unset"))
	}
	if s.Deadline.IsZero() {
		errs = append(errs, errors.New("deadline is unset"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid job spec: %w", err)
	}
	return nil
}
