package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
)

// fakeCatalog is a source catalog in memory.
type fakeCatalog struct {
	source.Source // methods the tests don't reach panic
	dbs           map[string]bool
	tables        []source.Table
	parts         map[string][]source.Partition
	views         []source.View
	funcs         []source.Function
	folded        bool
	maxConns      int
}

func (f *fakeCatalog) Features() source.Features {
	return source.Features{FoldedNames: f.folded, MaxConnections: f.maxConns}
}

func (f *fakeCatalog) DatabaseExists(_ context.Context, db string) (bool, error) {
	return f.dbs[db], nil
}
func (f *fakeCatalog) Tables(context.Context, string) ([]source.Table, error) { return f.tables, nil }
func (f *fakeCatalog) Views(context.Context, string) ([]source.View, error)   { return f.views, nil }
func (f *fakeCatalog) Functions(context.Context, string) ([]source.Function, error) {
	return f.funcs, nil
}
func (f *fakeCatalog) Partitions(_ context.Context, _, table string) ([]source.Partition, error) {
	return f.parts[table], nil
}
func (f *fakeCatalog) MaterializedViews(context.Context, string) ([]string, error) {
	return nil, fmt.Errorf("the source database (MariaDB 10.11) has no materialized views: %w", source.ErrUnsupported)
}
func (f *fakeCatalog) ExternalCatalogs(context.Context) ([]string, error) {
	return nil, fmt.Errorf("the source database (MariaDB 10.11) has no external catalogs: %w", source.ErrUnsupported)
}

func shopCatalog() *fakeCatalog {
	return &fakeCatalog{
		dbs:    map[string]bool{"shop": true, "empty": true},
		tables: []source.Table{{Name: "orders"}, {Name: "customers"}},
		parts: map[string][]source.Partition{
			"orders":    {{Name: "p1", Method: "RANGE"}, {Name: "p2", Method: "RANGE"}},
			"customers": {{Name: "customers", Method: "NONE"}},
		},
		views: []source.View{{Name: "v1"}},
		funcs: []source.Function{{Name: "f1"}},
	}
}

// prepare runs Prepare over the env's registry with cat as the source, at
// time 1e9.
func (e *env) prepare(cat *fakeCatalog, sql string) (job.Spec, error) {
	e.t.Helper()
	st, err := ParseStatement(sql, 0)
	if err != nil {
		return job.Spec{}, err
	}
	p := *e.p
	p.Source, p.Now = cat, func() time.Time { return time.Unix(1e9, 0) }
	return p.Prepare(context.Background(), Request{Stmt: st, SQL: sql})
}

func TestPrepareErrorTexts(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ sql, want string }{
		{"BACKUP DATABASE nope SNAPSHOT s TO repo", "Unknown database 'nope'"},
		{"BACKUP DATABASE shop SNAPSHOT s TO missing", "Repository [missing] does not exist"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE nope)", "Incorrect table name 'nope'"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (VIEW nope)", "Incorrect table name 'nope'"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE orders PARTITION (p9))", "partition[p9] does not exist  in tablet"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE customers PARTITION (customers))", "partition[customers] does not exist  in tablet"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (FUNCTION nope, FUNCTION f1, FUNCTION nope2)", "Invalid backup function(s), function name: nope, nope2"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (MATERIALIZED VIEW m)", "has no materialized views"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (ALL MATERIALIZED VIEWS)", "has no materialized views"},
		{"BACKUP EXTERNAL CATALOG (c) SNAPSHOT s TO repo", "has no external catalogs"},
		{"BACKUP SNAPSHOT s TO repo", "No database selected"},
		{"BACKUP DATABASE shop SNAPSHOT s TO ro", "Repository ro is read only"},
		{"SHOW BACKUP", "a backup execution runs a BACKUP statement, not SHOW_BACKUP"},
		{"BACKUP DATABASE shop SNAPSHOT a TO repo; BACKUP DATABASE shop SNAPSHOT b TO repo", "exactly one BACKUP statement, got 2"},
	} {
		_, err := e.prepare(shopCatalog(), tc.sql)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", tc.sql, err, tc.want)
		}
		if _, domain := job.AsError(err); !domain {
			t.Errorf("%s: %T is not a domain error", tc.sql, err)
		}
	}
	empty := shopCatalog()
	empty.tables, empty.views, empty.funcs = nil, nil, nil
	if _, err := e.prepare(empty, "BACKUP DATABASE empty SNAPSHOT s TO repo"); err == nil || !strings.Contains(err.Error(), "Database: empty is empty") {
		t.Errorf("empty database: %v", err)
	}
	var ae *job.AnalysisError
	if _, err := e.prepare(shopCatalog(), "BACKUP DATABASE nope SNAPSHOT s TO repo"); !errors.As(err, &ae) {
		t.Errorf("unknown database: %T, want *job.AnalysisError", err)
	}
}

