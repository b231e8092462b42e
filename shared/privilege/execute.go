package privilege

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/sql"
)

// Name limits. MySQL and StarRocks names are far shorter; the limits keep
// every key well inside DynamoDB's (1 KB sort keys).
const (
	maxRoleName   = 64
	maxObjectName = 256
)

// Execute runs GRANT, REVOKE, CREATE ROLE or DROP ROLE for an admin (anyone
// else gets AccessDeniedError), with StarRocks' checks and texts:
//
//   - CREATE ROLE of an existing role and DROP ROLE of a missing one fail
//     unless IF NOT EXISTS / IF EXISTS is given;
//   - a grant to or from a ROLE needs the role to exist, and GRANT ROLE needs
//     every granted role to exist;
//   - a USER is an IAM principal ARN, stored normalised (an assumed-role ARN
//     grants to its role);
//   - a table privilege names its database (db.table): srbackup has no
//     current database;
//   - a role cannot be granted to a role it is held by (no loops);
//   - revoking what was not granted does nothing.
func (c *Checker) Execute(ctx context.Context, stmt sql.Statement) error {
	if err := c.RequireAdmin(ctx); err != nil {
		return err
	}
	var err error
	switch st := stmt.(type) {
	case *sql.CreateRoleStmt:
		err = c.createRole(ctx, st)
	case *sql.DropRoleStmt:
		err = c.dropRole(ctx, st)
	case *sql.GrantStmt:
		err = c.grant(ctx, st.Grant, true)
	case *sql.RevokeStmt:
		err = c.grant(ctx, st.Grant, false)
	default:
		return &job.AnalysisError{Detail: stmt.Kind() + " is not a GRANT, REVOKE or role statement"}
	}
	if _, domain := job.AsError(err); err != nil && !domain {
		// A store failure: the statements are idempotent, so a retry is safe.
		return &job.TransientError{Message: "update privileges", Err: err}
	}
	return err
}

func (c *Checker) createRole(ctx context.Context, st *sql.CreateRoleStmt) error {
	if err := checkRoleName(st.Name); err != nil {
		return err
	}
	created, err := c.a.store.CreateRole(ctx, st.Name, c.principal)
	if err != nil {
		return err
	}
	if !created && !st.IfNotExists {
		return errRoleExists(st.Name)
	}
	return nil
}

func (c *Checker) dropRole(ctx context.Context, st *sql.DropRoleStmt) error {
	dropped, err := c.a.store.DropRole(ctx, st.Name)
	if err != nil {
		return err
	}
	if !dropped && !st.IfExists {
		return errDropUnknownRole(st.Name)
	}
	return nil
}

// grant runs a GRANT (grant true) or REVOKE body. Everything is checked
// before anything is written.
func (c *Checker) grant(ctx context.Context, g sql.Grant, grant bool) error {
	s := c.a.store
	if len(g.Roles) > 0 {
		context := ctxRoleToUser
		if g.Grantee.Type == sql.GranteeRole {
			context = ctxRoleToRole
		}
		h, err := s.resolve(ctx, g.Grantee, context)
		if err != nil {
			return err
		}
		roles := make([]Role, 0, len(g.Roles))
		for _, name := range g.Roles {
			r, ok, err := s.GetRole(ctx, name)
			if err != nil {
				return err
			}
			if !ok {
				return errUnknownRole(ctxRoleToUser, name)
			}
			roles = append(roles, r)
		}
		for _, r := range roles {
			if !grant {
				if err := s.revokeRole(ctx, r.Name, h); err != nil {
					return err
				}
				continue
			}
			if h.Type == sql.GranteeRole {
				loop := r.Name == h.Name
				if !loop {
					if loop, err = s.inherits(ctx, r.Name, h.Name); err != nil {
						return err
					}
				}
				if loop {
					return errRoleLoop(r.Name, h.Name)
				}
			}
			if err := s.grantRole(ctx, r, h, c.principal); err != nil {
				return err
			}
		}
		return nil
	}
	if g.Object == nil {
		return &job.AnalysisError{Detail: "GRANT/REVOKE names neither privileges nor roles"}
	}
	obj := *g.Object
	if err := checkObject(obj); err != nil {
		return err
	}
	h, err := s.resolve(ctx, g.Grantee, ctxPrivilegeToRole)
	if err != nil {
		return err
	}
	for _, p := range g.Privileges {
		if grant {
			err = s.grantPrivilege(ctx, h, p, obj, c.principal)
		} else {
			err = s.revokePrivilege(ctx, h, p, obj)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRoleName refuses names a role cannot have.
func checkRoleName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > maxRoleName || hasControl(name) {
		return &job.AnalysisError{Detail: fmt.Sprintf("Incorrect role name '%s': a role name has 1 to %d characters, none of them control characters", name, maxRoleName)}
	}
	return nil
}

// checkObject checks the ON part of a privilege grant.
func checkObject(obj sql.PrivilegeObject) error {
	switch obj.Type {
	case sql.OnTable:
		if obj.Database == "" {
			return errNoDatabase()
		}
		if len(obj.Table) > maxObjectName || hasControl(obj.Table) {
			return &job.AnalysisError{Detail: fmt.Sprintf("Incorrect table name '%s'", obj.Table)}
		}
	case sql.OnAllTablesInDatabase, sql.OnDatabase:
	case sql.OnSystem, sql.OnAllTablesInAllDatabases, sql.OnCatalog, sql.OnAllDatabases:
		return nil
	default:
		return &job.AnalysisError{Detail: fmt.Sprintf("cannot find privilege object type %s", obj.Type)}
	}
	if len(obj.Database) > maxObjectName || hasControl(obj.Database) {
		return &job.AnalysisError{Detail: fmt.Sprintf("Incorrect database name '%s'", obj.Database)}
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
