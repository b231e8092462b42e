package job

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// RestoreSpec is what a RESTORE job needs beyond Spec: where the snapshot
// comes from and what each object becomes.
type RestoreSpec struct {
	// SnapshotDatabase is the database the snapshot was taken of.
	SnapshotDatabase string `json:"snapshot_database"`
	// Timestamp is the backup_timestamp property: the info file's suffix.
	Timestamp string `json:"timestamp"`
	// Renames maps a snapshot object name to the name it is restored as
	// (the ON clause's AS); objects not listed keep their name.
	Renames map[string]string `json:"renames,omitempty"`
	// AllowLoad and ReplicationNum are StarRocks properties that are
	// validated and shown but have no effect on a MySQL-protocol target.
	AllowLoad      bool `json:"allow_load"`
	ReplicationNum int  `json:"replication_num"`
	// WholeSnapshot is set for a RESTORE without ON: it also restores the
	// snapshot's procedures and events.
	WholeSnapshot bool `json:"whole_snapshot,omitempty"`
}

// TargetName is the name object name is restored as.
func (r *RestoreSpec) TargetName(name string) string {
	if r != nil {
		if a, ok := r.Renames[name]; ok && a != "" {
			return a
		}
	}
	return name
}

// The RESTORE job states, in the order a successful job passes through them
// (StarRocks' RestoreJob states).
const (
	Download    State = "DOWNLOAD"    // shadow tables created; load batches planned
	Downloading State = "DOWNLOADING" // data files being loaded into the shadow tables
	Commit      State = "COMMIT"      // every file loaded; about to swap
	Committing  State = "COMMITTING"  // swapping in tables, partitions, views and functions
)

var restoreOrder = []State{Pending, Snapshoting, Download, Downloading, Commit, Committing, Finished}

// ShowRestoreColumns are SHOW RESTORE's 18 columns, in order.
var ShowRestoreColumns = []string{
	"JobId", "Label", "Timestamp", "DbName", "State", "AllowLoad", "ReplicationNum",
	"RestoreObjs", "CreateTime", "MetaPreparedTime", "SnapshotFinishedTime",
	"DownloadFinishedTime", "FinishedTime", "UnfinishedTasks", "Progress",
	"TaskErrMsg", "Status", "Timeout",
}

// ShowRestoreRow returns r (a RESTORE job) as a SHOW RESTORE row, aligned
// with ShowRestoreColumns; nil entries are NULL.
//
//   - RestoreObjs names the snapshot's objects (not the aliases) as
//     StarRocks does: "t1, t2 PARTITIONS [p1, p2], v1".
//   - UnfinishedTasks is the number of data files not yet loaded.
//   - Progress is "[files: done/total], [bytes: done/total]" (file bytes).
func (r Record) ShowRestoreRow() []*string {
	str := func(s string) *string { return &s }
	rs := r.Spec.Restore
	if rs == nil {
		rs = &RestoreSpec{}
	}
	return []*string{
		str(r.Spec.JobID),
		str(r.Spec.Label),
		str(rs.Timestamp),
		str(r.Spec.Database),
		str(string(r.State)),
		str(strconv.FormatBool(rs.AllowLoad)),
		str(strconv.Itoa(rs.ReplicationNum)),
		str(r.RestoreObjs()),
		FormatTime(r.CreateTime),
		FormatTime(r.MetaPreparedTime),
		FormatTime(r.SnapshotFinishedTime),
		FormatTime(r.DownloadFinishedTime),
		FormatTime(r.FinishedTime),
		str(r.unfinishedTasks()),
		str(r.restoreProgress()),
		str(r.taskErrMsg()),
		str(r.Status.String()),
		str(strconv.FormatInt(r.Spec.Options.TimeoutSeconds, 10)),
	}
}

