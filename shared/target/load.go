package target

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
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

// LoadMethod is how Session.Load sends rows to the server.
type LoadMethod string

// Load methods. LoadAuto (the zero value) uses LOAD DATA LOCAL INFILE when
// the server allows it (@@local_infile) and multi-row INSERTs otherwise.
const (
	LoadAuto      LoadMethod = ""
	LoadLocalData LoadMethod = "load-data"
	LoadInsert    LoadMethod = "insert"
)

// SetLoadMethod fixes how Load sends rows (LoadAuto by default). Forcing
// LoadLocalData on a server with local_infile off makes Load fail.
func (s *Session) SetLoadMethod(m LoadMethod) { s.method = m }

// LoadMethod resolves LoadAuto for this session's server: LoadLocalData
// when @@local_infile is on, else LoadInsert.
func (s *Session) LoadMethod(ctx context.Context) (LoadMethod, error) {
	if s.method != LoadAuto {
		return s.method, nil
	}
	var on int
	if err := s.conn.QueryRowContext(ctx, "SELECT @@local_infile").Scan(&on); err != nil {
		return "", fmt.Errorf("restore target: read @@local_infile: %w", err)
	}
	s.method = LoadInsert
	if on != 0 {
		s.method = LoadLocalData
	}
	return s.method, nil
}

