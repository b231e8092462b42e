package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/srbackup/srbackup/shared/source"
)

// Tables lists the base tables, system-versioned tables and sequences of
// db, by name.
func (s *Source) Tables(ctx context.Context, db string) ([]source.Table, error) {
	if err := checkIdent("database", db); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''),
		COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0), COALESCE(CREATE_OPTIONS, '')
		FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ?`+s.exact("TABLE_SCHEMA")+`
		AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'SEQUENCE')
		ORDER BY TABLE_NAME`, s.exactArgs(db)...)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", quoteIdent(db), err)
	}
	defer rows.Close()
	var tables []source.Table
	for rows.Next() {
		var t source.Table
		var typ, options string
		if err := rows.Scan(&t.Name, &typ, &t.Engine, &t.Rows, &t.DataBytes, &options); err != nil {
			return nil, fmt.Errorf("list tables of %s: %w", quoteIdent(db), err)
		}
		t.Kind = source.KindTable
		if typ == "SEQUENCE" {
			t.Kind = source.KindSequence
		}
		t.Versioned = typ == "SYSTEM VERSIONED"
		t.Partitioned = strings.Contains(strings.ToLower(options), "partitioned")
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", quoteIdent(db), err)
	}
	return tables, nil
}

// Partitions lists a table's partitions, folding subpartitions into their
// partition. An unpartitioned table has one partition named after it.
func (s *Source) Partitions(ctx context.Context, db, table string) ([]source.Partition, error) {
	return partitions(ctx, s.db, s, db, table)
}

// querier is what catalog lookups need from a pool or a single connection.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func partitions(ctx context.Context, q querier, s *Source, db, table string) ([]source.Partition, error) {
	if err := checkTable(db, table); err != nil {
		return nil, err
	}
	byTable, err := partitionsOf(ctx, q, s, db, table)
	if err != nil {
		return nil, err
	}
	return only(byTable, db, table)
}

// only is the one table's entry of a lookup of one table's catalog, or
// ErrNotFound. The server may spell the name otherwise (folded names).
func only[T any](byTable map[string][]T, db, table string) ([]T, error) {
	for _, v := range byTable {
		return v, nil
	}
	return nil, fmt.Errorf("table %s.%s: %w", quoteIdent(db), quoteIdent(table), source.ErrNotFound)
}

// catalogWhere selects the information_schema rows of db's table, or of
// all its tables when table is "".
func (s *Source) catalogWhere(schemaColumn, db, table string) (string, []any) {
	if table == "" {
		return " WHERE " + schemaColumn + " = ?" + s.exact(schemaColumn), s.exactArgs(db)
	}
	return " WHERE " + schemaColumn + " = ? AND TABLE_NAME = ?" + s.exact(schemaColumn, "TABLE_NAME"), s.exactArgs(db, table)
}

// catalogName names what a catalog lookup reads, for errors.
func catalogName(db, table string) string {
	if table == "" {
		return quoteIdent(db)
	}
	return quoteIdent(db) + "." + quoteIdent(table)
}

// partitionsOf lists the partitions of db's table, or of all its tables
// when table is "", by table.
func partitionsOf(ctx context.Context, q querier, s *Source, db, table string) (map[string][]source.Partition, error) {
	name := catalogName(db, table)
	where, args := s.catalogWhere("TABLE_SCHEMA", db, table)
	rows, err := q.QueryContext(ctx, `SELECT TABLE_NAME, PARTITION_NAME, SUBPARTITION_NAME,
		COALESCE(PARTITION_METHOD, ''), COALESCE(SUBPARTITION_METHOD, ''),
		COALESCE(PARTITION_EXPRESSION, ''), COALESCE(PARTITION_DESCRIPTION, ''),
		COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0)
		FROM information_schema.PARTITIONS`+where+`
		ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`, args...)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", name, err)
	}
	defer rows.Close()
	out := map[string][]source.Partition{}
	for rows.Next() {
		var tname string
		var pname, sub sql.NullString
		var p source.Partition
		if err := rows.Scan(&tname, &pname, &sub, &p.Method, &p.SubpartitionMethod, &p.Expression, &p.Description, &p.Rows, &p.DataBytes); err != nil {
			return nil, fmt.Errorf("list partitions of %s: %w", name, err)
		}
		parts := out[tname]
		if !pname.Valid {
			p.Name, p.Method = tname, "NONE"
			out[tname] = append(parts, p)
			continue
		}
		p.Name = pname.String
		if n := len(parts); n > 0 && parts[n-1].Name == p.Name {
			// Another subpartition of the same partition.
			parts[n-1].Rows += p.Rows
			parts[n-1].DataBytes += p.DataBytes
			parts[n-1].Subpartitions = append(parts[n-1].Subpartitions, sub.String)
			continue
		}
		if sub.Valid {
			p.Subpartitions = []string{sub.String}
		}
		out[tname] = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", name, err)
	}
	return out, nil
}

// Columns lists a table's columns in definition order.
func (s *Source) Columns(ctx context.Context, db, table string) ([]source.Column, error) {
	return columns(ctx, s.db, s, db, table)
}

func columns(ctx context.Context, q querier, s *Source, db, table string) ([]source.Column, error) {
	if err := checkTable(db, table); err != nil {
		return nil, err
	}
	byTable, err := columnsOf(ctx, q, s, db, table)
	if err != nil {
		return nil, err
	}
	return only(byTable, db, table)
}

// columnsOf lists the columns of db's table, or of all its tables when
// table is "", by table, each in definition order.
func columnsOf(ctx context.Context, q querier, s *Source, db, table string) (map[string][]source.Column, error) {
	name := catalogName(db, table)
	jsonChecks, err := s.jsonChecks(ctx, q, db, table)
	if err != nil {
		return nil, err
	}
	where, args := s.catalogWhere("TABLE_SCHEMA", db, table)
	rows, err := q.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
		COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, ''),
		COALESCE(NUMERIC_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0), COALESCE(DATETIME_PRECISION, 0),
		COALESCE(EXTRA, '')
		FROM information_schema.COLUMNS`+where+`
		ORDER BY TABLE_NAME, ORDINAL_POSITION`, args...)
	if err != nil {
		return nil, fmt.Errorf("list columns of %s: %w", name, err)
	}
	defer rows.Close()
	out := map[string][]source.Column{}
	for rows.Next() {
		var tname string
		var ci columnInfo
		var nullable string
		if err := rows.Scan(&tname, &ci.name, &ci.dataType, &ci.columnType, &nullable, &ci.charset, &ci.collation,
			&ci.precision, &ci.scale, &ci.datetimeScale, &ci.extra); err != nil {
			return nil, fmt.Errorf("list columns of %s: %w", name, err)
		}
		ci.nullable = nullable == "YES"
		ci.json = jsonChecks[[2]string{tname, ci.name}]
		c, err := ci.column()
		if err != nil {
			return nil, fmt.Errorf("table %s.%s: %w", quoteIdent(db), quoteIdent(tname), err)
		}
		out[tname] = append(out[tname], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list columns of %s: %w", name, err)
	}
	return out, nil
}

