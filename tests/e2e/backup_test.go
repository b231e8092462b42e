package e2e

import (
	"context"
	"slices"
	"testing"

	"github.com/srbackup/srbackup/shared/repository"
)

// sourceObjects lists the sample database's tables, views and functions.
func (e *env) sourceObjects() (tables, views, functions []string) {
	e.t.Helper()
	tables = e.queryStrings("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", e.db)
	views = e.queryStrings("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", e.db)
	functions = e.queryStrings("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'FUNCTION'", e.db)
	return
}

func objectNames(objs []repository.ObjectData, kind string) []string {
	var out []string
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o.Name)
		}
	}
	slices.Sort(out)
	return out
}

// TestWholeDatabaseBackup is behaviour 1: a whole-database backup, views and
// functions included, reaches FINISHED; its manifest lists every table,
// partition and file, and every checksum verifies.
func TestWholeDatabaseBackup(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.mustFinish("BACKUP DATABASE " + e.db + " SNAPSHOT full_1 TO repo")
	if rec.ShardsDone != rec.ShardsTotal || rec.ShardsTotal == 0 || !rec.Status.OK() {
		t.Errorf("job progress %d/%d, status %s", rec.ShardsDone, rec.ShardsTotal, rec.Status)
	}
	for _, tm := range []struct {
		name string
		set  bool
	}{{"SnapshotFinishedTime", !rec.SnapshotFinishedTime.IsZero()}, {"UploadFinishedTime", !rec.UploadFinishedTime.IsZero()}, {"FinishedTime", !rec.FinishedTime.IsZero()}} {
		if !tm.set {
			t.Errorf("%s is unset", tm.name)
		}
	}
	info := e.snapshot("full_1")
	if pit := info.PointInTime; info.Consistency != "snapshot" || pit == nil || pit.ServerTime.IsZero() || pit.LockMethod == "" || pit.Workers < 1 {
		t.Errorf("consistency %q, point in time %+v: want one point in time by default", info.Consistency, pit)
	}
	tables, views, functions := e.sourceObjects()
	if got := objectNames(info.Objects, repository.KindTable); !slices.Equal(got, tables) {
		t.Errorf("tables in snapshot %v, source %v", got, tables)
	}
	if got := objectNames(info.Objects, repository.KindView); !slices.Equal(got, views) || len(views) == 0 {
		t.Errorf("views in snapshot %v, source %v", got, views)
	}
	meta, err := e.repo.ReadMeta(context.Background(), "full_1", info.Meta)
	if err != nil {
		t.Fatal(err)
	}
	var metaFuncs []string
	for _, f := range meta.Functions {
		metaFuncs = append(metaFuncs, f.Name)
		if f.DDL == "" {
			t.Errorf("function %s has no DDL", f.Name)
		}
	}
	slices.Sort(metaFuncs)
	if !slices.Equal(metaFuncs, functions) || len(functions) == 0 {
		t.Errorf("functions in __meta %v, source %v", metaFuncs, functions)
	}
	var files int
	for _, o := range info.Objects {
		if o.Kind != repository.KindTable {
			continue
		}
		if len(o.Partitions) == 0 {
			t.Errorf("table %s has no partitions in the manifest", o.Name)
		}
		for _, p := range o.Partitions {
			files += len(p.Files)
		}
	}
	if int64(files) != rec.ShardsTotal {
		t.Errorf("%d files in the manifest, %d shards", files, rec.ShardsTotal)
	}
}
