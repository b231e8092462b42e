package sql

// Pos is a 1-based position in the SQL text. Column counts Unicode code
// points, as StarRocks does.
type Pos struct {
	Line   int
	Column int
}

// Statement is one parsed and validated statement.
type Statement interface {
	// Kind is the statement kind, one of the Kind* constants.
	Kind() string
	// SQL prints the statement as canonical SQL: upper-case keywords,
	// every identifier backquoted, properties normalised. Parsing it gives
	// back an equal statement.
	SQL() string
	// Pos is where the statement's first token is.
	Pos() Pos
}

// Statement kinds, as Kind returns them and as the JSON form names them.
const (
	KindBackup           = "BACKUP"
	KindShowBackup       = "SHOW_BACKUP"
	KindCancelBackup     = "CANCEL_BACKUP"
	KindShowSnapshot     = "SHOW_SNAPSHOT"
	KindCreateRepository = "CREATE_REPOSITORY"
	KindDropRepository   = "DROP_REPOSITORY"
	KindShowRepositories = "SHOW_REPOSITORIES"
	KindRestore          = "RESTORE"
	KindShowRestore      = "SHOW_RESTORE"
	KindCancelRestore    = "CANCEL_RESTORE"
	KindGrant            = "GRANT"
	KindRevoke           = "REVOKE"
	KindCreateRole       = "CREATE_ROLE"
	KindDropRole         = "DROP_ROLE"
	KindDropSnapshot     = "DROP_SNAPSHOT"
	// KindAdminVerifySnapshot is srbackup's own ADMIN VERIFY SNAPSHOT.
	KindAdminVerifySnapshot = "ADMIN_VERIFY_SNAPSHOT"
)

// ObjectType is the kind of one item of a BACKUP or RESTORE ON clause.
type ObjectType string

// Object types. An old-style bare item (`ON (t PARTITION (p1))`) is a table.
const (
	ObjectTable                ObjectType = "TABLE"
	ObjectView                 ObjectType = "VIEW"
	ObjectMaterializedView     ObjectType = "MATERIALIZED_VIEW"
	ObjectFunction             ObjectType = "FUNCTION"
	ObjectAllTables            ObjectType = "ALL_TABLES"
	ObjectAllViews             ObjectType = "ALL_VIEWS"
	ObjectAllMaterializedViews ObjectType = "ALL_MATERIALIZED_VIEWS"
	ObjectAllFunctions         ObjectType = "ALL_FUNCTIONS"
)

// IsAll reports whether the type stands for every object of a kind
// (ALL TABLES, ALL VIEWS, …) rather than one named object.
func (t ObjectType) IsAll() bool {
	switch t {
	case ObjectAllTables, ObjectAllViews, ObjectAllMaterializedViews, ObjectAllFunctions:
		return true
	}
	return false
}

// BackupObject is one item of a BACKUP ON clause. Name is empty for the ALL
// types; Partitions is nil unless partitions were listed. A database prefix
// written on the name is dropped: StarRocks replaces it with the statement's
// database.
type BackupObject struct {
	Type       ObjectType
	Name       string
	Partitions []string
}

// BackupStmt is BACKUP, both the pre-3.4 and the 3.4+ syntax.
//
// For a database backup Database is set (from `DATABASE db` or a `db.`
// prefix on the snapshot name) and Objects holds the ON clause (nil: the
// whole database). For an external-catalog backup AllExternalCatalogs or
// ExternalCatalogs is set and Database and Objects are empty.
//
// Properties is normalised: keys trimmed, `type` upper-cased, `timeout` in
// whole seconds, both filled with their defaults when absent; srbackup's own
// keys (compression, shard_size, parallelism, label_suffix) appear only when
// given, in their normal form. Options gives them typed, defaults included.
type BackupStmt struct {
	Start               Pos
	Database            string
	Snapshot            string
	Repository          string
	Objects             []BackupObject
	AllExternalCatalogs bool
	ExternalCatalogs    []string
	Properties          map[string]string
}

// ShowBackupStmt is SHOW BACKUP [FROM|IN db]. Database is empty for the
// form without FROM: the last job of every database.
type ShowBackupStmt struct {
	Start    Pos
	Database string
}

// ShowRestoreStmt is SHOW RESTORE [FROM|IN db] [WHERE …] [LIMIT …].
// Database is empty for the form without FROM: the last job of every
// database, when it is a RESTORE. The WHERE clause is ignored, as in
// StarRocks; Limit and Offset apply when HasLimit is set.
type ShowRestoreStmt struct {
	Start    Pos
	Database string
	HasLimit bool
	Limit    int
	Offset   int
}