// Load copies the rows of f into db.table in one transaction, together with
// the journal row ("file", key) that marks the file loaded. A file already
// marked is skipped (loaded is false), so a retried batch loads no row
// twice. Generated columns are left to the server. The rows travel as
// LOAD DATA LOCAL INFILE or as INSERTs (see LoadMethod); either way the
// journal row commits with them or not at all.
func (s *Session) Load(ctx context.Context, db, table, journal, key string, f *parquetio.File) (rows int64, loaded bool, err error) {
	method, err := s.LoadMethod(ctx)
	if err != nil {
		return 0, false, err
	}
	specs := f.Specs()
	var use []int
	for i, sp := range specs {
		if !sp.Generated {
			use = append(use, i)
		}
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
	if method == LoadLocalData {
		rows, err = s.loadData(ctx, Qualified(db, table), specs, use, f)
	} else {
		rows, err = s.insert(ctx, Qualified(db, table), specs, use, f)
	}
	if err != nil {
		return 0, false, fmt.Errorf("restore target: load into %s: %w", table, err)
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

// insert sends the rows as multi-row INSERTs of hex literals, each under
// maxInsertBytes.
func (s *Session) insert(ctx context.Context, qualified string, specs []parquetio.ColumnSpec, use []int, f *parquetio.File) (rows int64, err error) {
	cols := make([]string, len(use))
	for j, i := range use {
		cols[j] = QuoteIdent(specs[i].Name)
	}
	head := "INSERT INTO " + qualified + " (" + strings.Join(cols, ", ") + ") VALUES "
	var stmt strings.Builder
	flush := func() error {
		if stmt.Len() == 0 {
			return nil
		}
		_, err := s.conn.ExecContext(ctx, stmt.String())
		stmt = strings.Builder{} // the string is the driver's now; no reuse
		return err
	}
	err = f.Rows(func(vals [][]byte) error {
		if stmt.Len() == 0 {
			// One allocation per statement instead of regrowing: a row
			// may push it past the bound, so leave room for one.
			stmt.Grow(maxInsertBytes + maxInsertBytes/4)
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
	return rows, err
}

// errLoadStopped ends the row stream when the server stopped reading.
var errLoadStopped = errors.New("load stopped")

// loadData streams the rows to the server as LOAD DATA LOCAL INFILE text
// through the driver's reader handler: decoding and sending overlap, and
// nothing but a small buffer is held. LOCAL makes the server turn data
// errors into warnings (it cannot stop the client mid-file), so any
// warning, or a row count other than the rows sent, fails the load, as a
// strict INSERT would.
func (s *Session) loadData(ctx context.Context, qualified string, specs []parquetio.ColumnSpec, use []int, f *parquetio.File) (rows int64, err error) {
	var suffix [12]byte
	_, _ = rand.Read(suffix[:])
	handler := "srbackup-restore-" + hex.EncodeToString(suffix[:])
	pr, pw := io.Pipe()
	driver.RegisterReaderHandler(handler, func() io.Reader { return pr })
	defer driver.DeregisterReaderHandler(handler)

	produced := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(pw, 256<<10)
		err := f.Rows(func(vals [][]byte) error {
			b := w.AvailableBuffer()
			for j, i := range use {
				if j > 0 {
					b = append(b, '\t')
				}
				var err error
				if b, err = appendField(b, specs[i].Kind, vals[i]); err != nil {
					return fmt.Errorf("column %s: %w", specs[i].Name, err)
				}
			}
			b = append(b, '\n')
			rows++
			_, err := w.Write(b)
			return err
		})
		if err == nil {
			err = w.Flush()
		}
		pw.CloseWithError(err) // nil closes with io.EOF
		produced <- err
	}()
	res, err := s.conn.ExecContext(ctx, loadDataSQL(handler, qualified, specs, use))
	pr.CloseWithError(errLoadStopped) // unblocks the producer if the server stopped early
	perr := <-produced
	if perr != nil && !errors.Is(perr, errLoadStopped) && !errors.Is(perr, io.ErrClosedPipe) {
		return 0, perr
	}
	if err != nil {
		return 0, err
	}
	var warnings int64
	if err := s.conn.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&warnings); err != nil {
		return 0, fmt.Errorf("read warnings: %w", err)
	}
	if warnings > 0 {
		var level, msg string
		var code int // level is Note, Warning or Error: all fail the load
		if err := s.conn.QueryRowContext(ctx, "SHOW WARNINGS LIMIT 1").Scan(&level, &code, &msg); err != nil {
			return 0, fmt.Errorf("LOAD DATA gave %d warnings", warnings)
		}
		// As the server's error, so it is handled as the strict INSERT's.
		return 0, &driver.MySQLError{Number: uint16(code), Message: fmt.Sprintf("%s (the first of %d LOAD DATA warnings)", msg, warnings)}
	}
	if got, err := res.RowsAffected(); err != nil || got != rows {
		return 0, fmt.Errorf("LOAD DATA loaded %d of %d rows (%v)", got, rows, err)
	}
	return rows, nil
}

// loadDataSQL is the LOAD DATA statement for the columns use of specs. The
// stream is utf8mb4 text, so the server converts text to each column's
// character set; bytes, BIT and GEOMETRY travel as hex into a variable and
// are UNHEXed, since their raw bytes need not be valid utf8mb4.
func loadDataSQL(handler, qualified string, specs []parquetio.ColumnSpec, use []int) string {
	var b strings.Builder
	b.WriteString("LOAD DATA LOCAL INFILE 'Reader::" + handler + "' INTO TABLE " + qualified +
		" CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\'" +
		" LINES STARTING BY '' TERMINATED BY '\\n' (")
	var set []string
	for j, i := range use {
		if j > 0 {
			b.WriteString(", ")
		}
		if hexField(specs[i].Kind) {
			v := "@v" + strconv.Itoa(j)
			b.WriteString(v)
			set = append(set, QuoteIdent(specs[i].Name)+" = UNHEX("+v+")")
			continue
		}
		b.WriteString(QuoteIdent(specs[i].Name))
	}
	b.WriteString(")")
	if len(set) > 0 {
		b.WriteString(" SET " + strings.Join(set, ", "))
	}
	return b.String()
}

// hexField reports the kinds that LOAD DATA receives as hex.
func hexField(k source.Kind) bool {
	return k == source.KindBit || k == source.KindBytes || k == source.KindGeometry
}

// appendField appends one canonical value as a LOAD DATA field: \N for
// NULL, numbers as they are after checking they are numbers, bytes, BIT
// and GEOMETRY as hex, and all other text with the field and line
// terminators, the escape character and NUL escaped.
func appendField(b []byte, kind source.Kind, v []byte) ([]byte, error) {
	if v == nil {
		return append(b, '\\', 'N'), nil
	}
	switch kind {
	case source.KindInt, source.KindUint, source.KindDecimal, source.KindFloat, source.KindDouble, source.KindYear:
		if err := checkNumber(kind, v); err != nil {
			return b, err
		}
		return append(b, v...), nil
	case source.KindBit, source.KindBytes, source.KindGeometry:
		return hex.AppendEncode(b, v), nil
	}
	for len(v) > 0 {
		// Copy the run of bytes that need no escape at once.
		k := 0
		for k < len(v) && !needsEscape(v[k]) {
			k++
		}
		b = append(b, v[:k]...)
		if k == len(v) {
			break
		}
		switch c := v[k]; c {
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0:
			b = append(b, '\\', '0')
		default:
			b = append(b, '\\', c)
		}
		v = v[k+1:]
	}
	return b, nil
}

func needsEscape(c byte) bool { return c == '\\' || c == '\t' || c == '\n' || c == '\r' || c == 0 }

// checkNumber accepts only what a number's canonical text can hold.
func checkNumber(kind source.Kind, v []byte) error {
	if len(v) == 0 {
		return fmt.Errorf("empty %s value", kind)
	}
	for _, c := range v {
		if !('0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return fmt.Errorf("%s value %.40q is not a number", kind, v)
		}
	}
	return nil
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
		if err := checkNumber(kind, v); err != nil {
			return err
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
