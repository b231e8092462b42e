package sql

// whereClauseMessage is StarRocks' text for a SHOW SNAPSHOT WHERE of any
// other form than the three it supports.
const whereClauseMessage = "Where clause should looks like: SNAPSHOT = 'your_snapshot_name' [AND TIMESTAMP = '2018-04-18-19-19-10']"

// parseShowBackup parses SHOW BACKUP [{FROM|IN} db]; SHOW is consumed.
func (p *parser) parseShowBackup(start Pos) (Statement, check) {
	p.expectKw("BACKUP")
	s := &ShowBackupStmt{Start: start}
	if !p.acceptKw("FROM") && !p.acceptKw("IN") {
		return s, noCheck
	}
	db := p.ident()
	s.Database = db.val
	return s, databaseNameCheck(db)
}

func databaseNameCheck(db name) check {
	return func() *Error {
		if db.val == "" {
			return analysisErrorf(db.pos, "Incorrect database name ''")
		}
		return nil
	}
}

// parseCancelBackup parses CANCEL BACKUP [{FROM|IN} db | FOR EXTERNAL CATALOG].
func (p *parser) parseCancelBackup() (Statement, check) {
	start := p.expectKw("CANCEL").pos
	p.expectKw("BACKUP")
	s := &CancelBackupStmt{Start: start}
	return s, p.cancelTarget(&s.Database, &s.ExternalCatalog, func() *Error {
		return analysisErrorf(start, "No selected database for cancel BACKUP/RESTORE")
	})
}

// cancelTarget parses what follows CANCEL BACKUP or CANCEL RESTORE:
// {FROM|IN} db, FOR EXTERNAL CATALOG, or nothing, which StarRocks refuses
// with missing whatever the current database.
func (p *parser) cancelTarget(db *string, external *bool, missing func() *Error) check {
	switch {
	case p.acceptKw("FOR"):
		p.expectKw("EXTERNAL")
		p.expectKw("CATALOG")
		*external = true
		return noCheck
	case p.acceptKw("FROM"), p.acceptKw("IN"):
		n := p.ident()
		*db = n.val
		return databaseNameCheck(n)
	}
	return missing
}

// parseShowSnapshot parses SHOW SNAPSHOT ON repo [WHERE …]; SHOW is
// consumed.
//
// StarRocks parses any expression after WHERE and rejects the unsupported
// ones while analysing. This parser accepts only the supported forms and
// reports anything else with StarRocks' analysing error, pointing at the
// first token that does not fit; the rest of the statement is skipped so
// that syntax errors in later statements still come first.
func (p *parser) parseShowSnapshot(start Pos) (Statement, check) {
	p.expectKw("SNAPSHOT")
	p.expectKw("ON")
	repo := p.ident()
	s := &ShowSnapshotStmt{Start: start, Repository: repo.val}
	var whereErr *Error
	if p.acceptKw("WHERE") {
		whereErr = p.parseSnapshotWhere(s)
	}
	return s, func() *Error {
		if repo.val == "" {
			return analysisErrorf(repo.pos, "Repository is empty")
		}
		return whereErr
	}
}

// parseSnapshotWhere fills s from one of
//
//	SNAPSHOT = 's'
//	SNAPSHOT = 's' AND TIMESTAMP = 't'   (either order)
//	SNAPSHOT IN ('a', 'b', …)
func (p *parser) parseSnapshotWhere(s *ShowSnapshotStmt) *Error {
	bad := func() *Error {
		pos := p.peek(0).pos
		// Skip to the end of the statement.
		for t := p.peek(0); t.kind != tokEOF && !(t.kind == tokPunct && t.val == ";"); t = p.peek(0) {
			if t.kind == tokError {
				p.fail()
			}
			p.next()
		}
		return analysisErrorf(pos, "%s", whereClauseMessage)
	}
	atEnd := func() bool {
		t := p.peek(0)
		return t.kind == tokEOF || t.kind == tokPunct && t.val == ";"
	}

	col := p.whereColumn()
	if col == "" {
		return bad()
	}
	p.next()
	if col == "SNAPSHOT" && p.isKw(p.peek(0), "IN") {
		p.next()
		if !p.acceptPunct("(") {
			return bad()
		}
		for {
			v, ok := p.whereValue()
			if !ok {
				return bad()
			}
			s.Snapshots = append(s.Snapshots, v)
			if !p.acceptPunct(",") {
				break
			}
		}
		if !p.acceptPunct(")") || !atEnd() {
			return bad()
		}
		s.Filter = FilterNames
		return nil
	}
	first, ok := p.whereEquals()
	if !ok {
		return bad()
	}
	if atEnd() {
		if col != "SNAPSHOT" {
			return bad()
		}
		s.Filter, s.Snapshot = FilterName, first
		return nil
	}
	if !p.isKw(p.peek(0), "AND") {
		return bad()
	}
	p.next()
	if col2 := p.whereColumn(); col2 == "" || col2 == col {
		return bad()
	}
	p.next()
	second, ok := p.whereEquals()
	if !ok || !atEnd() {
		return bad()
	}
	s.Filter = FilterNameTimestamp
	if col == "SNAPSHOT" {
		s.Snapshot, s.Timestamp = first, second
	} else {
		s.Snapshot, s.Timestamp = second, first
	}
	return nil
}