// CancelRestoreStmt is CANCEL RESTORE {FROM|IN} db or CANCEL RESTORE FOR
// EXTERNAL CATALOG. Exactly one of Database and ExternalCatalog is set.
type CancelRestoreStmt struct {
	Start           Pos
	Database        string
	ExternalCatalog bool
}

// CancelBackupStmt is CANCEL BACKUP {FROM|IN} db or CANCEL BACKUP FOR
// EXTERNAL CATALOG. Exactly one of Database and ExternalCatalog is set.
type CancelBackupStmt struct {
	Start           Pos
	Database        string
	ExternalCatalog bool
}

// SnapshotFilterKind tells which of the WHERE forms StarRocks accepts a SHOW
// SNAPSHOT statement used.
type SnapshotFilterKind int

// SHOW SNAPSHOT WHERE forms. Any other WHERE is rejected by the parser with
// StarRocks' "Where clause should looks like: …" analysing error, so a parsed
// statement always holds one of these.
const (
	// FilterNone: no WHERE, every snapshot of the repository.
	FilterNone SnapshotFilterKind = iota
	// FilterName: WHERE SNAPSHOT = 's'.
	FilterName
	// FilterNameTimestamp: WHERE SNAPSHOT = 's' AND TIMESTAMP = 't' (either order).
	FilterNameTimestamp
	// FilterNames: WHERE SNAPSHOT IN ('a', 'b', …).
	FilterNames
)

// ShowSnapshotStmt is SHOW SNAPSHOT ON repo [WHERE …].
type ShowSnapshotStmt struct {
	Start      Pos
	Repository string
	Filter     SnapshotFilterKind
	// Snapshot is set for FilterName and FilterNameTimestamp.
	Snapshot string
	// Timestamp is set for FilterNameTimestamp.
	Timestamp string
	// Snapshots is set for FilterNames, in the order written.
	Snapshots []string
}

// CreateRepositoryStmt is CREATE [READ ONLY] REPOSITORY name WITH BROKER ON
// LOCATION 's3://bucket[/prefix]' [PROPERTIES (…)]. srbackup accesses S3
// directly, so a broker name is rejected and Broker is always empty; the
// field exists so the statement mirrors StarRocks'. Properties are kept as
// written (keys trimmed) and may hold credentials: never log them.
type CreateRepositoryStmt struct {
	Start      Pos
	Name       string
	ReadOnly   bool
	Broker     string
	Location   string
	Properties map[string]string
}

// DropRepositoryStmt is DROP REPOSITORY name.
type DropRepositoryStmt struct {
	Start Pos
	Name  string
}

// ShowRepositoriesStmt is SHOW REPOSITORIES.
type ShowRepositoriesStmt struct {
	Start Pos
}

// RestoreObject is one item of a RESTORE ON clause: a BackupObject plus the
// name to restore it as (Alias, empty when not renamed).
type RestoreObject struct {
	BackupObject
	Alias string
}

// CatalogRef is an external catalog named in RESTORE, with its optional
// new name.
type CatalogRef struct {
	Name  string
	Alias string
}

// RestoreStmt is RESTORE SNAPSHOT … FROM repo …. Database is the snapshot's
// database (`DATABASE db` or a `db.` prefix), empty when not given: the
// database recorded in the snapshot is used. Properties is normalised like
// BackupStmt's (`timeout` filled in; `backup_timestamp` is required).
type RestoreStmt struct {
	Start    Pos
	Database string
	// DatabaseClause is set when Database comes from DATABASE db (which
	// must name the snapshot's database) rather than a db. prefix on the
	// snapshot name (which renames freely).
	DatabaseClause      bool
	DatabaseAlias       string
	Snapshot            string
	Repository          string
	Objects             []RestoreObject
	AllExternalCatalogs bool
	ExternalCatalogs    []CatalogRef
	Properties          map[string]string
}

// Privilege names srbackup knows.
const (
	PrivilegeRepository = "REPOSITORY"
	PrivilegeExport     = "EXPORT"
	// RESTORE's (StarRocks' CREATE_DATABASE, CREATE_TABLE and INSERT).
	PrivilegeCreateDatabase = "CREATE DATABASE"
	PrivilegeCreateTable    = "CREATE TABLE"
	PrivilegeInsert         = "INSERT"
)

