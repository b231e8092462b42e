package privilege_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/privilege"
	"github.com/srbackup/srbackup/shared/sql"
)

// The tests below run against the local DynamoDB through the real SDK client.

const (
	admin    = "arn:aws:iam::123456789012:user/admin"
	alice    = "arn:aws:iam::123456789012:user/alice"
	bob      = "arn:aws:iam::123456789012:user/bob"
	operator = "arn:aws:iam::123456789012:role/BackupOperator"
	// session is a session of the operator role, as API Gateway reports it.
	session = "arn:aws:sts::123456789012:assumed-role/BackupOperator/carol@example.com"
)

type env struct {
	t     *testing.T
	auth  *privilege.Authority
	store *privilege.Store
	db    *dynamodb.Client
	table string
}

func setup(t *testing.T) *env {
	t.Helper()
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	store := privilege.NewStore(db, st.Table)
	auth, err := privilege.NewAuthority(store, []string{admin})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, auth: auth, store: store, db: db, table: st.Table}
}

// exec runs statements as principal and returns the first error.
func (e *env) exec(principal, text string) error {
	e.t.Helper()
	stmts, err := sql.Parse(text)
	if err != nil {
		e.t.Fatalf("parse %s: %v", text, err)
	}
	c := e.auth.Checker(principal)
	for _, s := range stmts {
		if err := c.Execute(context.Background(), s); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) mustExec(principal, text string) {
	e.t.Helper()
	if err := e.exec(principal, text); err != nil {
		e.t.Fatalf("%s: %v", text, err)
	}
}

// wantAnalysis checks err is an analysis error with StarRocks' detail.
func wantAnalysis(t *testing.T, err error, detail string) {
	t.Helper()
	var ae *job.AnalysisError
	if !errors.As(err, &ae) || ae.Detail != detail {
		t.Errorf("got %v, want analysis error %q", err, detail)
	}
}

// items returns every item of the table as "pk | sk", sorted.
func (e *env) items() []string {
	e.t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(e.db, &dynamodb.ScanInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range page.Items {
			var k struct {
				PK string `dynamodbav:"pk"`
				SK string `dynamodbav:"sk"`
			}
			if err := attributevalue.UnmarshalMap(it, &k); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, k.PK+" | "+k.SK)
		}
	}
	slices.Sort(out)
	return out
}