// whereColumn returns "SNAPSHOT" or "TIMESTAMP" if the current token names
// that column (plain or backquoted, any case), "" otherwise.
func (p *parser) whereColumn() string {
	t := p.peek(0)
	if t.kind != tokIdent && t.kind != tokQuoted {
		return ""
	}
	for _, col := range []string{"SNAPSHOT", "TIMESTAMP"} {
		if equalFoldASCII(t.val, col) {
			return col
		}
	}
	return ""
}

// whereEquals consumes `= 'value'` with a non-empty string.
func (p *parser) whereEquals() (string, bool) {
	if t := p.peek(0); t.kind != tokPunct || t.val != "=" {
		return "", false
	}
	p.next()
	return p.whereValue()
}

// whereValue consumes a non-empty string literal.
func (p *parser) whereValue() (string, bool) {
	t := p.peek(0)
	if t.kind != tokString || t.val == "" {
		return "", false
	}
	p.next()
	return t.val, true
}

// parseShowRestore parses SHOW RESTORE [{FROM|IN} db] [WHERE expr]
// [ORDER BY …] [LIMIT n [OFFSET m] | LIMIT m, n]; SHOW is consumed.
// StarRocks parses the WHERE and ORDER BY clauses and then ignores them, so
// they are skipped here; LIMIT and OFFSET are applied to the rows.
func (p *parser) parseShowRestore(start Pos) (Statement, check) {
	p.expectKw("RESTORE")
	s := &ShowRestoreStmt{Start: start}
	var dbCheck check = noCheck
	if p.acceptKw("FROM") || p.acceptKw("IN") {
		db := p.ident()
		s.Database = db.val
		dbCheck = databaseNameCheck(db)
	}
	if p.acceptKw("WHERE") || p.acceptKw("ORDER") {
		for t := p.peek(0); t.kind != tokEOF && !(t.kind == tokPunct && t.val == ";") && !p.isKw(t, "LIMIT"); t = p.peek(0) {
			if t.kind == tokError {
				p.fail()
			}
			p.next()
		}
	}
	if p.acceptKw("LIMIT") {
		first := p.number()
		switch {
		case p.acceptPunct(","):
			s.Offset, s.Limit = first, p.number()
		case p.acceptKw("OFFSET"):
			s.Limit, s.Offset = first, p.number()
		default:
			s.Limit = first
		}
		s.HasLimit = true
	}
	return s, dbCheck
}

// number consumes an unsigned integer literal.
func (p *parser) number() int {
	t := p.peek(0)
	if t.kind != tokNumber {
		p.expect("a number", false)
		p.fail()
	}
	p.next()
	n := 0
	for _, c := range []byte(t.val) {
		if n > 1<<30 {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// parseCancelRestore parses CANCEL RESTORE {FROM|IN} db | CANCEL RESTORE FOR
// EXTERNAL CATALOG. CANCEL is consumed.
func (p *parser) parseCancelRestore(start Pos) (Statement, check) {
	p.expectKw("RESTORE")
	s := &CancelRestoreStmt{Start: start}
	// StarRocks' parser, not its analyzer, refuses a bare CANCEL RESTORE.
	return s, p.cancelTarget(&s.Database, &s.ExternalCatalog, func() *Error {
		return rejectf(start, "No selected database for cancel BACKUP/RESTORE")
	})
}
