package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/repository"
)

// objectsOf summarises a manifest as "KIND name" → sorted partition names
// (nil for views and functions).
func objectsOf(info repository.Info) map[string][]string {
	out := map[string][]string{}
	for _, o := range info.Objects {
		var parts []string
		for _, p := range o.Partitions {
			parts = append(parts, p.Name)
		}
		slices.Sort(parts)
		out[o.Kind+" "+o.Name] = parts
	}
	return out
}

// TestSeedExamples is behaviour 2: the seed's BACKUP examples, in the old
// syntax (ON (t PARTITION (p1, p2), t2)) and the new one (TABLE, ALL
// TABLES, VIEW, ALL VIEWS, FUNCTION, ALL FUNCTIONS, PARTITION), back up
// exactly the selected objects and partitions.
func TestSeedExamples(t *testing.T) {
	outer := t
	e := newEnv(t, envOptions{})
	tables, views, functions := e.sourceObjects()
	all := func(table string) []string { return e.sourcePartitions(table) }
	tbl := func(name string, parts ...string) (string, []string) {
		if len(parts) == 0 {
			return "TABLE " + name, all(name)
		}
		slices.Sort(parts)
		return "TABLE " + name, parts
	}
	want := func(objs ...any) map[string][]string {
		out := map[string][]string{}
		for i := 0; i < len(objs); i += 2 {
			parts, _ := objs[i+1].([]string)
			out[objs[i].(string)] = parts
		}
		return out
	}
	kinds := func(kind string, names []string) map[string][]string {
		out := map[string][]string{}
		for _, n := range names {
			if kind == "TABLE" {
				out["TABLE "+n] = all(n)
			} else {
				out[kind+" "+n] = nil
			}
		}
		return out
	}
	join := func(ms ...map[string][]string) map[string][]string {
		out := map[string][]string{}
		for _, m := range ms {
			maps.Copy(out, m)
		}
		return out
	}
	ev, evAll := tbl("events")
	cu, cuAll := tbl("customers")
	pr, prAll := tbl("products")
	evSome, evParts := tbl("events", "p_emea", "p_amer")
	ordOne, ordParts := tbl("orders", "p2022")
	ordThree, ordThreeParts := tbl("orders", all("orders")[:3]...)
	db := e.db
	cases := []struct {
		label, on string
		old       bool
		want      map[string][]string
	}{
		{label: "snapshot_label1", old: true, on: `PROPERTIES ("type" = "full")`, want: join(kinds("TABLE", tables), kinds("VIEW", views), kinds("FUNCTION", functions))},
		{label: "snapshot_label2", old: true, on: "ON (events)", want: want(ev, evAll)},
		{label: "snapshot_label3", old: true, on: "ON (events PARTITION (p_emea, p_amer), customers)", want: want(evSome, evParts, cu, cuAll)},
		{label: "sr_member_backup", on: "ON (TABLE customers)", want: want(cu, cuAll)},
		{label: "sr_core_backup", on: "ON (TABLE customers, TABLE products)", want: want(cu, cuAll, pr, prAll)},
		{label: "sr_all_backup", on: "ON (ALL TABLES)", want: kinds("TABLE", tables)},
		{label: "sr_par_backup", on: "ON (TABLE orders PARTITION (p2022))", want: want(ordOne, ordParts)},
		{label: "sr_par3_backup", on: fmt.Sprintf("ON (TABLE orders PARTITION (%s))", strings.Join(ordThreeParts, ",")), want: want(ordThree, ordThreeParts)},
		{label: "sr_view1_backup", on: "ON (VIEW customer_order_totals)", want: want("VIEW customer_order_totals", nil)},
		{label: "sr_view2_backup", on: "ON (VIEW customer_order_totals, VIEW active_products)", want: want("VIEW customer_order_totals", nil, "VIEW active_products", nil)},
		{label: "sr_view3_backup", on: "ON (ALL VIEWS)", want: kinds("VIEW", views)},
		{label: "sr_udf1_backup", on: "ON (FUNCTION gross_with_tax)", want: want("FUNCTION gross_with_tax", nil)},
		{label: "sr_udf2_backup", on: "ON (FUNCTION gross_with_tax, FUNCTION order_quarter)", want: want("FUNCTION gross_with_tax", nil, "FUNCTION order_quarter", nil)},
		{label: "sr_udf3_backup", on: "ON (ALL FUNCTIONS)", want: kinds("FUNCTION", functions)},
		{label: "sr_mixed_backup", on: "ON (TABLE events PARTITION (p_apac), VIEW active_products, FUNCTION order_quarter, TABLE products)",
			want: want("TABLE events", []string{"p_apac"}, "VIEW active_products", nil, "FUNCTION order_quarter", nil, pr, prAll)},
	}
	for _, c := range cases {
		sql := fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT %s TO repo %s", db, c.label, c.on)
		if c.old {
			sql = fmt.Sprintf("BACKUP SNAPSHOT %s.%s TO repo %s", db, c.label, c.on)
		}
		t.Run(c.label, func(t *testing.T) {
			e.t = t // the helpers report to the subtest
			defer func() { e.t = outer }()
			rec := e.mustFinish(sql)
			info := e.snapshot(c.label)
			if got := objectsOf(info); !maps.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("%s\nmanifest objects %v\nwant             %v", sql, got, c.want)
			}
			var files int64
			for _, o := range info.Objects {
				for _, p := range o.Partitions {
					if len(p.Files) == 0 {
						t.Errorf("%s partition %s has no file", o.Name, p.Name)
					}
					files += int64(len(p.Files))
				}
			}
			if files != rec.ShardsTotal {
				t.Errorf("%d files in the manifest, %d shards", files, rec.ShardsTotal)
			}
			meta, err := e.repo.ReadMeta(context.Background(), c.label, info.Meta)
			if err != nil {
				t.Fatal(err)
			}
			inMeta := map[string][]string{}
			for _, o := range meta.Objects {
				var parts []string
				for _, p := range o.Partitions {
					parts = append(parts, p.Name)
				}
				slices.Sort(parts)
				inMeta[o.Kind+" "+o.Name] = parts
				if o.DDL == "" {
					t.Errorf("%s %s has no DDL in __meta", o.Kind, o.Name)
				}
			}
			for _, f := range meta.Functions {
				inMeta["FUNCTION "+f.Name] = nil
				if f.DDL == "" {
					t.Errorf("function %s has no DDL in __meta", f.Name)
				}
			}
			if !maps.EqualFunc(inMeta, c.want, slices.Equal) {
				t.Errorf("%s\n__meta objects %v\nwant           %v", sql, inMeta, c.want)
			}
		})
	}
}

