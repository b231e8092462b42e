package mysql_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/source"
)

// weird is a name with every character that needs care in SQL text.
const weird = "we`ird ta'ble \"x\" \\ ü"

func createCatalog(t *testing.T, e *env) {
	t.Helper()
	e.exec(t,
		"CREATE TABLE t_plain (id INT PRIMARY KEY, v VARCHAR(10))",
		`CREATE TABLE t_range (id INT PRIMARY KEY) PARTITION BY RANGE (id)
			(PARTITION p0 VALUES LESS THAN (100), PARTITION p1 VALUES LESS THAN (200), PARTITION pmax VALUES LESS THAN MAXVALUE)`,
		`CREATE TABLE t_list (id INT, region INT, PRIMARY KEY (id, region)) PARTITION BY LIST (region)
			(PARTITION pa VALUES IN (1, 2), PARTITION pb VALUES IN (3))`,
		"CREATE TABLE t_hash (id INT PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 3",
		"CREATE TABLE t_key (id INT PRIMARY KEY) PARTITION BY KEY (id) PARTITIONS 2",
		`CREATE TABLE t_sub (id INT, d DATE, PRIMARY KEY (id, d)) PARTITION BY RANGE (YEAR(d))
			SUBPARTITION BY HASH (id) SUBPARTITIONS 2
			(PARTITION p2023 VALUES LESS THAN (2024), PARTITION p2024 VALUES LESS THAN (2025))`,
		"CREATE TABLE "+q(weird)+" ("+q("co`l 1")+" INT PRIMARY KEY, "+q("é")+" TEXT) PARTITION BY RANGE ("+q("co`l 1")+") (PARTITION "+q("p`1")+" VALUES LESS THAN (10), PARTITION "+q("P 2")+" VALUES LESS THAN MAXVALUE)",
		"CREATE TABLE t_gen (id INT PRIMARY KEY, a INT, v INT AS (a + 1) VIRTUAL, s INT AS (a * 2) STORED, h INT INVISIBLE)",
		"CREATE VIEW v_plain AS SELECT id FROM t_plain",
		"CREATE VIEW "+q("v`iew")+" AS SELECT 1 AS "+q("o`ne"),
		"CREATE FUNCTION f_add(a INT, b INT) RETURNS INT DETERMINISTIC RETURN a + b",
		"CREATE SEQUENCE s_seq",
	)
	// A temporary table is visible only to its own session.
	e.exec(t, "CREATE TEMPORARY TABLE t_temp (id INT)", "SELECT 1")
}