// RestoreObjs formats a RESTORE job's objects as SHOW RESTORE's
// RestoreObjs, the first MaxShownObjects of them, then how many more; a job
// too big to list them in its spec (Spec.ObjectCount) shows their count.
func (r Record) RestoreObjs() string {
	if r.Spec.Unlisted() {
		if r.Spec.Restore != nil && r.Spec.Restore.WholeSnapshot {
			return fmt.Sprintf("* (all %d objects of the snapshot, listed in its __info)", r.Spec.ObjectCount)
		}
		return fmt.Sprintf("(%d objects: the statement's ON list, resolved against the snapshot's __info)", r.Spec.ObjectCount)
	}
	shown := r.Spec.Objects[:min(len(r.Spec.Objects), MaxShownObjects)]
	parts := make([]string, 0, len(shown)+1)
	for _, o := range shown {
		s := o.Name
		if len(o.Partitions) > 0 {
			s += " PARTITIONS [" + strings.Join(o.Partitions, ", ") + "]"
		}
		parts = append(parts, s)
	}
	if more := len(r.Spec.Objects) - len(shown); more > 0 {
		parts = append(parts, fmt.Sprintf("… (%d more)", more))
	}
	return strings.Join(parts, ", ")
}

func (r Record) restoreProgress() string {
	if r.ShardsTotal == 0 {
		return ""
	}
	return "[files: " + strconv.FormatInt(r.ShardsDone, 10) + "/" + strconv.FormatInt(r.ShardsTotal, 10) +
		"], [bytes: " + strconv.FormatInt(r.BytesDone, 10) + "/" + strconv.FormatInt(r.BytesTotal, 10) + "]"
}

// ErrNoRunningRestore is returned by CANCEL RESTORE when the database's last
// job is not a RESTORE (StarRocks' text, without the word "job").
func ErrNoRunningRestore() *NotFoundError {
	return &NotFoundError{Message: "No restore is currently running"}
}

// SubmitError is a RESTORE refused at submission (StarRocks' S checks: the
// repository, the snapshot's info file, the objects named): a plain text,
// with no "Getting analyzing error" wrapper. Not retried.
type SubmitError struct{ Message string }

func (e *SubmitError) Error() string { return e.Message }

// HTTPStatus is 400.
func (e *SubmitError) HTTPStatus() int { return http.StatusBadRequest }

// Code is "SUBMIT_ERROR".
func (e *SubmitError) Code() string { return "SUBMIT_ERROR" }

// CheckError is a RESTORE job's own check failing inside the job
// (StarRocks' J checks): the job ends CANCELLED with Status. Its message
// is "[CODE] text", so the code survives Step Functions' Cause, which
// carries only the message. Not retried.
type CheckError struct{ Status Status }

func (e *CheckError) Error() string { return "[" + string(e.Status.Code) + "] " + e.Status.Message }

// HTTPStatus is 409.
func (e *CheckError) HTTPStatus() int { return http.StatusConflict }

// Code is "CHECK_FAILED".
func (e *CheckError) Code() string { return "CHECK_FAILED" }

// NewCheckError returns a CheckError with the given code and text.
func NewCheckError(code StatusCode, msg string) *CheckError {
	return &CheckError{Status: NewStatus(code, msg)}
}

// ParseCheckError reverses CheckError.Error.
func ParseCheckError(msg string) (Status, bool) {
	inner, ok := strings.CutPrefix(msg, "[")
	if !ok {
		return Status{}, false
	}
	code, text, ok := strings.Cut(inner, "] ")
	if !ok || !StatusCode(code).Valid() {
		return Status{}, false
	}
	return NewStatus(StatusCode(code), text), true
}

// ErrCannotCancelCommitting is returned by CANCEL RESTORE while the job
// swaps its tables in: srbackup finishes or reverses COMMITTING itself
// rather than leave the target half restored.
func ErrCannotCancelCommitting(label string) *ConflictError {
	return &ConflictError{Message: fmt.Sprintf("Job with label %s can not be cancelled. state: %s "+
		"(srbackup finishes COMMITTING, or puts every replaced object back if it fails)", label, Committing)}
}
