package mysql

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/shared/source"
)

var _ source.PointInTime = (*Source)(nil)

// Server error numbers that mean a way of holding commits is not permitted
// here: try the next one.
const (
	errDBAccessDenied  = 1044 // ER_DBACCESS_DENIED_ERROR
	errAccessDenied    = 1045 // ER_ACCESS_DENIED_ERROR (RDS answers FTWRL with it)
	errTableAccess     = 1142 // ER_TABLEACCESS_DENIED_ERROR
	errSpecificAccess  = 1227 // ER_SPECIFIC_ACCESS_DENIED_ERROR: needs RELOAD
	errParse           = 1064 // ER_PARSE_ERROR: no BACKUP STAGE on MySQL
	errNotSupportedYet = 1235 // ER_NOT_SUPPORTED_YET
	errLockWaitTimeout = 1205 // ER_LOCK_WAIT_TIMEOUT
)

// sqlErrBadConn keeps a connection out of the pool when returned from Raw.
var sqlErrBadConn = sqldriver.ErrBadConn

func mysqlErrno(err error) uint16 {
	var me *driver.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// refused reports whether err means the method is not permitted (privilege
// or syntax), so the next one should be tried.
func refused(err error) bool {
	switch mysqlErrno(err) {
	case errDBAccessDenied, errAccessDenied, errTableAccess, errSpecificAccess, errParse, errNotSupportedYet:
		return true
	}
	return false
}

// HoldCommits blocks commits with the first method the server permits:
// BACKUP STAGE BLOCK_COMMIT (MariaDB), FLUSH TABLES WITH READ LOCK, then
// LOCK TABLES … READ on o.Tables. A lock wait beyond o.Wait ends it with an
// error wrapping source.ErrHoldTimeout; no other method is tried then,
// since they would wait for the same thing.
func (s *Source) HoldCommits(ctx context.Context, o source.HoldOptions) (source.Hold, error) {
	var methods []string
	if s.mariadb {
		methods = append(methods, source.HoldBackupStage)
	}
	methods = append(methods, source.HoldFTWRL)
	if len(o.Tables) > 0 {
		methods = append(methods, source.HoldLockTables)
	}
	var why []string
	for _, m := range methods {
		h, err := s.hold(ctx, m, o)
		if err == nil {
			return h, nil
		}
		if mysqlErrno(err) == errLockWaitTimeout {
			return nil, fmt.Errorf("hold commits with %s: %w within %s (%v)", m, source.ErrHoldTimeout, o.Wait, err)
		}
		if !refused(err) {
			return nil, fmt.Errorf("hold commits with %s: %w", m, err)
		}
		why = append(why, fmt.Sprintf("%s: %v", m, err))
	}
	return nil, fmt.Errorf("hold commits: the source permits no way to (%s)", strings.Join(why, "; "))
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

// hold takes one method's lock on a connection of its own.
func (s *Source) hold(ctx context.Context, method string, o source.HoldOptions) (_ *hold, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	h := &hold{conn: conn, method: method}
	defer func() {
		if err != nil {
			h.discard()
		}
	}()
	setup := []string{"SET SESSION lock_wait_timeout = " + strconv.FormatInt(seconds(o.Wait), 10)}
	if o.MaxIdle > 0 {
		setup = append(setup, "SET SESSION wait_timeout = "+strconv.FormatInt(seconds(o.MaxIdle), 10))
	}
	var lock []string
	switch method {
	case source.HoldBackupStage:
		lock = []string{"BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"}
		h.release = "BACKUP STAGE END"
	case source.HoldFTWRL:
		lock = []string{"FLUSH TABLES WITH READ LOCK"}
		h.release = "UNLOCK TABLES"
	case source.HoldLockTables:
		if err := checkIdent("database", o.Database); err != nil {
			return nil, err
		}
		parts := make([]string, len(o.Tables))
		for i, t := range o.Tables {
			if err := checkIdent("table", t); err != nil {
				return nil, err
			}
			parts[i] = quoteIdent(o.Database) + "." + quoteIdent(t) + " READ"
		}
		lock = []string{"LOCK TABLES " + strings.Join(parts, ", ")}
		h.release = "UNLOCK TABLES"
	default:
		return nil, fmt.Errorf("unknown hold method %q", method)
	}
	for _, stmt := range setup {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for _, stmt := range lock {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return nil, err
		}
	}
	h.waited = time.Since(start)
	if h.pos, err = s.position(ctx, conn); err != nil {
		return nil, err
	}
	return h, nil
}

// position reads the server's time and, with binary logging on, its binlog
// file, offset and GTID position.
func (s *Source) position(ctx context.Context, conn *sql.Conn) (source.Position, error) {
	var p source.Position
	var now string
	var logBin int
	if err := conn.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6), @@log_bin").Scan(&now, &logBin); err != nil {
		return p, fmt.Errorf("read server time: %w", err)
	}
	t, err := parseServerTime(now)
	if err != nil {
		return p, fmt.Errorf("parse server time %q: %w", now, err)
	}
	p.ServerTime, p.Binlog = t, logBin == 1
	if !p.Binlog {
		return p, nil
	}
	var notes []string
	// SHOW MASTER STATUS is gone from MySQL 8.4; SHOW BINARY LOG STATUS is
	// MySQL 8.2+, SHOW BINLOG STATUS MariaDB 10.5.2+.
	for _, stmt := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS", "SHOW BINLOG STATUS"} {
		file, off, ok, err := binlogStatus(ctx, conn, stmt)
		if err != nil {
			notes = append(notes, stmt+": "+err.Error())
			continue
		}
		if ok {
			p.BinlogFile, p.BinlogPosition, notes = file, off, nil
		}
		break
	}
	p.GTIDVariable = "gtid_executed"
	if s.mariadb {
		p.GTIDVariable = "gtid_binlog_pos"
	}
	if err := conn.QueryRowContext(ctx, "SELECT @@"+p.GTIDVariable).Scan(&p.GTID); err != nil {
		notes = append(notes, "@@"+p.GTIDVariable+": "+err.Error())
		p.GTIDVariable = ""
	}
	p.Note = strings.Join(notes, "; ")
	return p, nil
}

