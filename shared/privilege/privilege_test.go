package privilege

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/sql"
)

func TestNormalizePrincipal(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::123456789012:user/alice":                                    "arn:aws:iam::123456789012:user/alice",
		"arn:aws:iam::123456789012:user/ops/alice":                                "arn:aws:iam::123456789012:user/ops/alice",
		"arn:aws:iam::123456789012:role/BackupOperator":                           "arn:aws:iam::123456789012:role/BackupOperator",
		"arn:aws:iam::123456789012:role/service-role/BackupOperator":              "arn:aws:iam::123456789012:role/BackupOperator",
		"arn:aws:sts::123456789012:assumed-role/BackupOperator/alice@example.com": "arn:aws:iam::123456789012:role/BackupOperator",
		"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/bob":    "arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123",
		"arn:aws-cn:sts::123456789012:assumed-role/R/s":                           "arn:aws-cn:iam::123456789012:role/R",
		"arn:aws-us-gov:iam::123456789012:role/a/b/R":                             "arn:aws-us-gov:iam::123456789012:role/R",
		"arn:aws:iam::123456789012:root":                                          "arn:aws:iam::123456789012:root",
	} {
		got, err := NormalizePrincipal(in)
		if err != nil || got != want {
			t.Errorf("NormalizePrincipal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "alice", "arn:aws:iam::123:user/alice", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:group/admins",
		"arn:aws:sts::123456789012:assumed-role/R", "arn:aws:iam::123456789012:assumed-role/R/s",
		"arn:aws:sts::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice\n",
		"arn:aws:iam::123456789012:user/" + strings.Repeat("a", 1100),
	} {
		if got, err := NormalizePrincipal(in); err == nil {
			t.Errorf("NormalizePrincipal(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseAdmins(t *testing.T) {
	got, err := ParseAdmins(" arn:aws:iam::123456789012:user/alice ,, arn:aws:sts::123456789012:assumed-role/Dba/x,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:role/Dba"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, err := ParseAdmins(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %q, %v", got, err)
	}
	if _, err := ParseAdmins("arn:aws:iam::123456789012:user/alice,bob"); err == nil || !strings.Contains(err.Error(), `"bob"`) {
		t.Errorf("bad admin: %v", err)
	}
}

func TestAccessDeniedText(t *testing.T) {
	for _, c := range []struct {
		err  *AccessDeniedError
		want string
	}{
		{&AccessDeniedError{Privilege: "REPOSITORY", ObjectType: "SYSTEM"},
			"Access denied; you need (at least one of) the REPOSITORY privilege(s) on SYSTEM for this operation. " +
				"Please ask the admin to grant permission(s) or try activating existing roles using <set [default] role>. " +
				"Current role(s): NONE. Inactivated role(s): NONE."},
		{&AccessDeniedError{Privilege: "EXPORT", ObjectType: "TABLE", Object: "shop.orders", Roles: []string{"backup_db", "backup_tbl"}},
			"Access denied; you need (at least one of) the EXPORT privilege(s) on TABLE shop.orders for this operation. " +
				"Please ask the admin to grant permission(s) or try activating existing roles using <set [default] role>. " +
				"Current role(s): [backup_db, backup_tbl]. Inactivated role(s): NONE."},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	var de job.Error = &AccessDeniedError{}
	if de.HTTPStatus() != http.StatusForbidden || de.Code() != "ACCESS_DENIED" {
		t.Errorf("status %d code %s", de.HTTPStatus(), de.Code())
	}
	if d, ok := job.AsError(errors.Join(errors.New("x"), de)); !ok || d != de {
		t.Error("job.AsError does not find an AccessDeniedError")
	}
}

func TestGrantsCanExport(t *testing.T) {
	g := newGrants()
	g.add(sql.PrivilegeExport, sql.PrivilegeObject{Type: sql.OnTable, Database: "shop", Table: "orders"})
	g.add(sql.PrivilegeExport, sql.PrivilegeObject{Type: sql.OnAllTablesInDatabase, Database: "crm"})
	g.add(sql.PrivilegeRepository, sql.PrivilegeObject{Type: sql.OnTable, Database: "x", Table: "y"}) // not a grant srbackup knows
	for _, c := range []struct {
		db, table string
		want      bool
	}{
		{"shop", "orders", true}, {"shop", "items", false}, {"shop", "Orders", false}, {"crm", "anything", true},
		{"CRM", "anything", false}, {"x", "y", false}, {"other", "orders", false},
	} {
		if got := g.CanExport(c.db, c.table); got != c.want {
			t.Errorf("CanExport(%s, %s) = %v", c.db, c.table, got)
		}
	}
	if g.Repository || g.AllDatabases || !g.CanExportDatabase("crm") || g.CanExportDatabase("shop") {
		t.Errorf("grants %+v", g)
	}
	g.add(sql.PrivilegeExport, sql.PrivilegeObject{Type: sql.OnAllTablesInAllDatabases})
	if !g.CanExport("any", "table") || !g.CanExportDatabase("any") {
		t.Error("ALL TABLES IN ALL DATABASES does not cover every table")
	}
}

// checkerWith is a checker whose grants are already read.
func checkerWith(g *Grants) *Checker {
	return &Checker{principal: "arn:aws:iam::123456789012:user/u", valid: true, grants: g}
}

func TestCheckerDecisions(t *testing.T) {
	ctx := context.Background()
	g := newGrants()
	g.Roles = []string{"backup_tbl"}
	g.add(sql.PrivilegeRepository, sql.PrivilegeObject{Type: sql.OnSystem})
	g.add(sql.PrivilegeExport, sql.PrivilegeObject{Type: sql.OnTable, Database: "shop", Table: "orders"})
	g.add(sql.PrivilegeExport, sql.PrivilegeObject{Type: sql.OnTable, Database: "shop", Table: "v_orders"})
	c := checkerWith(g)

	if err := c.RequireRepository(ctx); err != nil {
		t.Errorf("RequireRepository: %v", err)
	}
	if err := c.RequireExport(ctx, "shop", []string{"orders", "v_orders"}); err != nil {
		t.Errorf("RequireExport: %v", err)
	}
	err := c.RequireExport(ctx, "shop", []string{"orders", "items", "customers"})
	var ad *AccessDeniedError
	if !errors.As(err, &ad) || ad.Object != "shop.items" || ad.Privilege != "EXPORT" || ad.ObjectType != "TABLE" ||
		!strings.Contains(err.Error(), "the EXPORT privilege(s) on TABLE shop.items for this operation") ||
		!strings.Contains(err.Error(), "Current role(s): [backup_tbl].") {
		t.Errorf("RequireExport missing a table: %v", err)
	}

	tables := job.Spec{Database: "shop", Objects: []job.Object{{Kind: job.KindTable, Name: "orders"}, {Kind: job.KindView, Name: "v_orders"}}}
	withFn := tables
	withFn.Objects = append(withFn.Objects, job.Object{Kind: job.KindFunction, Name: "f"})
	if err := c.RequireJob(ctx, tables); err != nil || !c.CanExportJob(tables) {
		t.Errorf("job of granted tables: %v %v", err, c.CanExportJob(tables))
	}
	err = c.RequireJob(ctx, withFn)
	if !errors.As(err, &ad) || !strings.Contains(err.Error(), "the EXPORT privilege(s) on ALL TABLES IN DATABASE shop for this operation") || c.CanExportJob(withFn) {
		t.Errorf("job with a function, table grants only: %v", err)
	}
	// A whole database too big to list in the spec: the database grant.
	unlisted := job.Spec{Database: "shop", WholeDatabase: true, ObjectCount: 10_000}
	if err := c.RequireJob(ctx, unlisted); !errors.As(err, &ad) || !strings.Contains(err.Error(), "ALL TABLES IN DATABASE shop") || c.CanExportJob(unlisted) {
		t.Errorf("unlisted whole-database job, table grants only: %v", err)
	}
	g.add(sql.PrivilegeExport, sql.PrivilegeObject{Type: sql.OnAllTablesInDatabase, Database: "shop"})
	if err := c.RequireJob(ctx, withFn); err != nil || !c.CanExportJob(withFn) {
		t.Errorf("job with a function, database grant: %v", err)
	}
	if err := c.RequireJob(ctx, unlisted); err != nil || !c.CanExportJob(unlisted) {
		t.Errorf("unlisted whole-database job, database grant: %v", err)
	}

	err = c.RequireAdmin(ctx)
	if !errors.As(err, &ad) || !strings.HasPrefix(err.Error(), "Access denied; you need (at least one of) the GRANT privilege(s) on SYSTEM for this operation.") {
		t.Errorf("RequireAdmin: %v", err)
	}
	for _, text := range []string{"GRANT REPOSITORY ON SYSTEM TO ROLE r", "REVOKE ROLE r FROM USER 'u'", "CREATE ROLE r", "DROP ROLE r"} {
		if err := c.Execute(ctx, parse(t, text)); !errors.As(err, &ad) || ad.Privilege != "GRANT" {
			t.Errorf("%s by a non-admin: %v", text, err)
		}
	}

	none := checkerWith(newGrants())
	err = none.RequireRepository(ctx)
	if !errors.As(err, &ad) || !strings.HasPrefix(err.Error(), "Access denied; you need (at least one of) the REPOSITORY privilege(s) on SYSTEM for this operation.") {
		t.Errorf("RequireRepository without grants: %v", err)
	}
}

func TestAuthorizeStatements(t *testing.T) {
	ctx := context.Background()
	repoOnly := newGrants()
	repoOnly.add(sql.PrivilegeRepository, sql.PrivilegeObject{Type: sql.OnSystem})
	for text, want := range map[string]string{
		"BACKUP SNAPSHOT shop.s TO repo": "",
		"SHOW BACKUP":                    "",
		"CANCEL BACKUP FROM shop":        "",
		"SHOW SNAPSHOT ON repo":          "",
		`CREATE REPOSITORY repo WITH BROKER ON LOCATION "s3://my-bucket/p"`: "",
		"DROP REPOSITORY repo":                   "",
		"SHOW REPOSITORIES":                      "",
		"GRANT EXPORT ON TABLE shop.t TO ROLE r": "GRANT",
		"CREATE ROLE r":                          "GRANT",
	} {
		err := checkerWith(repoOnly).Authorize(ctx, parse(t, text))
		var ad *AccessDeniedError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s with REPOSITORY: %v", text, err)
		case want != "" && (!errors.As(err, &ad) || ad.Privilege != want):
			t.Errorf("%s with REPOSITORY: %v, want %s denied", text, err, want)
		}
		err = checkerWith(newGrants()).Authorize(ctx, parse(t, text))
		if text == "SHOW REPOSITORIES" {
			if err != nil {
				t.Errorf("%s without grants: %v", text, err)
			}
		} else if !errors.As(err, &ad) {
			t.Errorf("%s without grants: %v, want denied", text, err)
		}
	}
}

func TestAdminsAndBadPrincipals(t *testing.T) {
	ctx := context.Background()
	a, err := NewAuthority(nil, []string{"arn:aws:iam::123456789012:role/path/Dba"})
	if err != nil {
		t.Fatal(err)
	}
	admin := a.Checker("arn:aws:sts::123456789012:assumed-role/Dba/session-1")
	if !admin.IsAdmin() || admin.Principal() != "arn:aws:iam::123456789012:role/Dba" {
		t.Fatalf("assumed-role session of an admin role: admin=%v principal=%s", admin.IsAdmin(), admin.Principal())
	}
	// Admins never read grants: the nil store is never touched.
	for _, err := range []error{
		admin.RequireRepository(ctx), admin.RequireExport(ctx, "db", []string{"t"}), admin.RequireAdmin(ctx),
		admin.Authorize(ctx, parse(t, "CREATE ROLE r")),
	} {
		if err != nil {
			t.Errorf("admin: %v", err)
		}
	}
	if !admin.CanExport("db", "t") || !admin.CanExportJob(job.Spec{Database: "db", Objects: []job.Object{{Kind: job.KindFunction, Name: "f"}}}) {
		t.Error("admin cannot export")
	}

	bad := a.Checker("not-an-arn")
	var ad *AccessDeniedError
	if err := bad.RequireRepository(ctx); !errors.As(err, &ad) {
		t.Errorf("bad principal: %v", err)
	}
	if bad.IsAdmin() || bad.CanExport("db", "t") {
		t.Error("bad principal holds privileges")
	}
	if _, err := NewAuthority(nil, []string{"alice"}); err == nil {
		t.Error("NewAuthority accepted a bad admin")
	}
	fresh := a.Checker("arn:aws:iam::123456789012:user/u")
	if fresh.CanExport("db", "t") {
		t.Error("CanExport before the grants were read allows")
	}
}

func TestKeys(t *testing.T) {
	seen := map[string]string{}
	for _, o := range []sql.PrivilegeObject{
		{Type: sql.OnSystem}, {Type: sql.OnAllTablesInAllDatabases},
		{Type: sql.OnAllTablesInDatabase, Database: "a"}, {Type: sql.OnAllTablesInDatabase, Database: "a#b"},
		{Type: sql.OnTable, Database: "a", Table: "b#c"}, {Type: sql.OnTable, Database: "a#b", Table: "c"},
		{Type: sql.OnTable, Database: "a%23b", Table: "c"}, {Type: sql.OnTable, Database: "ALL", Table: "x"},
	} {
		k := privSK(sql.PrivilegeExport, o)
		if prev, dup := seen[k]; dup {
			t.Errorf("%+v and %s share key %s", o, prev, k)
		}
		seen[k] = strings.TrimSpace(string(o.Type) + " " + o.Database + " " + o.Table)
	}
	if userHolder("a") == roleHolder("a") {
		t.Error("a user and a role share a holder key")
	}
}

func TestCheckNames(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("r", 65), "a\x00b"} {
		if checkRoleName(name) == nil {
			t.Errorf("role name %q accepted", name)
		}
	}
	if err := checkRoleName("backup_operator-1"); err != nil {
		t.Error(err)
	}
	for _, o := range []sql.PrivilegeObject{
		{Type: sql.OnTable, Table: "t"},
		{Type: sql.OnTable, Database: "d", Table: strings.Repeat("t", 300)},
		{Type: sql.OnAllTablesInDatabase, Database: "d\nx"},
	} {
		var ae *job.AnalysisError
		if err := checkObject(o); !errors.As(err, &ae) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if err := checkObject(sql.PrivilegeObject{Type: sql.OnTable, Table: "t"}); err.Error() != "Getting analyzing error. Detail message: No database selected." {
		t.Errorf("table without database: %v", err)
	}
}

func TestExportedObjects(t *testing.T) {
	got := ExportedObjects([]job.Object{{Kind: job.KindTable, Name: "t"}, {Kind: job.KindFunction, Name: "f"}, {Kind: job.KindView, Name: "v"}})
	if strings.Join(got, ",") != "t,v" {
		t.Errorf("got %q", got)
	}
}

func parse(t *testing.T, text string) sql.Statement {
	t.Helper()
	stmts, err := sql.Parse(text)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("parse %s: %v", text, err)
	}
	return stmts[0]
}

// TestFederatedUsersHoldNothing (issue 12 §2): a federated user's name is
// the choice of whoever calls GetFederationToken, so it is no principal:
// not as an admin, not as a grantee, not as a caller.
func TestFederatedUsersHoldNothing(t *testing.T) {
	fed := "arn:aws:sts::123456789012:federated-user/carol"
	if _, err := NormalizePrincipal(fed); !errors.Is(err, ErrFederatedUser) {
		t.Errorf("NormalizePrincipal: %v, want ErrFederatedUser", err)
	}
	if _, err := ParseAdmins(fed); !errors.Is(err, ErrFederatedUser) {
		t.Errorf("ParseAdmins: %v, want ErrFederatedUser", err)
	}
	if e := errFederatedUser(fed); !strings.Contains(e.Error(), "GetFederationToken") {
		t.Errorf("GRANT's error %q does not say why", e)
	}
}