func TestPrepareExpandsObjects(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		sql  string
		want string
	}{
		{"BACKUP DATABASE shop SNAPSHOT s TO repo", "TABLE:orders TABLE:customers VIEW:v1 FUNCTION:f1"},
		{"BACKUP SNAPSHOT shop.s TO repo ON (orders PARTITION (p1, p2), v1)", "TABLE:orders[p1 p2] VIEW:v1"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE orders PARTITION (P2))", "TABLE:orders[p2]"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE orders PARTITION (p1), ALL TABLES)", "TABLE:orders TABLE:customers"},
		{"BACKUP DATABASE shop SNAPSHOT s TO repo ON (ALL FUNCTIONS, VIEW v1)", "VIEW:v1 FUNCTION:f1"},
	} {
		spec, err := e.prepare(shopCatalog(), tc.sql)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		var got []string
		for _, o := range spec.Objects {
			s := string(o.Kind) + ":" + o.Name
			if len(o.Partitions) > 0 {
				s += fmt.Sprint(o.Partitions)
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.sql, strings.Join(got, " "), tc.want)
		}
	}
	spec, err := e.prepare(shopCatalog(), `BACKUP DATABASE shop SNAPSHOT nightly TO repo PROPERTIES ("label_suffix" = "time", "timeout" = "3600")`)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Label != "nightly_20010909014640" || spec.Deadline.Sub(spec.CreatedAt) != time.Hour || spec.Options.Parallelism != 4 || spec.Options.Compression != "zstd" {
		t.Errorf("spec = %+v", spec)
	}
}

func TestBatchShards(t *testing.T) {
	shards := func(n int, bytes int64) []PlanShard {
		out := make([]PlanShard, n)
		for i := range out {
			out[i] = PlanShard{N: i, Shard: source.Shard{EstBytes: bytes}}
		}
		return out
	}
	count := func(b [][]int) (n int) {
		for _, x := range b {
			n += len(x)
		}
		return n
	}
	if b := batchShards(nil, 4); b != nil {
		t.Errorf("no shards: %v", b)
	}
	// Little data: one batch, whatever the parallelism.
	if b := batchShards(shards(52, 64<<10), 4); len(b) != 1 || count(b) != 52 {
		t.Errorf("52 × 64 KiB, parallelism 4: %d batches", len(b))
	}
	// Enough data spreads over the workers, in batches of at least 32 MiB.
	if b := batchShards(shards(52, 4<<20), 4); len(b) != 7 || count(b) != 52 {
		t.Errorf("52 × 4 MiB, parallelism 4: %d batches", len(b))
	}
	if b := batchShards(shards(256, 4<<20), 4); len(b) != 16 || count(b) != 256 {
		t.Errorf("256 × 4 MiB, parallelism 4: %d batches", len(b))
	}
	// Large shards: bounded by bytes per batch.
	if b := batchShards(shards(10, 1<<30), 1); len(b) != 5 || count(b) != 10 {
		t.Errorf("10 × 1 GiB, parallelism 1: %d batches, %d shards", len(b), count(b))
	}
	// Tiny shards: bounded by shards per batch.
	if b := batchShards(shards(10000, 1), 1); len(b) != 40 || count(b) != 10000 {
		t.Errorf("10000 tiny, parallelism 1: %d batches", len(b))
	}
	// Beyond the batch limit the batches grow instead of multiplying.
	if b := batchShards(shards(1_000_000, 1), 1000); len(b) > maxBatches || count(b) != 1_000_000 {
		t.Errorf("a million shards: %d batches, %d shards", len(b), count(b))
	}
}

// TestPrepareRecordsFoldedNames: a job of a server that folds names locks
// its database under the folded name (issue 12 §2), and pins the
// repository it was prepared with.
func TestPrepareRecordsFoldedNames(t *testing.T) {
	e := newEnv(t, nil)
	cat := shopCatalog()
	cat.dbs["SHOP"] = true
	spec, err := e.prepare(cat, "BACKUP DATABASE SHOP SNAPSHOT s TO repo ON (TABLE orders)")
	if err != nil || spec.FoldedNames || spec.LockName() != "SHOP" {
		t.Fatalf("case-sensitive server: %+v %v", spec, err)
	}
	cat.folded = true
	spec, err = e.prepare(cat, "BACKUP DATABASE SHOP SNAPSHOT s TO repo ON (TABLE orders)")
	if err != nil || !spec.FoldedNames || spec.LockName() != "shop" || spec.Database != "SHOP" {
		t.Fatalf("folding server: %+v %v", spec, err)
	}
	if spec.RepositoryLocation != e.repoRecord().Location || spec.RepositoryID != e.repoRecord().ID {
		t.Errorf("repository pinned at %q", spec.RepositoryLocation)
	}
}

// TestPrepareGrantsParallelism: the job says what it was granted, and what
// it asked for when that was more.
func TestPrepareGrantsParallelism(t *testing.T) {
	e := newEnv(t, nil)
	cat := shopCatalog()
	cat.maxConns = 20
	spec, err := e.prepare(cat, `BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE orders) PROPERTIES ("parallelism" = "500")`)
	if err != nil || spec.Options.Parallelism != 10 || spec.Options.RequestedParallelism != 500 {
		t.Fatalf("granted %d of %d, %v; want 10 of 500", spec.Options.Parallelism, spec.Options.RequestedParallelism, err)
	}
	spec, err = e.prepare(cat, `BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE orders) PROPERTIES ("parallelism" = "4")`)
	if err != nil || spec.Options.Parallelism != 4 || spec.Options.RequestedParallelism != 0 {
		t.Fatalf("granted %d of %d, %v; want 4", spec.Options.Parallelism, spec.Options.RequestedParallelism, err)
	}
}
