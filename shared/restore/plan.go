package restore

import (
	"strconv"
	"strings"

	"github.com/srbackup/srbackup/shared/job"
)

// Table modes: how Commit puts a restored table in place.
const (
	// ModeCreate: the table does not exist; its shadow is renamed to it and
	// its foreign keys are added.
	ModeCreate = "create"
	// ModeSwap: the table exists with the same schema; one RENAME TABLE
	// swaps the shadow in and keeps the old table as the undo copy.
	ModeSwap = "swap"
	// ModeExchange: some partitions of an existing partitioned table are
	// restored; each is exchanged with its loaded shadow, which then holds
	// the old rows.
	ModeExchange = "exchange"
	// ModeInPlace: the table exists and takes part in foreign keys, which
	// InnoDB would move with a renamed table; its rows are replaced in one
	// transaction, after an undo copy is taken.
	ModeInPlace = "inplace"
)

// Plan is what Prepare decided; it travels to Commit in the state payload
// and is kept in the job's journal for Cleanup.
type Plan struct {
	Tables     []TablePlan   `json:"tables,omitempty"`
	Views      []RoutinePlan `json:"views,omitempty"`
	Functions  []RoutinePlan `json:"functions,omitempty"`
	Procedures []RoutinePlan `json:"procedures,omitempty"`
	Triggers   []RoutinePlan `json:"triggers,omitempty"`
	Events     []RoutinePlan `json:"events,omitempty"` // created DISABLED
	// Files and Bytes are the totals of the data files to load.
	Files   int64   `json:"files"`
	Bytes   int64   `json:"bytes"`
	Batches []Batch `json:"batches"` // never null: the Map reads it
}

// TablePlan is one restored table.
type TablePlan struct {
	Name   string `json:"name"`   // in the snapshot
	Target string `json:"target"` // in the target database
	Mode   string `json:"mode"`
	Shadow string `json:"shadow"`
	Old    string `json:"old,omitempty"` // swap, inplace: the undo copy
	// Partitions (exchange): each restored partition and its shadow.
	Partitions []PartitionPlan `json:"partitions,omitempty"`
	// ForeignKeys (create) are added after the rename.
	ForeignKeys []string `json:"foreign_keys,omitempty"`
	// Columns (inplace) are the columns copied, generated ones excluded.
	Columns       []string `json:"columns,omitempty"`
	AutoIncrement int64    `json:"auto_increment,omitempty"`
	// UpdateTime is the existing table's INFORMATION_SCHEMA.UPDATE_TIME at
	// Prepare: a table written while the job ran is not replaced.
	UpdateTime string `json:"update_time,omitempty"`
	// OldTriggers (swap, inplace) are the existing table's triggers,
	// replaced by the snapshot's.
	OldTriggers []string `json:"old_triggers,omitempty"`
}

// PartitionPlan is one partition exchanged into an existing table.
type PartitionPlan struct {
	Name   string `json:"name"`
	Shadow string `json:"shadow"`
}

// RoutinePlan is one view, function, procedure, trigger or event, with the
// statement that creates it and the sql_mode it was created with.
type RoutinePlan struct {
	Name    string `json:"name"`   // in the snapshot
	Target  string `json:"target"` // in the target database
	DDL     string `json:"ddl"`
	SQLMode string `json:"sql_mode,omitempty"`
}

// Batch is one LoadBatch invocation's files.
type Batch struct {
	Files []FileTask `json:"files"`
}

// FileTask is one data file and the shadow table it is loaded into.
type FileTask struct {
	Into   string `json:"into"`
	Key    string `json:"key"`
	Bytes  int64  `json:"bytes"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// Names of a job's own objects in the target database. They start with
// the job's tag, so cleanup finds them all and they never collide with
// another job's.
func tag(jobID string) string {
	hex := strings.ReplaceAll(jobID, "-", "")
	if len(hex) > 12 {
		hex = hex[len(hex)-12:] // the random end of a UUIDv7
	}
	return hex
}

func shadowPrefix(jobID string) string { return "__srr_" + tag(jobID) + "_" }
func oldPrefix(jobID string) string    { return "__sro_" + tag(jobID) + "_" }
func shadowName(jobID string, n int) string {
	return shadowPrefix(jobID) + strconv.Itoa(n)
}
func oldName(jobID string, n int) string { return oldPrefix(jobID) + strconv.Itoa(n) }

// journalName is the journal table before COMMITTING renames it (in the
// same atomic RENAME TABLE that swaps the tables in) to committedName, so
// its name says whether the swap happened.
func journalName(jobID string) string   { return shadowPrefix(jobID) + "j" }
func committedName(jobID string) string { return shadowPrefix(jobID) + "c" }

// State is the payload between the restore job's states.
type State struct {
	Job          job.Spec `json:"job"`
	ExecutionARN string   `json:"executionArn"`
	Plan         *Plan    `json:"plan,omitempty"`
}

// LoadEvent is one LoadBatch Map item.
type LoadEvent struct {
	Job   job.Spec `json:"job"`
	Batch Batch    `json:"batch"`
}

// LoadResult is what LoadBatch reports.
type LoadResult struct {
	Batch struct {
		Files int   `json:"files"`
		Rows  int64 `json:"rows"`
	} `json:"batch"`
}

// maxBatches bounds the Map's items; beyond it files share batches.
const maxBatches = 1000

// batches spreads files over batches: one file each up to maxBatches, so
// the Map's MaxConcurrency decides how many load at once.
func batches(files []FileTask) []Batch {
	n := min(len(files), maxBatches)
	out := make([]Batch, n) // empty, not nil, without files
	for i, f := range files {
		out[i%n].Files = append(out[i%n].Files, f)
	}
	return out
}
