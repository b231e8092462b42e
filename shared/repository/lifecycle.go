package repository

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// showTimeLayout is how SHOW SNAPSHOT shows FinishTime and ExpireTime, as
// SHOW BACKUP shows its times (UTC).
const showTimeLayout = "2006-01-02 15:04:05"

// Lifecycle is what an info file records about a snapshot run's life: who
// wrote it, when it was committed and when it expires. SHOW SNAPSHOT shows
// it as ClusterId, FinishTime, TTL and ExpireTime.
type Lifecycle struct {
	// JobID is the job that wrote the run (not shown by SHOW SNAPSHOT).
	JobID        string
	DeploymentID string
	FinishTime   time.Time
	TTL          string
	ExpireTime   time.Time
}

// LifecycleOf returns the lifecycle fields of an info manifest.
func LifecycleOf(i Info) Lifecycle {
	return Lifecycle{JobID: i.JobID, DeploymentID: i.DeploymentID, FinishTime: i.FinishTime, TTL: i.TTL, ExpireTime: i.ExpireTime}
}

// Expired reports whether the run has an expire time and it has passed at now.
func (l Lifecycle) Expired(now time.Time) bool {
	return !l.ExpireTime.IsZero() && !now.Before(l.ExpireTime)
}

// cells returns ClusterId, FinishTime, TTL, ExpireTime as strings ("" for
// unset).
func (l Lifecycle) cells() [4]string {
	t := func(v time.Time) string {
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(showTimeLayout)
	}
	return [4]string{l.DeploymentID, t(l.FinishTime), l.TTL, t(l.ExpireTime)}
}

// lifecycleCells joins the lifecycle cells of several runs one per line,
// aligned with the Timestamp cell; a column with nothing in any run is NULL.
func lifecycleCells(runs []Lifecycle) []*string {
	out := make([]*string, 4)
	for col := range out {
		lines := make([]string, len(runs))
		any := false
		for i, r := range runs {
			lines[i] = r.cells()[col]
			any = any || lines[i] != ""
		}
		if any {
			j := strings.Join(lines, "\n")
			out[col] = &j
		}
	}
	return out
}

// DropResult is what DropSnapshot deleted.
type DropResult struct {
	// Timestamps are the info files (commit markers) it deleted.
	Timestamps []string
	// Objects is how many other objects it deleted; Uploads how many open
	// multipart uploads it aborted.
	Objects int
	Uploads int
}

// dropHook lets tests stop DropSnapshot between its two phases.
var dropHook func(stage string) error

// DropSnapshot deletes a snapshot: first every __info_* file, in one
// request, so that the snapshot disappears from SHOW SNAPSHOT and RESTORE at
// once and is never seen half there; then every other object under
// __ss_<label>/ (open multipart uploads aborted). Run again after an
// interruption it removes what is left. Safe to call on a label with
// nothing under it. Deciding whether the snapshot may be dropped is the
// caller's part (lifecycle.Drop).
//
// In a versioned bucket the deletes leave delete markers: the old versions
// stay recoverable until the bucket's noncurrent-version expiry removes
// them. Under S3 Object Lock a retained object cannot be deleted and the
// error says so.
func (r *Repo) DropSnapshot(ctx context.Context, label string) (DropResult, error) {
	var res DropResult
	p, err := r.SnapshotPrefix(label)
	if err != nil {
		return res, err
	}
	ts, err := r.Timestamps(ctx, label)
	if err != nil {
		return res, err
	}
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = p + infoPrefix + t
	}
	if err := r.DeleteKeys(ctx, keys); err != nil {
		return res, fmt.Errorf("drop snapshot %s: delete its info files: %w", label, err)
	}
	res.Timestamps = ts
	if dropHook != nil {
		if err := dropHook("markers deleted"); err != nil {
			return res, err
		}
	}
	if res.Uploads, err = r.AbortMultipartUploads(ctx, p, nil); err != nil {
		return res, fmt.Errorf("drop snapshot %s: %w", label, err)
	}
	if res.Objects, err = r.DeletePrefix(ctx, p); err != nil {
		return res, fmt.Errorf("drop snapshot %s: %w", label, err)
	}
	return res, nil
}

// Run is one committed run of a snapshot with its lifecycle, or the error
// reading its info file.
type Run struct {
	Timestamp string
	Lifecycle Lifecycle
	Err       error
}

// Runs lists a snapshot's committed runs, oldest first, reading each info
// file (checksum verified) for its lifecycle.
func (r *Repo) Runs(ctx context.Context, label string) ([]Run, error) {
	ts, err := r.Timestamps(ctx, label)
	if err != nil {
		return nil, err
	}
	runs := make([]Run, len(ts))
	for i, t := range ts {
		runs[i].Timestamp = t
		info, err := r.ReadInfo(ctx, label, t)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		runs[i].Lifecycle, runs[i].Err = LifecycleOf(info), err
	}
	return runs, nil
}

// Labels lists the labels of every __ss_<label>/ folder in the repository,
// committed or not, by name.
func (r *Repo) Labels(ctx context.Context) ([]string, error) { return r.snapshotNames(ctx) }
