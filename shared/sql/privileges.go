package sql

// parseGrant parses GRANT and REVOKE:
//
//	{GRANT|REVOKE} priv [, priv] ON object {TO|FROM} grantee
//	{GRANT|REVOKE} ROLE r [, r] {TO|FROM} grantee
//	priv    := REPOSITORY | EXPORT | INSERT | CREATE DATABASE | CREATE TABLE
//	object  := SYSTEM | CATALOG c | DATABASE d | ALL DATABASES
//	         | TABLE [db.]t | ALL TABLES IN {DATABASE d | ALL DATABASES}
//	grantee := ROLE r | USER 'principal'
func (p *parser) parseGrant() (Statement, check) {
	start := p.peek(0).pos
	verb := p.expectOneOf("GRANT", "REVOKE")
	var g Grant
	var roles, privileges []name
	var table []name
	var db name
	var catalogName *name
	if p.acceptKw("ROLE") {
		roles = p.nameList()
	} else {
		for {
			t := p.peek(0)
			priv := p.expectOneOf(PrivilegeRepository, PrivilegeExport, PrivilegeInsert, "CREATE")
			if priv == "CREATE" {
				priv = "CREATE " + p.expectOneOf("DATABASE", "TABLE")
			}
			privileges = append(privileges, name{val: priv, pos: t.pos})
			if !p.acceptPunct(",") {
				break
			}
		}
		p.expectKw("ON")
		obj := &PrivilegeObject{}
		var catalog *name
		switch p.expectOneOf("SYSTEM", "TABLE", "CATALOG", "DATABASE", "ALL") {
		case "SYSTEM":
			obj.Type = OnSystem
		case "TABLE":
			obj.Type = OnTable
			table = p.qualifiedName()
		case "CATALOG":
			obj.Type = OnCatalog
			c := p.ident()
			catalog = &c
		case "DATABASE":
			obj.Type = OnDatabase
			db = p.ident()
			obj.Database = db.val
		default:
			if p.acceptKw("DATABASES") {
				obj.Type = OnAllDatabases
				break
			}
			p.expectKw("TABLES")
			p.expectKw("IN")
			if p.acceptKw("ALL") {
				p.expectKw("DATABASES")
				obj.Type = OnAllTablesInAllDatabases
			} else {
				p.expectKw("DATABASE")
				obj.Type = OnAllTablesInDatabase
				db = p.ident()
				obj.Database = db.val
			}
		}
		g.Object = obj
		catalogName = catalog
	}
	if verb == "GRANT" {
		p.expectKw("TO")
	} else {
		p.expectKw("FROM")
	}
	granteeType := p.expectOneOf(GranteeRole, GranteeUser)
	grantee := p.identOrString()
	g.Grantee = Grantee{Type: granteeType, Name: grantee.val}

	var stmt Statement
	if verb == "GRANT" {
		stmt = &GrantStmt{Start: start}
	} else {
		stmt = &RevokeStmt{Start: start}
	}
	return stmt, func() *Error {
		if len(table) > 2 {
			return rejectf(table[0].pos, "Invalid table name format '%s'", joinName(table))
		}
		seen := make(map[string]bool)
		for _, r := range roles {
			if r.val == "" {
				return analysisErrorf(r.pos, "Incorrect role name ''")
			}
			if seen[r.val] {
				return analysisErrorf(r.pos, "Duplicated role: %s", clip(r.val))
			}
			seen[r.val] = true
			g.Roles = append(g.Roles, r.val)
		}
		for _, pr := range privileges {
			if seen[pr.val] {
				return analysisErrorf(pr.pos, "Duplicated privilege: %s", pr.val)
			}
			seen[pr.val] = true
			if !privilegeFits(pr.val, g.Object.Type) {
				return analysisErrorf(pr.pos, "Invalid privilege %s for %s", pr.val, objectTypeWord(g.Object.Type))
			}
			g.Privileges = append(g.Privileges, pr.val)
		}
		if g.Object != nil {
			switch g.Object.Type {
			case OnTable:
				t := table[len(table)-1]
				if t.val == "" {
					return analysisErrorf(t.pos, "Incorrect table name ''")
				}
				g.Object.Table = t.val
				if len(table) == 2 {
					if table[0].val == "" {
						return analysisErrorf(table[0].pos, "Incorrect database name ''")
					}
					g.Object.Database = table[0].val
				} else {
					// As StarRocks: a table without its database is in the
					// current one (none: the executor refuses it).
					g.Object.Database = p.currentDB
				}
			case OnAllTablesInDatabase, OnDatabase:
				if db.val == "" {
					return analysisErrorf(db.pos, "Incorrect database name ''")
				}
			case OnCatalog:
				if catalogName.val != DefaultCatalog {
					return analysisErrorf(catalogName.pos, "Unknown catalog '%s'", clip(catalogName.val))
				}
			}
		}
		if grantee.val == "" {
			return analysisErrorf(grantee.pos, "Incorrect %s name ''", map[string]string{GranteeRole: "role", GranteeUser: "user"}[granteeType])
		}
		switch s := stmt.(type) {
		case *GrantStmt:
			s.Grant = g
		case *RevokeStmt:
			s.Grant = g
		}
		return nil
	}
}

func objectTypeWord(t PrivilegeObjectType) string {
	switch t {
	case OnSystem, OnCatalog, OnDatabase:
		return string(t)
	case OnAllDatabases:
		return "DATABASE"
	}
	return "TABLE"
}

// privilegeFits reports whether a privilege can be granted on an object
// type: REPOSITORY on SYSTEM, CREATE DATABASE on a catalog, CREATE TABLE on
// databases, EXPORT and INSERT on tables.
func privilegeFits(priv string, t PrivilegeObjectType) bool {
	switch priv {
	case PrivilegeRepository:
		return t == OnSystem
	case PrivilegeCreateDatabase:
		return t == OnCatalog
	case PrivilegeCreateTable:
		return t == OnDatabase || t == OnAllDatabases
	}
	return t == OnTable || t == OnAllTablesInDatabase || t == OnAllTablesInAllDatabases
}

// nameList parses identOrString (',' identOrString)*.
func (p *parser) nameList() []name {
	names := []name{p.identOrString()}
	for p.acceptPunct(",") {
		names = append(names, p.identOrString())
	}
	return names
}

// parseCreateRole parses CREATE ROLE [IF NOT EXISTS] r; CREATE is consumed.
func (p *parser) parseCreateRole(start Pos) (Statement, check) {
	p.expectKw("ROLE")
	s := &CreateRoleStmt{Start: start}
	if p.acceptKw("IF") {
		p.expectKw("NOT")
		p.expectKw("EXISTS")
		s.IfNotExists = true
	}
	role := p.identOrString()
	s.Name = role.val
	return s, roleNameCheck(role)
}

// parseDropRole parses DROP ROLE [IF EXISTS] r; DROP is consumed.
func (p *parser) parseDropRole(start Pos) (Statement, check) {
	p.expectKw("ROLE")
	s := &DropRoleStmt{Start: start}
	if p.acceptKw("IF") {
		p.expectKw("EXISTS")
		s.IfExists = true
	}
	role := p.identOrString()
	s.Name = role.val
	return s, roleNameCheck(role)
}

func roleNameCheck(role name) check {
	return func() *Error {
		if role.val == "" {
			return analysisErrorf(role.pos, "Incorrect role name ''")
		}
		return nil
	}
}
