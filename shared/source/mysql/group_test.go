package mysql_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/source"
)

// TestOpenGroup reads groups of partitions in one statement and checks each
// row went to the partition a one-partition read finds it in, for every
// method that is grouped, with NULLs, both signs, bounds, UNSIGNED values
// above 2^63-1, expressions, subpartitions, empty partitions, LINEAR HASH,
// and COLUMNS methods on integers, dates (bounds written loosely, zero
// dates) and datetimes (fractions at the bound), one and two columns; KEY
// methods and COLUMNS methods on text are refused before anything is read,
// and the snapshot reads on.
func TestOpenGroup(t *testing.T) {
	e := newEnv(t)
	e.exec(t,
		`CREATE TABLE h (k BIGINT NULL, v VARCHAR(10)) PARTITION BY HASH(k) PARTITIONS 7`,
		`INSERT INTO h VALUES (NULL,'n'),(0,'a'),(1,'b'),(-1,'c'),(6,'d'),(7,'e'),(-7,'f'),(-8,'g'),
			(-9223372036854775808,'min'),(9223372036854775807,'max'),(-9223372036854775807,'min1'),(13,NULL)`,
		`CREATE TABLE hu (k BIGINT UNSIGNED NOT NULL PRIMARY KEY) PARTITION BY HASH(k) PARTITIONS 5`,
		`INSERT INTO hu VALUES (0),(5),(9223372036854775807),(9223372036854775808),(9223372036854775809),(18446744073709551615)`,
		`CREATE TABLE r (k BIGINT NULL, v INT) PARTITION BY RANGE (k) (
			PARTITION lo VALUES LESS THAN (-10), PARTITION neg VALUES LESS THAN (0), PARTITION small VALUES LESS THAN (10),
			PARTITION empty VALUES LESS THAN (20), PARTITION top VALUES LESS THAN MAXVALUE)`,
		`INSERT INTO r VALUES (NULL,1),(-9223372036854775808,2),(-11,3),(-10,4),(-1,5),(0,6),(9,7),(20,8),(9223372036854775807,9)`,
		`CREATE TABLE ru (k BIGINT UNSIGNED NOT NULL) PARTITION BY RANGE (k) (
			PARTITION a VALUES LESS THAN (10), PARTITION b VALUES LESS THAN (9223372036854775808), PARTITION c VALUES LESS THAN MAXVALUE)`,
		`INSERT INTO ru VALUES (0),(9),(10),(9223372036854775807),(9223372036854775808),(18446744073709551615)`,
		`CREATE TABLE l (k INT NULL, v INT) PARTITION BY LIST (k) (
			PARTITION pn VALUES IN (NULL, 1), PARTITION p23 VALUES IN (2, 3), PARTITION pm VALUES IN (-5), PARTITION none VALUES IN (100))`,
		`INSERT INTO l VALUES (NULL,1),(1,2),(2,3),(3,4),(-5,5),(NULL,6)`,
		`CREATE TABLE y (id INT NOT NULL, d DATE NOT NULL, PRIMARY KEY (id, d)) PARTITION BY RANGE (YEAR(d))
			SUBPARTITION BY HASH (id) SUBPARTITIONS 3 (
			PARTITION y1 VALUES LESS THAN (2000), PARTITION y2 VALUES LESS THAN (2025), PARTITION y3 VALUES LESS THAN MAXVALUE)`,
		`INSERT INTO y VALUES (1,'1999-12-31'),(2,'2000-01-01'),(3,'2024-12-31'),(4,'2025-01-01'),(5,'0000-00-00'),(6,'9999-12-31')`,
		`CREATE TABLE k (id INT PRIMARY KEY) PARTITION BY KEY (id) PARTITIONS 3`,
		`INSERT INTO k VALUES (1),(2),(3)`,
		`CREATE TABLE rc (a INT, b VARCHAR(5)) PARTITION BY RANGE COLUMNS (a, b) (
			PARTITION x VALUES LESS THAN (5, 'm'), PARTITION z VALUES LESS THAN (MAXVALUE, MAXVALUE))`,
		`INSERT INTO rc VALUES (1,'a'),(9,'z')`,
		`CREATE TABLE lk (a INT) PARTITION BY LINEAR KEY (a) PARTITIONS 3`,
		`INSERT INTO lk VALUES (1),(2),(3),(NULL)`,
		`CREATE TABLE lh (k BIGINT NULL, v INT) PARTITION BY LINEAR HASH (k) PARTITIONS 6`,
		`INSERT INTO lh VALUES (NULL,1),(0,2),(1,3),(5,4),(6,5),(7,6),(13,7),(-1,8),(-6,9),(-7,10),
			(-9223372036854775808,11),(9223372036854775807,12),(255,13)`,
		`CREATE TABLE lhu (k BIGINT UNSIGNED NOT NULL) PARTITION BY LINEAR HASH (k) PARTITIONS 3`,
		`INSERT INTO lhu VALUES (0),(1),(2),(3),(9223372036854775808),(18446744073709551615)`,
		`CREATE TABLE rcd (id INT, d DATE NULL) PARTITION BY RANGE COLUMNS (d) (
			PARTITION d0 VALUES LESS THAN ('2024-01-02'), PARTITION d1 VALUES LESS THAN ('2024-1-3'),
			PARTITION d2 VALUES LESS THAN ('2024-02-01'), PARTITION dmax VALUES LESS THAN (MAXVALUE))`,
		`INSERT INTO rcd VALUES (1,NULL),(2,'0000-00-00'),(3,'2024-01-01'),(4,'2024-01-02'),(5,'2024-01-03'),
			(6,'2024-01-31'),(7,'2024-02-01'),(8,'9999-12-31'),(9,'2024-02-00')`,
		`CREATE TABLE rct (a INT UNSIGNED NOT NULL, t DATETIME(3) NULL) PARTITION BY RANGE COLUMNS (a, t) (
			PARTITION t0 VALUES LESS THAN (1, '2024-01-02'), PARTITION t1 VALUES LESS THAN (1, '2024-01-03 10:00:00.5'),
			PARTITION t2 VALUES LESS THAN (5, MAXVALUE), PARTITION t3 VALUES LESS THAN (4294967295, '2000-01-01'),
			PARTITION t4 VALUES LESS THAN (MAXVALUE, MAXVALUE))`,
		`INSERT INTO rct VALUES (0,NULL),(0,'2030-01-01'),(1,NULL),(1,'2024-01-01 23:59:59.999'),(1,'2024-01-02'),
			(1,'2024-01-03 10:00:00.499'),(1,'2024-01-03 10:00:00.5'),(1,'2024-01-03 10:00:00.501'),(5,NULL),
			(5,'1999-12-31 23:59:59'),(4294967295,'1999-01-01'),(4294967295,'2000-01-01'),(4294967295,NULL)`,
		`CREATE TABLE lcd (id INT, d DATE NULL) PARTITION BY LIST COLUMNS (d) (
			PARTITION a VALUES IN ('2024-01-01', '2024-1-2'), PARTITION b VALUES IN (NULL, '2024-01-03'),
			PARTITION c VALUES IN ('2025-06-30'))`,
		`INSERT INTO lcd VALUES (1,'2024-01-01'),(2,'2024-01-02'),(3,NULL),(4,'2024-01-03'),(5,'2025-06-30')`,
		`CREATE TABLE lc2 (a BIGINT NULL, d DATE NULL) PARTITION BY LIST COLUMNS (a, d) (
			PARTITION x VALUES IN ((1,'2024-01-01'),(-2,'2024-01-02')), PARTITION y VALUES IN ((NULL,NULL),(3,'2024-01-03'),(1,NULL)))`,
		`INSERT INTO lc2 VALUES (1,'2024-01-01'),(-2,'2024-01-02'),(NULL,NULL),(3,'2024-01-03'),(1,NULL)`,
	)
	sn := beginSnapshot(t, e)
	gr := sn.(source.GroupReader)
	shardsOf := func(table string) []source.Shard {
		parts, err := e.src.Partitions(e.ctx, e.name, table)
		if err != nil {
			t.Fatal(err)
		}
		var out []source.Shard
		for i, p := range parts {
			out = append(out, source.Shard{Database: e.name, Table: table, Partition: p.Name, Partitioned: true, Index: i})
		}
		return out
	}
	for _, table := range []string{"h", "hu", "r", "ru", "l", "y", "lh", "lhu", "rcd", "rct", "lcd", "lc2"} {
		all := shardsOf(table)
		var odd, evens []source.Shard // a subset, and one listed backwards
		for i, sh := range all {
			if i%2 == 1 {
				odd = append(odd, sh)
			} else {
				evens = append([]source.Shard{sh}, evens...)
			}
		}
		total := 0
		for _, group := range [][]source.Shard{all, odd, evens} {
			if len(group) == 0 {
				continue
			}
			got := readGroup(t, e, gr, group)
			for i, sh := range group {
				_, want := readAll(t, e.ctx, sn, sh)
				if !equalRows(got[i], want) {
					t.Errorf("%s partition %s: grouped read gave %q, one-partition read %q", table, sh.Partition, got[i], want)
				}
				if len(group) == len(all) {
					total += len(want)
				}
			}
		}
		if n := e.count(t, q(table)); int64(total) != n {
			t.Errorf("%s: %d rows over the partitions, %d in the table", table, total, n)
		}
	}
	for _, table := range []string{"k", "rc", "lk"} {
		if _, err := gr.OpenGroup(e.ctx, shardsOf(table)); !errors.Is(err, source.ErrNotGroupable) {
			t.Errorf("%s: OpenGroup = %v, want ErrNotGroupable", table, err)
		}
		n := 0
		for _, sh := range shardsOf(table) {
			_, rows := readAll(t, e.ctx, sn, sh)
			n += len(rows)
		}
		if want := map[string]int{"k": 3, "rc": 2, "lk": 4}[table]; n != want {
			t.Errorf("%s: the snapshot read %d rows after a refused group", table, n)
		}
	}
	// Not whole partitions of one table: refused.
	lo := "1"
	bad := shardsOf("h")[:2]
	bad[1].Lo = &lo
	if _, err := gr.OpenGroup(e.ctx, bad); err == nil || errors.Is(err, source.ErrNotGroupable) {
		t.Errorf("a key-range shard in a group: %v", err)
	}
}

// readGroup reads a group and returns each shard's rows, checking that the
// rows of one shard come together.
func readGroup(t *testing.T, e *env, gr source.GroupReader, group []source.Shard) [][][]string {
	t.Helper()
	rows, err := gr.OpenGroup(e.ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := make([][][]string, len(group))
	prev := -1
	ended := map[int]bool{}
	for rows.Next() {
		i := rows.Shard()
		if i != prev {
			if ended[i] {
				t.Fatalf("rows of %s came back after another partition's", group[i].Partition)
			}
			ended[prev] = true
			prev = i
		}
		out[i] = append(out[i], strs(rows.Values()))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// strs is a row as strings ("\x00NULL" for NULL).
func strs(vals [][]byte) []string {
	row := make([]string, len(vals))
	for i, v := range vals {
		if v == nil {
			row[i] = "\x00NULL"
		} else {
			row[i] = string(v)
		}
	}
	return row
}

func equalRows(a, b [][]string) bool {
	key := func(r []string) string { return strings.Join(r, "\x01") }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
