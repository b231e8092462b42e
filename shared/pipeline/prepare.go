package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/sql"
)

// Request is one BACKUP to prepare: the parsed statement and when it was
// triggered (a schedule's event time; zero: now, the request's time).
type Request struct {
	Stmt      *sql.BackupStmt
	SQL       string
	EventTime time.Time
	// JobID is the id to give the job; empty means a new one.
	JobID string
}

// Prepare checks a BACKUP statement against the live source catalog and the
// repository registry, in StarRocks' order and with its texts, and turns it
// into a job spec with every object expanded (ALL TABLES, a whole database).
// It changes nothing: the API calls it synchronously and the Parse state
// calls it in the state machine.
func (p *Pipeline) Prepare(ctx context.Context, req Request) (job.Spec, error) {
	cat, st, now := p.Source, req.Stmt, p.now()
	if req.EventTime.IsZero() {
		req.EventTime = now
	}
	opts, err := st.Options()
	if err != nil {
		return job.Spec{}, analysis(err)
	}
	if st.AllExternalCatalogs || len(st.ExternalCatalogs) > 0 {
		_, err := cat.ExternalCatalogs(ctx)
		if err == nil {
			err = errors.New("backing up external catalogs is not supported yet")
		}
		return job.Spec{}, sourceError(err)
	}
	if st.Database == "" {
		return job.Spec{}, &job.AnalysisError{Detail: "No database selected"}
	}
	ok, err := cat.DatabaseExists(ctx, st.Database)
	if err != nil {
		return job.Spec{}, sourceError(err)
	}
	if !ok {
		return job.Spec{}, &job.AnalysisError{Detail: fmt.Sprintf("Unknown database '%s'", st.Database)}
	}
	repo, err := p.registered(ctx, st.Repository, nil)
	if err != nil {
		return job.Spec{}, err
	}
	objects, err := expandObjects(ctx, cat, st.Database, st.Objects)
	if err != nil {
		return job.Spec{}, err
	}
	if len(objects) == 0 {
		return job.Spec{}, &job.AnalysisError{Detail: fmt.Sprintf("Database: %s is empty", st.Database)}
	}
	if repo.ReadOnly {
		return job.Spec{}, job.ErrRepositoryReadOnly(st.Repository)
	}
	ttl := opts.TTL
	if ttl.IsZero() && repo.Properties[sql.PropSnapshotTTL] != "" {
		// The repository's default, fixed into the job now: a later change
		// of the repository does not change this snapshot's life.
		if ttl, err = sql.ParseTTL(sql.PropSnapshotTTL, repo.Properties[sql.PropSnapshotTTL]); err != nil {
			return job.Spec{}, &job.AnalysisError{Detail: fmt.Sprintf("Repository %s: %v", st.Repository, err)}
		}
	}
	id := req.JobID
	if id == "" {
		if id, err = job.NewID(); err != nil {
			return job.Spec{}, err
		}
	}
	now = now.Truncate(time.Millisecond)
	spec := job.Spec{
		JobID:      id,
		Database:   st.Database,
		Label:      opts.SnapshotLabel(st.Snapshot, req.EventTime),
		Repository: st.Repository,
		Objects:    objects,
		Options: job.Options{
			Type:           opts.Type,
			TimeoutSeconds: int64(opts.Timeout / time.Second),
			Compression:    opts.Compression,
			ShardSize:      opts.ShardSize,
			Parallelism:    opts.Parallelism,
			Consistency:    opts.Consistency,
			TTL:            ttl.String(),
		},
		SQL:           req.SQL,
		CreatedAt:     now,
		Deadline:      now.Add(opts.Timeout),
		WholeDatabase: len(st.Objects) == 0,
	}
	if err := spec.DeferObjects(p.MaxSpecObjectsBytes); err != nil {
		return job.Spec{}, err
	}
	PinRepository(&spec, repo)
	spec.FoldedNames = cat.Features().FoldedNames
	spec.Options.Grant(GrantParallelism(opts.Parallelism, p.MaxParallelism, cat.Features().MaxConnections))
	return spec, spec.Validate()
}

// catalogIndex is what expandObjects needs to know about a database.
type catalogIndex struct {
	tables    []source.Table
	views     []source.View
	functions []source.Function
}

func loadCatalog(ctx context.Context, cat source.Catalog, db string) (catalogIndex, error) {
	var ix catalogIndex
	var err error
	if ix.tables, err = cat.Tables(ctx, db); err != nil {
		return ix, sourceError(err)
	}
	if ix.views, err = cat.Views(ctx, db); err != nil {
		return ix, sourceError(err)
	}
	if ix.functions, err = cat.Functions(ctx, db); err != nil {
		return ix, sourceError(err)
	}
	return ix, nil
}

func (ix catalogIndex) hasTable(name string) bool {
	return slices.ContainsFunc(ix.tables, func(t source.Table) bool { return t.Name == name })
}

func (ix catalogIndex) hasView(name string) bool {
	return slices.ContainsFunc(ix.views, func(v source.View) bool { return v.Name == name })
}

