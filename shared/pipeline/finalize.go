package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/metrics"
	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/sql"
)

// FinalizeResult is the Finalize state's output: the execution's result.
type FinalizeResult struct {
	Job      job.Spec    `json:"job"`
	Snapshot SnapshotRef `json:"snapshot"`
}

// SnapshotRef names a committed snapshot as SHOW SNAPSHOT does.
type SnapshotRef struct {
	Repository string `json:"repository"`
	Name       string `json:"name"`
	Timestamp  string `json:"timestamp"`
	Files      int    `json:"files"`
	Rows       int64  `json:"rows"`
	Bytes      int64  `json:"bytes"`
}

// Finalize commits a snapshot. It checks that every planned shard is
// recorded and that every recorded file is in the repository with its size,
// writes __meta, then __info_<timestamp> (the commit marker: without it the
// snapshot does not exist), and marks the job FINISHED, releasing the lock.
// UPLOADING → SAVE_META → UPLOAD_INFO → FINISHED.
func (p *Pipeline) Finalize(ctx context.Context, st JobState) (FinalizeResult, error) {
	spec := st.Job
	repo, err := p.JobRepository(ctx, spec, nil)
	if err != nil {
		return FinalizeResult{}, err
	}
	if _, err := p.Store.Active(ctx, spec.JobID); err != nil {
		if rec, gerr := p.Store.Get(ctx, spec.JobID); gerr == nil && rec.State == job.Finished {
			// A retry after a success whose response was lost.
			return p.finished(ctx, repo, spec)
		}
		return FinalizeResult{}, err
	}
	var plan Plan
	if err := p.readPlan(ctx, repo, spec, planFile(spec.JobID), &plan); err != nil {
		return FinalizeResult{}, err
	}
	results, err := p.Store.Shards(ctx, spec.JobID)
	if err != nil {
		return FinalizeResult{}, transient("read shard results", err)
	}
	dir, err := repo.SnapshotPrefix(spec.Label)
	if err != nil {
		return FinalizeResult{}, err
	}
	present, err := repo.List(ctx, dir+repository.ContentDir+"/")
	if err != nil {
		return FinalizeResult{}, transient("list snapshot files", err)
	}
	if err := verifyShards(&plan, results, present, dir); err != nil {
		return FinalizeResult{}, err
	}
	var pit *repository.PointInTime
	if plan.PointInTime() {
		if pit, err = p.verifyPointInTime(ctx, spec, &plan); err != nil {
			return FinalizeResult{}, err
		}
	}
	if _, err := p.Store.Advance(ctx, spec.JobID, job.SaveMeta, p.now()); err != nil {
		return FinalizeResult{}, err
	}
	// The source as the plan recorded it: Finalize does not reach the source.
	src := repository.Source{Kind: cmp.Or(plan.Dialect, source.DialectMySQL), Version: plan.Version}
	meta, err := buildMeta(spec, &plan, src)
	if err != nil {
		return FinalizeResult{}, err
	}
	metaRef, err := repo.WriteMeta(ctx, spec.Label, meta)
	if err != nil {
		return FinalizeResult{}, transient("write __meta", err)
	}
	if _, err := p.Store.Advance(ctx, spec.JobID, job.UploadInfo, p.now()); err != nil {
		return FinalizeResult{}, err
	}
	info := buildInfo(spec, &plan, results, src, metaRef)
	info.PointInTime = pit
	if err := p.stampLifecycle(ctx, spec, &info); err != nil {
		return FinalizeResult{}, err
	}
	ts, err := repo.WriteInfo(ctx, info)
	if err != nil {
		return FinalizeResult{}, transient("write __info", err)
	}
	if _, err := p.Store.Finish(ctx, spec.JobID, p.now()); err != nil {
		var c *job.CancelledError
		if errors.As(err, &c) {
			// Cancelled while committing: take the commit back, so that no
			// snapshot of a cancelled job is ever listed.
			keys := []string{dir + "__info_" + ts, dir + "__meta"}
			if derr := repo.DeleteKeys(context.WithoutCancel(ctx), keys); derr != nil {
				p.log().Warn("delete manifest of cancelled job", "jobId", spec.JobID, "error", derr)
			}
		}
		return FinalizeResult{}, err
	}
	// The plan is scaffolding; the snapshot describes itself.
	if err := repo.DeleteKeys(ctx, []string{dir + planFile(spec.JobID)}); err != nil {
		p.log().Warn("delete shard plan", "jobId", spec.JobID, "error", err)
	}
	ref := SnapshotRef{Repository: spec.Repository, Name: spec.Label, Timestamp: ts, Files: len(results)}
	for _, r := range results {
		ref.Rows += r.Rows
		ref.Bytes += r.Bytes
	}
	if rec, err := p.Store.Get(ctx, spec.JobID); err == nil {
		p.emitJob(rec, ref)
	}
	p.log().Info("snapshot committed", "jobId", spec.JobID, "label", spec.Label, "timestamp", ts, "files", ref.Files, "rows", ref.Rows, "bytes", ref.Bytes)
	return FinalizeResult{Job: spec, Snapshot: ref}, nil
}