// jsonChecks finds MariaDB's JSON columns (table, column) of db's table,
// or of all its tables when table is "": MariaDB's JSON is LONGTEXT with
// the column check json_valid(`col`). MySQL has a real JSON type instead.
func (s *Source) jsonChecks(ctx context.Context, q querier, db, table string) (map[[2]string]bool, error) {
	if !s.mariadb {
		return nil, nil
	}
	where, args := s.catalogWhere("CONSTRAINT_SCHEMA", db, table)
	rows, err := q.QueryContext(ctx, `SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
		FROM information_schema.CHECK_CONSTRAINTS`+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list checks of %s: %w", catalogName(db, table), err)
	}
	defer rows.Close()
	json := map[[2]string]bool{}
	for rows.Next() {
		var tname, name, clause string
		if err := rows.Scan(&tname, &name, &clause); err != nil {
			return nil, fmt.Errorf("list checks of %s: %w", catalogName(db, table), err)
		}
		if clause == "json_valid("+quoteIdent(name)+")" {
			json[[2]string{tname, name}] = true
		}
	}
	return json, rows.Err()
}

// Views lists the views of db by name.
func (s *Source) Views(ctx context.Context, db string) ([]source.View, error) {
	names, err := s.names(ctx, db, "views", `SELECT TABLE_NAME FROM information_schema.VIEWS
		WHERE TABLE_SCHEMA = ?`+s.exact("TABLE_SCHEMA")+` ORDER BY TABLE_NAME`)
	if err != nil {
		return nil, err
	}
	views := make([]source.View, len(names))
	for i, n := range names {
		views[i] = source.View{Name: n[0]}
	}
	return views, nil
}