func TestSeedGrantExamples(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// The three examples of the seed document's 权限要求 section, with the
	// table named db.table (srbackup has no current database).
	e.mustExec(admin, `
		CREATE ROLE backup_tbl;
		GRANT REPOSITORY ON SYSTEM TO ROLE backup_tbl;
		GRANT EXPORT ON TABLE shop.orders TO ROLE backup_tbl;
		CREATE ROLE backup_db;
		GRANT REPOSITORY ON SYSTEM TO ROLE backup_db;
		GRANT EXPORT ON ALL TABLES IN DATABASE shop TO ROLE backup_db;
		CREATE ROLE backup;
		GRANT REPOSITORY ON SYSTEM TO ROLE backup;
		GRANT EXPORT ON ALL TABLES IN ALL DATABASES TO ROLE backup;
		GRANT ROLE backup_tbl TO USER 'arn:aws:iam::123456789012:user/alice';
		GRANT ROLE backup_db TO USER 'arn:aws:iam::123456789012:user/bob';
		GRANT ROLE backup TO USER 'arn:aws:sts::123456789012:assumed-role/BackupOperator/setup';
	`)
	for _, c := range []struct {
		who   string
		roles []string
		can   []string // db.table pairs that may be exported
		not   []string
	}{
		{alice, []string{"backup_tbl"}, []string{"shop.orders"}, []string{"shop.items", "crm.orders"}},
		{bob, []string{"backup_db"}, []string{"shop.orders", "shop.items"}, []string{"crm.orders"}},
		{session, []string{"backup"}, []string{"shop.orders", "crm.orders", "any.thing"}, nil},
	} {
		g, err := e.store.Grants(ctx, must(privilege.NormalizePrincipal(c.who)))
		if err != nil {
			t.Fatal(err)
		}
		if !g.Repository || !slices.Equal(g.Roles, c.roles) {
			t.Errorf("%s: repository %v roles %v", c.who, g.Repository, g.Roles)
		}
		chk := e.auth.Checker(c.who)
		if err := chk.RequireRepository(ctx); err != nil {
			t.Errorf("%s: %v", c.who, err)
		}
		for _, dt := range c.can {
			db, table, _ := strings.Cut(dt, ".")
			if err := chk.RequireExport(ctx, db, []string{table}); err != nil || !chk.CanExport(db, table) {
				t.Errorf("%s cannot export %s: %v", c.who, dt, err)
			}
		}
		for _, dt := range c.not {
			db, table, _ := strings.Cut(dt, ".")
			err := chk.RequireExport(ctx, db, []string{table})
			var ad *privilege.AccessDeniedError
			if !errors.As(err, &ad) || ad.Object != dt || chk.CanExport(db, table) {
				t.Errorf("%s exports %s: %v", c.who, dt, err)
			}
		}
	}
	// A principal holding nothing.
	err := e.auth.Checker("arn:aws:iam::123456789012:user/nobody").RequireRepository(ctx)
	if err == nil || !strings.Contains(err.Error(), "REPOSITORY privilege(s) on SYSTEM") || !strings.Contains(err.Error(), "Current role(s): NONE.") {
		t.Errorf("nobody: %v", err)
	}
}

func TestRevokeTakesEffectOnTheNextRequest(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.mustExec(admin, `CREATE ROLE r; GRANT REPOSITORY ON SYSTEM TO ROLE r; GRANT EXPORT ON TABLE shop.orders TO ROLE r;
		GRANT ROLE r TO USER 'arn:aws:iam::123456789012:user/alice';
		GRANT EXPORT ON TABLE shop.items TO USER 'arn:aws:iam::123456789012:user/alice'`)
	during := e.auth.Checker(alice)
	if err := during.RequireExport(ctx, "shop", []string{"orders", "items"}); err != nil {
		t.Fatal(err)
	}
	e.mustExec(admin, `REVOKE EXPORT ON TABLE shop.orders FROM ROLE r; REVOKE EXPORT ON TABLE shop.items FROM USER 'arn:aws:iam::123456789012:user/alice'`)
	// The request in flight keeps its decisions…
	if !during.CanExport("shop", "orders") {
		t.Error("decisions changed within a request")
	}
	// …the next one sees the REVOKE.
	next := e.auth.Checker(alice)
	for _, table := range []string{"orders", "items"} {
		if err := next.RequireExport(ctx, "shop", []string{table}); err == nil {
			t.Errorf("shop.%s still exportable after REVOKE", table)
		}
	}
	if err := next.RequireRepository(ctx); err != nil {
		t.Errorf("REPOSITORY went with EXPORT: %v", err)
	}
	e.mustExec(admin, `REVOKE ROLE r FROM USER 'arn:aws:iam::123456789012:user/alice'`)
	if err := e.auth.Checker(alice).RequireRepository(ctx); err == nil {
		t.Error("REPOSITORY still held after REVOKE ROLE")
	}
	// Revoking what is not held does nothing.
	e.mustExec(admin, `REVOKE ROLE r FROM USER 'arn:aws:iam::123456789012:user/alice'; REVOKE EXPORT ON ALL TABLES IN DATABASE x FROM ROLE r`)

	// StarRocks' shorter forms (issue 11 §2): TABLE omitted, a grantee
	// without USER, ALL, and a table in the current database.
	e.mustExec(admin, `GRANT EXPORT ON shop.orders TO 'arn:aws:iam::123456789012:user/alice'; GRANT ALL ON shop.items TO 'arn:aws:iam::123456789012:user/alice'`)
	short := e.auth.Checker(alice)
	if err := short.RequireExport(ctx, "shop", []string{"orders", "items"}); err != nil {
		t.Errorf("EXPORT granted in the short forms: %v", err)
	}
}

