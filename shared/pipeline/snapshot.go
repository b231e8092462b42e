package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
)

// SnapshotShard freezes the object list: it reads every object's DDL,
// columns and partitions, splits the partitions into shards of about the
// job's shard_size, writes the plan to the repository and returns the batch
// numbers for the upload Map. SNAPSHOTING → UPLOAD_SNAPSHOT → UPLOADING.
func (p *Pipeline) SnapshotShard(ctx context.Context, st JobState) (JobState, error) {
	spec := st.Job
	rec, err := p.Store.Active(ctx, spec.JobID)
	if err != nil {
		return JobState{}, err
	}
	// A retry after an attempt that completed (its answer lost) plans
	// again, keeps the stored plan and skips the transitions done.
	if !rec.State.Reached(job.Snapshoting) {
		if _, err := p.Store.Advance(ctx, spec.JobID, job.Snapshoting, p.now()); err != nil {
			return JobState{}, err
		}
	}
	repo, err := p.JobRepository(ctx, spec, nil)
	if err != nil {
		return JobState{}, err
	}
	plan, err := p.plan(ctx, spec)
	if err != nil {
		return JobState{}, err
	}
	if plan.PointInTime() {
		if err := p.planPointInTime(ctx, spec, plan); err != nil {
			return JobState{}, err
		}
	}
	key := planFile(spec.JobID)
	if plan, err = p.writePlanOnce(ctx, repo, spec, key, plan); err != nil {
		return JobState{}, err
	}
	var bytes, rows int64
	for _, s := range plan.Shards {
		bytes += s.Shard.EstBytes
		rows += s.Shard.EstRows
	}
	warnings := plan.warnings()
	for _, w := range warnings {
		p.log().Warn("backup warning", "jobId", spec.JobID, "warning", w)
	}
	if err := p.Store.SetBackupPlan(ctx, spec.JobID, int64(len(plan.Shards)), bytes, rows, warnings); err != nil {
		return JobState{}, err
	}
	for _, to := range []job.State{job.UploadSnapshot, job.Uploading} {
		if rec.State.Reached(to) {
			continue
		}
		if _, err := p.Store.Advance(ctx, spec.JobID, to, p.now()); err != nil {
			return JobState{}, err
		}
	}
	items, err := p.writeItems(ctx, repo, spec, len(plan.Batches))
	if err != nil {
		return JobState{}, err
	}
	st.Plan = &PlanRef{
		Key: key, Items: items, Batches: len(plan.Batches), PerChild: perChild(len(plan.Batches), spec.Options.Parallelism, plan.PointInTime()),
		Shards: len(plan.Shards), Bytes: bytes, Consistency: plan.Consistency,
	}
	p.log().Info("snapshot planned", "jobId", spec.JobID, "consistency", plan.Consistency, "objects", len(plan.Objects), "shards", len(plan.Shards), "batches", len(plan.Batches), "bytes", bytes)
	return st, nil
}

// writeItems writes the upload Map's items, the batch numbers 0…n-1 as a
// JSON array, where its ItemReader reads them. It is derived from the plan
// the job runs, so a retried SnapshotShard writes the same file.
func (p *Pipeline) writeItems(ctx context.Context, repo *repository.Repo, spec job.Spec, n int) (MapItems, error) {
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	rel := itemsFile(spec.JobID)
	if _, err := repo.PutJSON(ctx, spec.Label, rel, items); err != nil {
		return MapItems{}, transient("write the upload items", err)
	}
	key, err := repo.SnapshotKey(spec.Label, rel)
	if err != nil {
		return MapItems{}, err
	}
	return MapItems{Bucket: repo.Bucket(), Key: key}, nil
}

// catalogAtOnce is the number of tables from which a plan reads the
// database's catalog at once (source.CatalogReader): below it, reading a
// big database's whole catalog for a few tables costs more than it saves.
// A whole-database job reads it at once whatever its size, since its
// tables are all the catalog holds: planning the bench's 10 tables and 52
// partitions took 93-116 ms table by table, 30-46 ms at once (medians of
// 40, interleaved, load average 10-13).
const catalogAtOnce = 16

