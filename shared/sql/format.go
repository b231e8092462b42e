package sql

import (
	"fmt"
	"strings"
)

// QuoteIdent backquotes an identifier, doubling backquotes inside it.
func QuoteIdent(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	writeIdent(&b, s)
	return b.String()
}

// QuoteString writes s as a single-quoted SQL string literal that this
// package, StarRocks and MySQL (without NO_BACKSLASH_ESCAPES) read back as s.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	writeString(&b, s)
	return b.String()
}

func writeString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case 0x1A:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}

func writeIdent(b *strings.Builder, s string) {
	b.WriteByte('`')
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			break
		}
		b.WriteString(s[:i+1])
		b.WriteByte('`')
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('`')
}

func writeIdentList(b *strings.Builder, names []string) {
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		writeIdent(b, n)
	}
}

func writeProperties(b *strings.Builder, props map[string]string) {
	if len(props) == 0 {
		return
	}
	b.WriteString(" PROPERTIES (")
	for i, k := range sortedKeys(props) {
		if i > 0 {
			b.WriteString(", ")
		}
		writeString(b, k)
		b.WriteString(" = ")
		writeString(b, props[k])
	}
	b.WriteByte(')')
}

// allSQL spells the ALL object types.
var allSQL = map[ObjectType]string{
	ObjectAllTables:            "ALL TABLES",
	ObjectAllViews:             "ALL VIEWS",
	ObjectAllMaterializedViews: "ALL MATERIALIZED VIEWS",
	ObjectAllFunctions:         "ALL FUNCTIONS",
}

var objectSQL = map[ObjectType]string{
	ObjectTable:            "TABLE ",
	ObjectView:             "VIEW ",
	ObjectMaterializedView: "MATERIALIZED VIEW ",
	ObjectFunction:         "FUNCTION ",
}

func writeObject(b *strings.Builder, o BackupObject) {
	if s, ok := allSQL[o.Type]; ok {
		b.WriteString(s)
		return
	}
	b.WriteString(objectSQL[o.Type])
	writeIdent(b, o.Name)
	if len(o.Partitions) > 0 {
		b.WriteString(" PARTITION (")
		writeIdentList(b, o.Partitions)
		b.WriteByte(')')
	}
}

// SQL implements Statement.
func (s *BackupStmt) SQL() string {
	var b strings.Builder
	b.WriteString("BACKUP")
	switch {
	case s.AllExternalCatalogs:
		b.WriteString(" ALL EXTERNAL CATALOGS")
	case len(s.ExternalCatalogs) > 0:
		b.WriteString(" EXTERNAL CATALOGS (")
		writeIdentList(&b, s.ExternalCatalogs)
		b.WriteByte(')')
	}
	if s.Database != "" {
		b.WriteString(" DATABASE ")
		writeIdent(&b, s.Database)
	}
	b.WriteString(" SNAPSHOT ")
	writeIdent(&b, s.Snapshot)
	b.WriteString(" TO ")
	writeIdent(&b, s.Repository)
	if len(s.Objects) > 0 {
		b.WriteString(" ON (")
		for i, o := range s.Objects {
			if i > 0 {
				b.WriteString(", ")
			}
			writeObject(&b, o)
		}
		b.WriteByte(')')
	}
	writeProperties(&b, s.Properties)
	return b.String()
}

// SQL implements Statement.
func (s *ShowBackupStmt) SQL() string {
	if s.Database == "" {
		return "SHOW BACKUP"
	}
	return "SHOW BACKUP FROM " + QuoteIdent(s.Database)
}

// SQL implements Statement.
func (s *ShowRestoreStmt) SQL() string {
	out := "SHOW RESTORE"
	if s.Database != "" {
		out += " FROM " + QuoteIdent(s.Database)
	}
	if s.HasLimit {
		out += fmt.Sprintf(" LIMIT %d OFFSET %d", s.Limit, s.Offset)
	}
	return out
}

// SQL implements Statement.
func (s *CancelRestoreStmt) SQL() string {
	if s.ExternalCatalog {
		return "CANCEL RESTORE FOR EXTERNAL CATALOG"
	}
	return "CANCEL RESTORE FROM " + QuoteIdent(s.Database)
}

// SQL implements Statement.
func (s *CancelBackupStmt) SQL() string {
	if s.ExternalCatalog {
		return "CANCEL BACKUP FOR EXTERNAL CATALOG"
	}
	if s.Database == "" {
		return "CANCEL BACKUP"
	}
	return "CANCEL BACKUP FROM " + QuoteIdent(s.Database)
}

