package privilege

import (
	"context"
	"fmt"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/sql"
)

// Privilege names beyond the grantable ones: GRANT on SYSTEM is what
// StarRocks requires for GRANT, REVOKE and role statements; in srbackup only
// the configured admins hold it.
const (
	PrivilegeGrant = "GRANT"
	objectSystem   = "SYSTEM"
	objectTable    = "TABLE"
	// objectAllTablesIn names the object of a database-wide EXPORT as the
	// GRANT statement that gives it does.
	objectAllTablesIn = "ALL TABLES IN DATABASE"
)

// Authority decides what principals may do: the configured admins may do
// everything, everyone else what was granted to them. It is safe for
// concurrent use; each request gets its own Checker.
type Authority struct {
	store  *Store
	admins map[string]bool
}

// NewAuthority returns the authority over store with the given admins
// (principal ARNs, normalised as NormalizePrincipal does).
func NewAuthority(store *Store, admins []string) (*Authority, error) {
	a := &Authority{store: store, admins: map[string]bool{}}
	for _, arn := range admins {
		p, err := NormalizePrincipal(arn)
		if err != nil {
			return nil, fmt.Errorf("admin: %w", err)
		}
		a.admins[p] = true
	}
	return a, nil
}

// Admins is how many admins are configured.
func (a *Authority) Admins() int { return len(a.admins) }

// Checker returns the checker of one request made by principal (the ARN
// API Gateway reports). A principal that is not an IAM principal ARN holds
// nothing.
func (a *Authority) Checker(principal string) *Checker {
	p, err := NormalizePrincipal(principal)
	valid := err == nil
	if !valid {
		p = principal
	}
	return &Checker{a: a, principal: p, valid: valid, admin: valid && a.admins[p]}
}

// Checker answers privilege questions for one request. It reads the
// caller's grants once, at the first question, and keeps them for the rest
// of the request only: a REVOKE takes effect on the next request. A Checker
// is not safe for concurrent use.
type Checker struct {
	a         *Authority
	principal string
	valid     bool
	admin     bool
	grants    *Grants
}

// Principal is the caller's normalised principal ARN.
func (c *Checker) Principal() string { return c.principal }

// IsAdmin reports whether the caller is a configured admin.
func (c *Checker) IsAdmin() bool { return c.admin }

// load reads the caller's grants, once per request.
func (c *Checker) load(ctx context.Context) (*Grants, error) {
	if c.grants != nil {
		return c.grants, nil
	}
	if !c.valid {
		c.grants = newGrants()
		return c.grants, nil
	}
	g, err := c.a.store.Grants(ctx, c.principal)
	if err != nil {
		return nil, job.Transient("read privileges", err)
	}
	c.grants = g
	return g, nil
}

func (c *Checker) denied(privilege, objectType, object string) *AccessDeniedError {
	var roles []string
	if c.grants != nil {
		roles = c.grants.Roles
	}
	return &AccessDeniedError{Privilege: privilege, ObjectType: objectType, Object: object, Roles: roles}
}

// RequireRepository requires REPOSITORY on SYSTEM.
func (c *Checker) RequireRepository(ctx context.Context) error {
	if c.admin {
		return nil
	}
	g, err := c.load(ctx)
	if err != nil {
		return err
	}
	if !g.Repository {
		return c.denied(sql.PrivilegeRepository, objectSystem, "")
	}
	return nil
}

// RequireExport requires EXPORT on every one of objects, the tables and
// views of database db. The error names the first one missing, as db.name.
func (c *Checker) RequireExport(ctx context.Context, db string, objects []string) error {
	if c.admin {
		return nil
	}
	g, err := c.load(ctx)
	if err != nil {
		return err
	}
	if t, missing := g.firstMissing(db, objects); missing {
		return c.denied(sql.PrivilegeExport, objectTable, TableName{db, t}.String())
	}
	return nil
}

// CanExport reports whether the caller may EXPORT table (or view) db.table.
// The caller's grants must have been read by an earlier question of this
// request (Authorize, RequireRepository, RequireExport); before that it
// answers false for everyone but admins.
func (c *Checker) CanExport(db, table string) bool {
	if c.admin {
		return true
	}
	return c.grants != nil && c.grants.CanExport(db, table)
}

// RequireJob requires EXPORT on everything a backup job includes: each of
// its tables and views (RequireExport), and, when it includes functions, on
// ALL TABLES IN DATABASE (StarRocks wants USAGE on each function, a
// privilege srbackup does not model; the database-wide EXPORT grant is the
// one that already lets a caller back up the whole database).
//
// A whole-database job too big to list its objects in the spec
// (job.Spec.ObjectCount) takes whatever the database holds at planning, so
// it needs the database-wide grant.
func (c *Checker) RequireJob(ctx context.Context, spec job.Spec) error {
	if err := c.RequireExport(ctx, spec.Database, ExportedObjects(spec.Objects)); err != nil || c.admin {
		return err
	}
	if (hasFunctions(spec.Objects) || spec.Unlisted()) && !c.grants.CanExportDatabase(spec.Database) {
		return c.denied(sql.PrivilegeExport, objectAllTablesIn, spec.Database)
	}
	return nil
}

