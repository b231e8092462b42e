package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
)

// restoreEnv is the API environment plus a pool on its MariaDB, a gate
// that holds restoreload invocations, and a fault hook on them.
type restoreEnv struct {
	*apiEnv
	pool     *sql.DB
	loadGate *uploadGate
	mu       sync.Mutex
	fault    func(ctx context.Context, payload []byte, real lambda.Handler) ([]byte, error)
}

func startRestoreEnv(t *testing.T) *restoreEnv {
	e := startAPIEnv(t)
	pool, err := shared.Server(t).Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	e.mustSQL(fmt.Sprintf("CREATE REPOSITORY repo WITH BROKER ON LOCATION 's3://%s/backups'", e.stack.Bucket))
	re := &restoreEnv{apiEnv: e, pool: pool, loadGate: newUploadGate()}
	real := e.stack.Lambda.Handler("restoreload")
	faulty := handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		re.mu.Lock()
		f := re.fault
		re.mu.Unlock()
		if f != nil {
			return f(ctx, payload, real)
		}
		return real.Invoke(ctx, payload)
	})
	e.stack.Lambda.RegisterHandler("restoreload", re.loadGate.wrap(faulty))
	t.Cleanup(re.loadGate.release)
	return re
}

// setFault makes restoreload call f instead of the real handler (nil: the
// real handler again).
func (e *restoreEnv) setFault(f func(ctx context.Context, payload []byte, real lambda.Handler) ([]byte, error)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fault = f
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
	return e.waitRestoreT(e.t, db, want...)
}

