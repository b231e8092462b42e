package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// SHOW SNAPSHOT columns, in order. StarRocks 4.2 added ClusterId,
// FinishTime, TTL and ExpireTime after Status (provisional: the order was
// not verified against StarRocks' code).
var (
	// SnapshotColumns are the columns of the all / by-name / IN forms.
	SnapshotColumns = []string{"Snapshot", "Timestamp", "Status", "ClusterId", "FinishTime", "TTL", "ExpireTime"}
	// SnapshotDetailColumns are the columns of the name + timestamp form.
	SnapshotDetailColumns = []string{"Snapshot", "Timestamp", "Database", "Details", "Status", "ClusterId", "FinishTime", "TTL", "ExpireTime"}
)

// Statuses of SHOW SNAPSHOT rows.
const (
	StatusOK         = "OK"
	StatusNoSnapshot = "ERROR: no snapshot"
	statusGetInfo    = "ERROR: Failed to get info: "
)

// SnapshotRow is one row of SHOW SNAPSHOT ON repo [WHERE SNAPSHOT = … | IN (…)].
type SnapshotRow struct {
	Snapshot string
	// Timestamps lists every committed run, oldest first; SHOW SNAPSHOT
	// shows them one per line.
	Timestamps []string
	Status     string
	// Runs holds each run's lifecycle, aligned with Timestamps; the
	// lifecycle columns show them one per line like Timestamp.
	Runs []Lifecycle
}

// Row returns the row aligned with SnapshotColumns; nil entries are NULL.
func (s SnapshotRow) Row() []*string {
	var ts *string
	if len(s.Timestamps) > 0 {
		j := strings.Join(s.Timestamps, "\n")
		ts = &j
	}
	return append([]*string{&s.Snapshot, ts, &s.Status}, lifecycleCells(s.Runs)...)
}

// listConcurrency bounds the S3 listings SHOW SNAPSHOT runs at once.
const listConcurrency = 8

// ListSnapshots answers SHOW SNAPSHOT from S3 alone, so snapshots written by
// another deployment are listed too. With no names it lists every committed
// snapshot (one with an info file), by name; with names (SNAPSHOT = 's' or
// IN (…)) it returns one row per name, in the order given, with
// "ERROR: no snapshot" for a name without a committed run. A listing error
// for one name becomes that row's "ERROR: Failed to get info: …" status.
func (r *Repo) ListSnapshots(ctx context.Context, names []string) ([]SnapshotRow, error) {
	all := names == nil
	if all {
		var err error
		if names, err = r.snapshotNames(ctx); err != nil {
			return nil, err
		}
	}
	rows := make([]SnapshotRow, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listConcurrency)
	for i, name := range names {
		g.Go(func() error {
			rows[i].Snapshot = name
			runs, err := r.Runs(gctx, name)
			switch {
			case err != nil:
				rows[i].Status = statusGetInfo + err.Error()
			case len(runs) == 0:
				rows[i].Status = StatusNoSnapshot
			default:
				rows[i].Status = StatusOK
				for _, run := range runs {
					rows[i].Timestamps = append(rows[i].Timestamps, run.Timestamp)
					rows[i].Runs = append(rows[i].Runs, run.Lifecycle)
					if run.Err != nil && rows[i].Status == StatusOK {
						rows[i].Status = statusGetInfo + run.Err.Error()
					}
				}
			}
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if all {
		// In-progress, failed and foreign folders have no info file: they
		// are not snapshots.
		rows = slices.DeleteFunc(rows, func(s SnapshotRow) bool { return s.Status == StatusNoSnapshot })
	}
	return rows, nil
}

// snapshotNames lists the labels of every __ss_<label>/ folder, by name.
// Folders whose name is not a canonical escape are skipped.
func (r *Repo) snapshotNames(ctx context.Context) ([]string, error) {
	var names []string
	pg := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{
		Bucket: aws.String(r.loc.Bucket), Prefix: aws.String(r.root + snapPrefix), Delimiter: aws.String("/"),
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list snapshots of repository %s: %w", r.name, err)
		}
		for _, cp := range page.CommonPrefixes {
			seg := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), r.root+snapPrefix), "/")
			if name, err := Unescape(seg); err == nil {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// SnapshotDetail is the row of SHOW SNAPSHOT ON repo WHERE SNAPSHOT = 's'
// AND TIMESTAMP = 't'.
type SnapshotDetail struct {
	Snapshot, Timestamp string
	Database            *string // nil (NULL) unless the info file was read
	Details             *string // the job-info JSON, as StarRocks shows it
	Status              string
	Lifecycle           Lifecycle
}

// Row returns the row aligned with SnapshotDetailColumns.
func (d SnapshotDetail) Row() []*string {
	return append([]*string{&d.Snapshot, &d.Timestamp, d.Database, d.Details, &d.Status}, lifecycleCells([]Lifecycle{d.Lifecycle})...)
}

// Details is the JSON of SHOW SNAPSHOT's Details column, shaped like
// StarRocks' job-info brief.
type Details struct {
	Name          string              `json:"name"`
	Database      string              `json:"database"`
	BackupTime    int64               `json:"backup_time"`
	BackupResult  string              `json:"backup_result"`
	BackupObjects map[string][]string `json:"backup_objects"` // object → partitions
}

// Snapshot reads one snapshot run for SHOW SNAPSHOT's name + timestamp form,
// verifying the info file's checksum. A missing run gives the status
// "ERROR: no snapshot", an unreadable or corrupt one
// "ERROR: Failed to get info: …"; only a failed context is an error.
func (r *Repo) Snapshot(ctx context.Context, name, timestamp string) (SnapshotDetail, error) {
	d := SnapshotDetail{Snapshot: name, Timestamp: timestamp}
	info, err := r.ReadInfo(ctx, name, timestamp)
	switch {
	case ctx.Err() != nil:
		return d, ctx.Err()
	case isNotFound(err):
		d.Status = StatusNoSnapshot
		return d, nil
	case err != nil:
		d.Status = statusGetInfo + err.Error()
		return d, nil
	}
	det := Details{Name: info.Name, Database: info.Database, BackupTime: info.BackupTime,
		BackupResult: info.BackupResult, BackupObjects: map[string][]string{}}
	for _, o := range info.Objects {
		parts := []string{}
		for _, p := range o.Partitions {
			parts = append(parts, p.Name)
		}
		det.BackupObjects[o.Name] = parts
	}
	b, err := json.Marshal(det)
	if err != nil {
		return d, fmt.Errorf("encode details: %w", err)
	}
	details := string(b)
	d.Database, d.Details, d.Status = &info.Database, &details, StatusOK
	d.Lifecycle = LifecycleOf(info)
	return d, nil
}
