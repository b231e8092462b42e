package sql

import "strings"

// parseGrant parses GRANT and REVOKE in StarRocks' forms:
//
//	{GRANT|REVOKE} priv [, priv] ON object {TO|FROM} grantee
//	{GRANT|REVOKE} ROLE r [, r] {TO|FROM} grantee
//	priv    := any StarRocks privilege (starRocksPrivileges); srbackup uses
//	           REPOSITORY, EXPORT, INSERT, CREATE DATABASE, CREATE TABLE, and
//	           ALL [PRIVILEGES] stands for those of them the object takes
//	object  := SYSTEM | CATALOG c | DATABASE d | ALL DATABASES
//	         | [TABLE] [db.]t | ALL TABLES IN {DATABASE d | ALL DATABASES}
//	grantee := ROLE r | [USER] 'principal'
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
			privileges = append(privileges, p.privilege())
			if !p.acceptPunct(",") {
				break
			}
		}
		p.expectKw("ON")
		obj := &PrivilegeObject{}
		var catalog *name
		// StarRocks takes a table without TABLE (`ON db.t`, `ON t TO …`).
		// A name followed by a name is an object kind (`ON CATALOG c`,
		// and the kinds srbackup has no privileges on, `ON VIEW v`).
		object := "TABLE"
		if !startsIdent(p.peek(0)) || startsIdent(p.peek(1)) {
			object = p.expectOneOf("SYSTEM", "TABLE", "CATALOG", "DATABASE", "ALL")
		}
		switch object {
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
	// As StarRocks: a grantee without ROLE or USER is a user.
	granteeType := GranteeUser
	if t := p.peek(0); t.kind != tokString && (p.isKw(t, GranteeRole) || p.isKw(t, GranteeUser)) && (startsIdent(p.peek(1)) || p.peek(1).kind == tokString) {
		granteeType = p.expectOneOf(GranteeRole, GranteeUser)
	}
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
		all := false
		for _, pr := range privileges {
			if pr.val == privilegeAll {
				all = true
				continue
			}
			if !usedPrivilege(pr.val) {
				return analysisErrorf(pr.pos, "Privilege %s is not used by srbackup, which checks only %s: grant those", pr.val, usedPrivilegesText)
			}
			if seen[pr.val] {
				return analysisErrorf(pr.pos, "Duplicated privilege: %s", pr.val)
			}
			seen[pr.val] = true
			if !privilegeFits(pr.val, g.Object.Type) {
				return analysisErrorf(pr.pos, "Invalid privilege %s for %s", pr.val, objectTypeWord(g.Object.Type))
			}
		}
		for _, pr := range privileges {
			if pr.val != privilegeAll {
				g.Privileges = append(g.Privileges, pr.val)
			}
		}
		// ALL adds the others the object takes, in usedPrivileges' order.
		for _, priv := range usedPrivileges {
			if all && !seen[priv] && privilegeFits(priv, g.Object.Type) {
				seen[priv] = true
				g.Privileges = append(g.Privileges, priv)
			}
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

// privilegeAll is ALL [PRIVILEGES]: every privilege srbackup uses that the
// object takes.
const privilegeAll = "ALL"

// usedPrivileges are the privileges srbackup checks, in canonical order.
var usedPrivileges = []string{PrivilegeRepository, PrivilegeExport, PrivilegeInsert, PrivilegeCreateDatabase, PrivilegeCreateTable}

const usedPrivilegesText = "REPOSITORY, EXPORT and, for RESTORE, CREATE DATABASE, CREATE TABLE and INSERT"

func usedPrivilege(priv string) bool {
	for _, u := range usedPrivileges {
		if u == priv {
			return true
		}
	}
	return false
}

// starRocksPrivileges are the privilege words of StarRocks' grammar
// (privilegeType); CREATE takes the object kinds in createPrivileges. All
// parse, so a StarRocks script gets a clear "not used by srbackup" rather
// than a syntax error.
var starRocksPrivileges = []string{privilegeAll, "ALTER", "APPLY", "BLACKLIST", "CREATE", "DELETE", "DROP", PrivilegeExport,
	"FILE", "IMPERSONATE", PrivilegeInsert, "GRANT", "NODE", "OPERATE", "PLUGIN", PrivilegeRepository, "REFRESH", "SELECT",
	"SECURITY", "UPDATE", "USAGE"}

// createPrivileges are the words after CREATE: a kind, or the first word of
// a two-word kind with its second.
var createPrivileges = map[string]string{"DATABASE": "", "TABLE": "", "VIEW": "", "FUNCTION": "", "GLOBAL": "FUNCTION",
	"MATERIALIZED": "VIEW", "RESOURCE": "", "EXTERNAL": "CATALOG", "STORAGE": "VOLUME", "WAREHOUSE": "", "PIPE": ""}

var createPrivilegeWords = []string{"DATABASE", "TABLE", "VIEW", "FUNCTION", "GLOBAL", "MATERIALIZED", "RESOURCE", "EXTERNAL", "STORAGE", "WAREHOUSE", "PIPE"}

// privilege parses one privilege of a GRANT or REVOKE list.
func (p *parser) privilege() name {
	pos := p.peek(0).pos
	priv := p.expectOneOf(starRocksPrivileges...)
	switch priv {
	case privilegeAll:
		p.acceptKw("PRIVILEGES")
	case "CREATE":
		kind := p.expectOneOf(createPrivilegeWords...)
		priv += " " + kind
		if second := createPrivileges[kind]; second != "" {
			priv += " " + p.expectKw(second).val
		} else if kind == "RESOURCE" && p.acceptKw("GROUP") {
			priv += " GROUP"
		}
	}
	return name{val: strings.ToUpper(priv), pos: pos}
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
