package job

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record is what the job store keeps for one job.
type Record struct {
	Spec  Spec  `json:"spec"`
	State State `json:"state"`

	CreateTime           time.Time `json:"create_time"`
	MetaPreparedTime     time.Time `json:"meta_prepared_time,omitzero"`     // RESTORE: end of PENDING
	DownloadFinishedTime time.Time `json:"download_finished_time,omitzero"` // RESTORE: end of DOWNLOADING
	SnapshotFinishedTime time.Time `json:"snapshot_finished_time,omitzero"`
	UploadFinishedTime   time.Time `json:"upload_finished_time,omitzero"`
	FinishedTime         time.Time `json:"finished_time,omitzero"`

	Status Status `json:"status"`
	// TaskErrors holds the last error of each shard that failed an attempt,
	// by shard number; SHOW BACKUP shows it as TaskErrMsg.
	TaskErrors map[int]string `json:"task_errors,omitempty"`

	ShardsDone  int64 `json:"shards_done"`
	ShardsTotal int64 `json:"shards_total"`
	// BytesDone and RowsDone count what was read: the bytes of the values
	// and the rows of the shards (and pieces of shards) uploaded. For a
	// BACKUP, BytesTotal and RowsTotal start as the plan's estimates and
	// are corrected by the real size of each shard once it is read, so
	// they equal the done counters when the job finishes. (For a RESTORE
	// the bytes are file bytes.)
	BytesDone  int64 `json:"bytes_done"`
	BytesTotal int64 `json:"bytes_total"`
	RowsDone   int64 `json:"rows_done,omitempty"`
	RowsTotal  int64 `json:"rows_total,omitempty"`
	// Warnings are things the job did that the user should know about,
	// such as tables read whole for lack of a key to split them on.
	Warnings []string `json:"warnings,omitempty"`

	ExecutionARN string `json:"execution_arn,omitempty"`

	// PlanSHA256 is the hex SHA-256 of the job's shard plan file, recorded
	// when it is written: the steps reading the plan refuse any other.
	PlanSHA256 string `json:"plan_sha256,omitempty"`
}

// NewRecord returns the PENDING record of a new job.
func NewRecord(spec Spec) Record {
	return Record{Spec: spec, State: Pending, CreateTime: spec.CreatedAt, Status: StatusOK()}
}

// ShardResult is the outcome of one uploaded shard: one Parquet file.
type ShardResult struct {
	Shard     int    `json:"shard"`
	Object    string `json:"object"`    // table name
	Partition string `json:"partition"` // partition name
	// Key is the file's key relative to the snapshot directory
	// (__ss_content/…), so a copied snapshot stays valid.
	Key    string `json:"key"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`  // file size
	SHA256 string `json:"sha256"` // hex SHA-256 of the file
	// SourceBytes is the bytes of the values read, the unit of the job's
	// BytesDone/BytesTotal progress.
	SourceBytes int64 `json:"source_bytes"`
	// EstBytes and EstRows are the part of the shard's planned estimate
	// this file accounts for: the job's totals are corrected by the
	// difference to what was read.
	EstBytes int64 `json:"est_bytes,omitempty"`
	EstRows  int64 `json:"est_rows,omitempty"`
	// Piece numbers the files of a shard that its reader split because it
	// was much bigger than planned: piece k+1 starts at Next, the key
	// value (in the shard's bound encoding) where piece k stopped, and
	// More says another piece follows. An unsplit shard is piece 0 with
	// More false.
	Piece int    `json:"piece,omitempty"`
	More  bool   `json:"more,omitempty"`
	Next  string `json:"next,omitempty"`
}

// Validate checks that r is a complete result.
func (r ShardResult) Validate() error {
	switch {
	case r.Shard < 0:
		return fmt.Errorf("shard result: negative shard number %d", r.Shard)
	case r.Key == "" || r.Object == "":
		return fmt.Errorf("shard result %d: empty key or object", r.Shard)
	case len(r.SHA256) != 64:
		return fmt.Errorf("shard result %d: sha256 %q is not 64 hex digits", r.Shard, r.SHA256)
	case r.Rows < 0 || r.Bytes < 0 || r.SourceBytes < 0 || r.Piece < 0:
		return fmt.Errorf("shard result %d: negative counter", r.Shard)
	}
	return nil
}

