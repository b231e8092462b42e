package mysql_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/shared/source"
)

// shapeCase is a table whose rows are identified by a key of one shape.
type shapeCase struct {
	name string
	ddl  string // the key columns and the key
	gen  string // SQL expressions of seq (1..n) for the key columns
}

var shapeCases = []shapeCase{
	{"int_negative_gaps", "k BIGINT NOT NULL, PRIMARY KEY (k)",
		"IF(seq % 2, -1, 1) * (CAST(seq AS SIGNED) * CAST(seq AS SIGNED) + IF(seq % 1000 = 0, 1000000000000, 0))"},
	{"string", "k VARCHAR(64) NOT NULL, PRIMARY KEY (k)", "CONCAT(SUBSTR(MD5(seq), 1, 1 + seq % 20), '-', seq)"},
	{"composite", "a INT NOT NULL, b VARCHAR(20) NOT NULL, PRIMARY KEY (a, b)", "seq DIV 7, CONCAT('b', seq)"},
	{"uuid", "k UUID NOT NULL, PRIMARY KEY (k)", "UUID()"},
	{"uuid_char", "k CHAR(36) CHARACTER SET ascii NOT NULL, PRIMARY KEY (k)", "UUID()"},
	{"binary16", "k BINARY(16) NOT NULL, PRIMARY KEY (k)", "UNHEX(MD5(seq))"},
	{"decimal", "k DECIMAL(18,4) NOT NULL, PRIMARY KEY (k)", "(CAST(seq AS SIGNED) - 12000) * 1.0625"},
	{"unique_not_null", "k INT NOT NULL, n INT NULL, UNIQUE KEY nullable (n), UNIQUE KEY uk (k)", "seq * 5, seq"},
}

// shapeRows keeps each case a few seconds on a shared 2-core machine.
const shapeRows = 30000

