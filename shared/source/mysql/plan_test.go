package mysql_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/source"
)

// splitCase is a table whose primary key leads with a column of one kind.
type splitCase struct {
	name   string
	ddl    string // columns and key; the table also gets a 200-byte pad column
	keyGen string // SQL expression of seq (1..n) for the leading key column
	rest   string // SQL expressions for the other key columns, if any
	before string // INSERT values of a row sorting before every generated one
	after  string // … and after
}

var splitCases = []splitCase{
	{"int", "k BIGINT NOT NULL, PRIMARY KEY (k)", "CAST(seq AS SIGNED) * 3 - 30000", "", "-9223372036854775808", "9223372036854775807"},
	{"uint", "k BIGINT UNSIGNED NOT NULL, PRIMARY KEY (k)", "seq * 1000", "", "0", "18446744073709551615"},
	{"composite_dups", "k INT NOT NULL, id INT NOT NULL, PRIMARY KEY (k, id)", "seq % 7", ", seq", "-1, 1", "100, 1"},
	{"decimal", "k DECIMAL(20,5) NOT NULL, PRIMARY KEY (k)", "seq / 7 - 1000", "", "-999999999999999.99999", "999999999999999.99999"},
	{"varchar_ci", "k VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, PRIMARY KEY (k)",
		"CONCAT(IF(seq % 2, 'Ü', 'u'), LPAD(seq, 6, '0'), IF(seq % 3, '''`', ' é'))", "", "''", "'ZZZZ'"},
	{"char_latin1", "k CHAR(12) CHARACTER SET latin1 NOT NULL, PRIMARY KEY (k)", "CONCAT(CHAR(160 + seq % 90 USING latin1), LPAD(seq, 8, '0'))", "",
		"CONVERT(X'20' USING latin1)", "CONVERT(X'FFFF' USING latin1)"},
	{"varbinary", "k VARBINARY(16) NOT NULL, PRIMARY KEY (k)", "UNHEX(LPAD(HEX(seq * 7919), 8, '0'))", "", "X''", "X'FFFFFFFFFF'"},
	{"datetime", "k DATETIME(6) NOT NULL, PRIMARY KEY (k)", "TIMESTAMP('2000-01-01') + INTERVAL seq * 1234567 MICROSECOND", "",
		"'0000-00-00 00:00:00'", "'9999-12-31 23:59:59.999999'"},
	{"timestamp", "k TIMESTAMP(3) NOT NULL, PRIMARY KEY (k)", "FROM_UNIXTIME(1e9 + seq * 1.5)", "", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'"},
	{"time", "k TIME(6) NOT NULL, PRIMARY KEY (k)", "SEC_TO_TIME(CAST(seq AS SIGNED) * 50 - 500000)", "", "'-838:59:59'", "'838:59:59'"},
	{"date", "k DATE NOT NULL, id INT NOT NULL, PRIMARY KEY (k, id)", "DATE('1000-01-01') + INTERVAL seq % 5000 DAY", ", seq", "'0000-00-00', 1", "'9999-12-31', 1"},
}

const splitRows = 20000

// TestPlanShardsCoversEveryRow splits tables bigger than the target into
// key ranges and checks the shards together hold every row exactly once,
// including rows inserted after planning below and above every bound.
func TestPlanShardsCoversEveryRow(t *testing.T) {
	e := newEnv(t)
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			table := "split_" + tc.name
			e.exec(t,
				"SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'", // zero dates allowed
				"SET time_zone = '+00:00'",
				fmt.Sprintf("CREATE TABLE %s (%s, pad VARCHAR(200) NOT NULL)", q(table), tc.ddl),
				fmt.Sprintf("INSERT IGNORE INTO %s SELECT %s%s, REPEAT('x', 200) FROM seq_1_to_%d", q(table), tc.keyGen, tc.rest, splitRows),
				"ANALYZE TABLE "+q(table))
			total := e.count(t, q(table))
			var dataBytes int64
			if err := e.db.QueryRowContext(e.ctx, "SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
				e.name, table).Scan(&dataBytes); err != nil {
				t.Fatal(err)
			}
			shards, err := e.src.PlanShards(e.ctx, e.name, table, table, dataBytes/6)
			if err != nil {
				t.Fatal(err)
			}
			if len(shards) < 3 {
				t.Fatalf("%d shards for %d bytes at a target of %d", len(shards), dataBytes, dataBytes/6)
			}
			if shards[0].Lo != nil || shards[len(shards)-1].Hi != nil {
				t.Errorf("first shard bounded below or last above: %+v … %+v", shards[0], shards[len(shards)-1])
			}
			for i, sh := range shards {
				if sh.Index != i || sh.Key != "k" || (i > 0 && *sh.Lo != *shards[i-1].Hi) {
					t.Errorf("shard %d = %+v does not follow the previous one", i, sh)
				}
			}

			// Rows inserted after planning, below and above every bound.
			e.exec(t, "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'", "SET time_zone = '+00:00'",
				fmt.Sprintf("INSERT INTO %s VALUES (%s, 'before'), (%s, 'after')", q(table), tc.before, tc.after))
			total += 2

			seen := map[string]int{}
			var read int64
			for _, sh := range shards {
				_, rows := readAll(t, e.ctx, e.src, sh)
				for _, r := range rows {
					id := strings.Join(r[:len(r)-1], "\x00") // the primary key
					seen[id]++
					if seen[id] == 2 {
						t.Errorf("row %q read twice", id)
					}
				}
				read += int64(len(rows))
			}
			if read != total || int64(len(seen)) != total {
				t.Errorf("shards hold %d rows (%d distinct), the table %d", read, len(seen), total)
			}
			t.Logf("%d shards, %d rows", len(shards), read)
		})
	}
}