func TestRoleStatements(t *testing.T) {
	e := setup(t)
	e.mustExec(admin, "CREATE ROLE r")
	wantAnalysis(t, e.exec(admin, "CREATE ROLE r"), "Operation CREATE ROLE failed for r : role already exists")
	e.mustExec(admin, "CREATE ROLE IF NOT EXISTS r")
	e.mustExec(admin, "DROP ROLE r")
	wantAnalysis(t, e.exec(admin, "DROP ROLE r"), "Operation DROP ROLE failed for r : role not exists")
	e.mustExec(admin, "DROP ROLE IF EXISTS r")

	wantAnalysis(t, e.exec(admin, "GRANT REPOSITORY ON SYSTEM TO ROLE ghost"), "Can not grant/revoke to role: cannot find role ghost!")
	wantAnalysis(t, e.exec(admin, "REVOKE REPOSITORY ON SYSTEM FROM ROLE ghost"), "Can not grant/revoke to role: cannot find role ghost!")
	wantAnalysis(t, e.exec(admin, "GRANT ROLE ghost TO USER 'arn:aws:iam::123456789012:user/alice'"), "Can not granted/revoke role to/from user: cannot find role ghost!")
	e.mustExec(admin, "CREATE ROLE a")
	wantAnalysis(t, e.exec(admin, "GRANT ROLE a TO ROLE ghost"), "Can not granted/revoke role to/from role: cannot find role ghost!")
	wantAnalysis(t, e.exec(admin, "GRANT EXPORT ON TABLE orders TO ROLE a"), "No database selected")
	err := e.exec(admin, "GRANT ROLE a TO USER 'alice'")
	if ae := (*job.AnalysisError)(nil); !errors.As(err, &ae) || !strings.HasPrefix(ae.Detail, "cannot find user 'alice': a USER is an IAM principal ARN") {
		t.Errorf("bad user: %v", err)
	}
	// A federated user's name is the caller's choice: no grant (issue 12 §2).
	err = e.exec(admin, "GRANT REPOSITORY ON SYSTEM TO USER 'arn:aws:sts::123456789012:federated-user/alice'")
	if ae := (*job.AnalysisError)(nil); !errors.As(err, &ae) || !strings.Contains(ae.Detail, "GetFederationToken") {
		t.Errorf("federated user: %v", err)
	}
	err = e.exec(admin, "CREATE ROLE `"+strings.Repeat("x", 65)+"`")
	if ae := (*job.AnalysisError)(nil); !errors.As(err, &ae) {
		t.Errorf("long role name: %v", err)
	}
	// GRANT ROLE with several roles checks them all before writing anything.
	before := e.items()
	wantAnalysis(t, e.exec(admin, "GRANT ROLE a, ghost TO USER 'arn:aws:iam::123456789012:user/alice'"), "Can not granted/revoke role to/from user: cannot find role ghost!")
	if after := e.items(); !slices.Equal(before, after) {
		t.Errorf("a failed GRANT wrote items:\nbefore %q\nafter  %q", before, after)
	}
}