// Functions lists the stored functions of db by name.
func (s *Source) Functions(ctx context.Context, db string) ([]source.Function, error) {
	names, err := s.names(ctx, db, "functions", `SELECT ROUTINE_NAME, COALESCE(DTD_IDENTIFIER, '')
		FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = ?`+s.exact("ROUTINE_SCHEMA")+` AND ROUTINE_TYPE = 'FUNCTION'
		ORDER BY ROUTINE_NAME`)
	if err != nil {
		return nil, err
	}
	fns := make([]source.Function, len(names))
	for i, n := range names {
		fns[i] = source.Function{Name: n[0], Returns: n[1]}
	}
	return fns, nil
}

// names runs a catalog query over db whose rows are strings.
func (s *Source) names(ctx context.Context, db, what, query string) ([][]string, error) {
	if err := checkIdent("database", db); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, query, s.exactArgs(db)...)
	if err != nil {
		return nil, fmt.Errorf("list %s of %s: %w", what, quoteIdent(db), err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("list %s of %s: %w", what, quoteIdent(db), err)
	}
	var out [][]string
	for rows.Next() {
		row := make([]string, len(cols))
		dest := make([]any, len(cols))
		for i := range row {
			dest[i] = &row[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list %s of %s: %w", what, quoteIdent(db), err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s of %s: %w", what, quoteIdent(db), err)
	}
	return out, nil
}

// TableDDL returns SHOW CREATE TABLE for a base table or sequence.
func (s *Source) TableDDL(ctx context.Context, db, table string) (source.DDL, error) {
	if err := checkTable(db, table); err != nil {
		return source.DDL{}, err
	}
	res, err := s.showCreate(ctx, "TABLE", db, table)
	if err != nil {
		return source.DDL{}, err
	}
	if _, isView := res["Create View"]; isView {
		return source.DDL{}, fmt.Errorf("%s.%s is a view, not a table: %w", quoteIdent(db), quoteIdent(table), source.ErrNotFound)
	}
	return source.DDL{Statement: res["Create Table"].String}, nil
}

// ViewDDL returns SHOW CREATE VIEW.
func (s *Source) ViewDDL(ctx context.Context, db, view string) (source.DDL, error) {
	if err := checkTable(db, view); err != nil {
		return source.DDL{}, err
	}
	res, err := s.showCreate(ctx, "VIEW", db, view)
	if err != nil {
		return source.DDL{}, err
	}
	return source.DDL{
		Statement:           res["Create View"].String,
		CharacterSetClient:  res["character_set_client"].String,
		CollationConnection: res["collation_connection"].String,
	}, nil
}

// FunctionDDL returns SHOW CREATE FUNCTION with the sql_mode and character
// sets the function was created with.
func (s *Source) FunctionDDL(ctx context.Context, db, function string) (source.DDL, error) {
	if err := checkTable(db, function); err != nil {
		return source.DDL{}, err
	}
	res, err := s.showCreate(ctx, "FUNCTION", db, function)
	if err != nil {
		return source.DDL{}, err
	}
	stmt := res["Create Function"]
	if !stmt.Valid {
		return source.DDL{}, fmt.Errorf("the source user may not read the definition of function %s.%s (grant SHOW CREATE ROUTINE or SELECT on mysql.proc)",
			quoteIdent(db), quoteIdent(function))
	}
	return source.DDL{
		Statement:           stmt.String,
		SQLMode:             res["sql_mode"].String,
		CharacterSetClient:  res["character_set_client"].String,
		CollationConnection: res["collation_connection"].String,
		DatabaseCollation:   res["Database Collation"].String,
	}, nil
}

// showCreate runs SHOW CREATE <kind> and returns its one row by column name.
func (s *Source) showCreate(ctx context.Context, kind, db, name string) (map[string]sql.NullString, error) {
	return showCreate(ctx, s.db, kind, db, name)
}

// showCreate is SHOW CREATE on q: a pool, or a transaction's connection.
func showCreate(ctx context.Context, q querier, kind, db, name string) (map[string]sql.NullString, error) {
	obj := quoteIdent(db) + "." + quoteIdent(name)
	rows, err := q.QueryContext(ctx, "SHOW CREATE "+kind+" "+obj)
	if err != nil {
		if isNoSuchObject(err) {
			return nil, fmt.Errorf("%s %s: %w", strings.ToLower(kind), obj, source.ErrNotFound)
		}
		return nil, fmt.Errorf("show create %s %s: %w", strings.ToLower(kind), obj, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("show create %s %s: %w", strings.ToLower(kind), obj, err)
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("show create %s %s: %w", strings.ToLower(kind), obj, err)
		}
		return nil, fmt.Errorf("%s %s: %w", strings.ToLower(kind), obj, source.ErrNotFound)
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, fmt.Errorf("show create %s %s: %w", strings.ToLower(kind), obj, err)
	}
	res := make(map[string]sql.NullString, len(cols))
	for i, c := range cols {
		res[c] = vals[i]
	}
	return res, rows.Err()
}

// checkTable checks a database and an object name.
func checkTable(db, name string) error {
	if err := checkIdent("database", db); err != nil {
		return err
	}
	return checkIdent("object", name)
}

// Triggers lists db's triggers, in the order they fire per table, with
// SHOW CREATE TRIGGER.
func (s *Source) Triggers(ctx context.Context, db string) ([]source.Trigger, error) {
	names, err := s.names(ctx, db, "triggers", `SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE
		FROM information_schema.TRIGGERS
		WHERE TRIGGER_SCHEMA = ?`+s.exact("TRIGGER_SCHEMA")+`
		ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`)
	if err != nil {
		return nil, err
	}
	out := make([]source.Trigger, len(names))
	for i, n := range names {
		ddl, err := s.routineDDL(ctx, "TRIGGER", db, n[0], "SQL Original Statement")
		if err != nil {
			return nil, err
		}
		out[i] = source.Trigger{Name: n[0], Table: n[1], DDL: ddl}
	}
	return out, nil
}

// Procedures lists db's stored procedures with SHOW CREATE PROCEDURE.
func (s *Source) Procedures(ctx context.Context, db string) ([]source.Routine, error) {
	return s.routines(ctx, db, "procedures", "PROCEDURE", "Create Procedure", `SELECT ROUTINE_NAME
		FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = ?`+s.exact("ROUTINE_SCHEMA")+` AND ROUTINE_TYPE = 'PROCEDURE'
		ORDER BY ROUTINE_NAME`)
}

// Events lists db's events with SHOW CREATE EVENT.
func (s *Source) Events(ctx context.Context, db string) ([]source.Routine, error) {
	return s.routines(ctx, db, "events", "EVENT", "Create Event", `SELECT EVENT_NAME
		FROM information_schema.EVENTS
		WHERE EVENT_SCHEMA = ?`+s.exact("EVENT_SCHEMA")+`
		ORDER BY EVENT_NAME`)
}

func (s *Source) routines(ctx context.Context, db, what, kind, column, query string) ([]source.Routine, error) {
	names, err := s.names(ctx, db, what, query)
	if err != nil {
		return nil, err
	}
	out := make([]source.Routine, len(names))
	for i, n := range names {
		ddl, err := s.routineDDL(ctx, kind, db, n[0], column)
		if err != nil {
			return nil, err
		}
		out[i] = source.Routine{Name: n[0], DDL: ddl}
	}
	return out, nil
}

// routineDDL is SHOW CREATE of a trigger, procedure or event, whose
// statement is in column.
func (s *Source) routineDDL(ctx context.Context, kind, db, name, column string) (source.DDL, error) {
	if err := checkTable(db, name); err != nil {
		return source.DDL{}, err
	}
	res, err := s.showCreate(ctx, kind, db, name)
	if err != nil {
		return source.DDL{}, err
	}
	stmt := res[column]
	if !stmt.Valid {
		return source.DDL{}, fmt.Errorf("the source user may not read the definition of %s %s.%s (grant SHOW CREATE ROUTINE, TRIGGER or EVENT)",
			strings.ToLower(kind), quoteIdent(db), quoteIdent(name))
	}
	return source.DDL{
		Statement:           stmt.String,
		SQLMode:             res["sql_mode"].String,
		CharacterSetClient:  res["character_set_client"].String,
		CollationConnection: res["collation_connection"].String,
		DatabaseCollation:   res["Database Collation"].String,
		TimeZone:            res["time_zone"].String,
	}, nil
}
