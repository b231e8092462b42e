package sql

import (
	"regexp"
	"strings"
)

// LabelPattern is what srbackup accepts as a snapshot name. The name becomes
// part of S3 keys (`__ss_<label>/`), so it is stricter than StarRocks, which
// only requires a non-empty name.
var LabelPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// MaxLabelLen is the longest snapshot name LabelPattern accepts.
const MaxLabelLen = 128

// objectItem is one ON-clause item as parsed, with what the checks need.
type objectItem struct {
	typ       ObjectType
	pos       Pos    // first token of the item
	nameParts []name // nil for the ALL types
	temporary *Pos   // TEMPORARY PARTITION
	parts     []name // partitions
	alias     *name
	aliasPos  Pos // the AS keyword
}

// catalogsClause is `ALL EXTERNAL CATALOGS` or `EXTERNAL CATALOG[S] (…)`.
type catalogsClause struct {
	all     bool
	names   []name
	aliases []*name // RESTORE only
	present bool
}

// parseCatalogsClause parses the optional external-catalog clause of
// BACKUP and RESTORE. withAliases allows `c AS c2` (RESTORE).
func (p *parser) parseCatalogsClause(withAliases bool) catalogsClause {
	var c catalogsClause
	switch {
	case p.acceptKw("ALL"):
		p.expectKw("EXTERNAL")
		p.expectKw("CATALOGS")
		c.all, c.present = true, true
	case p.acceptKw("EXTERNAL"):
		p.expectOneOf("CATALOG", "CATALOGS")
		p.expectPunct("(")
		for {
			c.names = append(c.names, p.ident())
			var alias *name
			if withAliases && p.acceptKw("AS") {
				a := p.ident()
				alias = &a
			}
			c.aliases = append(c.aliases, alias)
			if !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct(")")
		c.present = true
	}
	return c
}

func (p *parser) parseBackup() (Statement, check) {
	start := p.expectKw("BACKUP").pos
	catalogs := p.parseCatalogsClause(false)
	var dbKw *Pos
	var db name
	if p.atKw("DATABASE") {
		pos := p.next().pos
		dbKw = &pos
		db = p.ident()
	}
	p.expectKw("SNAPSHOT")
	label := p.qualifiedName()
	p.expectKw("TO")
	repo := p.ident()
	onKw, items, props := p.parseOnAndProperties()

	s := &BackupStmt{Start: start, Repository: repo.val, AllExternalCatalogs: catalogs.all}
	return s, func() *Error {
		// Rejections StarRocks makes while building the AST.
		if err := checkScope(label, items, dbKw, onKw, catalogs.present); err != nil {
			return err
		}
		for _, it := range items {
			if it.alias != nil {
				return rejectf(it.aliasPos, "Specifying alias for backup object is forbidden in BACKUP stmt")
			}
		}

		// Semantic checks, in StarRocks' order.
		s.Snapshot = label[len(label)-1].val
		if catalogs.present {
			// The external-catalog form checks properties first.
			normalized, err := normalizeBackupProperties(props, p.opts)
			if err != nil {
				return err
			}
			s.Properties = normalized
			if s.ExternalCatalogs, err = checkCatalogNames(catalogs.names); err != nil {
				return err
			}
		} else {
			dbName := db
			if len(label) == 2 {
				dbName = label[0]
			} else if dbKw == nil {
				dbName = name{val: p.currentDB, pos: start}
				if dbName.val == "" {
					return analysisErrorf(start, "No database selected")
				}
			}
			if dbName.val == "" {
				return analysisErrorf(dbName.pos, "Incorrect database name ''")
			}
			s.Database = dbName.val
		}
		if err := checkLabel(label[len(label)-1]); err != nil {
			return err
		}
		if repo.val == "" {
			return analysisErrorf(repo.pos, "Repository is empty")
		}
		objs, err := checkObjects(items, "backing up")
		if err != nil {
			return err
		}
		s.Objects = objs
		if !catalogs.present {
			if s.Properties, err = normalizeBackupProperties(props, p.opts); err != nil {
				return err
			}
		}
		return checkLabelSuffix(label[len(label)-1], s.Properties)
	}
}

// parseObjectList parses `( obj [, obj]* )`; ON is consumed.
func (p *parser) parseObjectList() []objectItem {
	p.expectPunct("(")
	var items []objectItem
	for {
		items = append(items, p.parseObject())
		if !p.acceptPunct(",") {
			break
		}
	}
	p.expectPunct(")")
	return items
}

// parseObject parses one ON item:
//
//	ALL {TABLE|TABLES|VIEW|VIEWS|FUNCTION|FUNCTIONS} | ALL MATERIALIZED {VIEW|VIEWS}
//	{TABLE|TABLES} tdesc | {VIEW|VIEWS|FUNCTION|FUNCTIONS} name | MATERIALIZED {VIEW|VIEWS} name
//	tdesc                                      -- old style: a table
//	… [AS alias]                               -- named items only
//
// TABLES, VIEW, VIEWS, FUNCTIONS and MATERIALIZED are non-reserved, so they
// are keywords here only when a name follows; `ON (views)` backs up a table
// called views.
func (p *parser) parseObject() objectItem {
	t := p.peek(0)
	it := objectItem{pos: t.pos}
	next := p.peek(1)
	switch {
	case p.atKw("ALL"):
		p.next()
		switch p.expectOneOf("TABLE", "TABLES", "VIEW", "VIEWS", "MATERIALIZED", "FUNCTION", "FUNCTIONS") {
		case "TABLE", "TABLES":
			it.typ = ObjectAllTables
		case "VIEW", "VIEWS":
			it.typ = ObjectAllViews
		case "MATERIALIZED":
			p.expectOneOf("VIEW", "VIEWS")
			it.typ = ObjectAllMaterializedViews
		default:
			it.typ = ObjectAllFunctions
		}
		return it
	case p.atKw("TABLE") || p.isKw(t, "TABLES") && startsIdent(next):
		p.next()
		it.typ = ObjectTable
		p.parseTableDesc(&it)
	case p.atKw("MATERIALIZED") && (p.isKw(next, "VIEW") || p.isKw(next, "VIEWS")):
		p.next()
		p.next()
		it.typ = ObjectMaterializedView
		it.nameParts = p.qualifiedName()
	case (p.atKw("VIEW") || p.isKw(t, "VIEWS")) && startsIdent(next):
		p.next()
		it.typ = ObjectView
		it.nameParts = p.qualifiedName()
	case p.atKw("FUNCTION") || p.isKw(t, "FUNCTIONS") && startsIdent(next):
		p.next()
		it.typ = ObjectFunction
		it.nameParts = p.qualifiedName()
	default:
		it.typ = ObjectTable
		p.parseTableDesc(&it)
	}
	if p.atKw("AS") {
		it.aliasPos = p.next().pos
		a := p.ident()
		it.alias = &a
	}
	return it
}

// parseTableDesc parses name [[TEMPORARY] {PARTITION|PARTITIONS} …].
//
// Partitions come in parentheses or, as StarRocks also allows, as a bare
// list. The bare list is greedy like StarRocks' parser: in
// `ON (t PARTITION p1, t2)` t2 is a partition of t, not a table.
func (p *parser) parseTableDesc(it *objectItem) {
	it.nameParts = p.qualifiedName()
	if p.atKw("TEMPORARY") && (p.isKw(p.peek(1), "PARTITION") || p.isKw(p.peek(1), "PARTITIONS")) {
		pos := p.next().pos
		it.temporary = &pos
	} else if !p.atKw("PARTITION") && !p.atKw("PARTITIONS") {
		return
	}
	p.next() // PARTITION or PARTITIONS
	if p.acceptPunct("(") {
		for {
			it.parts = append(it.parts, p.identOrString())
			if !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct(")")
		return
	}
	it.parts = append(it.parts, p.identOrString())
	for {
		comma, cand, after := p.peek(0), p.peek(1), p.peek(2)
		if comma.kind != tokPunct || comma.val != "," || !startsIdent(cand) && cand.kind != tokString {
			return
		}
		if !(after.kind == tokPunct && (after.val == "," || after.val == ")") || p.isKw(after, "AS")) {
			return
		}
		p.next()
		it.parts = append(it.parts, p.identOrString())
	}
}

// checkScope applies the rules StarRocks' AST builder has, for BACKUP and
// RESTORE alike, on the snapshot name, the object names and where the
// database comes from: the snapshot name is label or db.label, object names
// are [catalog.][db.]name, the database is given once, and an
// external-catalog statement names neither a database nor objects.
func checkScope(label []name, items []objectItem, dbKw, onKw *Pos, external bool) *Error {
	if len(label) > 2 {
		return rejectf(label[0].pos, "Invalid table name format '%s'", joinName(label))
	}
	for _, it := range items {
		if len(it.nameParts) > 3 {
			return rejectf(it.nameParts[0].pos, "Invalid table name format '%s'", joinName(it.nameParts))
		}
	}
	if dbKw != nil && len(label) == 2 {
		return rejectf(label[0].pos, "Specifying dbName before snapshot name is forbidden if the DbName is specified explicitly in BACKUP/RESTORE")
	}
	if external {
		if dbKw != nil {
			return rejectf(*dbKw, "Can not specify database name for external catalog Backup/Restore")
		}
		if len(label) == 2 {
			return rejectf(label[0].pos, "Can not specify database name for external catalog Backup/Restore")
		}
		if onKw != nil {
			return rejectf(*onKw, "Can not specify `ON` clause for external catalog Backup/Restore")
		}
	}
	return nil
}

// checkLabel applies srbackup's snapshot-name rule.
func checkLabel(label name) *Error {
	if label.val == "" {
		return analysisErrorf(label.pos, "Incorrect label name ''")
	}
	if !LabelPattern.MatchString(label.val) {
		return analysisErrorf(label.pos, "Incorrect label name '%s': a snapshot name must match %s", clip(label.val), LabelPattern)
	}
	return nil
}

// checkCatalogNames validates an external catalog list.
func checkCatalogNames(names []name) ([]string, *Error) {
	var out []string
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch {
		case n.val == "":
			return nil, analysisErrorf(n.pos, "Incorrect catalog name ''")
		case strings.EqualFold(n.val, "default_catalog"):
			return nil, analysisErrorf(n.pos, "Do not support Backup/Restore the entire default catalog")
		case seen[n.val]:
			return nil, analysisErrorf(n.pos, "Duplicated catalog: %s", clip(n.val))
		}
		seen[n.val] = true
		out = append(out, n.val)
	}
	return out, nil
}

// checkObjects validates ON items and returns them with the database
// prefixes dropped. verb is "backing up" or "restoring".
func checkObjects(items []objectItem, verb string) ([]BackupObject, *Error) {
	if items == nil {
		return nil, nil
	}
	objs := make([]BackupObject, 0, len(items))
	tables := make(map[string]bool)
	functions := make(map[string]bool)
	alls := make(map[ObjectType]bool)
	for _, it := range items {
		obj := BackupObject{Type: it.typ}
		if obj.Type.IsAll() {
			if alls[obj.Type] {
				return nil, analysisErrorf(it.pos, "Duplicated backup object: %s", allSQL[obj.Type])
			}
			alls[obj.Type] = true
			objs = append(objs, obj)
			continue
		}
		n := it.nameParts[len(it.nameParts)-1]
		obj.Name = n.val
		if obj.Type == ObjectFunction {
			if n.val == "" {
				return nil, analysisErrorf(n.pos, "Incorrect function name ''")
			}
			if functions[n.val] {
				return nil, analysisErrorf(n.pos, "Duplicated function: %s", clip(n.val))
			}
			functions[n.val] = true
		} else {
			if n.val == "" {
				return nil, analysisErrorf(n.pos, "Incorrect table name ''")
			}
			if tables[n.val] {
				return nil, analysisErrorf(n.pos, "Duplicated table: %s", clip(n.val))
			}
			tables[n.val] = true
		}
		if it.temporary != nil {
			return nil, analysisErrorf(*it.temporary, "Do not support %s temp partitions", verb)
		}
		if len(it.parts) > 0 {
			partitions, err := checkPartitions(it.parts)
			if err != nil {
				return nil, err
			}
			obj.Partitions = partitions
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// checkPartitions rejects empty and repeated partition names.
func checkPartitions(parts []name) ([]string, *Error) {
	out := make([]string, 0, len(parts))
	var seen map[string]bool
	for i, part := range parts {
		if part.val == "" {
			return nil, analysisErrorf(part.pos, "Incorrect partition name ''")
		}
		dup := false
		if len(parts) <= 8 {
			// Most lists are short: a scan is cheaper than a map.
			for _, prev := range parts[:i] {
				dup = dup || prev.val == part.val
			}
		} else {
			if seen == nil {
				seen = make(map[string]bool, len(parts))
			}
			dup = seen[part.val]
			seen[part.val] = true
		}
		if dup {
			return nil, analysisErrorf(part.pos, "Duplicated partition: %s", clip(part.val))
		}
		out = append(out, part.val)
	}
	return out, nil
}

// checkLabelSuffix makes sure the label stays within MaxLabelLen once the
// suffix the label_suffix property asks for is appended.
func checkLabelSuffix(label name, props map[string]string) *Error {
	if props[PropLabelSuffix] == LabelSuffixTime && len(label.val)+len(labelTimeSuffixExample) > MaxLabelLen {
		return analysisErrorf(label.pos, "Incorrect label name '%s': with label_suffix '%s' a snapshot name can have at most %d characters",
			clip(label.val), LabelSuffixTime, MaxLabelLen-len(labelTimeSuffixExample))
	}
	return nil
}

// parseOnAndProperties parses the tail BACKUP and RESTORE share:
// [ON (obj, …)] [PROPERTIES (…)]. onKw is where ON stood, nil without it.
func (p *parser) parseOnAndProperties() (onKw *Pos, items []objectItem, props []property) {
	if p.atKw("ON") {
		pos := p.next().pos
		onKw = &pos
		items = p.parseObjectList()
	}
	if p.acceptKw("PROPERTIES") {
		props = p.parsePropertyList()
	}
	return onKw, items, props
}