func TestNonAdminChangesNothing(t *testing.T) {
	e := setup(t)
	e.mustExec(admin, `CREATE ROLE r; GRANT REPOSITORY ON SYSTEM TO ROLE r; GRANT ROLE r TO USER 'arn:aws:iam::123456789012:user/alice'`)
	before := e.items()
	for _, text := range []string{
		"CREATE ROLE x", "DROP ROLE r", "GRANT EXPORT ON ALL TABLES IN ALL DATABASES TO ROLE r",
		"GRANT ROLE r TO USER 'arn:aws:iam::123456789012:user/bob'", "REVOKE ROLE r FROM USER 'arn:aws:iam::123456789012:user/alice'",
	} {
		err := e.exec(alice, text)
		var ad *privilege.AccessDeniedError
		if !errors.As(err, &ad) || !strings.HasPrefix(err.Error(), "Access denied; you need (at least one of) the GRANT privilege(s) on SYSTEM for this operation.") ||
			!strings.Contains(err.Error(), "Current role(s): [r].") {
			t.Errorf("%s by a non-admin: %v", text, err)
		}
	}
	if after := e.items(); !slices.Equal(before, after) {
		t.Errorf("denied statements wrote items:\nbefore %q\nafter  %q", before, after)
	}
}

func TestAssumedRoleSessions(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// A grant to the role ARN (with a path) covers every session of the role.
	e.mustExec(admin, `GRANT REPOSITORY ON SYSTEM TO USER 'arn:aws:iam::123456789012:role/ops/BackupOperator'`)
	if err := e.auth.Checker(session).RequireRepository(ctx); err != nil {
		t.Errorf("session of the granted role: %v", err)
	}
	if err := e.auth.Checker(operator).RequireRepository(ctx); err != nil {
		t.Errorf("the granted role: %v", err)
	}
	if err := e.auth.Checker("arn:aws:sts::123456789012:assumed-role/Other/carol@example.com").RequireRepository(ctx); err == nil {
		t.Error("a session of another role holds the grant")
	}
	// An admin's assumed-role session is an admin.
	auth, err := privilege.NewAuthority(e.store, []string{operator})
	if err != nil {
		t.Fatal(err)
	}
	if !auth.Checker(session).IsAdmin() {
		t.Error("session of an admin role is not admin")
	}
}

