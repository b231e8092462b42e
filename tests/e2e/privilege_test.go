package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/api/apitest"
	"github.com/srbackup/srbackup/shared/app"
)

// Principals of the privilege tests. testPrincipal is the API's admin
// (SRBACKUP_ADMINS); the others hold what the tests grant them.
const (
	admin = testPrincipal
	// analyst gets the seed's table-level example (role backup_tbl).
	analyst = "arn:aws:iam::123456789012:user/analyst"
	// shopOperator is a session of a role that gets the seed's
	// database-level example (role backup_db, granted to the role's ARN).
	shopOperator     = "arn:aws:sts::123456789012:assumed-role/ShopBackup/alice@example.com"
	shopOperatorRole = "arn:aws:iam::123456789012:role/ShopBackup"
	// dba gets the seed's all-databases example (role backup).
	dba = "arn:aws:iam::123456789012:user/dba"
	// almost may export every table and view of shop but orders.
	almost = "arn:aws:iam::123456789012:user/almost"
	// repoOnly holds REPOSITORY ON SYSTEM only, granted to the user directly.
	repoOnly = "arn:aws:iam::123456789012:user/ops"
	nobody   = "arn:aws:iam::123456789012:user/nobody"
)

// privEnv drives the API handler as any principal, with its audit log.
type privEnv struct {
	*apiEnv
	h     api.HandlerFunc
	audit *syncBuffer
	crm   string // a second source database
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startPrivEnv(t *testing.T) *privEnv {
	t.Helper()
	e := startAPIEnv(t)
	audit := &syncBuffer{}
	// The same API function, built again to keep its audit log (info level).
	h, err := app.APIHandler(context.Background(), e.stack.FunctionEnv("api"), slog.New(slog.NewJSONHandler(audit, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p := &privEnv{apiEnv: e, h: h, audit: audit, crm: "privtest_crm"}
	db, err := shared.Server(t).Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		"DROP DATABASE IF EXISTS " + quote(p.crm), "CREATE DATABASE " + quote(p.crm),
		"CREATE TABLE " + quote(p.crm) + ".contacts (id INT PRIMARY KEY, name VARCHAR(32))",
		"INSERT INTO " + quote(p.crm) + ".contacts VALUES (1, 'a'), (2, 'b')",
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		if db, err := shared.Server(t).Open(""); err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + quote(p.crm))
			db.Close()
		}
	})
	return p
}

// callAs sends one request as principal.
func (p *privEnv) callAs(principal, method, path, query, body string) events.APIGatewayV2HTTPResponse {
	p.t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers: map[string]string{"content-type": "text/plain"}, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-priv",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: principal, AccountID: "123456789012"},
			},
		},
	}
	if query != "" {
		ev.QueryStringParameters = map[string]string{}
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			ev.QueryStringParameters[k] = v
		}
	}
	resp, err := p.h(context.Background(), ev)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	apitest.CheckEvent(p.t, ev, resp) // every response must be one openapi.yaml describes
	return resp
}

// sqlAs runs statements as principal.
func (p *privEnv) sqlAs(principal, text string) (int, api.Response) {
	p.t.Helper()
	resp := p.callAs(principal, "POST", "/v1/sql", "", text)
	var out api.Response
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		p.t.Fatalf("%s: decode %q: %v", text, resp.Body, err)
	}
	return resp.StatusCode, out
}

// allowed runs statements as principal that must succeed.
func (p *privEnv) allowed(principal, text string) []api.Result {
	p.t.Helper()
	status, out := p.sqlAs(principal, text)
	if status >= 300 || out.Error != nil {
		p.t.Fatalf("%s as %s: %d %+v", text, principal, status, out.Error)
	}
	return out.Results
}

// denied runs a statement as principal that must be refused with 403 and
// StarRocks' access-denied text naming what (e.g. "EXPORT privilege(s) on
// TABLE shop.orders"), and checks that nothing changed in DynamoDB, S3 or
// Step Functions.
func (p *privEnv) denied(principal, text, what string) {
	p.t.Helper()
	before := p.fullState()
	status, out := p.sqlAs(principal, text)
	p.wantDenied(text, status, out.Error, what)
	if after := p.fullState(); after != before {
		p.t.Errorf("denied %s changed state:\n%s\n---\n%s", text, before, after)
	}
}

