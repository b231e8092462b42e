// Package sql is srbackup's statement layer: a lexer, a recursive-descent
// parser and the catalog-free checks for the StarRocks statements srbackup
// serves, with StarRocks' error texts.
//
// Parse turns SQL text into typed statements (*BackupStmt, *ShowBackupStmt,
// *CancelBackupStmt, *ShowSnapshotStmt, *CreateRepositoryStmt,
// *DropRepositoryStmt, *ShowRepositoriesStmt, *DropSnapshotStmt, *RestoreStmt, *GrantStmt,
// *RevokeStmt, *CreateRoleStmt, *DropRoleStmt). Every failure is a *Error
// with a 1-based line and column pointing at the offending token. Each
// statement prints canonical SQL (SQL) that parses back to an equal
// statement, and marshals to the JSON form of `srbackup parse --json`
// (Result).
//
// # Supported statements
//
//	BACKUP SNAPSHOT db.label TO repo [ON (t [PARTITION (p, …)], …)] [PROPERTIES (…)]
//	BACKUP [DATABASE db] SNAPSHOT [db.]label TO repo [ON (obj, …)] [PROPERTIES (…)]
//	    obj := TABLE[S] t [[TEMPORARY] PARTITION[S] (p, …)] | ALL TABLE[S]
//	         | MATERIALIZED VIEW[S] m | ALL MATERIALIZED VIEW[S]
//	         | VIEW[S] v | ALL VIEW[S] | FUNCTION[S] f | ALL FUNCTION[S]
//	         | t [PARTITION (p, …)]                 -- old style: a table
//	BACKUP {ALL EXTERNAL CATALOGS | EXTERNAL CATALOG[S] (c, …)} SNAPSHOT label TO repo [PROPERTIES (…)]
//	SHOW BACKUP [{FROM|IN} db]
//	CANCEL BACKUP [{FROM|IN} db | FOR EXTERNAL CATALOG]
//	SHOW SNAPSHOT ON repo [WHERE SNAPSHOT = 's' [AND TIMESTAMP = 't'] | WHERE SNAPSHOT IN ('a', …)]
//	CREATE [READ ONLY] REPOSITORY r WITH BROKER ON LOCATION 's3://bucket/prefix' [PROPERTIES (…)]
//	DROP REPOSITORY r
//	DROP SNAPSHOT label ON repo [FORCE]
//	SHOW REPOSITORIES
//	RESTORE SNAPSHOT [db.]label FROM repo [ALL EXTERNAL CATALOGS | EXTERNAL CATALOG[S] (c [AS c2], …)]
//	    [DATABASE db [AS db2]] [ON (obj [AS alias], …)] PROPERTIES ("backup_timestamp" = "…", …)
//	GRANT priv [, priv] ON {SYSTEM | CATALOG c | DATABASE d | ALL DATABASES | [TABLE] [db.]t
//	    | ALL TABLES IN DATABASE d | ALL TABLES IN ALL DATABASES}
//	    TO {ROLE r | [USER] 'principal'}          -- REVOKE … FROM … alike
//	    priv: REPOSITORY, EXPORT, INSERT, CREATE DATABASE, CREATE TABLE or ALL [PRIVILEGES];
//	    StarRocks' other privileges parse and are refused as not used by srbackup
//	GRANT ROLE r [, r2] TO {USER 'principal' | ROLE r3}
//	CREATE ROLE [IF NOT EXISTS] r
//	DROP ROLE [IF EXISTS] r
//	USE [default_catalog.]db
//
// Lexical rules follow StarRocks: keywords are case-insensitive and
// identifiers keep their case; `backquoted` identifiers may hold anything
// (a doubled backquote is one backquote); non-reserved keywords (BACKUP,
// SNAPSHOT, REPOSITORY, TABLES, VIEW, VIEWS, FUNCTIONS, CATALOG, TIMESTAMP,
// LOCATION, BROKER, ROLE, USER, …) work as plain names, reserved ones (TABLE,
// DATABASE, ON, TO, FROM, ALL, PARTITION, FUNCTION, …) must be backquoted;
// strings are '…' or "…" with doubled quotes and MySQL backslash escapes;
// `-- …` and `/* … */` comments may appear anywhere; statements are
// separated by `;`, outside strings and comments.
//
// BACKUP properties: type (FULL, any case; default FULL), timeout (whole
// seconds, at least 600 — Options.MinTimeout — at most 365 days; default
// 86400), and srbackup's own compression (zstd default, snappy, none),
// shard_size (bytes, or with a unit: 256MB, 1 GiB, 512k; 1MB to 16GB;
// default 256MB), parallelism (1 to 1000; default 4) and label_suffix
// (time: each run appends _yyyyMMddHHmmss of its trigger time in UTC, see
// BackupOptions.SnapshotLabel), and StarRocks 4.2's ttl ("7 DAY": a
// positive number and SECOND, MINUTE, HOUR, DAY, WEEK, MONTH or YEAR, see
// ParseTTL; normalised to "7 DAY"). CREATE REPOSITORY's snapshot_ttl
// property takes the same form and is normalised alike. Keys are trimmed and case-sensitive; a
// repeated key's last value wins; any other key is rejected. The normalised
// Properties map always holds type and timeout; srbackup's keys appear only
// when given. BackupStmt.Options gives all of them typed, defaults filled.
//
// # Where srbackup differs from StarRocks
//
//   - Snapshot names must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (at most
//     113 characters with label_suffix = 'time') because they become part of
//     S3 keys; StarRocks only requires a non-empty name.
//   - The properties compression, shard_size, parallelism and label_suffix
//     exist only in srbackup; timeout has an upper bound of 365 days.
//   - The current database lasts for one text, not a session: it starts as
//     Options.DefaultDatabase (the API's "database" field) and each USE
//     changes it for the statements after it. A database named in a
//     statement wins. BACKUP without one fails with "No database selected";
//     a bare CANCEL BACKUP is refused with "No selected database for cancel
//     BACKUP/RESTORE" whatever the current database, as StarRocks' parser
//     does; SHOW BACKUP and SHOW RESTORE without FROM show every database,
//     and RESTORE never uses the current database.
//   - SHOW SNAPSHOT accepts only its three WHERE forms and rejects any other
//     WHERE while parsing, with StarRocks' analysing error "Where clause
//     should looks like: …" (StarRocks parses any expression first).
//   - CREATE REPOSITORY takes only s3:// (or s3a://) locations with a valid
//     bucket name and a clean prefix, no broker name, and refuses properties
//     carrying credentials (keys containing access_key, secret,
//     session_token or password): the functions use their IAM role.
//     Repository names follow StarRocks' ^[a-zA-Z][a-zA-Z0-9_]{0,63}$.
//   - Checks StarRocks leaves to later run while parsing, with the same
//     texts: temporary partitions ("Do not support backing up temp
//     partitions"), the default catalog, empty names (Incorrect table name,
//     Incorrect database name, … followed by the empty name in quotes).
//     Also rejected: the same ALL item twice, a partition listed twice, a
//     function or catalog named twice.
//   - Syntax errors read "unexpected 'X', expecting A, B or C" rather than
//     ANTLR's "Unexpected input 'X', the most similar input is {…}".
//     Rejections StarRocks makes while building the AST keep its
//     position-less text ("Getting syntax error. Detail message: …"), but
//     Error.Line and Error.Column are set.
//   - As in StarRocks: a db. (or catalog.db.) prefix on an ON item is
//     dropped; an unparenthesised partition list is greedy, so in
//     `ON (t PARTITION p1, t2)` t2 is a partition of t; "TIMEOUT" is an
//     unknown key.
//   - RESTORE, GRANT, REVOKE, CREATE ROLE and DROP ROLE are parsed and
//     validated here; whether they run is up to the executor. A grantee is
//     ROLE r or USER 'principal' (an IAM ARN or user name), never
//     'user'@'host'.
package sql
