package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/shared/api"
)

// restoreEnv is the API environment plus a pool on its MariaDB.
type restoreEnv struct {
	*apiEnv
	pool *sql.DB
}

func startRestoreEnv(t *testing.T) *restoreEnv {
	e := startAPIEnv(t)
	pool, err := shared.Server(t).Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	e.mustSQL(fmt.Sprintf("CREATE REPOSITORY repo WITH BROKER ON LOCATION 's3://%s/backups'", e.stack.Bucket))
	return &restoreEnv{apiEnv: e, pool: pool}
}

func (e *restoreEnv) exec(stmts ...string) {
	e.t.Helper()
	for _, s := range stmts {
		if _, err := e.pool.ExecContext(context.Background(), s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

func (e *restoreEnv) strings(q string, args ...any) []string {
	e.t.Helper()
	rows, err := e.pool.QueryContext(context.Background(), q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s.String)
	}
	return out
}

// backup takes a snapshot of db through the API and returns its timestamp.
func (e *restoreEnv) backup(db, label string) string {
	e.t.Helper()
	e.mustSQL(fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT %s TO repo", db, label))
	e.waitState(db, "FINISHED")
	res := e.mustSQL(fmt.Sprintf("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = '%s'", label))[0]
	return cell(e.t, res, 0, "Timestamp")
}

// waitRestore polls SHOW RESTORE FROM db until the job is final (or in one
// of want) and returns the row.
func (e *restoreEnv) waitRestore(db string, want ...string) api.Result {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last api.Result
	for time.Now().Before(deadline) {
		last = e.mustSQL("SHOW RESTORE FROM " + db)[0]
		if len(last.Rows) == 1 {
			state := cell(e.t, last, 0, "State")
			if slices.Contains(want, state) {
				return last
			}
			if state == "FINISHED" || state == "CANCELLED" {
				e.t.Fatalf("restore ended %s %s, want %v: %v", state, cell(e.t, last, 0, "Status"), want, rowText(last))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %v: %v", want, rowText(last))
	return last
}

// checksums is CHECKSUM TABLE of every base table of db, by name. A
// system-versioned table's checksum covers its history, so its current
// rows are hashed instead; a sequence is compared by its one row.
func (e *restoreEnv) checksums(db string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, row := range e.strings("SELECT CONCAT(TABLE_TYPE, '|', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' ORDER BY 1", db) {
		kind, t, _ := strings.Cut(row, "|")
		q := quote(db) + "." + quote(t)
		switch kind {
		case "SYSTEM VERSIONED", "SEQUENCE":
			cols := e.strings("SELECT CONCAT('HEX(`', COLUMN_NAME, '`)') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME NOT IN ('row_start', 'row_end') ORDER BY ORDINAL_POSITION", db, t)
			out[t] = kind + " " + e.strings("SELECT CONCAT(COUNT(*), ':', IFNULL(BIT_XOR(CRC32(CONCAT_WS('|', "+strings.Join(cols, ", ")+"))), 0)) FROM "+q)[0]
		default:
			var name string
			var sum sql.NullString
			if err := e.pool.QueryRowContext(context.Background(), "CHECKSUM TABLE "+q).Scan(&name, &sum); err != nil {
				e.t.Fatal(err)
			}
			out[t] = sum.String
		}
	}
	return out
}

// definitions is every view's and function's definition in db, with the
// database name taken out, so two databases compare.
func (e *restoreEnv) definitions(db string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, v := range e.strings("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", db) {
		def := e.strings("SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, v)[0]
		out["view "+v] = strings.ReplaceAll(def, "`"+db+"`", "`DB`")
	}
	for _, f := range e.strings("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", db) {
		def := e.strings("SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?", db, f)[0]
		out["routine "+f] = strings.ReplaceAll(def, "`"+db+"`", "`DB`")
	}
	return out
}

func sameMap(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s: got %q, want %q", what, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s %s: not in the source", what, k)
		}
	}
}

// leftovers lists the job tables (__srr_*, __sro_*) left in db.
func (e *restoreEnv) leftovers(db string) []string {
	return e.strings("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND (TABLE_NAME LIKE '\\_\\_srr\\_%' OR TABLE_NAME LIKE '\\_\\_sro\\_%')", db)
}

func TestRestore(t *testing.T) {
	e := startRestoreEnv(t)
	if err := fixture.CreateStateful(context.Background(), e.pool, "shop"); err != nil {
		t.Fatal(err)
	}
	ts := e.backup("shop", "r1")
	srcSums, srcDefs := e.checksums("shop"), e.definitions("shop")
	if len(srcSums) < 3 {
		t.Fatalf("the sample database has %d tables", len(srcSums))
	}

	t.Run("database AS another", func(t *testing.T) {
		status, out := e.sql(fmt.Sprintf(`RESTORE SNAPSHOT r1 FROM repo DATABASE shop AS shop_r PROPERTIES ("backup_timestamp" = "%s")`, ts))
		if status != http.StatusAccepted || out.Error != nil {
			t.Fatalf("RESTORE: %d %+v", status, out.Error)
		}
		row := e.waitRestore("shop_r", "FINISHED")
		t.Logf("%s", rowText(row))
		sameMap(t, "checksum", srcSums, e.checksums("shop_r"))
		e.compareValues(t, "all_types", "shop", "shop_r")
		sameMap(t, "definition", srcDefs, e.definitions("shop_r"))
		if l := e.leftovers("shop_r"); len(l) > 0 {
			t.Errorf("job tables left: %v", l)
		}
	})
}

// compareValues compares a table of two databases value by value, by
// primary key id, column by column, with <=> on the stored bytes (HEX, so
// collations and float printing cannot hide a difference).
func (e *restoreEnv) compareValues(t *testing.T, table, srcDB, dstDB string) {
	t.Helper()
	cols := e.strings("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", srcDB, table)
	var n int
	if err := e.pool.QueryRowContext(context.Background(), fmt.Sprintf("SELECT COUNT(*) FROM %s.%s a JOIN %s.%s b USING (id)",
		quote(srcDB), quote(table), quote(dstDB), quote(table))).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if total := e.strings(fmt.Sprintf("SELECT COUNT(*) FROM %s.%s", quote(srcDB), quote(table)))[0]; fmt.Sprint(n) != total {
		t.Errorf("%s: %d rows match by id, the source has %s", table, n, total)
	}
	for _, c := range cols {
		bad := e.strings(fmt.Sprintf("SELECT CONCAT(a.id, ': ', IFNULL(HEX(a.%[1]s), 'NULL'), ' vs ', IFNULL(HEX(b.%[1]s), 'NULL')) FROM %[2]s.%[4]s a JOIN %[3]s.%[4]s b USING (id) WHERE NOT (HEX(a.%[1]s) <=> HEX(b.%[1]s)) LIMIT 3",
			quote(c), quote(srcDB), quote(dstDB), quote(table)))
		if len(bad) > 0 {
			t.Errorf("%s.%s differs: %v", table, c, bad)
		}
	}
}
