package api

import (
	"github.com/srbackup/srbackup/shared/sql"
)

// Principal is the caller, as API Gateway's IAM authorization reports it.
type Principal struct {
	ARN       string // e.g. arn:aws:iam::123456789012:user/alice or an assumed-role ARN
	AccountID string
}

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
	}
	return ""
}
