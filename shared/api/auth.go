package api

import (
	"context"

	"github.com/srbackup/srbackup/shared/sql"
)

// Principal is the caller, as API Gateway's IAM authorization reports it.
type Principal struct {
	ARN       string // e.g. arn:aws:iam::123456789012:user/alice or an assumed-role ARN
	AccountID string
}

// Authorizer decides whether a principal may run a statement. REST requests
// are authorized as the statement they stand for (GET /v1/backups/{id} as
// SHOW BACKUP FROM its database, DELETE as CANCEL BACKUP, …). A refusal is
// returned as the error the caller sees (a *Error with status 403, or a
// domain error).
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, stmt sql.Statement) error
}

// AllowAll is the Authorizer that lets every authenticated principal run
// everything, until privileges (GRANT/REVOKE) are enforced.
type AllowAll struct{}

// Authorize implements Authorizer.
func (AllowAll) Authorize(context.Context, Principal, sql.Statement) error { return nil }

// target names what a statement acts on, for the audit log: a database,
// a repository or a grantee; never properties, which may hold secrets.
func target(stmt sql.Statement) string {
	switch s := stmt.(type) {
	case *sql.BackupStmt:
		return s.Database + "@" + s.Repository
	case *sql.ShowBackupStmt:
		return s.Database
	case *sql.CancelBackupStmt:
		return s.Database
	case *sql.ShowSnapshotStmt:
		return s.Repository
	case *sql.CreateRepositoryStmt:
		return s.Name
	case *sql.DropRepositoryStmt:
		return s.Name
	case *sql.DropSnapshotStmt:
		return s.Snapshot + "@" + s.Repository
	case *sql.AdminVerifySnapshotStmt:
		return s.Snapshot + "@" + s.Repository
	case *sql.RestoreStmt:
		return s.Database + "@" + s.Repository
	case *sql.GrantStmt:
		return s.Grantee.Type + ":" + s.Grantee.Name
	case *sql.RevokeStmt:
		return s.Grantee.Type + ":" + s.Grantee.Name
	case *sql.CreateRoleStmt:
		return s.Name
	case *sql.DropRoleStmt:
		return s.Name
	case *sql.UseStmt:
		return s.Database
	}
	return ""
}
