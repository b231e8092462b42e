package api

import (
	"encoding/json"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
)

// Result is the outcome of one statement. A SHOW statement fills Columns and
// Rows (NULL cells are JSON null); BACKUP fills Job and also Columns and Rows
// with the job's SHOW BACKUP row; a statement without a result set (CANCEL,
// CREATE/DROP REPOSITORY) sets OK.
type Result struct {
	Statement string      `json:"statement"` // the statement kind, e.g. "SHOW_BACKUP"
	Columns   []string    `json:"columns,omitempty"`
	Rows      [][]*string `json:"rows,omitempty"`
	Job       *Job        `json:"job,omitempty"`
	OK        bool        `json:"ok,omitempty"`
	// Database is USE's: the current database for the statements after it.
	Database string `json:"database,omitempty"`
	// Verification is the verification ADMIN VERIFY SNAPSHOT started.
	Verification *jobstore.Verification `json:"verification,omitempty"`
	// RestoreJob is a RESTORE's job; it is sent as "job".
	RestoreJob *RestoreJob `json:"-"`
}

// MarshalJSON sends a RESTORE's job under "job", as BACKUP's.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if r.RestoreJob == nil {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		Job *RestoreJob `json:"job"`
	}{plain(r), r.RestoreJob})
}

// Response is the body of POST /v1/sql. When a statement fails, Error is
// set, Results holds the results of the statements before it and the later
// statements were not run.
type Response struct {
	Results []Result `json:"results"`
	Error   *Error   `json:"error,omitempty"`
	// FailedStatement is the 0-based index of the statement that failed.
	FailedStatement *int `json:"failedStatement,omitempty"`
}

// Job is a backup job as the REST resources show it.
type Job struct {
	JobID        string    `json:"jobId"`
	SnapshotName string    `json:"snapshotName"`
	Database     string    `json:"database"`
	Repository   string    `json:"repository"`
	State        job.State `json:"state"`
	Status       string    `json:"status"`
	BackupObjs   string    `json:"backupObjs"`
	// Objects is every object of the job (BackupObjs shows the first
	// job.MaxShownObjects), and ObjectCount how many there are. A whole
	// database too big to list in the job (job.Spec.ObjectCount) has
	// only its count until it is committed; GET /v1/backups/{jobId} then
	// reads the list from the snapshot's __info.
	Objects              []job.Object   `json:"objects,omitempty"`
	ObjectCount          int            `json:"objectCount"`
	CreateTime           time.Time      `json:"createTime"`
	SnapshotFinishedTime *time.Time     `json:"snapshotFinishedTime"`
	UploadFinishedTime   *time.Time     `json:"uploadFinishedTime"`
	FinishedTime         *time.Time     `json:"finishedTime"`
	Deadline             time.Time      `json:"deadline"`
	TimeoutSeconds       int64          `json:"timeoutSeconds"`
	Progress             Progress       `json:"progress"`
	TaskErrors           map[int]string `json:"taskErrors,omitempty"` // last error by shard number
	Warnings             []string       `json:"warnings,omitempty"`
	ExecutionARN         string         `json:"executionArn,omitempty"`
	// Restore marks a RESTORE job shown in this shape by a client (never
	// sent: the API shows RESTORE jobs as RestoreJob).
	Restore bool `json:"-"`
}

// Progress counts a job's shards, and the bytes of values and rows read:
// the totals are the plan's estimates, corrected by each shard's real size
// once it is read.
type Progress struct {
	ShardsDone  int64 `json:"shardsDone"`
	ShardsTotal int64 `json:"shardsTotal"`
	BytesDone   int64 `json:"bytesDone"`
	BytesTotal  int64 `json:"bytesTotal"`
	RowsDone    int64 `json:"rowsDone"`
	RowsTotal   int64 `json:"rowsTotal"`
}

// NewJob returns rec as the API shows it.
func NewJob(rec job.Record) *Job {
	j := &Job{
		JobID:                rec.Spec.JobID,
		SnapshotName:         rec.Spec.Label,
		Database:             rec.Spec.Database,
		Repository:           rec.Spec.Repository,
		State:                rec.State,
		Status:               rec.Status.String(),
		BackupObjs:           rec.BackupObjs(),
		Objects:              rec.Spec.Objects,
		ObjectCount:          max(len(rec.Spec.Objects), rec.Spec.ObjectCount),
		CreateTime:           rec.CreateTime.UTC(),
		SnapshotFinishedTime: optTime(rec.SnapshotFinishedTime),
		UploadFinishedTime:   optTime(rec.UploadFinishedTime),
		FinishedTime:         optTime(rec.FinishedTime),
		Deadline:             rec.Spec.Deadline.UTC(),
		TimeoutSeconds:       rec.Spec.Options.TimeoutSeconds,
		Progress: Progress{
			ShardsDone: rec.ShardsDone, ShardsTotal: rec.ShardsTotal,
			BytesDone: rec.BytesDone, BytesTotal: rec.BytesTotal,
			RowsDone: rec.RowsDone, RowsTotal: rec.RowsTotal,
		},
		TaskErrors:   rec.TaskErrors,
		Warnings:     rec.Warnings,
		ExecutionARN: rec.ExecutionARN,
	}
	return j
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// showBackup is the SHOW BACKUP result set of recs.
func showBackup(kind string, recs ...job.Record) Result {
	return table(kind, job.ShowBackupColumns, recs, job.Record.ShowBackupRow)
}

// table is the result of a SHOW statement: one row per item.
func table[T any](kind string, columns []string, items []T, row func(T) []*string) Result {
	rows := make([][]*string, len(items))
	for i, it := range items {
		rows[i] = row(it)
	}
	return Result{Statement: kind, Columns: columns, Rows: rows}
}