func TestCatalog(t *testing.T) {
	e := newEnv(t)
	createCatalog(t, e)
	ctx, src := e.ctx, e.src

	if v, err := src.Version(ctx); err != nil || !strings.Contains(v, "MariaDB") {
		t.Errorf("Version = %q, %v", v, err)
	}
	if ok, err := src.DatabaseExists(ctx, e.name); !ok || err != nil {
		t.Errorf("DatabaseExists(%s) = %v, %v", e.name, ok, err)
	}
	if ok, err := src.DatabaseExists(ctx, strings.ToUpper(e.name)); ok || err != nil {
		t.Errorf("DatabaseExists(upper case) = %v, %v; names are case-sensitive", ok, err)
	}
	if ok, err := src.DatabaseExists(ctx, "no_such_db"); ok || err != nil {
		t.Errorf("DatabaseExists(no_such_db) = %v, %v", ok, err)
	}

	tables, err := src.Tables(ctx, e.name)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]source.Table{}
	var names []string
	for _, tb := range tables {
		got[tb.Name] = tb
		names = append(names, tb.Name)
	}
	wantNames := []string{"s_seq", "t_gen", "t_hash", "t_key", "t_list", "t_plain", "t_range", "t_sub", weird}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("Tables = %q, want %q", names, wantNames)
	}
	if tb := got["t_range"]; !tb.Partitioned || tb.Kind != source.KindTable || tb.Engine != "InnoDB" {
		t.Errorf("t_range = %+v", tb)
	}
	if got["t_plain"].Partitioned || got["s_seq"].Kind != source.KindSequence {
		t.Errorf("t_plain = %+v, s_seq = %+v", got["t_plain"], got["s_seq"])
	}

	for table, want := range map[string]string{
		"t_plain": "t_plain:NONE",
		"t_range": "p0:RANGE p1:RANGE pmax:RANGE",
		"t_list":  "pa:LIST pb:LIST",
		"t_hash":  "p0:HASH p1:HASH p2:HASH",
		"t_key":   "p0:KEY p1:KEY",
		"t_sub":   "p2023:RANGE/HASH[p2023sp0 p2023sp1] p2024:RANGE/HASH[p2024sp0 p2024sp1]",
		weird:     "p`1:RANGE P 2:RANGE",
	} {
		parts, err := src.Partitions(ctx, e.name, table)
		if err != nil {
			t.Errorf("Partitions(%s): %v", table, err)
			continue
		}
		var desc []string
		for _, p := range parts {
			d := p.Name + ":" + p.Method
			if p.SubpartitionMethod != "" {
				d += "/" + p.SubpartitionMethod + "[" + strings.Join(p.Subpartitions, " ") + "]"
			}
			desc = append(desc, d)
		}
		if s := strings.Join(desc, " "); s != want {
			t.Errorf("Partitions(%s) = %s, want %s", table, s, want)
		}
	}

	cols, err := src.Columns(ctx, e.name, "t_gen")
	if err != nil {
		t.Fatal(err)
	}
	var colDesc []string
	for _, c := range cols {
		d := c.Name + ":" + string(c.Kind)
		if c.Generated {
			d += ":generated"
		}
		colDesc = append(colDesc, d)
	}
	if s := strings.Join(colDesc, " "); s != "id:int a:int v:int:generated s:int:generated h:int" {
		t.Errorf("Columns(t_gen) = %s", s)
	}
	if cols, err := src.Columns(ctx, e.name, weird); err != nil || len(cols) != 2 || cols[0].Name != "co`l 1" || cols[1].Charset != "utf8mb4" {
		t.Errorf("Columns(weird) = %+v, %v", cols, err)
	}

	views, err := src.Views(ctx, e.name)
	if err != nil || !reflect.DeepEqual(views, []source.View{{Name: "v_plain"}, {Name: "v`iew"}}) {
		t.Errorf("Views = %+v, %v", views, err)
	}
	fns, err := src.Functions(ctx, e.name)
	if err != nil || len(fns) != 1 || fns[0].Name != "f_add" || !strings.HasPrefix(fns[0].Returns, "int") {
		t.Errorf("Functions = %+v, %v", fns, err)
	}

	ddl, err := src.TableDDL(ctx, e.name, weird)
	if err != nil || !strings.Contains(ddl.Statement, "CREATE TABLE `we``ird ta'ble \"x\" \\ ü`") || !strings.Contains(ddl.Statement, "PARTITION `p``1`") {
		t.Errorf("TableDDL(weird) = %q, %v", ddl.Statement, err)
	}
	ddl, err = src.ViewDDL(ctx, e.name, "v`iew")
	if err != nil || !strings.Contains(ddl.Statement, "`v``iew` AS select 1 AS `o``ne`") || ddl.CharacterSetClient == "" {
		t.Errorf("ViewDDL = %+v, %v", ddl, err)
	}
	ddl, err = src.FunctionDDL(ctx, e.name, "f_add")
	if err != nil || !strings.Contains(ddl.Statement, "FUNCTION `f_add`") || ddl.SQLMode == "" || ddl.DatabaseCollation == "" {
		t.Errorf("FunctionDDL = %+v, %v", ddl, err)
	}

	if _, err := src.MaterializedViews(ctx, e.name); !errors.Is(err, source.ErrUnsupported) || !strings.Contains(err.Error(), "MariaDB") {
		t.Errorf("MaterializedViews: %v", err)
	}
	if _, err := src.ExternalCatalogs(ctx); !errors.Is(err, source.ErrUnsupported) {
		t.Errorf("ExternalCatalogs: %v", err)
	}
	// The test server keeps Linux's lower_case_table_names = 0: names do not fold.
	if f := src.Features(); f.MaterializedViews || f.ExternalCatalogs || f.Dialect != source.DialectMySQL || f.FoldedNames || f.MaxConnections <= 0 {
		t.Errorf("Features = %+v", f)
	}
}

