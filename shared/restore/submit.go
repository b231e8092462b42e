// Package restore is the RESTORE job as plain Go: the submission checks,
// and the steps the restore state machine chains (Parse, Prepare,
// LoadBatch, Commit, Cleanup) over the job store, the S3 repository and
// the target database. The Lambda functions, the tests and the demo all run
// this same code.
//
// Nothing a user can see changes before COMMITTING: every table is loaded
// into a shadow table first, and every change COMMITTING makes is recorded
// in the job's journal table so that a failure, a timeout or a crash puts
// the target back exactly as it was.
package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/sql"
)

// Request is one RESTORE statement to check and turn into a job spec.
type Request struct {
	Stmt *sql.RestoreStmt
	SQL  string
	// JobID is the id to give the job; empty means a new one.
	JobID string
}

// Submit runs StarRocks' submission checks (S1–S12, reference §3) for a
// RESTORE statement, in order and with StarRocks' texts, and returns the
// job spec with every object resolved against the snapshot. It reads the
// registry and the repository and changes nothing; the target database is
// looked at only by the job.
func (r *Restorer) Submit(ctx context.Context, req Request) (job.Spec, error) {
	st := req.Stmt
	repo, rec, err := r.Pipeline.Repository(ctx, st.Repository, &job.SubmitError{Message: fmt.Sprintf("Repository %s does not exist", st.Repository)})
	if err != nil {
		return job.Spec{}, err
	}
	ts := st.Properties[sql.PropBackupTimestamp]
	info, err := readInfo(ctx, repo, st.Snapshot, ts)
	if err != nil {
		return job.Spec{}, err
	}
	if st.AllExternalCatalogs || len(st.ExternalCatalogs) > 0 {
		return job.Spec{}, &job.SubmitError{Message: "This is not a snapshot for external catalog restore, snapshot: " + st.Snapshot}
	}
	// The target database (reference §1): DATABASE x AS y → y; DATABASE x or
	// db.label → x; none → the snapshot's own.
	target := info.Database
	switch {
	case st.DatabaseAlias != "":
		target = st.DatabaseAlias
	case st.Database != "":
		target = st.Database
	}
	// S8: DATABASE x must name the snapshot's database; the old db.label
	// form renames freely.
	if st.DatabaseClause && st.Database != info.Database {
		return job.Spec{}, &job.SubmitError{Message: fmt.Sprintf("target database: %s is not existed in snapshot", st.Database)}
	}
	objects, renames, err := resolveObjects(info, st)
	if err != nil {
		return job.Spec{}, err
	}
	if len(objects) == 0 {
		return job.Spec{}, &job.SubmitError{Message: fmt.Sprintf("Nothing to restore from snapshot %s", st.Snapshot)}
	}
	timeout, _ := strconv.ParseInt(st.Properties[sql.PropTimeout], 10, 64)
	parallelism := sql.DefaultParallelism
	if v := st.Properties[sql.PropParallelism]; v != "" {
		parallelism, _ = strconv.Atoi(v)
	}
	replication := 3
	if v := st.Properties[sql.PropReplicationNum]; v != "" {
		replication, _ = strconv.Atoi(v)
	}
	id := req.JobID
	if id == "" {
		if id, err = job.NewID(); err != nil {
			return job.Spec{}, err
		}
	}
	now := r.now().Truncate(time.Millisecond)
	spec := job.Spec{
		Type:       job.TypeRestore,
		JobID:      id,
		Database:   target,
		Label:      st.Snapshot,
		Repository: st.Repository,
		Objects:    objects,
		Options:    job.Options{Type: sql.BackupTypeFull, TimeoutSeconds: timeout, Parallelism: parallelism},
		SQL:        req.SQL,
		CreatedAt:  now,
		Deadline:   now.Add(time.Duration(timeout) * time.Second),
		Restore: &job.RestoreSpec{
			SnapshotDatabase: info.Database,
			Timestamp:        ts,
			Renames:          renames,
			AllowLoad:        st.Properties[sql.PropAllowLoad] == "true",
			WholeSnapshot:    len(st.Objects) == 0,
			ReplicationNum:   replication,
		},
	}
	// The deployment's cap here; the target's connection limit in Prepare,
	// the first step that connects to it.
	spec.Options.Grant(pipeline.GrantParallelism(parallelism, r.Pipeline.MaxParallelism, 0))
	pipeline.PinRepository(&spec, rec)
	// Thousands of objects: the spec keeps their count (Prepare resolves
	// them again, Objects).
	if err := spec.DeferObjects(r.Pipeline.MaxSpecObjectsBytes); err != nil {
		return job.Spec{}, err
	}
	return spec, spec.Validate()
}

// Objects returns the objects job spec restores: the spec's list, or, for a
// job with too many to list (job.Spec.Unlisted), its statement resolved
// against the snapshot's __info again, as Submit resolved it (the info file
// is checksummed and never changes, so the list is the same).
func (r *Restorer) Objects(ctx context.Context, spec job.Spec) ([]job.Object, error) {
	if !spec.Unlisted() {
		return spec.Objects, nil
	}
	repo, err := r.repo(ctx, spec)
	if err != nil {
		return nil, err
	}
	info, err := repo.ReadInfo(ctx, spec.Label, spec.Restore.Timestamp)
	if err != nil {
		return nil, transient("read snapshot info", err)
	}
	return r.objects(spec, info)
}