// stampLifecycle records in the info manifest who commits the snapshot and
// when, and when it expires (the job's TTL after the commit).
func (p *Pipeline) stampLifecycle(ctx context.Context, spec job.Spec, info *repository.Info) error {
	id, err := p.Store.DeploymentID(ctx)
	if err != nil {
		return transient("read deployment id", err)
	}
	info.DeploymentID = id
	info.FinishTime = p.now().UTC().Truncate(time.Millisecond)
	if spec.Options.TTL != "" {
		ttl, err := sql.ParseTTL(sql.PropTTL, spec.Options.TTL)
		if err != nil {
			return fmt.Errorf("job %s: %w", spec.JobID, err)
		}
		info.TTL, info.ExpireTime = ttl.String(), ttl.After(info.FinishTime)
	}
	return nil
}

// finished describes the committed snapshot of a finished job.
func (p *Pipeline) finished(ctx context.Context, repo *repository.Repo, spec job.Spec) (FinalizeResult, error) {
	results, err := p.Store.Shards(ctx, spec.JobID)
	if err != nil {
		return FinalizeResult{}, transient("read shard results", err)
	}
	ref := SnapshotRef{Repository: spec.Repository, Name: spec.Label, Timestamp: repository.FormatTimestamp(spec.CreatedAt), Files: len(results)}
	for _, r := range results {
		ref.Rows += r.Rows
		ref.Bytes += r.Bytes
	}
	return FinalizeResult{Job: spec, Snapshot: ref}, nil
}

// verifyShards checks every planned shard is recorded completely (one
// result, or the unbroken chain of pieces its reader split it into) and
// that each result's file is present with the recorded size.
func verifyShards(plan *Plan, results []job.ShardResult, present map[string]int64, dir string) error {
	byShard := make(map[int][]job.ShardResult, len(results))
	for _, r := range results {
		byShard[r.Shard] = append(byShard[r.Shard], r)
	}
	for _, s := range plan.Shards {
		rs := byShard[s.N]
		if len(rs) == 0 {
			return fmt.Errorf("shard %d (%s.%s %s) has no recorded result", s.N, s.Shard.Database, s.Shard.Table, s.Shard.Partition)
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].Piece < rs[j].Piece })
		for i, r := range rs {
			if r.Piece != i || r.More != (i < len(rs)-1) {
				return fmt.Errorf("shard %d: its pieces are incomplete (piece %d of %d, more %t)", s.N, r.Piece, len(rs), r.More)
			}
			size, ok := present[dir+r.Key]
			if !ok {
				return fmt.Errorf("shard %d: file %s is missing from the repository", s.N, r.Key)
			}
			if size != r.Bytes {
				return fmt.Errorf("shard %d: file %s has %d bytes, recorded %d", s.N, r.Key, size, r.Bytes)
			}
		}
	}
	if len(byShard) != len(plan.Shards) {
		return fmt.Errorf("%d shard results for %d planned shards", len(byShard), len(plan.Shards))
	}
	return nil
}