// CanExportJob reports whether the caller may EXPORT everything a job
// includes, as RequireJob decides: SHOW BACKUP shows only such jobs. Like
// CanExport, it needs the grants read earlier in the request.
func (c *Checker) CanExportJob(spec job.Spec) bool {
	if c.admin {
		return true
	}
	if c.grants == nil {
		return false
	}
	if _, missing := c.grants.firstMissing(spec.Database, ExportedObjects(spec.Objects)); missing {
		return false
	}
	return !(hasFunctions(spec.Objects) || spec.Unlisted()) || c.grants.CanExportDatabase(spec.Database)
}

// unlisted reports whether a job's objects are listed only at planning.
func unlisted(spec job.Spec) bool { return spec.Unlisted() }

// RequireRestore is StarRocks' RESTORE check after REPOSITORY (reference
// §7, Z3 and Z4): without ON, CREATE DATABASE on the catalog, even if the
// target database exists; with ON and an existing target database, CREATE
// TABLE on it and then INSERT on each ON object that exists there under its
// snapshot name (aliases are not checked). existing lists those objects.
func (c *Checker) RequireRestore(ctx context.Context, withOn bool, db string, dbExists bool, existing []string) error {
	if c.admin {
		return nil
	}
	g, err := c.load(ctx)
	if err != nil {
		return err
	}
	switch {
	case !withOn:
		if !g.CreateDatabase {
			return c.denied(sql.PrivilegeCreateDatabase, "CATALOG", sql.DefaultCatalog)
		}
	case dbExists:
		if !g.CreateTableAll && !g.CreateTableIn[db] {
			return c.denied(sql.PrivilegeCreateTable, "DATABASE", db)
		}
		for _, t := range existing {
			if !g.Insert.has(db, t) {
				return c.denied(sql.PrivilegeInsert, objectTable, TableName{db, t}.String())
			}
		}
	}
	return nil
}

// RequireAdmin requires the GRANT privilege on SYSTEM, which only the
// configured admins hold.
func (c *Checker) RequireAdmin(ctx context.Context) error {
	if c.admin {
		return nil
	}
	if _, err := c.load(ctx); err != nil {
		return err
	}
	return c.denied(PrivilegeGrant, objectSystem, "")
}

// Authorize checks what a statement needs before it runs, as StarRocks'
// AuthorizerStmtVisitor does:
//
//	BACKUP, SHOW BACKUP, CANCEL BACKUP, SHOW SNAPSHOT,
//	CREATE/DROP REPOSITORY, RESTORE          REPOSITORY on SYSTEM
//	GRANT, REVOKE, CREATE/DROP ROLE           admin (GRANT on SYSTEM)
//	SHOW REPOSITORIES                         nothing
//
// The object checks that need the statement's expansion come later: EXPORT
// on what a BACKUP includes (RequireJob after Pipeline.Prepare), on a
// cancelled job's objects (RequireJob), and SHOW BACKUP's row filter
// (CanExportJob).
func (c *Checker) Authorize(ctx context.Context, stmt sql.Statement) error {
	switch stmt.(type) {
	case *sql.BackupStmt, *sql.ShowBackupStmt, *sql.CancelBackupStmt, *sql.ShowSnapshotStmt,
		*sql.CreateRepositoryStmt, *sql.DropRepositoryStmt, *sql.DropSnapshotStmt, *sql.AdminVerifySnapshotStmt, *sql.RestoreStmt,
		*sql.ShowRestoreStmt, *sql.CancelRestoreStmt:
		return c.RequireRepository(ctx)
	case *sql.GrantStmt, *sql.RevokeStmt, *sql.CreateRoleStmt, *sql.DropRoleStmt:
		return c.RequireAdmin(ctx)
	case *sql.ShowRepositoriesStmt, *sql.UseStmt:
		// USE only names the database later statements default to; they
		// are checked themselves.
		return nil
	}
	// A statement kind added later is denied until its privileges are decided.
	return c.RequireAdmin(ctx)
}

// ExportedObjects returns the names of a job's objects that need EXPORT on
// themselves: its tables and views.
func ExportedObjects(objects []job.Object) []string {
	var out []string
	for _, o := range objects {
		if o.Kind == job.KindTable || o.Kind == job.KindView {
			out = append(out, o.Name)
		}
	}
	return out
}

func hasFunctions(objects []job.Object) bool {
	for _, o := range objects {
		if o.Kind == job.KindFunction {
			return true
		}
	}
	return false
}