// DefaultCatalog is the only catalog a MySQL-protocol deployment has.
const DefaultCatalog = "default_catalog"

// PrivilegeObjectType is what a privilege is granted on.
type PrivilegeObjectType string

// Privilege object types.
const (
	OnSystem                  PrivilegeObjectType = "SYSTEM"
	OnTable                   PrivilegeObjectType = "TABLE"
	OnAllTablesInDatabase     PrivilegeObjectType = "ALL_TABLES_IN_DATABASE"
	OnAllTablesInAllDatabases PrivilegeObjectType = "ALL_TABLES_IN_ALL_DATABASES"
	OnCatalog                 PrivilegeObjectType = "CATALOG" // default_catalog
	OnDatabase                PrivilegeObjectType = "DATABASE"
	OnAllDatabases            PrivilegeObjectType = "ALL_DATABASES"
)

// PrivilegeObject is the ON part of GRANT/REVOKE. Database is set for
// OnAllTablesInDatabase and OnDatabase and, when written as `db.t`, for
// OnTable; Table is set for OnTable.
type PrivilegeObject struct {
	Type     PrivilegeObjectType
	Database string
	Table    string
}

// Grantee types.
const (
	GranteeRole = "ROLE"
	GranteeUser = "USER"
)

// Grantee is who receives or loses a privilege or role. For a USER, Name is
// the principal (an IAM ARN or a user name).
type Grantee struct {
	Type string
	Name string
}

// Grant is the body shared by GRANT and REVOKE. Either Privileges and Object
// are set (`GRANT EXPORT ON TABLE t TO ROLE r`), or Roles is
// (`GRANT ROLE r TO USER 'u'`).
type Grant struct {
	Privileges []string
	Object     *PrivilegeObject
	Roles      []string
	Grantee    Grantee
}

// GrantStmt is GRANT … TO ….
type GrantStmt struct {
	Start Pos
	Grant
}

// RevokeStmt is REVOKE … FROM ….
type RevokeStmt struct {
	Start Pos
	Grant
}

// CreateRoleStmt is CREATE ROLE [IF NOT EXISTS] name.
type CreateRoleStmt struct {
	Start       Pos
	Name        string
	IfNotExists bool
}

// DropRoleStmt is DROP ROLE [IF EXISTS] name.
type DropRoleStmt struct {
	Start    Pos
	Name     string
	IfExists bool
}

func (s *BackupStmt) Kind() string           { return KindBackup }
func (s *ShowBackupStmt) Kind() string       { return KindShowBackup }
func (s *CancelBackupStmt) Kind() string     { return KindCancelBackup }
func (s *ShowRestoreStmt) Kind() string      { return KindShowRestore }
func (s *CancelRestoreStmt) Kind() string    { return KindCancelRestore }
func (s *ShowSnapshotStmt) Kind() string     { return KindShowSnapshot }
func (s *CreateRepositoryStmt) Kind() string { return KindCreateRepository }
func (s *DropRepositoryStmt) Kind() string   { return KindDropRepository }
func (s *ShowRepositoriesStmt) Kind() string { return KindShowRepositories }
func (s *RestoreStmt) Kind() string          { return KindRestore }
func (s *GrantStmt) Kind() string            { return KindGrant }
func (s *RevokeStmt) Kind() string           { return KindRevoke }
func (s *CreateRoleStmt) Kind() string       { return KindCreateRole }
func (s *DropRoleStmt) Kind() string         { return KindDropRole }

func (s *BackupStmt) Pos() Pos           { return s.Start }
func (s *ShowBackupStmt) Pos() Pos       { return s.Start }
func (s *CancelBackupStmt) Pos() Pos     { return s.Start }
func (s *ShowRestoreStmt) Pos() Pos      { return s.Start }
func (s *CancelRestoreStmt) Pos() Pos    { return s.Start }
func (s *ShowSnapshotStmt) Pos() Pos     { return s.Start }
func (s *CreateRepositoryStmt) Pos() Pos { return s.Start }
func (s *DropRepositoryStmt) Pos() Pos   { return s.Start }
func (s *ShowRepositoriesStmt) Pos() Pos { return s.Start }
func (s *RestoreStmt) Pos() Pos          { return s.Start }
func (s *GrantStmt) Pos() Pos            { return s.Start }
func (s *RevokeStmt) Pos() Pos           { return s.Start }
func (s *CreateRoleStmt) Pos() Pos       { return s.Start }
func (s *DropRoleStmt) Pos() Pos         { return s.Start }
