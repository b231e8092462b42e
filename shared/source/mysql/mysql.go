// Package mysql is the source.Source of MariaDB and MySQL servers.
//
// Every connection is set up for exact reads: character set utf8mb4 (so
// text of any character set arrives as UTF-8), time zone +00:00 (so
// TIMESTAMP values are UTC), the text protocol with no client-side
// interpolation, and quoted identifiers in SHOW CREATE output.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/shared/source"
)

// netWriteTimeout is how long the server waits for the reader to take more
// rows before it drops the connection. The reader may pause while a
// multipart upload part is sent, so the server default of 60 s is raised.
const netWriteTimeout = 10 * time.Minute

// Source reads one MariaDB or MySQL server. It is safe for concurrent use.
type Source struct {
	db      *sql.DB
	version string
	mariadb bool
	// maxConnections is the server's max_connections.
	maxConnections int
	// exactNames is true when the server compares table and database names
	// case-sensitively (lower_case_table_names = 0), so catalog lookups
	// must too, although information_schema compares case-insensitively.
	exactNames bool

	// keyMu guards keyCache, the last table planned (see tableKey).
	keyMu    sync.Mutex
	keyCache *tableKeyCache
}

var _ source.Source = (*Source)(nil)

// Open connects to the server a go-sql-driver DSN names and checks it
// answers. The DSN's database, if any, is not used: every call names its
// database.
func Open(ctx context.Context, dsn string) (*Source, error) {
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		// The driver's message may quote the DSN, password included.
		return nil, errors.New("mysql source: the DSN is malformed")
	}
	return OpenConfig(ctx, cfg)
}

// Timeouts on the connection to the source, unless the DSN sets its own: a
// server that stops answering fails the step (which the state machine
// retries) instead of holding a Lambda until its own timeout.
const (
	dialTimeout = 10 * time.Second
	// readTimeout bounds one read from the server: past net_write_timeout
	// the server has given up sending anyway.
	readTimeout  = netWriteTimeout + time.Minute
	writeTimeout = time.Minute
)

// OpenConfig is Open for a parsed configuration, which it copies and then
// adjusts for exact reads.
func OpenConfig(ctx context.Context, cfg *driver.Config) (*Source, error) {
	cfg = cfg.Clone()
	setTimeouts(cfg)
	bufferedDial(cfg)
	cfg.InterpolateParams = false
	cfg.ParseTime = false
	cfg.MultiStatements = false
	if err := cfg.Apply(driver.Charset("utf8mb4", "")); err != nil {
		return nil, fmt.Errorf("mysql source: %w", err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_quote_show_create"] = "1"
	cfg.Params["net_write_timeout"] = fmt.Sprint(int(netWriteTimeout.Seconds()))
	conn, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql source: %w", err)
	}
	s := &Source{db: sql.OpenDB(conn)}
	var lctn int
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION(), @@lower_case_table_names, @@max_connections").Scan(&s.version, &lctn, &s.maxConnections); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("mysql source: connect to %s: %w", cfg.Addr, err)
	}
	s.mariadb = strings.Contains(strings.ToLower(s.version), "mariadb")
	s.exactNames = lctn == 0
	return s, nil
}

// setTimeouts gives cfg the default dial, read and write timeouts where it
// has none.
func setTimeouts(cfg *driver.Config) {
	for _, t := range []struct {
		d   *time.Duration
		def time.Duration
	}{{&cfg.Timeout, dialTimeout}, {&cfg.ReadTimeout, readTimeout}, {&cfg.WriteTimeout, writeTimeout}} {
		if *t.d == 0 {
			*t.d = t.def
		}
	}
}

// Close closes the connection pool.
func (s *Source) Close() error { return s.db.Close() }

// Features reports that MariaDB and MySQL have neither materialized views
// nor external catalogs.
func (s *Source) Features() source.Features {
	return source.Features{Dialect: source.DialectMySQL, FoldedNames: !s.exactNames, MaxConnections: s.maxConnections}
}

// Version returns the server's version string.
func (s *Source) Version(ctx context.Context) (string, error) { return s.version, nil }

// product names the server for messages.
func (s *Source) product() string {
	if s.mariadb {
		return "MariaDB"
	}
	return "MySQL"
}

// MaterializedViews always fails: MariaDB and MySQL have none.
func (s *Source) MaterializedViews(ctx context.Context, db string) ([]string, error) {
	return nil, fmt.Errorf("the source database (%s %s) has no materialized views: %w", s.product(), s.version, source.ErrUnsupported)
}

// ExternalCatalogs always fails: MariaDB and MySQL have none.
func (s *Source) ExternalCatalogs(ctx context.Context) ([]string, error) {
	return nil, fmt.Errorf("the source database (%s %s) has no external catalogs: %w", s.product(), s.version, source.ErrUnsupported)
}

// DatabaseExists reports whether database db exists.
func (s *Source) DatabaseExists(ctx context.Context, db string) (bool, error) {
	if err := checkIdent("database", db); err != nil {
		return false, err
	}
	var n int
	err := s.db.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?"+s.exact("SCHEMA_NAME"),
		s.exactArgs(db)...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up database %s: %w", quoteIdent(db), err)
	}
	return n > 0, nil
}

// exact returns extra conditions that make information_schema's
// case-insensitive name comparisons exact when the server's names are
// case-sensitive. The plain equality is kept because the server only
// narrows its information_schema scan on it.
func (s *Source) exact(columns ...string) string {
	if !s.exactNames {
		return ""
	}
	var b strings.Builder
	for _, c := range columns {
		b.WriteString(" AND BINARY " + c + " = BINARY ?")
	}
	return b.String()
}

// exactArgs returns the arguments for a query with len(names) equality
// conditions followed by s.exact of the same columns.
func (s *Source) exactArgs(names ...string) []any {
	args := make([]any, 0, 2*len(names))
	for _, n := range names {
		args = append(args, n)
	}
	if s.exactNames {
		for _, n := range names {
			args = append(args, n)
		}
	}
	return args
}
