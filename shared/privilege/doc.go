// Package privilege is srbackup's privilege model for API callers, after
// StarRocks' (3.0+): BACKUP needs REPOSITORY on SYSTEM and EXPORT on every
// table and view it includes; CREATE/DROP REPOSITORY and SHOW SNAPSHOT need
// REPOSITORY; SHOW BACKUP needs REPOSITORY and shows only jobs whose tables
// the caller may EXPORT; CANCEL BACKUP needs REPOSITORY and EXPORT on the
// job's tables; GRANT, REVOKE and the role statements need an admin.
//
// Principals are the IAM identities API Gateway authenticates (an
// assumed-role session counts as its role, see NormalizePrincipal). Admins
// come from configuration (SRBACKUP_ADMINS) and hold every privilege; every
// other principal holds what was granted to it, directly or through roles:
//
//	CREATE ROLE r; DROP ROLE r
//	GRANT REPOSITORY ON SYSTEM TO ROLE r
//	GRANT EXPORT ON TABLE db.t | ALL TABLES IN DATABASE db | ALL TABLES IN ALL DATABASES TO ROLE r
//	GRANT ROLE r TO USER 'arn:aws:iam::123456789012:role/BackupOperator'
//	REVOKE … FROM …
//
// Roles and grants live in the srbackup DynamoDB table (jobstore's pk / sk):
//
//	ROLE#<role>       / ROLE               the role: name, roleId (one per incarnation)
//	ROLE#<role>       / MEMBER#<holder>    a holder of the role (what DROP ROLE follows)
//	GRANT#<holder>    / PRIV#REPOSITORY#SYSTEM
//	GRANT#<holder>    / PRIV#EXPORT#ALL | PRIV#EXPORT#DB#<db> | PRIV#EXPORT#TABLE#<db>#<table>
//	GRANT#<holder>    / ROLE#<role>        a role the holder holds, with its roleId
//	<holder>          := USER#<principal ARN> | ROLE#<role>
//
// Names inside keys are escaped ('%' and '#') as in the job store. Items of
// a role's grant partition carry the role's id, and memberships the held
// role's id, so grants made to a dropped role never apply to a new role of
// the same name, even if DROP ROLE's clean-up was interrupted.
//
// A Checker answers for one request and reads the caller's grants at most
// once; nothing is cached across requests, so a REVOKE takes effect on the
// next call.
package privilege