// ShowBackupColumns are SHOW BACKUP's columns, in order.
var ShowBackupColumns = []string{
	"JobId", "SnapshotName", "DbName", "State", "BackupObjs", "CreateTime",
	"SnapshotFinishedTime", "UploadFinishedTime", "FinishedTime", "UnfinishedTasks",
	"Progress", "TaskErrMsg", "Status", "Timeout",
}

// timeLayout is StarRocks' yyyy-MM-dd HH:mm:ss.
const timeLayout = time.DateTime

// FormatTime formats t as SHOW statements do, in UTC; nil for an unset time
// (shown as NULL). StarRocks uses the frontend's zone; Lambda functions run
// in UTC and a fixed zone keeps rows comparable across clients.
func FormatTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(timeLayout)
	return &s
}

// ShowBackupRow returns r as a SHOW BACKUP row, aligned with
// ShowBackupColumns; nil entries are NULL.
//
//   - BackupObjs follows StarRocks' TableRef form: "[db.t1], [db.t2PARTITIONS (p1, p2)]".
//   - UnfinishedTasks is the number of shards not yet uploaded while the
//     job runs (StarRocks lists task ids; srbackup's tasks are shards).
//   - Progress is "[shards: done/total], [bytes: done/total], [rows:
//     done/total]" once shards are planned: bytes of values and rows read,
//     totals as planned and corrected by each shard's real size.
//   - TaskErrMsg is "[<shard>: <msg>], …" by shard number, then the job's
//     warnings as "[warning: <msg>]".
func (r Record) ShowBackupRow() []*string {
	str := func(s string) *string { return &s }
	return []*string{
		str(r.Spec.JobID),
		str(r.Spec.Label),
		str(r.Spec.Database),
		str(string(r.State)),
		str(r.BackupObjs()),
		FormatTime(r.CreateTime),
		FormatTime(r.SnapshotFinishedTime),
		FormatTime(r.UploadFinishedTime),
		FormatTime(r.FinishedTime),
		str(r.unfinishedTasks()),
		str(r.progress()),
		str(r.taskErrMsg()),
		str(r.Status.String()),
		str(strconv.FormatInt(r.Spec.Options.TimeoutSeconds, 10)),
	}
}

// MaxShownObjects is how many objects SHOW BACKUP's BackupObjs lists; past
// it the column ends with how many more there are (the API's JSON and the
// snapshot's __info list them all).
const MaxShownObjects = 100

// BackupObjs formats the job's objects as SHOW BACKUP's BackupObjs column,
// the first MaxShownObjects of them.
func (r Record) BackupObjs() string {
	if r.Spec.Unlisted() {
		return fmt.Sprintf("[%s.*] (%d objects, listed in the snapshot's __info)", r.Spec.Database, r.Spec.ObjectCount)
	}
	shown := r.Spec.Objects[:min(len(r.Spec.Objects), MaxShownObjects)]
	parts := make([]string, 0, len(shown)+1)
	for _, o := range shown {
		s := "[" + r.Spec.Database + "." + o.Name
		if len(o.Partitions) > 0 {
			s += "PARTITIONS (" + strings.Join(o.Partitions, ", ") + ")"
		}
		parts = append(parts, s+"]")
	}
	if more := len(r.Spec.Objects) - len(shown); more > 0 {
		parts = append(parts, fmt.Sprintf("… (%d more)", more))
	}
	return strings.Join(parts, ", ")
}

func (r Record) unfinishedTasks() string {
	if r.State.IsFinal() || r.ShardsTotal <= r.ShardsDone {
		return ""
	}
	return strconv.FormatInt(r.ShardsTotal-r.ShardsDone, 10)
}

func (r Record) progress() string {
	if r.ShardsTotal == 0 {
		return ""
	}
	return fmt.Sprintf("[shards: %d/%d], [bytes: %d/%d], [rows: %d/%d]", r.ShardsDone, r.ShardsTotal, r.BytesDone, r.BytesTotal, r.RowsDone, r.RowsTotal)
}

func (r Record) taskErrMsg() string {
	shards := make([]int, 0, len(r.TaskErrors))
	for n := range r.TaskErrors {
		shards = append(shards, n)
	}
	sort.Ints(shards)
	parts := make([]string, len(shards), len(shards)+len(r.Warnings))
	for i, n := range shards {
		parts[i] = fmt.Sprintf("[%d: %s]", n, r.TaskErrors[n])
	}
	for _, w := range r.Warnings {
		parts = append(parts, "[warning: "+w+"]")
	}
	return strings.Join(parts, ", ")
}