func (p *privEnv) wantDenied(what string, status int, e *api.Error, priv string) {
	p.t.Helper()
	if status != http.StatusForbidden || e == nil || e.Code != "ACCESS_DENIED" ||
		!strings.HasPrefix(e.Message, "Access denied; you need (at least one of) the "+priv+" for this operation. Please ask the admin to grant permission(s)") {
		p.t.Errorf("%s: got %d %+v, want 403 ACCESS_DENIED for %s", what, status, e, priv)
	}
}

// fullState is everything in DynamoDB and S3, and the executions.
func (p *privEnv) fullState() string {
	p.t.Helper()
	out, err := p.sfn.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(p.stack.StateMachineARNs["backup"])})
	if err != nil {
		p.t.Fatal(err)
	}
	return p.state() + fmt.Sprintf("executions: %d\n", len(out.Executions))
}

// jobsIn returns the snapshot names SHOW BACKUP shows principal.
func (p *privEnv) jobsIn(principal, text string) []string {
	p.t.Helper()
	res := p.allowed(principal, text)[0]
	var names []string
	for i := range res.Rows {
		names = append(names, cell(p.t, res, i, "DbName")+"/"+cell(p.t, res, i, "SnapshotName"))
	}
	slices.Sort(names)
	return names
}

// restJobs returns the snapshot names GET /v1/backups shows principal.
func (p *privEnv) restJobs(principal, query string) []string {
	p.t.Helper()
	r := p.callAs(principal, "GET", "/v1/backups", query, "")
	var out api.JobList
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &out) != nil {
		p.t.Fatalf("GET /v1/backups?%s as %s: %d %s", query, principal, r.StatusCode, r.Body)
	}
	var names []string
	for _, j := range out.Jobs {
		names = append(names, j.Database+"/"+j.SnapshotName)
	}
	slices.Sort(names)
	return names
}