func TestRoleInheritance(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.mustExec(admin, `CREATE ROLE repo; GRANT REPOSITORY ON SYSTEM TO ROLE repo;
		CREATE ROLE shop_export; GRANT EXPORT ON ALL TABLES IN DATABASE shop TO ROLE shop_export;
		CREATE ROLE operator; GRANT ROLE repo, shop_export TO ROLE operator;
		GRANT ROLE operator TO USER 'arn:aws:iam::123456789012:user/alice'`)
	c := e.auth.Checker(alice)
	if err := c.RequireRepository(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.RequireExport(ctx, "shop", []string{"orders"}); err != nil {
		t.Fatal(err)
	}
	g, err := e.store.Grants(ctx, alice)
	if err != nil || !slices.Equal(g.Roles, []string{"operator"}) {
		t.Errorf("direct roles %v, %v", g.Roles, err)
	}
	wantAnalysis(t, e.exec(admin, "GRANT ROLE operator TO ROLE repo"),
		"Can not grant role operator to role repo: role operator already inherits role repo, so the grant would make a loop")
	wantAnalysis(t, e.exec(admin, "GRANT ROLE repo TO ROLE repo"),
		"Can not grant role repo to role repo: role repo already inherits role repo, so the grant would make a loop")
	// Dropping an inherited role takes its privileges away from the heirs.
	e.mustExec(admin, "DROP ROLE shop_export")
	if err := e.auth.Checker(alice).RequireExport(ctx, "shop", []string{"orders"}); err == nil {
		t.Error("privileges of a dropped inherited role still apply")
	}
}

func TestDroppedRoleLeavesNothing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	before := e.items()
	e.mustExec(admin, `CREATE ROLE r; GRANT REPOSITORY ON SYSTEM TO ROLE r; GRANT EXPORT ON TABLE shop.orders TO ROLE r;
		CREATE ROLE p; GRANT ROLE p TO ROLE r; GRANT ROLE r TO USER 'arn:aws:iam::123456789012:user/alice'`)
	e.mustExec(admin, "DROP ROLE r; DROP ROLE p")
	if after := e.items(); !slices.Equal(before, after) {
		t.Errorf("DROP ROLE left items:\nbefore %q\nafter  %q", before, after)
	}

	// A clean-up interrupted half-way leaves items of the old role behind; a
	// new role of the same name must not inherit them.
	e.mustExec(admin, `CREATE ROLE r; GRANT EXPORT ON TABLE shop.orders TO ROLE r; GRANT ROLE r TO USER 'arn:aws:iam::123456789012:user/alice'`)
	stale := e.rawItems("GRANT#ROLE#r")
	staleMember := e.rawItems("GRANT#USER#" + alice)
	e.mustExec(admin, "DROP ROLE r")
	e.putRaw(append(stale, staleMember...))
	e.mustExec(admin, "CREATE ROLE r; GRANT REPOSITORY ON SYSTEM TO ROLE r; GRANT ROLE r TO USER 'arn:aws:iam::123456789012:user/bob'")
	g, err := e.store.Grants(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if g.Repository || g.CanExport("shop", "orders") || len(g.Roles) != 0 {
		t.Errorf("alice holds the dropped role's grants: %+v", g)
	}
	g, err = e.store.Grants(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Repository || g.CanExport("shop", "orders") {
		t.Errorf("bob: new role %+v mixes in the old role's grants", g)
	}
}

func (e *env) rawItems(pk string) []map[string]types.AttributeValue {
	e.t.Helper()
	out, err := e.db.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(e.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Items) == 0 {
		e.t.Fatalf("no items under %s", pk)
	}
	return out.Items
}

func (e *env) putRaw(items []map[string]types.AttributeValue) {
	e.t.Helper()
	for _, it := range items {
		if _, err := e.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: it}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestKeysUseTheJobStoreSchema(t *testing.T) {
	e := setup(t)
	e.mustExec(admin, "CREATE ROLE `a#b`; GRANT EXPORT ON TABLE `s#1`.`t%2` TO ROLE `a#b`")
	got := e.items()
	want := []string{"GRANT#ROLE#a%23b | PRIV#EXPORT#TABLE#s%231#t%252", "ROLE#a%23b | ROLE"}
	if !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
	if jobstore.AttrPK != "pk" || jobstore.AttrSK != "sk" {
		t.Fatal("the scan above assumes pk/sk")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// countingDB counts the DynamoDB requests the store makes.
type countingDB struct {
	privilege.DB
	calls int
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls++
	return c.DB.GetItem(ctx, in, o...)
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.calls++
	return c.DB.Query(ctx, in, o...)
}

// BenchmarkCheckerOneRole is the privilege cost of one request by a
// principal holding one role: the first question reads the grants, the
// rest of the request reuses them.
func BenchmarkCheckerOneRole(b *testing.B) {
	st := localtest.StartForTest(b, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	db := &countingDB{DB: dynamodb.NewFromConfig(cfg)}
	auth, err := privilege.NewAuthority(privilege.NewStore(db, st.Table), []string{admin})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, text := range []string{"CREATE ROLE r", "GRANT REPOSITORY ON SYSTEM TO ROLE r",
		"GRANT EXPORT ON ALL TABLES IN DATABASE shop TO ROLE r", "GRANT ROLE r TO USER '" + alice + "'"} {
		stmts, err := sql.Parse(text)
		if err != nil {
			b.Fatal(err)
		}
		if err := auth.Checker(admin).Execute(ctx, stmts[0]); err != nil {
			b.Fatal(err)
		}
	}
	tables := []string{"orders", "customers", "products", "events", "sessions"}
	db.calls = 0
	b.ResetTimer()
	for b.Loop() {
		c := auth.Checker(alice)
		if err := c.RequireRepository(ctx); err != nil {
			b.Fatal(err)
		}
		if err := c.RequireExport(ctx, "shop", tables); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(db.calls)/float64(b.N), "dynamodb-requests/op")
}
