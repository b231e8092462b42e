package sql

import (
	"encoding/json"
	"strings"
)

// KindUse is USE db.
const KindUse = "USE"

// UseStmt is USE [default_catalog.]db: the current database for the
// statements after it in the same text, as StarRocks' session database is.
// It fills in the database of a BACKUP that names none (`BACKUP SNAPSHOT l
// TO r`) and of a table privilege written without one (`GRANT EXPORT ON t`).
// Everything else keeps StarRocks' meaning: SHOW BACKUP and SHOW RESTORE
// without FROM show every database, a bare CANCEL BACKUP or CANCEL RESTORE
// is refused, and RESTORE never uses the current database. Whether the
// database exists is for the executor to say (the parser knows no catalog).
type UseStmt struct {
	Start    Pos
	Database string
}

// Kind implements Statement.
func (s *UseStmt) Kind() string { return KindUse }

// Pos implements Statement.
func (s *UseStmt) Pos() Pos { return s.Start }

// SQL implements Statement.
func (s *UseStmt) SQL() string {
	var b strings.Builder
	b.WriteString("USE ")
	writeIdent(&b, s.Database)
	return b.String()
}

// MarshalJSON implements json.Marshaler.
func (s *UseStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind     string `json:"kind"`
		Database string `json:"database"`
	}{KindUse, s.Database})
}

// parseUse parses USE [catalog.]db. Its check, which runs in statement
// order, makes db the current database of the statements after it.
func (p *parser) parseUse() (Statement, check) {
	start := p.expectKw("USE").pos
	parts := p.qualifiedName()
	s := &UseStmt{Start: start}
	return s, func() *Error {
		switch len(parts) {
		case 1:
		case 2:
			if parts[0].val != DefaultCatalog {
				return analysisErrorf(parts[0].pos, "Unknown catalog '%s'", clip(parts[0].val))
			}
		default:
			return analysisErrorf(parts[0].pos, "Invalid database name format '%s'", joinName(parts))
		}
		db := parts[len(parts)-1]
		if db.val == "" {
			return analysisErrorf(db.pos, "Incorrect database name ''")
		}
		s.Database = db.val
		p.currentDB = db.val
		return nil
	}
}
