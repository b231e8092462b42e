package restore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
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

// Plan is what Prepare decided. It is kept in the job's journal (a row of
// the target database, written by Prepare), where Commit and Cleanup read
// it; its batches go to the work area as the load Map's items. Only a
// PlanRef travels in the state payload, whatever the job's size.
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
	Batches []Batch `json:"batches,omitempty"` // the Map's items; not journaled
}

// PlanRef is what travels of the plan in the state payload: where the load
// Map's items are and how they are grouped, and the totals. Its size does
// not grow with the job.
type PlanRef struct {
	// Items is the work area's JSON array of Batch (ItemReader), PerChild
	// how many batches each child execution loads, one after another
	// (ItemBatcher).
	Items    pipeline.MapItems `json:"items"`
	Batches  int               `json:"batches"`
	PerChild int               `json:"perChild"`
	Files    int64             `json:"files"`
	Bytes    int64             `json:"bytes"`
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
	Plan         *PlanRef `json:"plan,omitempty"`
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

// Batching bounds. The batches are the load Map's items, read from S3, so
// their number is bound by neither the state payload nor one execution's
// history; what bounds them is a child execution's input (256 KB: its
// batches and the job spec) and the per-invocation overhead.
const (
	// spreadBatches: up to this many files, each is a batch of its own, so
	// the Map's concurrency decides how many load at once; past it files
	// share batches, round robin.
	spreadBatches = 1000
	// maxBatchFiles bounds one batch's list: a FileTask is at most about
	// 1.3 KB of JSON (a key of S3's 1,024 bytes), so a batch stays under
	// about 85 KB. Past spreadBatches × maxBatchFiles files, batches grow in
	// number instead.
	maxBatchFiles = 64
	// maxChildItemsBytes bounds the batches one child execution gets
	// (perChild × the largest batch), leaving the rest of the 256 KB
	// payload to the spec and the child's own states.
	maxChildItemsBytes = 128 << 10
)

// batches spreads files over batches, round robin: one file each up to
// spreadBatches, then at most maxBatchFiles each.
func batches(files []FileTask) []Batch {
	n := max(min(len(files), spreadBatches), (len(files)+maxBatchFiles-1)/maxBatchFiles)
	out := make([]Batch, n) // empty, not nil, without files
	for i, f := range files {
		out[i%n].Files = append(out[i%n].Files, f)
	}
	return out
}

// perChild is how many batches each load Map child runs: the backup's rule
// (pipeline.PerChild), bounded so a child's batches take at most
// maxChildItemsBytes of its input.
func perChild(bs []Batch, parallelism int) (int, error) {
	largest := 0
	for _, b := range bs {
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, fmt.Errorf("encode load batch: %w", err)
		}
		largest = max(largest, len(raw))
	}
	n := pipeline.PerChild(len(bs), parallelism)
	if largest > 0 {
		n = min(n, max(1, maxChildItemsBytes/largest))
	}
	return n, nil
}
