package privilege

import "github.com/srbackup/srbackup/shared/sql"

// TableName is a table (or view) of a database.
type TableName struct {
	Database, Table string
}

// String is db.table.
func (t TableName) String() string { return t.Database + "." + t.Table }

// Grants are the privileges a principal holds, granted to it directly or
// through its roles (and the roles they inherit).
type Grants struct {
	// Roles are the roles granted to the principal directly, sorted. All of
	// them are active: srbackup has no SET ROLE.
	Roles []string
	// Repository is REPOSITORY ON SYSTEM.
	Repository bool
	// AllDatabases is EXPORT ON ALL TABLES IN ALL DATABASES.
	AllDatabases bool
	// Databases holds EXPORT ON ALL TABLES IN DATABASE d.
	Databases map[string]bool
	// Tables holds EXPORT ON TABLE d.t.
	Tables map[TableName]bool

	// RESTORE's: CREATE DATABASE ON CATALOG default_catalog, CREATE TABLE
	// ON DATABASE d (or ALL DATABASES), and INSERT in the three table forms.
	CreateDatabase bool
	CreateTableAll bool
	CreateTableIn  map[string]bool
	Insert         tableGrants
}

// tableGrants is one privilege on tables, in the three grant forms.
type tableGrants struct {
	All       bool
	Databases map[string]bool
	Tables    map[TableName]bool
}

func (t tableGrants) has(db, table string) bool {
	return t.All || t.Databases[db] || t.Tables[TableName{db, table}]
}

func newGrants() *Grants {
	return &Grants{Databases: map[string]bool{}, Tables: map[TableName]bool{}, CreateTableIn: map[string]bool{},
		Insert: tableGrants{Databases: map[string]bool{}, Tables: map[TableName]bool{}}}
}

// add records one granted privilege.
func (g *Grants) add(privilege string, obj sql.PrivilegeObject) {
	switch {
	case privilege == sql.PrivilegeRepository && obj.Type == sql.OnSystem:
		g.Repository = true
	case privilege == sql.PrivilegeCreateDatabase && obj.Type == sql.OnCatalog:
		g.CreateDatabase = true
	case privilege == sql.PrivilegeCreateTable && obj.Type == sql.OnAllDatabases:
		g.CreateTableAll = true
	case privilege == sql.PrivilegeCreateTable && obj.Type == sql.OnDatabase:
		g.CreateTableIn[obj.Database] = true
	case privilege == sql.PrivilegeInsert && obj.Type == sql.OnAllTablesInAllDatabases:
		g.Insert.All = true
	case privilege == sql.PrivilegeInsert && obj.Type == sql.OnAllTablesInDatabase:
		g.Insert.Databases[obj.Database] = true
	case privilege == sql.PrivilegeInsert && obj.Type == sql.OnTable:
		g.Insert.Tables[TableName{obj.Database, obj.Table}] = true
	case privilege != sql.PrivilegeExport:
	case obj.Type == sql.OnAllTablesInAllDatabases:
		g.AllDatabases = true
	case obj.Type == sql.OnAllTablesInDatabase:
		g.Databases[obj.Database] = true
	case obj.Type == sql.OnTable:
		g.Tables[TableName{obj.Database, obj.Table}] = true
	}
}

// CanExport reports whether the grants include EXPORT on table (or view)
// db.table, by any of the three grant forms.
func (g *Grants) CanExport(db, table string) bool {
	return g.AllDatabases || g.Databases[db] || g.Tables[TableName{db, table}]
}

// CanExportDatabase reports whether the grants include EXPORT on every
// table of database db: ALL TABLES IN DATABASE db or in all databases.
func (g *Grants) CanExportDatabase(db string) bool {
	return g.AllDatabases || g.Databases[db]
}

// firstMissing returns the first of db's tables the grants cannot export.
func (g *Grants) firstMissing(db string, tables []string) (string, bool) {
	for _, t := range tables {
		if !g.CanExport(db, t) {
			return t, true
		}
	}
	return "", false
}