// TestConcurrentBackups is behaviour 3: of 20 BACKUPs of one database
// started at once, exactly one runs and every other fails with StarRocks'
// error; the lock is released at the end; two databases back up at once.
func TestConcurrentBackups(t *testing.T) {
	const n = 20
	// The winner's upload waits until every loser has ended, so that no
	// loser can start after the winner released the lock.
	losersDone := make(chan struct{})
	e := newEnv(t, envOptions{wrap: func(st *localstack.Stack) {
		h := st.Lambda.Handler("upload")
		st.Lambda.RegisterHandler("upload", handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			select {
			case <-losersDone:
			case <-time.After(90 * time.Second):
			}
			return h.Invoke(ctx, payload)
		}))
	}})
	start := time.Now()
	arns := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { arns[i] = e.start(fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT c%02d TO repo", e.db, i)) })
	}
	wg.Wait()
	type outcome struct {
		arn   string
		d     sfntypes.ExecutionStatus
		cause string
	}
	results := make(chan outcome, n)
	for _, arn := range arns {
		go func() {
			d := e.wait(arn)
			var cause string
			if d.Cause != nil {
				cause = *d.Cause
			}
			results <- outcome{arn, d.Status, cause}
		}()
	}
	var winners []string
	failed := 0
	for range n {
		o := <-results
		switch o.d {
		case sfntypes.ExecutionStatusFailed:
			failed++
			if !strings.Contains(o.cause, "Can only run one backup or restore job of a database at same time") {
				t.Errorf("execution %s failed with %q", o.arn, o.cause)
			}
			if failed == n-1 {
				close(losersDone)
			}
		case sfntypes.ExecutionStatusSucceeded:
			winners = append(winners, o.arn)
		default:
			t.Errorf("execution %s ended %s", o.arn, o.d)
		}
	}
	if failed != n-1 {
		close(losersDone)
	}
	t.Logf("%d concurrent backups settled in %v", n, time.Since(start))
	if len(winners) != 1 {
		t.Fatalf("%d executions succeeded, want exactly 1", len(winners))
	}
	rec, err := e.store.Get(context.Background(), localstackJobID(winners[0]))
	if err != nil || rec.State != job.Finished {
		t.Fatalf("winner's job %s %v", rec.State, err)
	}
	jobs, err := e.store.History(context.Background(), e.db, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 {
		t.Errorf("%d jobs recorded for %s, want only the winner's", len(jobs), e.db)
	}
	if h := e.lockHolder(e.db); h != "" {
		t.Errorf("database still locked by %s", h)
	}
	e.snapshot(rec.Spec.Label)

	// The lock is free again, and two databases run at the same time.
	other := e.createDatabase()
	a := e.start(fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT again TO repo", e.db))
	b := e.start(fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT other TO repo", other))
	for _, arn := range []string{a, b} {
		if d := e.wait(arn); d.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("execution %s ended %s: %v", arn, d.Status, d.Cause)
		}
	}
	for _, label := range []string{"again", "other"} {
		e.snapshot(label)
	}
}

// TestSnapshotNameReuse is behaviour 4: a snapshot name is unique per
// repository, not across repositories.
func TestSnapshotNameReuse(t *testing.T) {
	e := newEnv(t, envOptions{})
	sql := func(repo string) string {
		return fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT L TO %s ON (TABLE customers)", e.db, repo)
	}
	e.mustFinish(sql("repo"))
	r := e.run(sql("repo"))
	if r.status != sfntypes.ExecutionStatusFailed || !strings.Contains(r.cause, "Snapshot with name 'L' already exist in repository") {
		t.Errorf("reusing L: execution %s, cause %q", r.status, r.cause)
	}
	if h := e.lockHolder(e.db); h != "" {
		t.Errorf("database still locked by %s", h)
	}
	e.snapshot("L") // the first snapshot is intact

	repo2 := e.createRepository("repo2")
	e.mustFinish(sql("repo2"))
	e.snapshotIn(repo2, "L")
}
