// Package target is the database a RESTORE writes into: a MariaDB or MySQL
// server reached over the MySQL protocol. It reads the catalog facts the
// schema checks compare (from INFORMATION_SCHEMA, never DDL text), runs the
// restore's DDL with the session settings it needs, and loads the rows of
// a Parquet data file in one transaction.
package target

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	driver "github.com/go-sql-driver/mysql"
)

// DB is a target server. It is safe for concurrent use.
type DB struct {
	db *sql.DB
}

// Open connects to the server a go-sql-driver DSN names. The DSN's
// database, if any, is not used: every call names its database.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		// The driver's message may quote the DSN, password included.
		return nil, errors.New("restore target: the DSN is malformed")
	}
	cfg = cfg.Clone()
	cfg.InterpolateParams = false
	cfg.ParseTime = false
	cfg.MultiStatements = false
	cfg.DBName = ""
	if err := cfg.Apply(driver.Charset("utf8mb4", "")); err != nil {
		return nil, fmt.Errorf("restore target: %w", err)
	}
	conn, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("restore target: %w", err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("restore target: connect: %w", err)
	}
	return &DB{db: db}, nil
}

// Close releases the connection pool.
func (t *DB) Close() error { return t.db.Close() }

// QuoteIdent quotes an identifier with backticks, doubling any backtick
// inside it.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// Qualified is `db`.`name`.
func Qualified(db, name string) string { return QuoteIdent(db) + "." + QuoteIdent(name) }

// sessionSettings make DDL replay and loading exact: UTC for TIMESTAMP
// values, no foreign key checks (tables are loaded in any order and the
// data comes from one snapshot), no automatic value for a loaded 0 in an
// AUTO_INCREMENT column, and zero dates allowed as the source had them.
var sessionSettings = []string{
	"SET SESSION time_zone = '+00:00'",
	"SET SESSION foreign_key_checks = 0",
	"SET SESSION unique_checks = 0",
	// Strict, so a value the recreated column cannot hold fails the load
	// instead of being truncated; zero dates stay allowed.
	"SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
	"SET NAMES utf8mb4",
}

// Session is one connection with the restore's session settings.
type Session struct {
	conn   *sql.Conn
	method LoadMethod
}

// Session opens a connection with the restore's session settings; the
// caller must Close it.
func (t *DB) Session(ctx context.Context) (*Session, error) {
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("restore target: %w", err)
	}
	for _, s := range sessionSettings {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			return nil, fmt.Errorf("restore target: %s: %w", s, err)
		}
	}
	return &Session{conn: conn}, nil
}

// Close returns the connection to the pool.
func (s *Session) Close() error { return s.conn.Close() }

// Exec runs statements in order, stopping at the first error.
func (s *Session) Exec(ctx context.Context, stmts ...string) error {
	for _, q := range stmts {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", clipSQL(q), err)
		}
	}
	return nil
}

// Use makes db the session's current database (unqualified names in
// foreign key clauses and routine bodies resolve against it).
func (s *Session) Use(ctx context.Context, db string) error {
	return s.Exec(ctx, "USE "+QuoteIdent(db))
}

// reSQLMode is what a recorded sql_mode may hold before it becomes SQL.
var reSQLMode = regexp.MustCompile(`^[A-Z_,]*$`)

// ExecWithSQLMode runs stmt with the session's sql_mode set to mode (the
// one an object was created with, so it is created with it again), then
// puts the restore's own back.
func (s *Session) ExecWithSQLMode(ctx context.Context, mode, stmt string) error {
	if !reSQLMode.MatchString(mode) {
		return fmt.Errorf("restore target: unexpected sql_mode %q", mode)
	}
	if err := s.Exec(ctx, "SET SESSION sql_mode = '"+mode+"'"); err != nil {
		return err
	}
	err := s.Exec(ctx, stmt)
	if rerr := s.Exec(context.WithoutCancel(ctx), sessionSettings[3]); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// Exec runs statements on one session.
func (t *DB) Exec(ctx context.Context, stmts ...string) error {
	s, err := t.Session(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Exec(ctx, stmts...)
}

// clipSQL shortens a statement for an error message.
func clipSQL(q string) string {
	if len(q) > 200 {
		return q[:200] + "…"
	}
	return q
}

// MaxConnections is the server's connection limit (max_connections).
func (t *DB) MaxConnections(ctx context.Context) (int, error) {
	var n int
	if err := t.db.QueryRowContext(ctx, "SELECT @@max_connections").Scan(&n); err != nil {
		return 0, fmt.Errorf("restore target: read max_connections: %w", err)
	}
	return n, nil
}

// DatabaseExists reports whether the database exists.
func (t *DB) DatabaseExists(ctx context.Context, db string) (bool, error) {
	var n int
	err := t.db.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE BINARY SCHEMA_NAME = ?", db).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("restore target: look up database %s: %w", db, err)
	}
	return n > 0, nil
}

// Tables lists the base tables and views of db whose names start with
// prefix.
func (t *DB) Tables(ctx context.Context, db, prefix string) ([]string, error) {
	rows, err := t.db.QueryContext(ctx,
		"SELECT TABLE_NAME FROM information_schema.TABLES WHERE "+exact("TABLE_SCHEMA")+" AND BINARY LEFT(TABLE_NAME, ?) = ? ORDER BY TABLE_NAME",
		db, db, len([]rune(prefix)), prefix)
	if err != nil {
		return nil, fmt.Errorf("restore target: list tables of %s: %w", db, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ShowCreate returns SHOW CREATE <kind> output (kind VIEW, FUNCTION or
// PROCEDURE); ok is false when the object does not exist.
func (t *DB) ShowCreate(ctx context.Context, kind, db, name string) (ddl string, ok bool, err error) {
	rows, err := t.db.QueryContext(ctx, "SHOW CREATE "+kind+" "+Qualified(db, name))
	if err != nil {
		var me *driver.MySQLError
		if errors.As(err, &me) && (me.Number == 1146 || me.Number == 1305 || me.Number == 1049 || me.Number == 1360 || me.Number == 1539) {
			return "", false, nil // no such table, routine, database, trigger or event
		}
		return "", false, fmt.Errorf("restore target: show create %s %s: %w", kind, name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", false, err
	}
	if !rows.Next() {
		return "", false, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return "", false, err
	}
	// The statement's column: "Create View", "Create Function", …, and a
	// trigger's "SQL Original Statement".
	idx := -1
	for i, c := range cols {
		if strings.EqualFold(c, "Create "+kind) || kind == "TRIGGER" && c == "SQL Original Statement" {
			idx = i
		}
	}
	if idx < 0 {
		return "", false, fmt.Errorf("restore target: SHOW CREATE %s %s: no statement column in %v", kind, name, cols)
	}
	if !vals[idx].Valid {
		return "", false, fmt.Errorf("restore target: SHOW CREATE %s %s: no definition (missing privilege?)", kind, name)
	}
	return vals[idx].String, true, rows.Err()
}