// TestPlanSmallAndKeyless keeps a partition whole when it fits the target
// or has no usable key.
func TestPlanSmallAndKeyless(t *testing.T) {
	e := newEnv(t)
	e.exec(t,
		"CREATE TABLE nokey (a INT, pad VARCHAR(200))",
		"INSERT INTO nokey SELECT seq, REPEAT('x', 200) FROM seq_1_to_5000",
		"CREATE TABLE prefixkey (a TEXT NOT NULL, PRIMARY KEY (a(10)))",
		"INSERT INTO prefixkey SELECT CONCAT(LPAD(seq, 10, '0'), REPEAT('x', 200)) FROM seq_1_to_5000",
		"CREATE TABLE floatkey (a DOUBLE NOT NULL PRIMARY KEY, pad VARCHAR(200))",
		"INSERT INTO floatkey SELECT seq / 3, REPEAT('x', 200) FROM seq_1_to_5000",
		"ANALYZE TABLE nokey, prefixkey, floatkey")
	for _, table := range []string{"nokey", "prefixkey", "floatkey"} {
		shards, err := e.src.PlanShards(e.ctx, e.name, table, table, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(shards) != 1 || shards[0].Lo != nil || shards[0].Hi != nil || shards[0].Key != "" {
			t.Errorf("%s: %+v, want one whole shard", table, shards)
		}
		if _, rows := readAll(t, e.ctx, e.src, shards[0]); len(rows) != 5000 {
			t.Errorf("%s: read %d rows", table, len(rows))
		}
	}
	shards, err := e.src.PlanShards(e.ctx, e.name, "nokey", "nokey", 1<<40)
	if err != nil || len(shards) != 1 || shards[0].EstRows == 0 || shards[0].EstBytes == 0 {
		t.Errorf("small table: %+v, %v", shards, err)
	}
}

// TestPartitionSelection reads partitions one by one: each shard holds its
// partition's rows only, whole or split.
func TestPartitionSelection(t *testing.T) {
	e := newEnv(t)
	e.exec(t,
		`CREATE TABLE r (id INT PRIMARY KEY, pad VARCHAR(200)) PARTITION BY RANGE (id)
			(PARTITION p0 VALUES LESS THAN (1000), PARTITION p1 VALUES LESS THAN (11000), PARTITION pmax VALUES LESS THAN MAXVALUE)`,
		"INSERT INTO r SELECT seq - 1, REPEAT('x', 200) FROM seq_1_to_12000",
		`CREATE TABLE s (id INT, d DATE, PRIMARY KEY (id, d)) PARTITION BY RANGE (YEAR(d))
			SUBPARTITION BY HASH (id) SUBPARTITIONS 3
			(PARTITION p2023 VALUES LESS THAN (2024), PARTITION p2024 VALUES LESS THAN (2025))`,
		"INSERT INTO s SELECT seq, DATE('2023-01-01') + INTERVAL seq % 700 DAY FROM seq_1_to_3000",
		"CREATE TABLE "+q(weird)+" ("+q("co`l")+" INT PRIMARY KEY) PARTITION BY LIST ("+q("co`l")+") (PARTITION "+q("p`1")+" VALUES IN (1, 2), PARTITION "+q("P 2")+" VALUES IN (3))",
		"INSERT INTO "+q(weird)+" VALUES (1), (2), (3)",
		"ANALYZE TABLE r, s")

	for _, tc := range []struct {
		table, partition string
		target           int64
		lo, hi           int
		minShards        int
	}{
		{"r", "p0", 1 << 30, 0, 1000, 1},
		{"r", "P1", 200 << 10, 1000, 11000, 3}, // partition names are case-insensitive
		{"r", "pmax", 1 << 30, 11000, 12000, 1},
	} {
		shards, err := e.src.PlanShards(e.ctx, e.name, tc.table, tc.partition, tc.target)
		if err != nil {
			t.Fatal(err)
		}
		if len(shards) < tc.minShards {
			t.Errorf("%s: %d shards, want at least %d", tc.partition, len(shards), tc.minShards)
		}
		ids := map[string]bool{}
		for _, sh := range shards {
			if !sh.Partitioned || !strings.EqualFold(sh.Partition, tc.partition) {
				t.Errorf("shard %+v does not select partition %s", sh, tc.partition)
			}
			_, rows := readAll(t, e.ctx, e.src, sh)
			for _, r := range rows {
				var id int
				fmt.Sscan(r[0], &id)
				if id < tc.lo || id >= tc.hi || ids[r[0]] {
					t.Errorf("partition %s: row %d out of range or twice", tc.partition, id)
				}
				ids[r[0]] = true
			}
		}
		if len(ids) != tc.hi-tc.lo {
			t.Errorf("partition %s: %d rows, want %d", tc.partition, len(ids), tc.hi-tc.lo)
		}
	}

	for _, p := range []string{"p2023", "p2024"} {
		shards, err := e.src.PlanShards(e.ctx, e.name, "s", p, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		want := e.count(t, "s PARTITION ("+p+")")
		_, rows := readAll(t, e.ctx, e.src, shards[0])
		if int64(len(rows)) != want || want == 0 {
			t.Errorf("subpartitioned %s: read %d rows, want %d", p, len(rows), want)
		}
		for _, r := range rows {
			if !strings.HasPrefix(r[1], p[1:]) {
				t.Errorf("partition %s holds %v", p, r)
			}
		}
	}

	for p, want := range map[string]string{"p`1": "1 2", "P 2": "3"} {
		shards, err := e.src.PlanShards(e.ctx, e.name, weird, p, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		_, rows := readAll(t, e.ctx, e.src, shards[0])
		var got []string
		for _, r := range rows {
			got = append(got, r[0])
		}
		if strings.Join(got, " ") != want {
			t.Errorf("partition %q holds %v, want %s", p, got, want)
		}
	}
}

// TestShardJSON keeps shard descriptors small: they travel in Step
// Functions payloads.
func TestShardJSON(t *testing.T) {
	lo, hi := "00000000000000000042", "00000000000000009000"
	sh := source.Shard{Database: "shop", Table: "orders", Partition: "p2024", Partitioned: true, Index: 12,
		Key: "id", Lo: &lo, Hi: &hi, EstBytes: 256 << 20, EstRows: 1_000_000}
	b, err := json.Marshal(sh)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 200 {
		t.Errorf("shard JSON is %d bytes: %s", len(b), b)
	}
	var back source.Shard
	if err := json.Unmarshal(b, &back); err != nil || *back.Lo != lo || *back.Hi != hi || back.Partition != "p2024" {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