func TestCatalogNotFound(t *testing.T) {
	e := newEnv(t)
	createCatalog(t, e)
	ctx, src := e.ctx, e.src
	for name, err := range map[string]error{
		"Partitions(missing)":                   second(src.Partitions(ctx, e.name, "missing")),
		"Partitions(view)":                      second(src.Partitions(ctx, e.name, "v_plain")),
		"Partitions(T_PLAIN)":                   second(src.Partitions(ctx, e.name, "T_PLAIN")),
		"Partitions(temporary)":                 second(src.Partitions(ctx, e.name, "t_temp")),
		"Columns(missing)":                      second(src.Columns(ctx, e.name, "missing")),
		"TableDDL(view)":                        second(src.TableDDL(ctx, e.name, "v_plain")),
		"TableDDL(missing db)":                  second(src.TableDDL(ctx, "no_such_db", "t")),
		"ViewDDL(table)":                        second(src.ViewDDL(ctx, e.name, "t_plain")),
		"FunctionDDL(missing)":                  second(src.FunctionDDL(ctx, e.name, "missing")),
		"PlanShards(no partition)":              second(src.PlanShards(ctx, e.name, "t_range", "p9", 1)),
		"PlanShards(unpartitioned, other name)": second(src.PlanShards(ctx, e.name, "t_plain", "p0", 1)),
	} {
		if !errors.Is(err, source.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	for name, err := range map[string]error{
		"Tables(empty)":     second(src.Tables(ctx, "")),
		"Columns(NUL)":      second(src.Columns(ctx, e.name, "a\x00b")),
		"PlanShards(0)":     second(src.PlanShards(ctx, e.name, "t_plain", "t_plain", 0)),
		"OpenShard(no key)": second(src.OpenShard(ctx, source.Shard{Database: e.name, Table: "t_plain", Partition: "t_plain", Key: "nope", Lo: ptr("1")})),
		"OpenShard(bad bound)": second(src.OpenShard(ctx, source.Shard{Database: e.name, Table: "t_plain", Partition: "t_plain",
			Key: "id", Lo: ptr("1; DROP TABLE t_plain")})),
	} {
		if err == nil || errors.Is(err, source.ErrNotFound) {
			t.Errorf("%s: %v, want a plain error", name, err)
		}
	}
	if n := e.count(t, "t_plain"); n != 0 {
		t.Errorf("t_plain has %d rows", n)
	}
}

func second[T any](_ T, err error) error { return err }

func ptr[T any](v T) *T { return &v }

// TestWithCatalog reads a database's catalog at once and checks that it
// answers exactly as the per-table lookups do: columns (JSON checks,
// generated, invisible), partitions (subpartitions, odd names), split keys
// (primary, a unique NOT NULL key, a prefix key, none) and the planned
// shards; a table created after the read, and one in another database,
// are looked up as before, and a missing one is not found.
func TestWithCatalog(t *testing.T) {
	e := newEnv(t)
	createCatalog(t, e)
	e.exec(t,
		"CREATE TABLE t_json (id INT PRIMARY KEY, j JSON, k LONGTEXT CHECK (json_valid(k)))",
		"CREATE TABLE t_unique (a INT NULL, b INT NOT NULL, c INT NOT NULL, UNIQUE KEY ab (a, b), UNIQUE KEY bc (b, c), UNIQUE KEY c1 (c))",
		"CREATE TABLE t_prefix (s VARCHAR(50) NOT NULL, UNIQUE KEY sp (s(10)))",
		"CREATE TABLE t_nokey (x INT)",
		"INSERT INTO t_plain VALUES (1,'a'),(2,'b')",
	)
	ctx := e.ctx
	got, err := e.src.WithCatalog(ctx, e.name)
	if err != nil {
		t.Fatal(err)
	}
	e.exec(t, "CREATE TABLE t_later (id INT PRIMARY KEY)")
	tables, err := e.src.Tables(ctx, e.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Kind != source.KindTable {
			continue
		}
		wantCols, err := e.src.Columns(ctx, e.name, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		gotCols, err := got.Columns(ctx, e.name, tb.Name)
		if err != nil || !reflect.DeepEqual(gotCols, wantCols) {
			t.Errorf("%s: columns %+v, %v; want %+v", tb.Name, gotCols, err, wantCols)
		}
		wantParts, err := e.src.Partitions(ctx, e.name, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		gotParts, err := got.Partitions(ctx, e.name, tb.Name)
		if err != nil || !reflect.DeepEqual(gotParts, wantParts) {
			t.Errorf("%s: partitions %+v, %v; want %+v", tb.Name, gotParts, err, wantParts)
		}
		for _, p := range wantParts {
			want, err := e.src.PlanPartition(ctx, e.name, tb.Name, p, 1)
			if err != nil {
				t.Fatal(err)
			}
			shards, err := got.PlanPartition(ctx, e.name, tb.Name, p, 1)
			if err != nil || !reflect.DeepEqual(shards, want) {
				t.Errorf("%s partition %s: shards %+v, %v; want %+v", tb.Name, p.Name, shards, err, want)
			}
		}
	}
	for name, key := range map[string]string{"t_plain": "id", "t_unique": "c", "t_prefix": "", "t_nokey": "", "t_later": "id"} {
		shards, err := got.PlanShards(ctx, e.name, name, name, 1<<20)
		if err != nil || len(shards) != 1 || shards[0].Key != key {
			t.Errorf("%s: planned %+v, %v; want one shard keyed by %q", name, shards, err, key)
		}
	}
	if _, err := got.Columns(ctx, e.name, "no_such_table"); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("a missing table: %v", err)
	}
	if err := got.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.src.Version(ctx); err != nil {
		t.Errorf("closing the catalog closed the source: %v", err)
	}
}