// SQL implements Statement.
func (s *ShowSnapshotStmt) SQL() string {
	var b strings.Builder
	b.WriteString("SHOW SNAPSHOT ON ")
	writeIdent(&b, s.Repository)
	switch s.Filter {
	case FilterName:
		b.WriteString(" WHERE SNAPSHOT = ")
		writeString(&b, s.Snapshot)
	case FilterNameTimestamp:
		b.WriteString(" WHERE SNAPSHOT = ")
		writeString(&b, s.Snapshot)
		b.WriteString(" AND TIMESTAMP = ")
		writeString(&b, s.Timestamp)
	case FilterNames:
		b.WriteString(" WHERE SNAPSHOT IN (")
		for i, n := range s.Snapshots {
			if i > 0 {
				b.WriteString(", ")
			}
			writeString(&b, n)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// SQL implements Statement.
func (s *CreateRepositoryStmt) SQL() string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if s.ReadOnly {
		b.WriteString("READ ONLY ")
	}
	b.WriteString("REPOSITORY ")
	writeIdent(&b, s.Name)
	b.WriteString(" WITH BROKER ")
	if s.Broker != "" {
		writeIdent(&b, s.Broker)
		b.WriteByte(' ')
	}
	b.WriteString("ON LOCATION ")
	writeString(&b, s.Location)
	writeProperties(&b, s.Properties)
	return b.String()
}

// SQL implements Statement.
func (s *DropRepositoryStmt) SQL() string { return "DROP REPOSITORY " + QuoteIdent(s.Name) }

// SQL implements Statement.
func (s *ShowRepositoriesStmt) SQL() string { return "SHOW REPOSITORIES" }

// SQL implements Statement.
func (s *RestoreStmt) SQL() string {
	var b strings.Builder
	b.WriteString("RESTORE SNAPSHOT ")
	if s.Database != "" && !s.DatabaseClause {
		writeIdent(&b, s.Database) // the old db.label form
		b.WriteByte('.')
	}
	writeIdent(&b, s.Snapshot)
	b.WriteString(" FROM ")
	writeIdent(&b, s.Repository)
	switch {
	case s.AllExternalCatalogs:
		b.WriteString(" ALL EXTERNAL CATALOGS")
	case len(s.ExternalCatalogs) > 0:
		b.WriteString(" EXTERNAL CATALOGS (")
		for i, c := range s.ExternalCatalogs {
			if i > 0 {
				b.WriteString(", ")
			}
			writeIdent(&b, c.Name)
			writeAlias(&b, c.Alias)
		}
		b.WriteByte(')')
	}
	if s.DatabaseClause {
		b.WriteString(" DATABASE ")
		writeIdent(&b, s.Database)
		writeAlias(&b, s.DatabaseAlias)
	}
	if len(s.Objects) > 0 {
		b.WriteString(" ON (")
		for i, o := range s.Objects {
			if i > 0 {
				b.WriteString(", ")
			}
			writeObject(&b, o.BackupObject)
			writeAlias(&b, o.Alias)
		}
		b.WriteByte(')')
	}
	writeProperties(&b, s.Properties)
	return b.String()
}

func writeAlias(b *strings.Builder, alias string) {
	if alias != "" {
		b.WriteString(" AS ")
		writeIdent(b, alias)
	}
}

func (g *Grant) write(b *strings.Builder, verb, prep string) {
	b.WriteString(verb)
	if len(g.Roles) > 0 {
		b.WriteString(" ROLE ")
		writeIdentList(b, g.Roles)
	} else {
		b.WriteByte(' ')
		b.WriteString(strings.Join(g.Privileges, ", "))
		b.WriteString(" ON ")
		if g.Object != nil {
			switch g.Object.Type {
			case OnSystem:
				b.WriteString("SYSTEM")
			case OnTable:
				b.WriteString("TABLE ")
				if g.Object.Database != "" {
					writeIdent(b, g.Object.Database)
					b.WriteByte('.')
				}
				writeIdent(b, g.Object.Table)
			case OnAllTablesInDatabase:
				b.WriteString("ALL TABLES IN DATABASE ")
				writeIdent(b, g.Object.Database)
			case OnAllTablesInAllDatabases:
				b.WriteString("ALL TABLES IN ALL DATABASES")
			case OnCatalog:
				b.WriteString("CATALOG ")
				writeIdent(b, DefaultCatalog)
			case OnDatabase:
				b.WriteString("DATABASE ")
				writeIdent(b, g.Object.Database)
			case OnAllDatabases:
				b.WriteString("ALL DATABASES")
			}
		}
	}
	b.WriteByte(' ')
	b.WriteString(prep)
	b.WriteByte(' ')
	b.WriteString(g.Grantee.Type)
	b.WriteByte(' ')
	if g.Grantee.Type == GranteeUser {
		writeString(b, g.Grantee.Name)
	} else {
		writeIdent(b, g.Grantee.Name)
	}
}

// SQL implements Statement.
func (s *GrantStmt) SQL() string {
	var b strings.Builder
	s.write(&b, "GRANT", "TO")
	return b.String()
}

// SQL implements Statement.
func (s *RevokeStmt) SQL() string {
	var b strings.Builder
	s.write(&b, "REVOKE", "FROM")
	return b.String()
}

// SQL implements Statement.
func (s *CreateRoleStmt) SQL() string {
	if s.IfNotExists {
		return "CREATE ROLE IF NOT EXISTS " + QuoteIdent(s.Name)
	}
	return "CREATE ROLE " + QuoteIdent(s.Name)
}

// SQL implements Statement.
func (s *DropRoleStmt) SQL() string {
	if s.IfExists {
		return "DROP ROLE IF EXISTS " + QuoteIdent(s.Name)
	}
	return "DROP ROLE " + QuoteIdent(s.Name)
}