func (r *Restorer) objects(spec job.Spec, info repository.Info) ([]job.Object, error) {
	if !spec.Unlisted() {
		return spec.Objects, nil
	}
	st, err := ParseStatement(spec.SQL, r.Pipeline.MinTimeout)
	if err != nil {
		return nil, fmt.Errorf("job %s: its statement: %w", spec.JobID, err)
	}
	objects, _, err := resolveObjects(info, st)
	if err != nil {
		return nil, err
	}
	if len(objects) != spec.ObjectCount {
		return nil, &job.ConflictError{Message: fmt.Sprintf("job %s: its statement names %d objects of snapshot %s now, %d when it was submitted", spec.JobID, len(objects), spec.Label, spec.ObjectCount)}
	}
	return objects, nil
}

// infoPath is the path StarRocks' S2 texts name.
func infoPath(repo *repository.Repo, label, ts string) string {
	key, err := repo.SnapshotKey(label, "__info_"+ts)
	if err != nil {
		key = repo.Root() + "__ss_" + label + "/__info_" + ts
	}
	return "s3://" + repo.Bucket() + "/" + key
}

// readInfo is S2: the one info file named by the timestamp, read and
// checked against its SHA-256.
func readInfo(ctx context.Context, repo *repository.Repo, label, ts string) (repository.Info, error) {
	fail := func(reason string) error {
		return &job.SubmitError{Message: fmt.Sprintf("Failed to get info of snapshot '%s' because: %s. Maybe specified wrong backup timestamp", label, reason)}
	}
	all, err := repo.Timestamps(ctx, label)
	if err != nil {
		return repository.Info{}, transient("list snapshot info files", err)
	}
	var matches []string
	for _, t := range all {
		if strings.HasPrefix(t, ts) {
			matches = append(matches, t)
		}
	}
	path := infoPath(repo, label, ts)
	switch {
	case len(matches) != 1:
		return repository.Info{}, fail(fmt.Sprintf("Expected one file with path: %s. get: %d", path, len(matches)))
	case matches[0] != ts:
		return repository.Info{}, fail("File does not exist: " + path)
	}
	info, err := repo.ReadInfo(ctx, label, ts)
	if errors.Is(err, repository.ErrChecksum) {
		return repository.Info{}, fail("sha256sum does not equal: " + err.Error())
	}
	if err != nil {
		return repository.Info{}, transient("read snapshot info", err)
	}
	return info, nil
}

// resolveObjects is "What is restored" (reference §3) with S9, S11 and S12:
// no ON restores every table, view and function of the snapshot; with ON,
// the named objects plus every kind marked ALL (functions only when named
// or ALL FUNCTIONS). renames maps snapshot names to their aliases.
func resolveObjects(info repository.Info, st *sql.RestoreStmt) ([]job.Object, map[string]string, error) {
	byName := map[string]repository.ObjectData{}
	var functions []repository.ObjectData
	for _, o := range info.Objects {
		if o.Kind == repository.KindFunction {
			functions = append(functions, o)
			continue
		}
		byName[o.Name] = o
	}
	toObject := func(o repository.ObjectData, parts []string) job.Object {
		obj := job.Object{Kind: job.ObjectKind(o.Kind), Name: o.Name}
		if o.Kind == repository.KindTable {
			obj.Partitions = parts
		}
		return obj
	}
	if len(st.Objects) == 0 {
		var out []job.Object
		for _, o := range info.Objects {
			out = append(out, toObject(o, nil))
		}
		return out, nil, nil
	}
	var out []job.Object
	renames := map[string]string{}
	seen := map[string]bool{}
	add := func(o job.Object, alias string) {
		key := string(o.Kind) + "\x00" + o.Name
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, o)
		if alias != "" {
			renames[o.Name] = alias
		}
	}
	for _, item := range st.Objects {
		switch item.Type {
		case sql.ObjectAllTables, sql.ObjectAllViews:
			kind := repository.KindTable
			if item.Type == sql.ObjectAllViews {
				kind = repository.KindView
			}
			for _, o := range info.Objects {
				if o.Kind == kind {
					add(toObject(o, nil), "")
				}
			}
		case sql.ObjectAllFunctions:
			for _, f := range functions {
				add(toObject(f, nil), "")
			}
		case sql.ObjectAllMaterializedViews:
			// A MySQL-protocol snapshot has no materialized views.
		case sql.ObjectFunction:
			i := slices.IndexFunc(functions, func(f repository.ObjectData) bool { return strings.EqualFold(f.Name, item.Name) })
			if i < 0 {
				return nil, nil, &job.SubmitError{Message: "Can not find restore function: " + item.Name}
			}
			add(toObject(functions[i], nil), item.Alias)
		default: // TABLE, VIEW, MATERIALIZED VIEW: looked up by name, any kind
			o, ok := byName[item.Name]
			if !ok {
				return nil, nil, &job.SubmitError{Message: fmt.Sprintf("Table %s does not exist in snapshot %s", item.Name, st.Snapshot)}
			}
			for _, p := range item.Partitions {
				if !slices.ContainsFunc(o.Partitions, func(d repository.PartitionData) bool { return d.Name == p }) || isWhole(o) {
					return nil, nil, &job.SubmitError{Message: fmt.Sprintf("Partition %s of table %s does not exist in snapshot %s", p, item.Name, st.Snapshot)}
				}
			}
			add(toObject(o, item.Partitions), item.Alias)
		}
	}
	if len(renames) == 0 {
		renames = nil
	}
	return out, renames, nil
}

// isWhole reports whether a snapshot table is unpartitioned: its one
// partition is named after the table.
func isWhole(o repository.ObjectData) bool {
	return len(o.Partitions) == 1 && o.Partitions[0].Name == o.Name
}

func transient(what string, err error) error { return job.Transient(what, err) }