func countTables(objects []job.Object) int {
	n := 0
	for _, o := range objects {
		if o.Kind == job.KindTable {
			n++
		}
	}
	return n
}

// plan reads the catalog for every object of the job and splits its data.
func (p *Pipeline) plan(ctx context.Context, spec job.Spec) (*Plan, error) {
	version, err := p.Source.Version(ctx)
	if err != nil {
		return nil, sourceError(err)
	}
	consistency := spec.Options.Consistency
	if consistency == "" {
		consistency = job.ConsistencyShard
	}
	plan := &Plan{JobID: spec.JobID, Database: spec.Database, Version: version, Dialect: p.Source.Features().Dialect, Time: p.now(), Consistency: consistency}
	db := spec.Database
	objects := spec.Objects
	if spec.Unlisted() {
		// A whole database too big to carry its list in the spec: listed
		// now, and the plan holds the list.
		if objects, err = expandObjects(ctx, p.Source, db, nil); err != nil {
			return nil, err
		}
		if len(objects) == 0 {
			return nil, &job.AnalysisError{Detail: fmt.Sprintf("Database: %s is empty", db)}
		}
	}
	// Many tables: their catalog is read in a few statements for the
	// database rather than several per table.
	src := p.Source
	if cr, ok := src.(source.CatalogReader); ok && (spec.WholeDatabase || countTables(objects) >= catalogAtOnce) {
		if src, err = cr.WithCatalog(ctx, db); err != nil {
			return nil, sourceError(err)
		}
	}
	for _, o := range objects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		po := PlanObject{Kind: string(o.Kind), Name: o.Name}
		switch o.Kind {
		case job.KindView:
			if po.DDL, err = p.Source.ViewDDL(ctx, db, o.Name); err != nil {
				return nil, sourceError(err)
			}
		case job.KindFunction:
			if po.DDL, err = p.Source.FunctionDDL(ctx, db, o.Name); err != nil {
				return nil, sourceError(err)
			}
		case job.KindTable:
			if po.DDL, err = src.TableDDL(ctx, db, o.Name); err != nil {
				return nil, sourceError(err)
			}
			if po.Columns, err = src.Columns(ctx, db, o.Name); err != nil {
				return nil, sourceError(err)
			}
			parts, err := src.Partitions(ctx, db, o.Name)
			if err != nil {
				return nil, sourceError(err)
			}
			for _, part := range parts {
				if len(o.Partitions) > 0 && !slices.Contains(o.Partitions, part.Name) {
					continue
				}
				po.Partitions = append(po.Partitions, part)
				shards, err := src.PlanPartition(ctx, db, o.Name, part, spec.Options.ShardSize)
				if err != nil {
					return nil, sourceError(err)
				}
				for _, sh := range shards {
					plan.Shards = append(plan.Shards, PlanShard{N: len(plan.Shards), Shard: sh})
				}
			}
		}
		plan.Objects = append(plan.Objects, po)
	}
	// A table brings its triggers; a whole-database backup also takes the
	// procedures and events.
	tables := map[string]bool{}
	for _, o := range objects {
		if o.Kind == job.KindTable && len(o.Partitions) == 0 {
			tables[o.Name] = true
		}
	}
	if len(tables) > 0 {
		triggers, err := p.Source.Triggers(ctx, db)
		if err != nil {
			return nil, sourceError(err)
		}
		for _, tr := range triggers {
			if tables[tr.Table] {
				plan.Triggers = append(plan.Triggers, tr)
			}
		}
	}
	if spec.WholeDatabase {
		if plan.Procedures, err = p.Source.Procedures(ctx, db); err != nil {
			return nil, sourceError(err)
		}
		if plan.Events, err = p.Source.Events(ctx, db); err != nil {
			return nil, sourceError(err)
		}
	}
	plan.Batches = batchShards(plan.Shards, spec.Options.Parallelism)
	return plan, nil
}