func buildMeta(spec job.Spec, plan *Plan, src repository.Source) (repository.Meta, error) {
	m := repository.Meta{FormatVersion: repository.FormatVersion, Name: spec.Label, Database: spec.Database, JobID: spec.JobID, Source: src}
	for _, o := range plan.Objects {
		if o.Kind == string(job.KindFunction) {
			m.Functions = append(m.Functions, repository.FunctionMeta{Name: o.Name, DDL: o.DDL.Statement, SQLMode: o.DDL.SQLMode})
			continue
		}
		om := repository.ObjectMeta{Kind: o.Kind, Name: o.Name, DDL: o.DDL.Statement}
		if o.Kind == string(job.KindTable) {
			specs, err := parquetio.Specs(o.Columns)
			if err != nil {
				return m, fmt.Errorf("table %s: %w", o.Name, err)
			}
			for _, c := range specs {
				pt := c.Physical
				if c.Logical != "" {
					pt += " " + c.Logical
				}
				om.Columns = append(om.Columns, repository.Column{Name: c.Name, SourceType: c.SourceType, Parquet: pt, Nullable: c.Nullable})
			}
			for _, part := range o.Partitions {
				pm := repository.PartitionMeta{Name: part.Name}
				if part.Method != "NONE" {
					pm.Method, pm.Description = part.Method, part.Description
				}
				om.Partitions = append(om.Partitions, pm)
			}
		}
		m.Objects = append(m.Objects, om)
	}
	for _, tr := range plan.Triggers {
		m.Triggers = append(m.Triggers, repository.TriggerMeta{Name: tr.Name, Table: tr.Table, DDL: tr.DDL.Statement, SQLMode: tr.DDL.SQLMode})
	}
	for _, r := range plan.Procedures {
		m.Procedures = append(m.Procedures, repository.FunctionMeta{Name: r.Name, DDL: r.DDL.Statement, SQLMode: r.DDL.SQLMode})
	}
	for _, r := range plan.Events {
		m.Events = append(m.Events, repository.FunctionMeta{Name: r.Name, DDL: r.DDL.Statement, SQLMode: r.DDL.SQLMode, TimeZone: r.DDL.TimeZone})
	}
	return m, nil
}

func buildInfo(spec job.Spec, plan *Plan, results []job.ShardResult, src repository.Source, meta repository.FileRef) repository.Info {
	info := repository.Info{
		FormatVersion: repository.FormatVersion, Name: spec.Label, Database: spec.Database, JobID: spec.JobID,
		BackupTime: spec.CreatedAt.UnixMilli(), SnapshotTime: plan.Time, BackupResult: "OK",
		Source: src, Compression: spec.Options.Compression, Meta: meta, Consistency: plan.Consistency,
	}
	files := map[[2]string][]job.ShardResult{}
	for _, r := range results {
		k := [2]string{r.Object, r.Partition}
		files[k] = append(files[k], r)
	}
	for _, o := range plan.Objects {
		od := repository.ObjectData{Kind: o.Kind, Name: o.Name}
		for _, part := range o.Partitions {
			rs := files[[2]string{o.Name, part.Name}]
			sort.Slice(rs, func(i, j int) bool {
				return rs[i].Shard < rs[j].Shard || rs[i].Shard == rs[j].Shard && rs[i].Piece < rs[j].Piece
			})
			pd := repository.PartitionData{Name: part.Name, Files: []repository.DataFile{}}
			for _, r := range rs {
				pd.Rows += r.Rows
				pd.Bytes += r.Bytes
				pd.Files = append(pd.Files, repository.DataFile{FileRef: repository.FileRef{Key: r.Key, Bytes: r.Bytes, SHA256: r.SHA256}, Shard: r.Shard, Piece: r.Piece, Rows: r.Rows})
			}
			od.Partitions = append(od.Partitions, pd)
		}
		info.Objects = append(info.Objects, od)
	}
	return info
}

// JobMetrics are the EMF metrics of a job that ended: for a FINISHED one its
// bytes, rows, files and duration, for a CANCELLED one its duration; with
// the dimensions JobType and Database.
func JobMetrics(rec job.Record, ref SnapshotRef) ([]metrics.Dim, []metrics.Metric) {
	dims := []metrics.Dim{{Name: metrics.DimJobType, Value: rec.Spec.Kind()}, {Name: metrics.DimDatabase, Value: rec.Spec.Database}}
	end := rec.FinishedTime
	if end.IsZero() {
		end = rec.CreateTime
	}
	duration := metrics.Metric{Name: metrics.MetricDuration, Unit: metrics.Seconds, Value: end.Sub(rec.CreateTime).Seconds()}
	if rec.State != job.Finished {
		return dims, []metrics.Metric{{Name: metrics.MetricJobsCancelled, Unit: metrics.Count, Value: 1}, duration}
	}
	return dims, []metrics.Metric{
		{Name: metrics.MetricJobsFinished, Unit: metrics.Count, Value: 1},
		{Name: metrics.MetricBytes, Unit: metrics.Bytes, Value: float64(ref.Bytes)},
		{Name: metrics.MetricRows, Unit: metrics.Count, Value: float64(ref.Rows)},
		{Name: metrics.MetricFiles, Unit: metrics.Count, Value: float64(ref.Files)},
		duration,
	}
}

func (p *Pipeline) emitJob(rec job.Record, ref SnapshotRef) {
	dims, ms := JobMetrics(rec, ref)
	if err := p.Metrics.Emit(dims, ms...); err != nil {
		p.log().Warn("emit metrics", "jobId", rec.Spec.JobID, "error", err.Error())
	}
}