// binlogStatus runs a SHOW … STATUS of the binary log and returns its File
// and Position columns; ok is false for an empty answer.
func binlogStatus(ctx context.Context, conn *sql.Conn, stmt string) (file string, off uint64, ok bool, err error) {
	rows, err := conn.QueryContext(ctx, stmt)
	if err != nil {
		return "", 0, false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", 0, false, err
	}
	if !rows.Next() {
		return "", 0, false, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return "", 0, false, err
	}
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "file":
			file = vals[i].String
		case "position":
			if off, err = strconv.ParseUint(vals[i].String, 10, 64); err != nil {
				return "", 0, false, fmt.Errorf("binlog position %q: %w", vals[i].String, err)
			}
		}
	}
	return file, off, file != "", rows.Err()
}

// hold is a held lock on its own connection, which never returns to the pool.
type hold struct {
	conn    *sql.Conn
	method  string
	release string
	waited  time.Duration
	pos     source.Position
}

func (h *hold) Method() string            { return h.method }
func (h *hold) Waited() time.Duration     { return h.waited }
func (h *hold) Position() source.Position { return h.pos }

// Release unlocks on the same connection: if that succeeds, the lock was
// held without a break until now (a lost connection never comes back).
func (h *hold) Release(ctx context.Context) error {
	defer h.discard()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := h.conn.ExecContext(ctx, h.release); err != nil {
		return fmt.Errorf("release %s: the lock may have ended early: %w", h.method, err)
	}
	return nil
}

// discard closes the connection, keeping it out of the pool: its session
// settings were changed, and closing releases any lock still held.
func (h *hold) discard() {
	_ = h.conn.Raw(func(any) error { return sqlErrBadConn })
	_ = h.conn.Close()
}

// OpenSnapshot takes a connection for one reader of a point-in-time job.
func (s *Source) OpenSnapshot(ctx context.Context) (source.Snapshot, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open snapshot connection: %w", err)
	}
	// Check the connection now, so that Begin, inside the window, is only
	// the START TRANSACTION.
	if err := conn.PingContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open snapshot connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open snapshot connection: %w", err)
	}
	return &snapshot{s: s, conn: conn}, nil
}

// snapshot is one reader's consistent-snapshot transaction.
type snapshot struct {
	s      *Source
	conn   *sql.Conn
	begun  bool
	busy   bool // a shard's rows are open
	broken bool // the connection was dropped: the transaction is gone
	closed bool
	// cols are the columns of each table read so far in the transaction,
	// by database and table: its metadata lock is held until the end.
	cols map[[2]string][]source.Column
	// parts are how each grouped table's rows map to its partitions (nil:
	// not groupable), read once the table's metadata lock is held.
	parts map[[2]string]*partitionMap
	// hints are tables' definitions and columns as planned (HintColumns).
	hints map[[2]string]columnsHint
}

// columnsHint is a table's SHOW CREATE TABLE and columns as planned.
type columnsHint struct {
	ddl  string
	cols []source.Column
}

var _ source.ColumnsHinter = (*snapshot)(nil)

// HintColumns gives the definition and columns the plan read for a table:
// its first read in the snapshot uses the columns when SHOW CREATE TABLE,
// under the table's metadata lock, is still that definition. Two
// information_schema lookups of the columns cost MariaDB milliseconds a
// table; SHOW CREATE TABLE a tenth of one.
func (sn *snapshot) HintColumns(db, table, ddl string, cols []source.Column) {
	if sn.hints == nil {
		sn.hints = map[[2]string]columnsHint{}
	}
	sn.hints[[2]string{db, table}] = columnsHint{ddl: ddl, cols: cols}
}