func (ix catalogIndex) hasFunction(name string) bool {
	return slices.ContainsFunc(ix.functions, func(f source.Function) bool { return f.Name == name })
}

// expandObjects resolves the ON list against the catalog: no list means
// every table, view and function; ALL kinds add every object of the kind;
// named objects must exist. An object named twice (by name and by ALL) is
// backed up once, whole.
func expandObjects(ctx context.Context, cat source.Catalog, db string, items []sql.BackupObject) ([]job.Object, error) {
	ix, err := loadCatalog(ctx, cat, db)
	if err != nil {
		return nil, err
	}
	all := map[sql.ObjectType]bool{}
	if len(items) == 0 {
		all[sql.ObjectAllTables], all[sql.ObjectAllViews], all[sql.ObjectAllFunctions] = true, true, true
	}
	for _, it := range items {
		switch it.Type {
		case sql.ObjectAllTables, sql.ObjectAllViews, sql.ObjectAllFunctions:
			all[it.Type] = true
		case sql.ObjectMaterializedView, sql.ObjectAllMaterializedViews:
			_, err := cat.MaterializedViews(ctx, db)
			if err == nil {
				err = errors.New("backing up materialized views is not supported yet")
			}
			return nil, sourceError(err)
		}
	}

	var out []job.Object
	seen := map[job.ObjectKind]map[string]bool{job.KindTable: {}, job.KindView: {}, job.KindFunction: {}}
	add := func(o job.Object) {
		if !seen[o.Kind][o.Name] {
			seen[o.Kind][o.Name] = true
			out = append(out, o)
		}
	}
	if all[sql.ObjectAllTables] {
		for _, t := range ix.tables {
			add(job.Object{Kind: job.KindTable, Name: t.Name})
		}
	}
	for _, it := range items {
		switch it.Type {
		case sql.ObjectTable:
			switch {
			case ix.hasTable(it.Name):
				parts, err := resolvePartitions(ctx, cat, db, it)
				if err != nil {
					return nil, err
				}
				add(job.Object{Kind: job.KindTable, Name: it.Name, Partitions: parts})
			case ix.hasView(it.Name) && len(it.Partitions) == 0:
				add(job.Object{Kind: job.KindView, Name: it.Name}) // an old-style item may name a view
			default:
				return nil, &job.AnalysisError{Detail: fmt.Sprintf("Incorrect table name '%s'", it.Name)}
			}
		case sql.ObjectView:
			if !ix.hasView(it.Name) {
				return nil, &job.AnalysisError{Detail: fmt.Sprintf("Incorrect table name '%s'", it.Name)}
			}
			add(job.Object{Kind: job.KindView, Name: it.Name})
		}
	}
	if all[sql.ObjectAllViews] {
		for _, v := range ix.views {
			add(job.Object{Kind: job.KindView, Name: v.Name})
		}
	}
	var badFuncs []string
	for _, it := range items {
		if it.Type == sql.ObjectFunction {
			if !ix.hasFunction(it.Name) {
				badFuncs = append(badFuncs, it.Name)
				continue
			}
			add(job.Object{Kind: job.KindFunction, Name: it.Name})
		}
	}
	if len(badFuncs) > 0 {
		return nil, &job.AnalysisError{Detail: "Invalid backup function(s), function name: " + strings.Join(badFuncs, ", ")}
	}
	if all[sql.ObjectAllFunctions] {
		for _, f := range ix.functions {
			add(job.Object{Kind: job.KindFunction, Name: f.Name})
		}
	}
	return out, nil
}

// resolvePartitions checks that every partition named for a table exists
// and returns their names as the catalog spells them: MariaDB and MySQL
// partition names are case-insensitive.
func resolvePartitions(ctx context.Context, cat source.Catalog, db string, it sql.BackupObject) ([]string, error) {
	if len(it.Partitions) == 0 {
		return nil, nil
	}
	parts, err := cat.Partitions(ctx, db, it.Name)
	if err != nil {
		return nil, sourceError(err)
	}
	out := make([]string, 0, len(it.Partitions))
	for _, p := range it.Partitions {
		i := slices.IndexFunc(parts, func(sp source.Partition) bool { return sp.Method != "NONE" && strings.EqualFold(sp.Name, p) })
		if i < 0 {
			// StarRocks' text, double space included.
			return nil, &job.AnalysisError{Detail: fmt.Sprintf("partition[%s] does not exist  in tablet", p)}
		}
		if !slices.Contains(out, parts[i].Name) {
			out = append(out, parts[i].Name)
		}
	}
	return out, nil
}

// analysis turns a statement error into the API's error type.
func analysis(err error) error {
	var se *sql.Error
	if errors.As(err, &se) {
		return &job.AnalysisError{Detail: se.Detail}
	}
	return err
}

// sourceError classifies an error from the source database: a missing or
// unsupported object is the user's to fix; anything else may pass.
func sourceError(err error) error {
	switch {
	case errors.Is(err, source.ErrUnsupported), errors.Is(err, source.ErrNotFound):
		return &job.AnalysisError{Detail: err.Error()}
	}
	return transient("source database", err)
}

func transient(what string, err error) error { return job.Transient(what, err) }
