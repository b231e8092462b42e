package sql

// parseRestore parses
//
//	RESTORE SNAPSHOT [db.]label FROM repo
//	  [ALL EXTERNAL CATALOGS | EXTERNAL {CATALOG|CATALOGS} (c [AS c2], …)]
//	  [DATABASE db [AS db2]] [ON (obj [AS alias], …)] [PROPERTIES (…)]
func (p *parser) parseRestore() (Statement, check) {
	start := p.expectKw("RESTORE").pos
	p.expectKw("SNAPSHOT")
	label := p.qualifiedName()
	p.expectKw("FROM")
	repo := p.ident()
	catalogs := p.parseCatalogsClause(true)
	var dbKw *Pos
	var db name
	var dbAlias *name
	if p.atKw("DATABASE") {
		pos := p.next().pos
		dbKw = &pos
		db = p.ident()
		if p.acceptKw("AS") {
			a := p.ident()
			dbAlias = &a
		}
	}
	onKw, items, props := p.parseOnAndProperties()

	s := &RestoreStmt{Start: start, Repository: repo.val, AllExternalCatalogs: catalogs.all}
	return s, func() *Error {
		if err := checkScope(label, items, dbKw, onKw, catalogs.present); err != nil {
			return err
		}
		if onKw != nil && dbKw == nil && len(label) == 1 {
			return rejectf(*onKw, "`ON` clause is forbidden if no Database explicitly specified in Restore stmt")
		}

		s.Snapshot = label[len(label)-1].val
		if catalogs.present {
			normalized, err := normalizeRestoreProperties(start, props, p.opts)
			if err != nil {
				return err
			}
			s.Properties = normalized
			names, err := checkCatalogNames(catalogs.names)
			if err != nil {
				return err
			}
			for i, n := range names {
				ref := CatalogRef{Name: n}
				if a := catalogs.aliases[i]; a != nil {
					if a.val == "" {
						return analysisErrorf(a.pos, "Incorrect catalog name ''")
					}
					ref.Alias = a.val
				}
				s.ExternalCatalogs = append(s.ExternalCatalogs, ref)
			}
		} else {
			if len(label) == 2 {
				db = label[0]
			}
			if (dbKw != nil || len(label) == 2) && db.val == "" {
				return analysisErrorf(db.pos, "Incorrect database name ''")
			}
			s.Database = db.val
			s.DatabaseClause = dbKw != nil
			if dbAlias != nil {
				if dbAlias.val == "" {
					return analysisErrorf(dbAlias.pos, "Incorrect database name ''")
				}
				s.DatabaseAlias = dbAlias.val
			}
		}
		if err := checkLabel(label[len(label)-1]); err != nil {
			return err
		}
		if repo.val == "" {
			return analysisErrorf(repo.pos, "Repository is empty")
		}
		objs, err := checkObjects(items, "restoring")
		if err != nil {
			return err
		}
		// A2: an alias may equal neither a restored object's name (its own
		// included) nor another alias.
		names := map[string]bool{}
		for _, obj := range objs {
			names[obj.Name] = true
		}
		aliases := map[string]bool{}
		for _, it := range items {
			if a := it.alias; a != nil && a.val != "" {
				if names[a.val] || aliases[a.val] {
					return analysisErrorf(a.pos, "Duplicated alias name: %s", clip(a.val))
				}
				aliases[a.val] = true
			}
		}
		for i, obj := range objs {
			ro := RestoreObject{BackupObject: obj}
			if a := items[i].alias; a != nil {
				if a.val == "" {
					return analysisErrorf(a.pos, "Incorrect table name ''")
				}
				ro.Alias = a.val
			}
			s.Objects = append(s.Objects, ro)
		}
		if !catalogs.present {
			if s.Properties, err = normalizeRestoreProperties(start, props, p.opts); err != nil {
				return err
			}
		}
		return nil
	}
}