// TestShardSizesByKeyShape plans tables of every key shape, loaded just
// before planning (InnoDB has not sampled them yet, so their statistics are
// far off), and checks each shard holds between half and twice the target
// of value bytes and that together they hold every row exactly once.
func TestShardSizesByKeyShape(t *testing.T) {
	e := newEnv(t)
	for _, tc := range shapeCases {
		t.Run(tc.name, func(t *testing.T) {
			table := "shape_" + tc.name
			e.exec(t,
				fmt.Sprintf("CREATE TABLE %s (%s, pad VARCHAR(300) NOT NULL) STATS_AUTO_RECALC = 0", q(table), tc.ddl),
				fmt.Sprintf("INSERT INTO %s SELECT %s, REPEAT('x', 100 + seq %% 200) FROM seq_1_to_%d", q(table), tc.gen, shapeRows))
			total := e.count(t, q(table))
			var valueBytes int64
			all, err := e.src.PlanShards(e.ctx, e.name, table, table, 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			for _, sh := range all {
				valueBytes += shardValueBytes(t, e, sh, nil, nil)
			}
			target := valueBytes / 10
			start := time.Now()
			shards, err := e.src.PlanShards(e.ctx, e.name, table, table, target)
			if err != nil {
				t.Fatal(err)
			}
			planned := time.Since(start)
			if len(shards) < 5 {
				t.Fatalf("%d shards of %d value bytes at a target of %d", len(shards), valueBytes, target)
			}
			seen := map[string]bool{}
			var read int64
			sizes := make([]string, len(shards))
			for i, sh := range shards {
				if sh.Key == "" || (tc.name == "unique_not_null") != (sh.KeyIndex == "uk") {
					t.Errorf("shard %d: key %q index %q", i, sh.Key, sh.KeyIndex)
				}
				n := shardValueBytes(t, e, sh, seen, &read)
				sizes[i] = fmt.Sprintf("%.2f", float64(n)/float64(target))
				if n > 2*target || (i < len(shards)-1 && n < target/2) {
					t.Errorf("shard %d holds %d value bytes, the target is %d (est %d)", i, n, target, sh.EstBytes)
				}
			}
			if read != total || int64(len(seen)) != total {
				t.Errorf("shards hold %d rows (%d distinct), the table %d", read, len(seen), total)
			}
			t.Logf("%d shards in %s, size / target: %s", len(shards), planned.Round(time.Millisecond), strings.Join(sizes, " "))
		})
	}
}

// shardValueBytes reads a shard and returns the bytes of its values; with
// seen it also checks no row (by its first column, or first two) is read
// twice and counts rows into *read.
func shardValueBytes(t *testing.T, e *env, sh source.Shard, seen map[string]bool, read *int64) int64 {
	t.Helper()
	_, rows := readAll(t, e.ctx, e.src, sh)
	var n int64
	for _, r := range rows {
		for _, v := range r {
			if v != "\x00NULL" {
				n += int64(len(v))
			}
		}
		if seen != nil {
			id := r[0] + "\x00" + r[1]
			if seen[id] {
				t.Errorf("row %q read twice", id)
			}
			seen[id] = true
			*read++
		}
	}
	return n
}

// TestStaleStatistics plans tables whose statistics are far off by their
// real size: loaded after InnoDB sampled them (16 KB for the whole table),
// claiming ten times their size, or claiming almost nothing in both rows
// and bytes.
func TestStaleStatistics(t *testing.T) {
	e := newEnv(t)
	const rows = 40000
	load := func(table string) {
		e.exec(t, "CREATE TABLE "+q(table)+" (id BIGINT NOT NULL PRIMARY KEY, pad VARCHAR(200) NOT NULL) STATS_AUTO_RECALC = 0",
			"INSERT INTO "+q(table)+" SELECT seq * 3, REPEAT('x', 150) FROM seq_1_to_"+fmt.Sprint(rows))
	}
	stats := func(table string) (n, bytes int64) {
		if err := e.db.QueryRowContext(e.ctx, "SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			e.name, table).Scan(&n, &bytes); err != nil {
			t.Fatal(err)
		}
		return n, bytes
	}
	fake := func(table string, n, pages int64) {
		e.exec(t, fmt.Sprintf("UPDATE mysql.innodb_table_stats SET n_rows = %d, clustered_index_size = %d WHERE database_name = '%s' AND table_name = '%s'",
			n, pages, e.name, table),
			// A rename makes InnoDB load the table's statistics again.
			"RENAME TABLE "+q(table)+" TO "+q(table+"_"), "RENAME TABLE "+q(table+"_")+" TO "+q(table))
	}
	const rowValueBytes = 150 + 6 // pad and about six digits of id
	target := int64(rows * rowValueBytes / 8)

	load("fresh")
	n, bytes := stats("fresh")
	t.Logf("fresh: statistics say %d rows in %d bytes", n, bytes)

	load("claims10x")
	e.exec(t, "ANALYZE TABLE claims10x")
	n, bytes = stats("claims10x")
	fake("claims10x", 10*n, 10*bytes/16384)
	n, bytes = stats("claims10x")
	t.Logf("claims10x: statistics say %d rows in %d bytes", n, bytes)

	load("claimsnothing")
	fake("claimsnothing", 10, 1)
	n, bytes = stats("claimsnothing")
	t.Logf("claimsnothing: statistics say %d rows in %d bytes", n, bytes)

	for _, table := range []string{"fresh", "claims10x", "claimsnothing"} {
		shards, err := e.src.PlanShards(e.ctx, e.name, table, table, target)
		if err != nil {
			t.Fatal(err)
		}
		var est int64
		for i, sh := range shards {
			_, got := readAll(t, e.ctx, e.src, sh)
			if len(got) == 0 || len(got) > 2*int(target/rowValueBytes) {
				t.Errorf("%s: shard %d holds %d rows, planned %d", table, i, len(got), sh.EstRows)
			}
			est += sh.EstRows
		}
		if len(shards) < 6 || len(shards) > 12 {
			t.Errorf("%s: %d shards, want about 10", table, len(shards))
		}
		if est != rows {
			t.Errorf("%s: the plan estimates %d rows, the table has %d", table, est, rows)
		}
		t.Logf("%s: %d shards", table, len(shards))
	}
}

// TestKeylessTableIsOneShard names why a table with neither a primary key
// nor a unique NOT NULL key is read whole.
func TestKeylessTableIsOneShard(t *testing.T) {
	e := newEnv(t)
	e.exec(t, "CREATE TABLE heap (a INT, b INT NULL, UNIQUE KEY (b), pad VARCHAR(200))",
		"INSERT INTO heap SELECT seq, seq, REPEAT('x', 200) FROM seq_1_to_5000", "ANALYZE TABLE heap")
	shards, err := e.src.PlanShards(e.ctx, e.name, "heap", "heap", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 1 || shards[0].Key != "" || !strings.Contains(shards[0].Unsplit, "no primary key or unique NOT NULL key") {
		t.Errorf("%+v, want one whole shard that says why", shards)
	}
}
