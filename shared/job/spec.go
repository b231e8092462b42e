package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	// RequestedParallelism is the parallelism asked for when Parallelism,
	// the one granted, is less (pipeline.GrantParallelism); zero otherwise.
	RequestedParallelism int `json:"requested_parallelism,omitempty"`
}

// Grant lowers Parallelism to granted when that is less, keeping the
// parallelism first asked for in RequestedParallelism (a job may be lowered
// more than once: at submission, then by the target's connection limit).
// It reports whether it lowered.
func (o *Options) Grant(granted int) bool {
	if granted >= o.Parallelism {
		return false
	}
	if o.RequestedParallelism == 0 {
		o.RequestedParallelism = o.Parallelism
	}
	o.Parallelism = granted
	return true
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
	// ObjectCount is set, and Objects left empty, for a whole-database
	// BACKUP or a RESTORE whose object list is longer than
	// MaxSpecObjectsBytes: the spec travels in every Step Functions payload
	// (256 KB) and lives in the job's DynamoDB item (400 KB). A BACKUP's
	// SnapshotShard lists the database's objects again and the plan, in
	// S3, holds the list (and the snapshot's __meta and __info after it); a
	// RESTORE's Prepare resolves the statement against the snapshot's
	// __info again (its objects are a function of the two).
	ObjectCount int `json:"object_count,omitempty"`
	// Restore is set for a RESTORE job.
	Restore *RestoreSpec `json:"restore,omitempty"`
	// RepositoryID and RepositoryLocation pin the registered repository the
	// job was locked with: one dropped and created again under the same
	// name fails the job instead of redirecting it (pipeline.PinRepository).
	RepositoryID       int64  `json:"repository_id,omitempty"`
	RepositoryLocation string `json:"repository_location,omitempty"`
	// FoldedNames says the source compares database names
	// case-insensitively (lower_case_table_names 1 or 2): SHOP and shop
	// are one database, and one lock (LockName).
	FoldedNames bool `json:"folded_names,omitempty"`
}

// MaxSpecObjectsBytes is the most JSON a spec's object list may take by
// default: a whole-database BACKUP with a longer one leaves it to the plan
// (ObjectCount), and any other job is refused (DeferObjects).
const MaxSpecObjectsBytes = 32 << 10

// DeferObjects keeps the spec small enough to travel in Step Functions
// payloads and DynamoDB items whatever the database's size: a
// whole-database BACKUP, or a RESTORE, whose object list is over limit
// bytes of JSON (zero: MaxSpecObjectsBytes) drops it (the objects are
// listed again when the job plans, see ObjectCount). A BACKUP naming that
// many objects in ON is refused with an AnalysisError, and a RESTORE whose
// statement (the spec keeps it) or renames are that long with a
// SubmitError.
func (s *Spec) DeferObjects(limit int) error {
	if limit <= 0 {
		limit = MaxSpecObjectsBytes
	}
	b, err := json.Marshal(s.Objects)
	if err != nil {
		return fmt.Errorf("encode objects: %w", err)
	}
	if len(b) <= limit {
		return nil
	}
	if s.IsRestore() {
		var renames []byte
		if s.Restore != nil {
			if renames, err = json.Marshal(s.Restore.Renames); err != nil {
				return fmt.Errorf("encode renames: %w", err)
			}
		}
		// The statement stays in the spec: one whose ON list is that long
		// is refused (bounded by the default whatever limit says, which
		// tests lower to defer small lists).
		if most := max(limit, MaxSpecObjectsBytes); len(s.SQL)+len(renames) > most {
			return &SubmitError{Message: fmt.Sprintf("%d objects are too many for one job: the statement names them in %d bytes, at most %d; "+
				"restore the whole snapshot, or ON (ALL TABLES), or in several jobs", len(s.Objects), len(s.SQL)+len(renames), most)}
		}
	} else if !s.WholeDatabase {
		return &AnalysisError{Detail: fmt.Sprintf("%d objects are too many for one job (their list takes %d bytes, at most %d): back up the whole database without ON, or in several jobs", len(s.Objects), len(b), limit)}
	}
	s.ObjectCount, s.Objects = len(s.Objects), nil
	return nil
}

// Unlisted reports whether the spec carries only the count of its objects
// (ObjectCount), not their list.
func (s Spec) Unlisted() bool { return s.ObjectCount > 0 && len(s.Objects) == 0 }

// LockName is the name the job's database lock is taken under: the
// database, lower-cased where the server folds names.
func (s Spec) LockName() string {
	if s.FoldedNames {
		return strings.ToLower(s.Database)
	}
	return s.Database
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
	switch {
	case s.ObjectCount > 0 && (len(s.Objects) > 0 || !s.WholeDatabase && !s.IsRestore()):
		errs = append(errs, errors.New("an object count without a whole database to list"))
	case len(s.Objects) == 0 && s.ObjectCount == 0:
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
