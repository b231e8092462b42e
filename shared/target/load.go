package target

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	driver "github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/source"
)

// maxInsertBytes bounds one multi-row INSERT statement, well under the
// server's max_allowed_packet (16 MiB by default on MariaDB 10.11).
const maxInsertBytes = 1 << 20

// Journal is a RESTORE job's bookkeeping table in the target database. It
// records, in the same transactions as the work, which data files are
// loaded, and what COMMITTING replaced, so a retried step never loads a
// file twice and cleanup can put everything back. It is InnoDB, whatever
// the restored tables' engines.
func JournalDDL(db, name string) string {
	return "CREATE TABLE IF NOT EXISTS " + Qualified(db, name) + ` (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind VARCHAR(16) CHARACTER SET ascii NOT NULL,
  name VARCHAR(700) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  data LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  UNIQUE KEY kind_name (kind, name)
) ENGINE=InnoDB`
}

// JournalEntry is one row of a journal.
type JournalEntry struct {
	Seq  int64
	Kind string
	Name string
	Data *string
}

// Journal reads a journal's rows of the given kinds in order ("" for all).
func (t *DB) Journal(ctx context.Context, db, journal string, kinds ...string) ([]JournalEntry, error) {
	q := "SELECT seq, kind, name, data FROM " + Qualified(db, journal)
	var args []any
	if len(kinds) > 0 {
		q += " WHERE kind IN (?" + strings.Repeat(", ?", len(kinds)-1) + ")"
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	rows, err := t.db.QueryContext(ctx, q+" ORDER BY seq", args...)
	if err != nil {
		return nil, fmt.Errorf("restore target: read journal %s.%s: %w", db, journal, err)
	}
	defer rows.Close()
	var out []JournalEntry
	for rows.Next() {
		var e JournalEntry
		var data sql.NullString
		if err := rows.Scan(&e.Seq, &e.Kind, &e.Name, &data); err != nil {
			return nil, err
		}
		if data.Valid {
			e.Data = &data.String
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Record adds a journal row, replacing one of the same kind and name.
func (s *Session) Record(ctx context.Context, db, journal, kind, name string, data *string) error {
	_, err := s.conn.ExecContext(ctx, "REPLACE INTO "+Qualified(db, journal)+" (kind, name, data) VALUES (?, ?, ?)", kind, name, data)
	if err != nil {
		return fmt.Errorf("restore target: journal %s %s: %w", kind, name, err)
	}
	return nil
}

// Begin, Commit and Rollback run a transaction on the session.
func (s *Session) Begin(ctx context.Context) error { return s.Exec(ctx, "START TRANSACTION") }

// Commit commits the session's transaction.
func (s *Session) Commit(ctx context.Context) error { return s.Exec(ctx, "COMMIT") }

// Rollback rolls the session's transaction back.
func (s *Session) Rollback(ctx context.Context) error { return s.Exec(ctx, "ROLLBACK") }

// Load copies the rows of f into db.table in one transaction, together with
// the journal row ("file", key) that marks the file loaded. A file already
// marked is skipped (loaded is false), so a retried batch loads no row
// twice. Generated columns are left to the server.
func (s *Session) Load(ctx context.Context, db, table, journal, key string, f *parquetio.File) (rows int64, loaded bool, err error) {
	specs := f.Specs()
	var cols []string
	var use []int
	for i, sp := range specs {
		if sp.Generated {
			continue
		}
		cols = append(cols, QuoteIdent(sp.Name))
		use = append(use, i)
	}
	if err := s.Begin(ctx); err != nil {
		return 0, false, err
	}
	done := false
	defer func() {
		if !done {
			_ = s.Rollback(context.WithoutCancel(ctx))
		}
	}()
	// A plain read: a locking one would take gap locks that deadlock the
	// concurrent loads; the unique key catches a racing attempt at the end.
	var n int
	if err := s.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+Qualified(db, journal)+" WHERE kind = 'file' AND name = ?", key).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("restore target: journal: %w", err)
	}
	if n > 0 {
		return 0, false, nil
	}
	head := "INSERT INTO " + Qualified(db, table) + " (" + strings.Join(cols, ", ") + ") VALUES "
	var stmt strings.Builder
	flush := func() error {
		if stmt.Len() == 0 {
			return nil
		}
		_, err := s.conn.ExecContext(ctx, stmt.String())
		stmt.Reset()
		if err != nil {
			return fmt.Errorf("restore target: insert into %s: %w", table, err)
		}
		return nil
	}
	err = f.Rows(func(vals [][]byte) error {
		if stmt.Len() == 0 {
			stmt.WriteString(head)
		} else {
			stmt.WriteByte(',')
		}
		stmt.WriteByte('(')
		for j, i := range use {
			if j > 0 {
				stmt.WriteByte(',')
			}
			if err := writeLiteral(&stmt, specs[i].Kind, vals[i]); err != nil {
				return fmt.Errorf("column %s: %w", specs[i].Name, err)
			}
		}
		stmt.WriteByte(')')
		rows++
		if stmt.Len() >= maxInsertBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return 0, false, err
	}
	if _, err := s.conn.ExecContext(ctx, "INSERT INTO "+Qualified(db, journal)+" (kind, name) VALUES ('file', ?)", key); err != nil {
		var me *driver.MySQLError
		if errors.As(err, &me) && me.Number == 1062 {
			return 0, false, nil // loaded meanwhile by another attempt
		}
		return 0, false, fmt.Errorf("restore target: journal: %w", err)
	}
	if err := s.Commit(ctx); err != nil {
		return 0, false, err
	}
	done = true
	return rows, true, nil
}

// writeLiteral writes one canonical value (source.Kind's text form) as a
// SQL literal that the server reads back as the same value. Only numbers
// are written as they are, after checking they are numbers; everything
// else is a hex literal, so no value can change the statement.
func writeLiteral(b *strings.Builder, kind source.Kind, v []byte) error {
	if v == nil {
		b.WriteString("NULL")
		return nil
	}
	switch kind {
	case source.KindInt, source.KindUint, source.KindDecimal, source.KindFloat, source.KindDouble, source.KindYear:
		if len(v) == 0 {
			return fmt.Errorf("empty %s value", kind)
		}
		for _, c := range v {
			if !('0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
				return fmt.Errorf("%s value %.40q is not a number", kind, v)
			}
		}
		b.Write(v)
		return nil
	case source.KindBit, source.KindBytes, source.KindGeometry:
		// The bytes as they are: BIT's big-endian bits, GEOMETRY's internal
		// SRID + WKB form, which the server accepts as a binary string.
		b.WriteString("X'")
	default:
		// Text in UTF-8, converted by the server to the column's charset.
		b.WriteString("_utf8mb4 X'")
	}
	var buf [256]byte
	for len(v) > 0 {
		n := min(len(v), len(buf)/2)
		hex.Encode(buf[:], v[:n])
		b.Write(buf[:2*n])
		v = v[n:]
	}
	b.WriteByte('\'')
	return nil
}
