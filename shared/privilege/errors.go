package privilege

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/srbackup/srbackup/shared/job"
)

// AccessDeniedError is a statement the caller's privileges do not allow. It
// implements job.Error, so the API answers 403 with its text.
type AccessDeniedError struct {
	// Privilege is the missing privilege: REPOSITORY, EXPORT or GRANT.
	Privilege string
	// ObjectType is what it is missing on: SYSTEM or TABLE.
	ObjectType string
	// Object names the object (db.table); empty for SYSTEM.
	Object string
	// Roles are the caller's roles, all of them active (srbackup has no SET
	// ROLE).
	Roles []string
}

// Error is StarRocks' ERR_ACCESS_DENIED text (error 5203), as
// AccessDeniedException.reportAccessDenied formats it.
func (e *AccessDeniedError) Error() string {
	obj := ""
	if e.Object != "" {
		obj = " " + e.Object
	}
	return fmt.Sprintf("Access denied; you need (at least one of) the %s privilege(s) on %s%s for this operation. "+
		"Please ask the admin to grant permission(s) or try activating existing roles using <set [default] role>. "+
		"Current role(s): %s. Inactivated role(s): NONE.", e.Privilege, e.ObjectType, obj, javaList(e.Roles))
}

// HTTPStatus is 403.
func (e *AccessDeniedError) HTTPStatus() int { return http.StatusForbidden }

// Code is "ACCESS_DENIED".
func (e *AccessDeniedError) Code() string { return "ACCESS_DENIED" }

var _ job.Error = (*AccessDeniedError)(nil)

// javaList prints names as StarRocks prints a Java list of role names:
// "[a, b]", or "NONE" when there are none.
func javaList(names []string) string {
	if len(names) == 0 {
		return "NONE"
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// The StarRocks texts of role and grant statements (PrivilegeStmtAnalyzer),
// as analysis errors.

func errRoleExists(role string) *job.AnalysisError {
	return &job.AnalysisError{Detail: fmt.Sprintf("Operation CREATE ROLE failed for %s : role already exists", role)}
}

func errDropUnknownRole(role string) *job.AnalysisError {
	return &job.AnalysisError{Detail: fmt.Sprintf("Operation DROP ROLE failed for %s : role not exists", role)}
}

// errUnknownRole is validRoleName's text; context says what was being done,
// e.g. "Can not grant/revoke to role".
func errUnknownRole(context, role string) *job.AnalysisError {
	return &job.AnalysisError{Detail: fmt.Sprintf("%s: cannot find role %s!", context, role)}
}

// The contexts StarRocks gives errUnknownRole.
const (
	ctxPrivilegeToRole = "Can not grant/revoke to role"
	ctxRoleToUser      = "Can not granted/revoke role to/from user"
	ctxRoleToRole      = "Can not granted/revoke role to/from role"
)

func errRoleLoop(role, grantee string) *job.AnalysisError {
	return &job.AnalysisError{Detail: fmt.Sprintf("Can not grant role %s to role %s: role %s already inherits role %s, "+
		"so the grant would make a loop", role, grantee, role, grantee)}
}

// errBadUser refuses a grantee that is not an IAM principal: srbackup's
// users are the principals API Gateway authenticates.
func errBadUser(name string) *job.AnalysisError {
	return &job.AnalysisError{Detail: fmt.Sprintf("cannot find user '%s': a USER is an IAM principal ARN "+
		"(arn:aws:iam::<account>:user/<name>, arn:aws:iam::<account>:role/<name> or an assumed-role ARN)", name)}
}

// errFederatedUser refuses a grant to a federated user (ErrFederatedUser).
func errFederatedUser(name string) *job.AnalysisError {
	return &job.AnalysisError{Detail: fmt.Sprintf("cannot find user '%s': %v", name, ErrFederatedUser)}
}

// errNoDatabase is StarRocks' ERR_NO_DB_ERROR: srbackup has no current
// database, so a table privilege must name its database (db.table).
func errNoDatabase() *job.AnalysisError {
	return &job.AnalysisError{Detail: "No database selected"}
}