// reAutoIncrement is the table option that SHOW CREATE TABLE prints with
// the next AUTO_INCREMENT value, which rows inserted since planning move.
var reAutoIncrement = regexp.MustCompile(` AUTO_INCREMENT=[0-9]+`)

// tableColumns returns the columns of sh's table in the transaction: read
// once, after its metadata lock is taken, from the hint when the table is
// still as planned.
func (sn *snapshot) tableColumns(ctx context.Context, sh source.Shard) ([]source.Column, error) {
	tbl := [2]string{sh.Database, sh.Table}
	if cols := sn.cols[tbl]; cols != nil {
		return cols, nil
	}
	if err := lockTable(ctx, sn.conn, sh); err != nil {
		return nil, err
	}
	var cols []source.Column
	if h, ok := sn.hints[tbl]; ok {
		res, err := showCreate(ctx, sn.conn, "TABLE", sh.Database, sh.Table)
		if err != nil {
			return nil, err
		}
		if reAutoIncrement.ReplaceAllString(res["Create Table"].String, "") == reAutoIncrement.ReplaceAllString(h.ddl, "") {
			cols = slices.Clone(h.cols)
		}
	}
	if cols == nil {
		var err error
		if cols, err = columns(ctx, sn.conn, sn.s, sh.Database, sh.Table); err != nil {
			return nil, err
		}
	}
	if sn.cols == nil {
		sn.cols = map[[2]string][]source.Column{}
	}
	sn.cols[tbl] = cols
	return cols, nil
}

// Begin starts the transaction; on MariaDB with binary logging it also
// reads the binlog position the snapshot corresponds to
// (Binlog_snapshot_file and Binlog_snapshot_position).
func (sn *snapshot) Begin(ctx context.Context) (source.Position, error) {
	var p source.Position
	if sn.begun || sn.closed {
		return p, errors.New("snapshot already begun")
	}
	if _, err := sn.conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		sn.broken = true
		return p, fmt.Errorf("start snapshot: %w", err)
	}
	sn.begun = true
	var now string
	var logBin int
	if err := sn.conn.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6), @@log_bin").Scan(&now, &logBin); err != nil {
		return p, fmt.Errorf("read snapshot time: %w", err)
	}
	t, err := parseServerTime(now)
	if err != nil {
		return p, fmt.Errorf("parse snapshot time %q: %w", now, err)
	}
	p.ServerTime, p.Binlog = t, logBin == 1
	if !p.Binlog || !sn.s.mariadb {
		return p, nil
	}
	rows, err := sn.conn.QueryContext(ctx, "SHOW STATUS LIKE 'binlog\\_snapshot\\_%'")
	if err != nil {
		return p, fmt.Errorf("read snapshot binlog position: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, val string
		if err := rows.Scan(&name, &val); err != nil {
			return p, fmt.Errorf("read snapshot binlog position: %w", err)
		}
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			p.BinlogFile = val
		case "binlog_snapshot_position":
			if p.BinlogPosition, err = strconv.ParseUint(val, 10, 64); err != nil {
				return p, fmt.Errorf("snapshot binlog position %q: %w", val, err)
			}
		}
	}
	return p, rows.Err()
}

// OpenShard reads one shard inside the snapshot's transaction.
func (sn *snapshot) OpenShard(ctx context.Context, sh source.Shard) (rows source.Rows, err error) {
	from, err := checkShard(sh)
	if err != nil {
		return nil, err
	}
	switch {
	case !sn.begun:
		return nil, errors.New("read shard: the snapshot has not begun")
	case sn.broken || sn.closed:
		return nil, fmt.Errorf("read shard %d of %s: the snapshot's transaction has ended", sh.Index, from)
	case sn.busy:
		return nil, fmt.Errorf("read shard %d of %s: the previous shard's rows are still open", sh.Index, from)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &shardRows{conn: sn.conn, cancel: cancel, snap: sn}
	sn.busy = true
	defer func() {
		if err != nil {
			r.abort()
			err = fmt.Errorf("read shard %d of %s: %w", sh.Index, from, err)
		}
	}()
	cols, err := sn.tableColumns(ctx, sh)
	if err != nil {
		return nil, err
	}
	if err := sn.s.query(ctx, sn.conn, sh, r, cols); err != nil {
		return nil, err
	}
	return r, nil
}

// Close commits the read-only transaction and returns the connection to
// the pool, or drops a connection whose transaction broke.
func (sn *snapshot) Close() error {
	if sn.closed {
		return nil
	}
	sn.closed = true
	if sn.broken || sn.busy {
		_ = sn.conn.Raw(func(any) error { return sqlErrBadConn })
		_ = sn.conn.Close()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if sn.begun {
		if _, err := sn.conn.ExecContext(ctx, "COMMIT"); err != nil {
			_ = sn.conn.Raw(func(any) error { return sqlErrBadConn })
			_ = sn.conn.Close()
			return fmt.Errorf("commit snapshot: %w", err)
		}
	}
	return sn.conn.Close()
}