// shopObjects lists shop's tables and views, as the catalog has them.
func (p *privEnv) shopObjects() []string {
	p.t.Helper()
	db, err := shared.Server(p.t).Open("")
	if err != nil {
		p.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", p.db)
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			p.t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestPrivileges runs every privilege check through the API handler, allowed
// and denied, with principals in the request context.
func TestPrivileges(t *testing.T) {
	p := startPrivEnv(t)
	// run runs a step as a subtest; the helpers report to the step's t.
	run := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(st *testing.T) {
			p.t = st
			defer func() { p.t = t }()
			fn(st)
		})
	}
	repoSQL := fmt.Sprintf("CREATE REPOSITORY repo WITH BROKER ON LOCATION 's3://%s/backups'", p.stack.Bucket)

	run("repository statements", func(t *testing.T) {
		p.denied(nobody, repoSQL, "REPOSITORY privilege(s) on SYSTEM")
		p.allowed(admin, repoSQL)
		p.denied(nobody, "DROP REPOSITORY repo", "REPOSITORY privilege(s) on SYSTEM")
		p.denied(nobody, "SHOW SNAPSHOT ON repo", "REPOSITORY privilege(s) on SYSTEM")
		r := p.callAs(nobody, "GET", "/v1/repositories/repo/snapshots", "", "")
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "REPOSITORY privilege(s) on SYSTEM") {
			t.Errorf("REST SHOW SNAPSHOT as nobody: %d %s", r.StatusCode, r.Body)
		}
		// SHOW REPOSITORIES needs nothing, as in StarRocks.
		p.allowed(nobody, "SHOW REPOSITORIES")

		// REPOSITORY granted to the user directly.
		p.allowed(admin, fmt.Sprintf("GRANT REPOSITORY ON SYSTEM TO USER '%s'", repoOnly))
		p.allowed(repoOnly, fmt.Sprintf("CREATE REPOSITORY scratch WITH BROKER ON LOCATION 's3://%s/scratch'; SHOW SNAPSHOT ON scratch; DROP REPOSITORY scratch", p.stack.Bucket))
		if r := p.callAs(repoOnly, "GET", "/v1/repositories/repo/snapshots", "", ""); r.StatusCode != 200 {
			t.Errorf("REST SHOW SNAPSHOT with REPOSITORY: %d %s", r.StatusCode, r.Body)
		}
	})

	run("non-admins cannot grant", func(t *testing.T) {
		for _, text := range []string{
			fmt.Sprintf("GRANT REPOSITORY ON SYSTEM TO USER '%s'", nobody),
			"GRANT EXPORT ON ALL TABLES IN ALL DATABASES TO ROLE backup",
			"CREATE ROLE mine", "DROP ROLE backup",
			fmt.Sprintf("REVOKE REPOSITORY ON SYSTEM FROM USER '%s'", repoOnly),
		} {
			p.denied(repoOnly, text, "GRANT privilege(s) on SYSTEM")
			p.denied(nobody, text, "GRANT privilege(s) on SYSTEM")
		}
	})

	// The seed document's three examples, as documented (tables named
	// db.table: srbackup has no current database).
	p.allowed(admin, fmt.Sprintf(`
		CREATE ROLE backup_tbl;
		GRANT REPOSITORY ON SYSTEM TO ROLE backup_tbl;
		GRANT EXPORT ON TABLE shop.customers TO ROLE backup_tbl;
		CREATE ROLE backup_db;
		GRANT REPOSITORY ON SYSTEM TO ROLE backup_db;
		GRANT EXPORT ON ALL TABLES IN DATABASE shop TO ROLE backup_db;
		CREATE ROLE backup;
		GRANT REPOSITORY ON SYSTEM TO ROLE backup;
		GRANT EXPORT ON ALL TABLES IN ALL DATABASES TO ROLE backup;
		GRANT ROLE backup_tbl TO USER '%s';
		GRANT ROLE backup_db TO USER '%s';
		GRANT ROLE backup TO USER '%s'`, analyst, shopOperatorRole, dba))

	run("table-level EXPORT", func(t *testing.T) {
		p.denied(analyst, "BACKUP DATABASE shop SNAPSHOT t_orders TO repo ON (TABLE orders)", "EXPORT privilege(s) on TABLE shop.orders")
		p.denied(analyst, "BACKUP DATABASE shop SNAPSHOT t_two TO repo ON (TABLE customers, TABLE products)", "EXPORT privilege(s) on TABLE shop.products")
		p.denied(analyst, "BACKUP SNAPSHOT privtest_crm.t_crm TO repo", "EXPORT privilege(s) on TABLE privtest_crm.contacts")
		status, out := p.sqlAs(analyst, "BACKUP DATABASE shop SNAPSHOT t_customers TO repo ON (TABLE customers)")
		if status != http.StatusAccepted {
			t.Fatalf("table-level BACKUP: %d %+v", status, out.Error)
		}
		p.waitState("shop", "FINISHED")
		// A denied BACKUP reserved nothing: its snapshot name is still free.
		p.allowed(admin, "BACKUP DATABASE shop SNAPSHOT t_orders TO repo ON (TABLE orders)")
		p.waitState("shop", "FINISHED")
	})

	run("whole-database BACKUP names the table it lacks", func(t *testing.T) {
		var grants []string
		for _, o := range p.shopObjects() {
			if o != "orders" {
				grants = append(grants, "GRANT EXPORT ON TABLE shop.`"+o+"` TO ROLE almost")
			}
		}
		if len(grants) < 5 {
			t.Fatalf("shop has too few objects: %v", grants)
		}
		p.allowed(admin, "CREATE ROLE almost; GRANT REPOSITORY ON SYSTEM TO ROLE almost; "+strings.Join(grants, "; ")+
			fmt.Sprintf("; GRANT ROLE almost TO USER '%s'", almost))
		before := p.fullState()
		status, out := p.sqlAs(almost, "BACKUP DATABASE shop SNAPSHOT w_almost TO repo")
		want := "Access denied; you need (at least one of) the EXPORT privilege(s) on TABLE shop.orders for this operation. " +
			"Please ask the admin to grant permission(s) or try activating existing roles using <set [default] role>. " +
			"Current role(s): [almost]. Inactivated role(s): NONE."
		if status != http.StatusForbidden || out.Error == nil || out.Error.Message != want {
			t.Errorf("whole-database BACKUP without shop.orders: %d %+v\nwant %s", status, out.Error, want)
		}
		if after := p.fullState(); after != before {
			t.Errorf("denied BACKUP changed state:\n%s\n---\n%s", before, after)
		}
		// Every table and view granted one by one: the database's functions
		// still need the database-wide grant.
		p.allowed(admin, "GRANT EXPORT ON TABLE shop.orders TO ROLE almost")
		p.denied(almost, "BACKUP DATABASE shop SNAPSHOT w_almost TO repo", "EXPORT privilege(s) on ALL TABLES IN DATABASE shop")
		status, out = p.sqlAs(almost, "BACKUP DATABASE shop SNAPSHOT w_almost TO repo ON (ALL TABLES, ALL VIEWS)")
		if status != http.StatusAccepted {
			t.Fatalf("every table and view, granted one by one: %d %+v", status, out.Error)
		}
		p.waitState("shop", "FINISHED")
	})

	run("database-level EXPORT", func(t *testing.T) {
		p.denied(shopOperator, "BACKUP SNAPSHOT privtest_crm.d_crm TO repo", "EXPORT privilege(s) on TABLE privtest_crm.contacts")
		status, out := p.sqlAs(shopOperator, "BACKUP DATABASE shop SNAPSHOT d_shop TO repo")
		if status != http.StatusAccepted {
			t.Fatalf("database-level whole-database BACKUP: %d %+v", status, out.Error)
		}
		p.waitState("shop", "FINISHED")
	})

	run("all-databases EXPORT", func(t *testing.T) {
		for _, text := range []string{"BACKUP SNAPSHOT privtest_crm.a_crm TO repo", "BACKUP DATABASE shop SNAPSHOT a_shop TO repo ON (TABLE orders)"} {
			if status, out := p.sqlAs(dba, text); status != http.StatusAccepted {
				t.Fatalf("%s: %d %+v", text, status, out.Error)
			}
		}
		p.waitState(p.crm, "FINISHED")
		p.waitState("shop", "FINISHED")
	})

	run("SHOW BACKUP hides what the caller cannot EXPORT", func(t *testing.T) {
		// The last jobs: shop's a_shop (orders only), privtest_crm's a_crm.
		for _, c := range []struct {
			who       string
			all, shop []string
		}{
			{dba, []string{"privtest_crm/a_crm", "shop/a_shop"}, []string{"shop/a_shop"}},
			{shopOperator, []string{"shop/a_shop"}, []string{"shop/a_shop"}},
			{analyst, nil, nil},
		} {
			if got := p.jobsIn(c.who, "SHOW BACKUP"); !slices.Equal(got, c.all) {
				t.Errorf("SHOW BACKUP as %s: %v, want %v", c.who, got, c.all)
			}
			if got := p.jobsIn(c.who, "SHOW BACKUP FROM shop"); !slices.Equal(got, c.shop) {
				t.Errorf("SHOW BACKUP FROM shop as %s: %v, want %v", c.who, got, c.shop)
			}
			if got := p.restJobs(c.who, ""); !slices.Equal(got, c.all) {
				t.Errorf("GET /v1/backups as %s: %v, want %v", c.who, got, c.all)
			}
		}
		// History: the analyst sees its own customers job, and the admin's
		// orders job stays hidden.
		if got := p.restJobs(analyst, "db=shop&limit=100"); !slices.Equal(got, []string{"shop/t_customers"}) {
			t.Errorf("history as analyst: %v", got)
		}
		p.denied(nobody, "SHOW BACKUP", "REPOSITORY privilege(s) on SYSTEM")
		if r := p.callAs(nobody, "GET", "/v1/backups", "", ""); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET /v1/backups as nobody: %d %s", r.StatusCode, r.Body)
		}
		// One job: hidden is not found.
		id := cell(t, p.allowed(admin, "SHOW BACKUP FROM shop")[0], 0, "JobId")
		if r := p.callAs(analyst, "GET", "/v1/backups/"+id, "", ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("hidden job as analyst: %d %s", r.StatusCode, r.Body)
		}
		if r := p.callAs(shopOperator, "GET", "/v1/backups/"+id, "", ""); r.StatusCode != http.StatusOK {
			t.Errorf("visible job as the shop operator: %d %s", r.StatusCode, r.Body)
		}
	})

	run("REVOKE takes effect on the next call", func(t *testing.T) {
		if got := p.jobsIn(shopOperator, "SHOW BACKUP FROM shop"); len(got) != 1 {
			t.Fatalf("before REVOKE: %v", got)
		}
		p.allowed(admin, "REVOKE EXPORT ON ALL TABLES IN DATABASE shop FROM ROLE backup_db")
		p.denied(shopOperator, "BACKUP DATABASE shop SNAPSHOT r_shop TO repo ON (TABLE customers)", "EXPORT privilege(s) on TABLE shop.customers")
		if got := p.jobsIn(shopOperator, "SHOW BACKUP FROM shop"); len(got) != 0 {
			t.Errorf("SHOW BACKUP after REVOKE: %v", got)
		}
		p.allowed(admin, fmt.Sprintf("REVOKE ROLE backup_db FROM USER '%s'", shopOperatorRole))
		p.denied(shopOperator, "SHOW BACKUP", "REPOSITORY privilege(s) on SYSTEM")
		// Granted again, allowed again, at once.
		p.allowed(admin, fmt.Sprintf("GRANT EXPORT ON ALL TABLES IN DATABASE shop TO ROLE backup_db; GRANT ROLE backup_db TO USER '%s'", shopOperatorRole))
		if status, out := p.sqlAs(shopOperator, "BACKUP DATABASE shop SNAPSHOT r_shop TO repo ON (TABLE customers)"); status != http.StatusAccepted {
			t.Fatalf("after GRANT: %d %+v", status, out.Error)
		}
		p.waitState("shop", "FINISHED")
	})

	run("audit", func(t *testing.T) {
		// srbackup refuses plaintext credentials before anything else; the
		// value must not reach the log either way.
		leak := fmt.Sprintf(`CREATE REPOSITORY leak WITH BROKER ON LOCATION 's3://%s/x' PROPERTIES ("aws.s3.secret_key" = "SuperSecretValue42")`, p.stack.Bucket)
		for _, who := range []string{nobody, admin} {
			if status, out := p.sqlAs(who, leak); status != http.StatusBadRequest || out.Error == nil || strings.Contains(out.Error.Message, "SuperSecretValue42") {
				t.Errorf("plaintext credential as %s: %d %+v", who, status, out.Error)
			}
		}
		log := p.audit.String()
		if strings.Contains(log, "SuperSecretValue42") {
			t.Errorf("the audit log holds a secret:\n%s", log)
		}
		var found, denials int
		for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			if rec["msg"] != "audit" {
				continue
			}
			if rec["outcome"] == "denied" {
				denials++
				if rec["code"] != "ACCESS_DENIED" || rec["principal"] == "" || rec["kind"] == "" {
					t.Errorf("denial record %v", rec)
				}
			}
			if rec["principal"] == almost && rec["kind"] == "BACKUP" && rec["target"] == "shop@repo" && rec["outcome"] == "denied" {
				found++
			}
		}
		if found != 2 || denials < 20 {
			t.Errorf("audit: %d denied BACKUPs by %s (want 2), %d denials in all", found, almost, denials)
		}
	})

	run("CANCEL BACKUP needs EXPORT on the job's tables", func(t *testing.T) {
		p.gate.hold()
		defer p.gate.release()
		status, out := p.sqlAs(shopOperator, "BACKUP DATABASE shop SNAPSHOT c_shop TO repo ON (TABLE customers, TABLE orders)")
		if status != http.StatusAccepted {
			t.Fatalf("BACKUP: %d %+v", status, out.Error)
		}
		<-p.gate.entered
		p.waitState("shop", "UPLOADING")
		status, out = p.sqlAs(analyst, "CANCEL BACKUP FROM shop")
		p.wantDenied("CANCEL BACKUP as analyst", status, out.Error, "EXPORT privilege(s) on TABLE shop.orders")
		status, out = p.sqlAs(nobody, "CANCEL BACKUP FROM shop")
		p.wantDenied("CANCEL BACKUP as nobody", status, out.Error, "REPOSITORY privilege(s) on SYSTEM")
		r := p.callAs(analyst, "DELETE", "/v1/backups/"+p.shopJobID(shopOperator), "", "")
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "EXPORT privilege(s) on TABLE shop.orders") {
			t.Errorf("DELETE as analyst: %d %s", r.StatusCode, r.Body)
		}
		if res := p.waitState("shop", "UPLOADING"); cell(t, res, 0, "SnapshotName") != "c_shop" {
			t.Fatalf("job after denied cancels: %v", rowText(res))
		}
		p.allowed(shopOperator, "CANCEL BACKUP FROM shop")
		p.gate.release()
		res := p.allowed(admin, "SHOW BACKUP FROM shop")[0]
		if cell(t, res, 0, "State") != "CANCELLED" || cell(t, res, 0, "Status") != "[COMMON_ERROR, msg: user cancelled]" {
			t.Errorf("after CANCEL: %v", rowText(res))
		}
	})

	// RESTORE (reference §7): REPOSITORY, then without ON CREATE DATABASE on
	// the catalog; with ON into an existing database CREATE TABLE on it and
	// INSERT on each ON object it already has. A caller who passes them
	// reaches the submission checks (no such snapshot: 400).
	run("RESTORE", func(t *testing.T) {
		const ts = `PROPERTIES ("backup_timestamp" = "2026-01-01-00-00-00-000")`
		// Earlier steps' backups may still be running, so "nothing changed"
		// is not checked here; a refused RESTORE writes nothing in any case:
		// privileges are checked before the submission.
		denied := func(principal, text, what string) {
			t.Helper()
			status, out := p.sqlAs(principal, text)
			p.wantDenied(text, status, out.Error, what)
		}
		denied(nobody, "RESTORE SNAPSHOT s FROM repo DATABASE shop "+ts, "REPOSITORY privilege(s) on SYSTEM")
		denied(nobody, "SHOW RESTORE", "REPOSITORY privilege(s) on SYSTEM")
		denied(nobody, "CANCEL RESTORE FROM shop", "REPOSITORY privilege(s) on SYSTEM")
		denied(repoOnly, "RESTORE SNAPSHOT s FROM repo DATABASE shop "+ts, "CREATE DATABASE privilege(s) on CATALOG default_catalog")
		denied(repoOnly, "RESTORE SNAPSHOT s FROM repo DATABASE shop ON (TABLE customers) "+ts, "CREATE TABLE privilege(s) on DATABASE shop")
		p.allowed(admin, fmt.Sprintf("GRANT CREATE TABLE ON DATABASE shop TO USER '%s'", repoOnly))
		denied(repoOnly, "RESTORE SNAPSHOT s FROM repo DATABASE shop ON (TABLE customers) "+ts, "INSERT privilege(s) on TABLE shop.customers")
		p.allowed(admin, fmt.Sprintf("GRANT INSERT ON TABLE shop.customers TO USER '%s'; GRANT CREATE DATABASE ON CATALOG default_catalog TO USER '%s'", repoOnly, repoOnly))
		for _, text := range []string{
			"RESTORE SNAPSHOT s FROM repo DATABASE shop ON (TABLE customers) " + ts,
			"RESTORE SNAPSHOT s FROM repo DATABASE shop AS brand_new ON (TABLE orders) " + ts, // a new database: REPOSITORY only
			"RESTORE SNAPSHOT s FROM repo DATABASE shop " + ts,
		} {
			status, out := p.sqlAs(repoOnly, text)
			if status != http.StatusBadRequest || out.Error == nil || !strings.Contains(out.Error.Message, "Failed to get info of snapshot 's'") {
				t.Errorf("%s: %d %+v, want the submission's 400", text, status, out.Error)
			}
		}
		p.allowed(repoOnly, "SHOW RESTORE FROM shop")
	})
}

// shopJobID is the id of shop's last job, read as principal.
func (p *privEnv) shopJobID(principal string) string {
	p.t.Helper()
	return cell(p.t, p.allowed(principal, "SHOW BACKUP FROM shop")[0], 0, "JobId")
}