func (e *restoreEnv) waitRestoreT(t *testing.T, db string, want ...string) api.Result {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last api.Result
	for time.Now().Before(deadline) {
		status, out := e.sql("SHOW RESTORE FROM " + db)
		if status == http.StatusBadRequest && out.Error != nil && strings.Contains(out.Error.Message, "Unknown database") {
			time.Sleep(50 * time.Millisecond) // a console execution not yet locked
			continue
		}
		if status != http.StatusOK || out.Error != nil {
			t.Fatalf("SHOW RESTORE FROM %s: %d %+v", db, status, out.Error)
		}
		last = out.Results[0]
		if len(last.Rows) == 1 {
			state := cell(t, last, 0, "State")
			if slices.Contains(want, state) {
				if state == "FINISHED" {
					// The undo copies are dropped right after FINISHED.
					for time.Now().Before(deadline) && len(e.leftovers(db)) > 0 {
						time.Sleep(50 * time.Millisecond)
					}
					// Commit deleted the load Map's items before it finished.
					if files := workFiles(t, e.s3, e.stack.Bucket, cell(t, last, 0, "JobId")); len(files) != 0 {
						t.Errorf("a FINISHED restore left work files: %v", files)
					}
				}
				return last
			}
			if state == "FINISHED" || state == "CANCELLED" {
				t.Fatalf("restore ended %s %s, want %v: %v", state, cell(t, last, 0, "Status"), want, rowText(last))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %v: %v", want, rowText(last))
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
			out[t] = kind + " " + e.strings("SELECT CONCAT(COUNT(*), ':', IFNULL(BIT_XOR(CRC32(CONCAT_WS('|', " + strings.Join(cols, ", ") + "))), 0)) FROM " + q)[0]
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
	defer func() {
		// Qualifiers as written (db.t) and as SHOW CREATE writes them.
		for k, v := range out {
			v = strings.ReplaceAll(v, "`DB`.", "\x00")
			v = strings.ReplaceAll(v, db+".", "\x00")
			out[k] = strings.ReplaceAll(v, "\x00", "`DB`.")
		}
	}()
	for _, v := range e.strings("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", db) {
		def := e.strings("SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, v)[0]
		out["view "+v] = strings.ReplaceAll(def, "`"+db+"`", "`DB`")
	}
	for _, f := range e.strings("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", db) {
		def := e.strings("SELECT CONCAT(ROUTINE_TYPE, ' ', SQL_MODE, ' ', ROUTINE_DEFINITION) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?", db, f)[0]
		out["routine "+f] = strings.ReplaceAll(def, "`"+db+"`", "`DB`")
	}
	for _, tr := range e.strings("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", db) {
		def := e.strings("SELECT CONCAT(EVENT_OBJECT_TABLE, ' ', ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ', ACTION_STATEMENT) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?", db, tr)[0]
		out["trigger "+tr] = strings.ReplaceAll(def, "`"+db+"`", "`DB`")
	}
	// Events are restored DISABLED: their status is checked on its own.
	for _, ev := range e.strings("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?", db) {
		def := e.strings("SELECT CONCAT(INTERVAL_VALUE, ' ', INTERVAL_FIELD, ' ', EVENT_DEFINITION) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?", db, ev)[0]
		out["event "+ev] = strings.ReplaceAll(def, "`"+db+"`", "`DB`")
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

// restoreSQL is a RESTORE of snapshot label with its timestamp; between is
// what goes after FROM repo (DATABASE …, ON (…)).
func restoreSQL(label, ts, between string) string {
	return fmt.Sprintf(`RESTORE SNAPSHOT %s FROM repo %s PROPERTIES ("backup_timestamp" = "%s")`, label, between, ts)
}

// mustRestore submits a RESTORE that must be accepted and returns its job.
func (e *restoreEnv) mustRestore(t *testing.T, text string) string {
	t.Helper()
	status, out := e.sql(text)
	if status != http.StatusAccepted || out.Error != nil || len(out.Results) != 1 || out.Results[0].Job == nil {
		t.Fatalf("%s: %d %+v", text, status, out.Error)
	}
	return out.Results[0].Job.JobID
}

// dbState is everything a failed RESTORE must leave as it was: every
// table's checksum, every view's and routine's definition, and no job
// tables.
func (e *restoreEnv) dbState(db string) string {
	var b strings.Builder
	for _, m := range []map[string]string{e.checksums(db), e.definitions(db)} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b.WriteString(k + "=" + m[k] + "\n")
		}
	}
	for _, l := range e.leftovers(db) {
		b.WriteString("leftover " + l + "\n")
	}
	return b.String()
}

// cancelled waits for the restore into db to end CANCELLED and checks its
// Status contains want, the lock is free and db is as before.
func (e *restoreEnv) cancelled(t *testing.T, db, want, before string) {
	t.Helper()
	row := e.waitRestoreT(t, db, "CANCELLED")
	if st := cell(t, row, 0, "Status"); !strings.Contains(st, want) {
		t.Errorf("Status = %s, want it to contain %q", st, want)
	}
	// Cleanup runs after the execution ends: wait for the job's tables to go.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && (len(e.leftovers(db)) > 0 || e.lockHolder(db) != "") {
		time.Sleep(100 * time.Millisecond)
	}
	if after := e.dbState(db); after != before {
		t.Errorf("%s changed:\n--- before\n%s--- after\n%s", db, before, after)
	}
	if h := e.lockHolder(db); h != "" {
		t.Errorf("lock of %s still held by %s", db, h)
	}
	if files := settledWorkFiles(t, e.s3, e.stack.Bucket, cell(t, row, 0, "JobId")); len(files) != 0 {
		t.Errorf("a CANCELLED restore left work files: %v", files)
	}
}

// withoutJobTables drops the lines of a dbState about a job's own tables.
func withoutJobTables(state string) string {
	var keep []string
	for _, l := range strings.SplitAfter(state, "\n") {
		if !strings.HasPrefix(l, "__srr_") && !strings.HasPrefix(l, "__sro_") && !strings.HasPrefix(l, "leftover ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

func (e *restoreEnv) lockHolder(db string) string {
	id, _, ok, err := e.store().Holder(context.Background(), db)
	if err != nil {
		e.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return id
}

func TestRestore(t *testing.T) {
	e := startRestoreEnv(t)
	if err := fixture.CreateStateful(context.Background(), e.pool, "shop"); err != nil {
		t.Fatal(err)
	}
	// Triggers, a procedure and an event, which a whole-database BACKUP
	// takes and a RESTORE of the whole snapshot brings back.
	e.exec("CREATE TRIGGER shop.customers_bi BEFORE INSERT ON shop.customers FOR EACH ROW SET NEW.first_name = TRIM(NEW.first_name)",
		"CREATE TRIGGER shop.orders_au AFTER UPDATE ON shop.orders FOR EACH ROW SET @orders_updated = IFNULL(@orders_updated, 0) + 1",
		"CREATE PROCEDURE shop.count_orders(OUT n INT) SELECT COUNT(*) INTO n FROM shop.orders",
		"CREATE EVENT shop.purge_audit ON SCHEDULE EVERY 1 DAY DO DELETE FROM shop.audit_log WHERE 1 = 0")
	ts := e.backup("shop", "r1")
	meta := e.snapshotMeta("r1", ts)
	if len(meta.Triggers) != 2 || len(meta.Procedures) != 1 || len(meta.Events) != 1 {
		t.Fatalf("__meta has %d triggers, %d procedures, %d events; want 2, 1, 1", len(meta.Triggers), len(meta.Procedures), len(meta.Events))
	}
	srcSums, srcDefs := e.checksums("shop"), e.definitions("shop")
	if len(srcSums) < 3 {
		t.Fatalf("the sample database has %d tables", len(srcSums))
	}

	// A load parallelism over half the target's max_connections (500 on the
	// test server) is lowered to it at Prepare, with a warning.
	t.Run("parallelism capped by the target's connections", func(t *testing.T) {
		id := e.mustRestore(t, fmt.Sprintf(`RESTORE SNAPSHOT r1 FROM repo DATABASE shop AS shop_par PROPERTIES ("backup_timestamp" = "%s", "parallelism" = "1000")`, ts))
		e.waitRestoreT(t, "shop_par", "FINISHED")
		rec, err := e.store().Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(rec.Warnings, func(w string) bool { return strings.Contains(w, "parallelism 1000 lowered to 250") }) {
			t.Errorf("warnings %q, want the parallelism lowered to 250", rec.Warnings)
		}
		sameMap(t, "checksum", srcSums, e.checksums("shop_par"))
	})

	// 1. A whole database into another database.
	t.Run("database AS another", func(t *testing.T) {
		start := time.Now()
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r"))
		row := e.waitRestoreT(t, "shop_r", "FINISHED")
		t.Logf("restored %d tables in %v: %s", len(srcSums), time.Since(start).Round(time.Millisecond), cell(t, row, 0, "Progress"))
		sameMap(t, "checksum", srcSums, e.checksums("shop_r"))
		e.compareValues(t, "all_types", "shop", "shop_r")
		sameMap(t, "definition", srcDefs, e.definitions("shop_r"))
		if l := e.leftovers("shop_r"); len(l) > 0 {
			t.Errorf("job tables left: %v", l)
		}
		// The views and functions work there, on shop_r's own tables.
		got := e.strings("SELECT COUNT(*) FROM shop_r.customer_order_totals")[0]
		if want := e.strings("SELECT COUNT(*) FROM shop.customer_order_totals")[0]; got != want {
			t.Errorf("shop_r.customer_order_totals has %s rows, shop's %s", got, want)
		}
		if v := e.strings("SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shop_r' AND TABLE_NAME = 'customer_order_totals'")[0]; strings.Contains(v, "`shop`.") {
			t.Errorf("a restored view still reads shop: %s", v)
		}
		if g := e.strings("SELECT shop_r.gross_with_tax(100, 0.2)")[0]; g != "120.00" {
			t.Errorf("shop_r.gross_with_tax(100, 0.2) = %s", g)
		}
		if st := e.strings("SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop_r' AND EVENT_NAME = 'purge_audit'"); len(st) != 1 || st[0] != "DISABLED" {
			t.Errorf("restored event status %v, want DISABLED", st)
		}
		// The restored trigger works, on shop_r's table.
		e.exec("INSERT INTO shop_r.customers (id, email, first_name, last_name, country, city, created_at) VALUES (999999, 'trigger@example.com', '  padded  ', 'x', 'NO', 'Oslo', NOW(6))")
		if n := e.strings("SELECT first_name FROM shop_r.customers WHERE id = 999999")[0]; n != "padded" {
			t.Errorf("the restored trigger did not fire: first_name %q", n)
		}
		e.exec("DELETE FROM shop_r.customers WHERE id = 999999")
		// SHOW BACKUP shows a database's last job only if it is a BACKUP;
		// the history has the RESTORE.
		if res := e.mustSQL("SHOW BACKUP FROM shop_r")[0]; len(res.Rows) != 0 {
			t.Errorf("SHOW BACKUP FROM shop_r shows a RESTORE: %v", rowText(res))
		}
		resp := e.call("GET", "/v1/restores", "db=shop_r", "", "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"state":"FINISHED"`) {
			t.Errorf("GET /v1/restores?db=shop_r: %d %s", resp.StatusCode, resp.Body)
		}
		status, out := e.sql("CANCEL RESTORE FROM shop_r")
		if status != http.StatusConflict || !strings.Contains(out.Error.Message, "can not be cancelled. state: FINISHED") {
			t.Errorf("CANCEL RESTORE of a finished job: %d %+v", status, out.Error)
		}
	})

	// A console execution of the restore state machine, as an operator
	// would paste it: the job id is the execution name.
	t.Run("console execution", func(t *testing.T) {
		input, _ := json.Marshal(map[string]string{"sql": restoreSQL("r1", ts, "DATABASE shop AS shop_console ON (TABLE warehouses)")})
		out, err := e.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
			StateMachineArn: aws.String(e.stack.StateMachineARNs["restore"]), Name: aws.String("console-restore-1"), Input: aws.String(string(input)),
		})
		if err != nil {
			t.Fatal(err)
		}
		e.waitRestoreT(t, "shop_console", "FINISHED")
		if got := e.checksums("shop_console"); len(got) != 1 || got["warehouses"] != srcSums["warehouses"] {
			t.Errorf("shop_console: %v", got)
		}
		resp := e.call("GET", "/v1/restores/console-restore-1", "", "", "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"state":"FINISHED"`) {
			t.Errorf("GET /v1/restores/console-restore-1: %d %s", resp.StatusCode, resp.Body)
		}
		d, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
		if err != nil || d.Status != "SUCCEEDED" {
			t.Errorf("execution %v %v", d.Status, err)
		}
		// A statement the API would refuse ends the execution FAILED with
		// StarRocks' text as its Cause, and nothing created.
		input, _ = json.Marshal(map[string]string{"sql": restoreSQL("r1", ts, "DATABASE nosuch AS x")})
		bad, err := e.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
			StateMachineArn: aws.String(e.stack.StateMachineARNs["restore"]), Input: aws.String(string(input)),
		})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if d, err = e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: bad.ExecutionArn}); err == nil && d.Status != "RUNNING" {
				break
			}
		}
		if d.Status != "FAILED" || !strings.Contains(aws.ToString(d.Cause), "target database: nosuch is not existed in snapshot") {
			t.Errorf("refused console RESTORE: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
	})

	// 2. In place after DROP DATABASE, with the snapshot's own database name.
	t.Run("after DROP DATABASE", func(t *testing.T) {
		db := "shop_dropped"
		if _, err := fixture.Generate(context.Background(), e.pool, fixture.Options{Database: db, SizeBytes: fixture.MinSizeBytes, Seed: 3, DropExisting: true}); err != nil {
			t.Fatal(err)
		}
		dts := e.backup(db, "dropped1")
		sums, defs := e.checksums(db), e.definitions(db)
		e.exec("DROP DATABASE " + db)
		e.mustRestore(t, restoreSQL("dropped1", dts, ""))
		e.waitRestoreT(t, db, "FINISHED")
		sameMap(t, "checksum", sums, e.checksums(db))
		sameMap(t, "definition", defs, e.definitions(db))
		e.compareValues(t, "all_types", "shop", db)
	})

	// 3. Over an existing table with the same schema: replaced atomically;
	// with a different schema: the J text, the table untouched.
	t.Run("over an existing table", func(t *testing.T) {
		e.exec("DELETE FROM shop_r.customers WHERE id % 3 = 0", "UPDATE shop_r.customers SET first_name = 'changed' WHERE id % 3 = 1")
		oldCount := e.strings("SELECT COUNT(*) FROM shop_r.customers")[0]
		newCount := e.strings("SELECT COUNT(*) FROM shop.customers")[0]
		stop := make(chan struct{})
		var reads, torn atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n string
				// A reader that sees neither the old nor the new table is a torn read.
				if err := e.pool.QueryRow("SELECT COUNT(*) FROM shop_r.customers").Scan(&n); err == nil {
					reads.Add(1)
					if n != oldCount && n != newCount {
						torn.Add(1)
					}
				}
			}
		}()
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r ON (TABLE customers)"))
		e.waitRestoreT(t, "shop_r", "FINISHED")
		close(stop)
		wg.Wait()
		if torn.Load() > 0 {
			t.Errorf("%d of %d concurrent reads saw neither the old (%s rows) nor the new (%s rows) table", torn.Load(), reads.Load(), oldCount, newCount)
		}
		t.Logf("%d concurrent reads, all old or new", reads.Load())
		if got, want := e.checksums("shop_r")["customers"], srcSums["customers"]; got != want {
			t.Errorf("customers checksum %s, want %s", got, want)
		}

		// A writer during the job: its write would be lost at the swap, so
		// the job refuses to swap, and the write stays.
		var first atomic.Bool
		held, release := make(chan struct{}, 64), make(chan struct{})
		e.setFault(func(ctx context.Context, payload []byte, real lambda.Handler) ([]byte, error) {
			if first.CompareAndSwap(false, true) {
				held <- struct{}{}
				<-release
			}
			return real.Invoke(ctx, payload)
		})
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r ON (TABLE customers)"))
		<-held
		time.Sleep(1100 * time.Millisecond) // UPDATE_TIME has whole seconds
		e.exec("UPDATE shop_r.customers SET loyalty_points = loyalty_points + 1 WHERE id = (SELECT MIN(id) FROM shop.customers)")
		written := withoutJobTables(e.dbState("shop_r")) // the job's shadow exists now; after cleanup it must not
		close(release)
		e.setFault(nil)
		e.cancelled(t, "shop_r", "Table customers was written while the restore ran", written)

		e.exec("ALTER TABLE shop_r.products ADD COLUMN extra INT NULL")
		before := e.dbState("shop_r")
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r ON (TABLE products)"))
		e.cancelled(t, "shop_r", "[COMMON_ERROR, msg: Table products already exist but with different schema, errMsg: ]", before)
		e.exec("ALTER TABLE shop_r.products DROP COLUMN extra")
		e.exec("ALTER TABLE shop_r.products MODIFY COLUMN name VARCHAR(201) NOT NULL")
		before = e.dbState("shop_r")
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r ON (TABLE products)"))
		e.cancelled(t, "shop_r", "Table products already exist but with different schema, column: name in existed table is different from the column in backup snapshot, column: name", before)
		e.exec("ALTER TABLE shop_r.products MODIFY COLUMN name VARCHAR(200) NOT NULL")
	})

	// 4. One table AS another name; partitions into an existing partitioned
	// table; a parent and child linked by a foreign key.
	t.Run("alias, partitions, foreign keys", func(t *testing.T) {
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r ON (TABLE invoices AS invoices_copy)"))
		e.waitRestoreT(t, "shop_r", "FINISHED")
		if got := e.checksums("shop_r")["invoices_copy"]; got != srcSums["invoices"] {
			t.Errorf("invoices_copy checksum %s, want %s", got, srcSums["invoices"])
		}

		parts := e.strings("SELECT PARTITION_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'orders' ORDER BY PARTITION_ORDINAL_POSITION")
		if len(parts) < 3 {
			t.Fatalf("orders has partitions %v", parts)
		}
		p1, p2 := parts[1], parts[2]
		e.exec(fmt.Sprintf("DELETE FROM shop_r.orders PARTITION (%s) WHERE id %% 2 = 0", p1),
			fmt.Sprintf("DELETE FROM shop_r.orders PARTITION (%s) WHERE id %% 2 = 0", p2))
		keep := e.strings(fmt.Sprintf("SELECT COUNT(*) FROM shop_r.orders PARTITION (%s)", p2))[0]
		want := e.strings(fmt.Sprintf("SELECT COUNT(*) FROM shop.orders PARTITION (%s)", p1))[0]
		e.mustRestore(t, restoreSQL("r1", ts, fmt.Sprintf("DATABASE shop AS shop_r ON (TABLE orders PARTITION (%s))", p1)))
		e.waitRestoreT(t, "shop_r", "FINISHED")
		if got := e.strings(fmt.Sprintf("SELECT COUNT(*) FROM shop_r.orders PARTITION (%s)", p1))[0]; got != want {
			t.Errorf("restored partition %s has %s rows, want %s", p1, got, want)
		}
		if got := e.strings(fmt.Sprintf("SELECT COUNT(*) FROM shop_r.orders PARTITION (%s)", p2))[0]; got != keep {
			t.Errorf("partition %s, not restored, has %s rows, want its own %s", p2, got, keep)
		}
		if l := e.leftovers("shop_r"); len(l) > 0 {
			t.Errorf("job tables left: %v", l)
		}

		e.exec("CREATE DATABASE fkdb",
			"CREATE TABLE fkdb.parent (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB",
			"CREATE TABLE fkdb.child (id INT PRIMARY KEY, parent_id INT NOT NULL, CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB",
			"CREATE TABLE fkdb.other (id INT PRIMARY KEY, parent_id INT, CONSTRAINT fk_other_parent FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB",
			"INSERT INTO fkdb.parent VALUES (1, 'a'), (2, 'b'), (3, 'c')",
			"INSERT INTO fkdb.child VALUES (10, 1), (11, 2), (12, 3)",
			"INSERT INTO fkdb.other VALUES (100, 1)")
		fts := e.backup("fkdb", "fk1")
		fkSums := e.checksums("fkdb")
		e.exec("DELETE FROM fkdb.child WHERE id = 12", "UPDATE fkdb.parent SET name = 'x'")
		e.mustRestore(t, restoreSQL("fk1", fts, "DATABASE fkdb ON (TABLE parent, TABLE child)"))
		e.waitRestoreT(t, "fkdb", "FINISHED")
		sameMap(t, "checksum", fkSums, e.checksums("fkdb"))
		refs := e.strings("SELECT CONCAT(TABLE_NAME, '->', REFERENCED_TABLE_NAME, ':', CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'fkdb' ORDER BY 1")
		if got := strings.Join(refs, " "); got != "child->parent:fk_child_parent other->parent:fk_other_parent" {
			t.Errorf("foreign keys after the restore: %s", got)
		}
		e.exec("SET SESSION foreign_key_checks = 1")
		if _, err := e.pool.Exec("INSERT INTO fkdb.child VALUES (99, 42)"); err == nil {
			t.Error("the child's foreign key does not hold after the restore")
		}
		// Into a new database: the foreign keys point at the new parent.
		e.mustRestore(t, restoreSQL("fk1", fts, "DATABASE fkdb AS fkdb2"))
		e.waitRestoreT(t, "fkdb2", "FINISHED")
		refs = e.strings("SELECT CONCAT(TABLE_NAME, '->', UNIQUE_CONSTRAINT_SCHEMA, '.', REFERENCED_TABLE_NAME, ':', CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'fkdb2' ORDER BY 1")
		if got := strings.Join(refs, " "); got != "child->fkdb2.parent:fk_child_parent other->fkdb2.parent:fk_other_parent" {
			t.Errorf("foreign keys in the new database: %s", got)
		}
		sameMap(t, "checksum", fkSums, e.checksums("fkdb2"))
	})

	// 5. Cancel during DOWNLOADING; a permanent failure in one batch; a
	// fault while creating views, after the swap: the target as before.
	t.Run("cancel and faults", func(t *testing.T) {
		e.exec("DELETE FROM shop_r.customers WHERE id % 5 = 0") // differs from the snapshot
		before := e.dbState("shop_r")
		// The first batch loads; the others wait until the job is cancelled.
		var first atomic.Bool
		held, release := make(chan struct{}, 64), make(chan struct{})
		e.setFault(func(ctx context.Context, payload []byte, real lambda.Handler) ([]byte, error) {
			if first.CompareAndSwap(false, true) {
				return real.Invoke(ctx, payload)
			}
			held <- struct{}{}
			<-release
			return real.Invoke(ctx, payload)
		})
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r"))
		select {
		case <-held:
		case <-time.After(time.Minute):
			t.Fatalf("no load started: %v", rowText(e.mustSQL("SHOW RESTORE FROM shop_r")[0]))
		}
		e.waitRestoreT(t, "shop_r", "DOWNLOADING")
		e.mustSQL("CANCEL RESTORE FROM shop_r")
		close(release)
		e.setFault(nil)
		e.cancelled(t, "shop_r", "[COMMON_ERROR, msg: user cancelled, current state: DOWNLOADING]", before)

		// The third load batch of this job fails for good (loads of the
		// cancelled job above may still be arriving: they don't count).
		var calls atomic.Int64
		var doomed atomic.Value
		doomed.Store("")
		e.setFault(func(ctx context.Context, payload []byte, real lambda.Handler) ([]byte, error) {
			var ev struct {
				Job struct {
					JobID string `json:"job_id"`
				} `json:"job"`
			}
			_ = json.Unmarshal(payload, &ev)
			if ev.Job.JobID == doomed.Load().(string) && calls.Add(1) == 3 {
				return nil, &PermanentError{Message: "disk on fire"}
			}
			return real.Invoke(ctx, payload)
		})
		doomed.Store(e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r")))
		e.cancelled(t, "shop_r", "disk on fire", before)
		e.setFault(nil)

		// The deadline passes while a batch loads: TIMEOUT with StarRocks'
		// text, the target as before.
		first.Store(false)
		held, release = make(chan struct{}, 64), make(chan struct{})
		e.setFault(func(ctx context.Context, payload []byte, real lambda.Handler) ([]byte, error) {
			if first.CompareAndSwap(false, true) {
				return real.Invoke(ctx, payload)
			}
			held <- struct{}{}
			<-release
			return real.Invoke(ctx, payload)
		})
		id := e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r"))
		select {
		case <-held:
		case <-time.After(time.Minute):
			t.Fatalf("no load started: %v", rowText(e.mustSQL("SHOW RESTORE FROM shop_r")[0]))
		}
		e.expire(id)
		close(release)
		e.cancelled(t, "shop_r", "[TIMEOUT, msg: restore job with label: r1  timeout.]", before)
		e.setFault(nil)

		// The view needs a function the target no longer has: creating it
		// fails after the tables were swapped in.
		e.exec("DROP FUNCTION shop_r.customer_label")
		before = e.dbState("shop_r")
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r ON (TABLE customers, VIEW customer_order_totals)"))
		e.cancelled(t, "shop_r", "create view customer_order_totals", before)
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r ON (FUNCTION customer_label)"))
		e.waitRestoreT(t, "shop_r", "FINISHED")
	})

	// 6. A retried batch loads no row twice; a damaged or missing data file
	// is caught by its SHA-256.
	t.Run("retries and damaged files", func(t *testing.T) {
		var calls atomic.Int64
		e.setFault(func(ctx context.Context, payload []byte, real lambda.Handler) ([]byte, error) {
			out, err := real.Invoke(ctx, payload)
			if err == nil && calls.Add(1) <= 2 {
				return nil, &TransientError{Message: "connection reset after the load"}
			}
			return out, err
		})
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_retry"))
		e.waitRestoreT(t, "shop_retry", "FINISHED")
		e.setFault(nil)
		if calls.Load() < 2 {
			t.Fatalf("the fault fired %d times", calls.Load())
		}
		sameMap(t, "checksum", srcSums, e.checksums("shop_retry"))

		info := e.snapshotInfo("r1", ts)
		files := info.Files()
		key := e.repoKey("r1", files[len(files)/2].Key)
		orig := e.getObject(key)
		damaged := append([]byte(nil), orig...)
		damaged[len(damaged)/2] ^= 0xff
		e.putObject(key, damaged)
		before := e.dbState("shop_r")
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_r"))
		e.cancelled(t, "shop_r", "[BAD_FILE, msg: data file "+files[len(files)/2].Key+" of snapshot r1 does not match its SHA-256", before)
		e.deleteObject(key)
		e.mustRestore(t, restoreSQL("r1", ts, "DATABASE shop AS shop_new"))
		row := e.waitRestoreT(t, "shop_new", "CANCELLED")
		if st := cell(t, row, 0, "Status"); !strings.Contains(st, "is missing from the repository") {
			t.Errorf("missing file: Status %s", st)
		}
		if n := e.strings("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop_new'")[0]; n != "0" {
			// cleanup may still be running
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && n != "0" {
				time.Sleep(100 * time.Millisecond)
				n = e.strings("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop_new'")[0]
			}
			if n != "0" {
				t.Error("the database a cancelled restore created was not dropped")
			}
		}
		e.putObject(key, orig)
	})

	// 7. RESTORE while a BACKUP of the database runs; concurrent RESTOREs.
	t.Run("one job per database", func(t *testing.T) {
		e.gate.hold()
		e.mustSQL("BACKUP DATABASE shop_r SNAPSHOT busy TO repo")
		<-e.gate.entered
		status, out := e.sql(restoreSQL("r1", ts, "DATABASE shop AS shop_r"))
		if status != http.StatusConflict || out.Error.Message != "Can only run one backup or restore job of a database at same time" {
			t.Errorf("RESTORE during a BACKUP: %d %+v", status, out.Error)
		}
		e.gate.release()
		e.waitState("shop_r", "FINISHED")

		var accepted, busy atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, out := e.sql(restoreSQL("r1", ts, "DATABASE shop AS shop_many"))
				switch {
				case status == http.StatusAccepted:
					accepted.Add(1)
				case status == http.StatusConflict && out.Error.Message == "Can only run one backup or restore job of a database at same time":
					busy.Add(1)
				default:
					t.Errorf("concurrent RESTORE: %d %+v", status, out.Error)
				}
			}()
		}
		wg.Wait()
		if accepted.Load() != 1 || busy.Load() != 19 {
			t.Errorf("20 concurrent RESTOREs: %d accepted, %d refused", accepted.Load(), busy.Load())
		}
		e.waitRestoreT(t, "shop_many", "FINISHED")
		sameMap(t, "checksum", srcSums, e.checksums("shop_many"))
	})

	// 8. Bad input: StarRocks' texts, nothing changed anywhere.
	t.Run("bad input", func(t *testing.T) {
		before := e.state() + e.dbState("shop_r")
		path := fmt.Sprintf("s3://%s/backups/__srbackup_repository_repo/__ss_r1/__info_", e.stack.Bucket)
		for _, c := range []struct{ sql, want string }{
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop`, "Getting analyzing error. Detail message: Missing backup_timestamp property."},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop PROPERTIES ("backup_timestamp" = "x", "timeout" = "x")`, "Invalid timeout format: x"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop PROPERTIES ("backup_timestamp" = "x", "type" = "FULL")`, "Unknown restore job properties: [type]"},
			{`RESTORE SNAPSHOT r1 FROM repo ON (t) PROPERTIES ("backup_timestamp" = "x")`, "`ON` clause is forbidden if no Database explicitly specified in Restore stmt"},
			{`RESTORE SNAPSHOT r1 FROM nope DATABASE shop PROPERTIES ("backup_timestamp" = "` + ts + `")`, "Repository nope does not exist"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop PROPERTIES ("backup_timestamp" = "2020-01-01-00-00-00-000")`,
				"Failed to get info of snapshot 'r1' because: Expected one file with path: " + path + "2020-01-01-00-00-00-000. get: 0. Maybe specified wrong backup timestamp"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop PROPERTIES ("backup_timestamp" = "` + ts[:10] + `")`,
				"Failed to get info of snapshot 'r1' because: File does not exist: " + path + ts[:10] + ". Maybe specified wrong backup timestamp"},
			{`RESTORE SNAPSHOT nosuch FROM repo DATABASE shop PROPERTIES ("backup_timestamp" = "` + ts + `")`, "Failed to get info of snapshot 'nosuch' because: Expected one file with path"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE other AS x PROPERTIES ("backup_timestamp" = "` + ts + `")`, "target database: other is not existed in snapshot"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop ON (TABLE nosuch) PROPERTIES ("backup_timestamp" = "` + ts + `")`, "Table nosuch does not exist in snapshot r1"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop ON (MATERIALIZED VIEW mv) PROPERTIES ("backup_timestamp" = "` + ts + `")`, "Table mv does not exist in snapshot r1"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop ON (TABLE orders PARTITION (nosuch)) PROPERTIES ("backup_timestamp" = "` + ts + `")`, "Partition nosuch of table orders does not exist in snapshot r1"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop ON (FUNCTION nosuch) PROPERTIES ("backup_timestamp" = "` + ts + `")`, "Can not find restore function: nosuch"},
			{`RESTORE SNAPSHOT r1 FROM repo EXTERNAL CATALOG (c) PROPERTIES ("backup_timestamp" = "` + ts + `")`, "This is not a snapshot for external catalog restore, snapshot: r1"},
			{`RESTORE SNAPSHOT r1 FROM repo DATABASE shop ON (t1 AS t1) PROPERTIES ("backup_timestamp" = "x")`, "Duplicated alias name: t1"},
			{`CANCEL RESTORE`, "No selected database for cancel BACKUP/RESTORE"},
			{`CANCEL RESTORE FROM shop`, "No restore is currently running"},
			{`SHOW RESTORE FROM nosuchdb`, "Unknown database 'nosuchdb'"},
		} {
			status, out := e.sql(c.sql)
			if status < 400 || out.Error == nil || !strings.Contains(out.Error.Message, c.want) {
				t.Errorf("%s: %d %+v, want %q", c.sql, status, out.Error, c.want)
			}
		}
		if after := e.state() + e.dbState("shop_r"); after != before {
			t.Errorf("bad input changed state:\n%s\n---\n%s", before, after)
		}
		// SHOW RESTORE: WHERE ignored, LIMIT applied; every column.
		res := e.mustSQL("SHOW RESTORE WHERE a = 1 LIMIT 1")[0]
		if len(res.Rows) != 1 || len(res.Columns) != 18 || res.Columns[7] != "RestoreObjs" {
			t.Errorf("SHOW RESTORE LIMIT 1: %v %v", res.Columns, rowText(res))
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

func (e *restoreEnv) store() *jobstore.Store { return jobstore.New(e.ddb, e.stack.Table) }

// expire moves a job's deadline into the past, as if its timeout had run
// out: the steps see it at their next look at the job.
func (e *restoreEnv) expire(jobID string) {
	e.t.Helper()
	ctx := context.Background()
	k := map[string]ddbtypes.AttributeValue{
		jobstore.AttrPK: &ddbtypes.AttributeValueMemberS{Value: "JOB#" + jobstore.KeyPart(jobID)},
		jobstore.AttrSK: &ddbtypes.AttributeValueMemberS{Value: "JOB"},
	}
	out, err := e.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.stack.Table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		e.t.Fatalf("read job %s: %v", jobID, err)
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(out.Item["spec"].(*ddbtypes.AttributeValueMemberS).Value), &spec); err != nil {
		e.t.Fatal(err)
	}
	spec["deadline"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(spec)
	out.Item["spec"] = &ddbtypes.AttributeValueMemberS{Value: string(b)}
	if _, err := e.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.stack.Table), Item: out.Item}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *restoreEnv) repository() *repository.Repo {
	e.t.Helper()
	loc, err := repository.ParseLocation("s3://" + e.stack.Bucket + "/backups")
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := repository.New(e.s3, "repo", loc)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *restoreEnv) snapshotMeta(label, ts string) repository.Meta {
	e.t.Helper()
	info := e.snapshotInfo(label, ts)
	m, err := e.repository().ReadMeta(context.Background(), label, info.Meta)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *restoreEnv) snapshotInfo(label, ts string) repository.Info {
	e.t.Helper()
	info, err := e.repository().ReadInfo(context.Background(), label, ts)
	if err != nil {
		e.t.Fatal(err)
	}
	return info
}

func (e *restoreEnv) repoKey(label, rel string) string {
	e.t.Helper()
	k, err := e.repository().SnapshotKey(label, rel)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

func (e *restoreEnv) getObject(key string) []byte {
	e.t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.stack.Bucket), Key: aws.String(key)})
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *restoreEnv) putObject(key string, b []byte) {
	e.t.Helper()
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.stack.Bucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *restoreEnv) deleteObject(key string) {
	e.t.Helper()
	if _, err := e.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(e.stack.Bucket), Key: aws.String(key)}); err != nil {
		e.t.Fatal(err)
	}
}
