// Package mariadb starts throwaway MariaDB servers for tests, the demo and
// the benchmarks.
//
// Start initializes a data directory with mariadb-install-db (once per
// MariaDB version; later starts copy a cached template), then runs mariadbd
// with --no-defaults, so no /etc/mysql configuration is read, on 127.0.0.1
// and a free port, with its datadir, socket, pid file and logs in a fresh
// temporary folder. Privileges are real (no --skip-grant-tables): root has
// no password and may connect over TCP.
//
// Close stops the server (SIGTERM to its process group, SIGKILL after a
// grace period) and removes the folder. If the parent process dies without
// calling Close, Linux's parent-death signal (SysProcAttr.Pdeathsig) kills
// mariadbd, and the next Start removes the orphaned folder.
//
// Tests get their server through package mariadbtest (ForTest, Shared), which
// also honours SRBACKUP_TEST_MYSQL_DSN; this package does not import testing.
package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ErrNotInstalled is wrapped by Start's error when the MariaDB server
// binaries cannot be found.
var ErrNotInstalled = errors.New("MariaDB server binaries not installed (install them with `apt-get install mariadb-server`)")

// Options configure a throwaway server. The zero value is ready to use.
type Options struct {
	// BufferPoolSize is innodb_buffer_pool_size in bytes. Zero means
	// 128 MiB, enough for tests; benchmarks raise it.
	BufferPoolSize int64
	// RedoLogSize is innodb_log_file_size in bytes. Zero means 64 MiB;
	// bulk loads of gigabytes run faster with 256 MiB or more.
	RedoLogSize int64
	// ExtraArgs are appended to mariadbd's command line, e.g.
	// "--max-connections=1000".
	ExtraArgs []string

	// Mariadbd and InstallDB are the binaries. Empty means looking them up
	// in PATH, then in /usr/sbin, /usr/bin, /usr/local/sbin, /usr/local/bin
	// and /usr/libexec.
	Mariadbd  string
	InstallDB string
	// CacheDir holds initialized data directory templates. Empty means
	// os.UserCacheDir()/srbackup, or a folder under TempDir without a home.
	CacheDir string
	// TempDir is where the server's folder is created. Empty means
	// os.TempDir(). Keep it short: the socket path must fit in 107 bytes.
	TempDir string

	// StartTimeout bounds the wait for the server to accept connections.
	// Zero means 60 s.
	StartTimeout time.Duration
	// StopTimeout is how long Close waits after SIGTERM before SIGKILL.
	// Zero means 10 s.
	StopTimeout time.Duration
	// Logger receives start and stop events. Nil discards them.
	Logger *slog.Logger

	runAsRoot bool // mariadbd refuses to run as root without --user=root
}

// Server is a running MariaDB server: a throwaway one from Start, or an
// existing one wrapped by Existing.
type Server struct {
	cfg     *mysql.Config // root over TCP, no database
	dir     string        // the server's folder; empty for an existing server
	proc    *process      // nil for an existing server
	stopTO  time.Duration
	log     *slog.Logger
	version string

	adminOnce sync.Once // opens adminDB for CreateDatabase and DropDatabase
	adminDB   *sql.DB
	adminErr  error

	closeOnce sync.Once
	closeErr  error
}

// Start initializes and starts a throwaway server and waits until it
// accepts connections. The server does not depend on ctx after Start
// returns; call Close to stop it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	began := time.Now()
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	removeStale(opts.TempDir, opts.Logger)

	version, err := serverVersion(ctx, opts.Mariadbd)
	if err != nil {
		return nil, err
	}
	template, warm, err := templateDir(ctx, &opts, version)
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp(opts.TempDir, stalePrefix)
	if err != nil {
		return nil, fmt.Errorf("create server folder: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write owner pid: %w", err)
	}
	s, err := startIn(ctx, &opts, dir, template)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.version = version
	opts.Logger.Info("mariadb started", "addr", s.Addr(), "pid", s.Pid(), "version", version,
		"template_cached", warm, "took", time.Since(began))
	return s, nil
}

// Existing wraps a server that somebody else runs, given a go-sql-driver
// DSN. Close does not stop it.
func Existing(dsn string) (*Server, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse MariaDB DSN: %w", err)
	}
	cfg.DBName = ""
	return &Server{cfg: cfg, log: slog.New(slog.DiscardHandler)}, nil
}

func (o *Options) setDefaults() error {
	if err := o.findBinaries(); err != nil {
		return err
	}
	if o.BufferPoolSize == 0 {
		o.BufferPoolSize = 128 << 20
	}
	if o.RedoLogSize == 0 {
		o.RedoLogSize = 64 << 20
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.CacheDir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(base, "srbackup")
		} else {
			o.CacheDir = filepath.Join(o.TempDir, "srbackup-cache-"+strconv.Itoa(os.Getuid()))
		}
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.runAsRoot = os.Geteuid() == 0
	return nil
}

// findBinaries fills in Mariadbd and InstallDB, or says which are missing.
func (o *Options) findBinaries() error {
	var missing []string
	if o.Mariadbd == "" {
		o.Mariadbd = findBinary("mariadbd")
		if o.Mariadbd == "" {
			missing = append(missing, "mariadbd")
		}
	} else if _, err := os.Stat(o.Mariadbd); err != nil {
		missing = append(missing, o.Mariadbd)
	}
	if o.InstallDB == "" {
		o.InstallDB = findBinary("mariadb-install-db")
		if o.InstallDB == "" {
			missing = append(missing, "mariadb-install-db")
		}
	} else if _, err := os.Stat(o.InstallDB); err != nil {
		missing = append(missing, o.InstallDB)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found: %w", strings.Join(missing, " and "), ErrNotInstalled)
	}
	return nil
}

// findBinary looks name up in PATH, then in the folders distributions
// install MariaDB into, which are often missing from a user's PATH.
func findBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/libexec"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// startIn copies the template into dir and runs mariadbd there, retrying
// with another port if the one picked was taken in the meantime.
func startIn(ctx context.Context, opts *Options, dir, template string) (*Server, error) {
	data := filepath.Join(dir, "data")
	if err := copyTemplate(template, data); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("create tmpdir: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	const attempts = 5
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := launch(ctx, opts, dir, port)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == attempts {
			return nil, err
		}
		opts.Logger.Warn("mariadb port taken, retrying", "port", port)
	}
}

var errPortTaken = errors.New("port already in use")

// launch runs mariadbd on port and waits until it serves queries.
func launch(ctx context.Context, opts *Options, dir string, port int) (*Server, error) {
	logPath := filepath.Join(dir, "error.log")
	_ = os.Remove(logPath) // a previous attempt's log would confuse the port check
	args := []string{
		"--no-defaults", // must come first: ignore /etc/mysql and ~/.my.cnf
		"--datadir=" + filepath.Join(dir, "data"),
		"--tmpdir=" + filepath.Join(dir, "tmp"),
		"--socket=" + filepath.Join(dir, "mariadb.sock"),
		"--pid-file=" + filepath.Join(dir, serverPidFile),
		"--log-error=" + logPath,
		"--bind-address=127.0.0.1",
		"--port=" + strconv.Itoa(port),
		"--skip-name-resolve",
		"--skip-log-bin",
		"--local-infile=1",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
		"--default-time-zone=+00:00",
		"--max-allowed-packet=256M",
		"--max-connections=500",
		"--performance-schema=OFF",
		"--innodb-buffer-pool-size=" + strconv.FormatInt(opts.BufferPoolSize, 10),
		"--innodb-log-file-size=" + strconv.FormatInt(opts.RedoLogSize, 10),
		"--innodb-log-buffer-size=16M",
		// Throwaway data: trade durability for speed. fast_shutdown=3 skips
		// flushing and rollback on SIGTERM; the folder is deleted anyway.
		"--innodb-flush-log-at-trx-commit=2",
		"--innodb-doublewrite=0",
		"--innodb-fast-shutdown=3",
		"--sync-frm=0",
	}
	args = append(args, layoutArgs...)
	if opts.runAsRoot {
		args = append(args, "--user=root")
	}
	args = append(args, opts.ExtraArgs...)

	proc, err := startProcess(exec.Command(opts.Mariadbd, args...))
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{cfg: cfg, dir: dir, proc: proc, stopTO: opts.StopTimeout, log: opts.Logger}

	if err := s.waitReady(ctx, logPath); err != nil {
		_ = proc.stop(opts.StopTimeout)
		return nil, err
	}
	return s, nil
}

// waitReady polls until the server answers as the one running in our
// datadir (not some other process that grabbed the port), it exits, or
// ctx ends.
func (s *Server) waitReady(ctx context.Context, logPath string) error {
	probe := s.cfg.Clone()
	probe.Timeout = time.Second
	connector, err := mysql.NewConnector(probe)
	if err != nil {
		return fmt.Errorf("mariadb connector: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	want := filepath.Join(s.dir, "data") + "/"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var datadir string
		err := db.QueryRowContext(ctx, "SELECT @@datadir").Scan(&datadir)
		if err == nil {
			if datadir != want {
				return fmt.Errorf("%s is served by another server (datadir %s): %w", s.Addr(), datadir, errPortTaken)
			}
			return nil
		}
		select {
		case <-s.proc.done:
			log, _ := os.ReadFile(logPath)
			if portTaken.Match(log) {
				return fmt.Errorf("mariadbd on %s: %w", s.Addr(), errPortTaken)
			}
			return fmt.Errorf("mariadbd exited during startup (%v); %s:\n%s", s.proc.err, logPath, tail(log, 4096))
		case <-ctx.Done():
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("mariadbd not ready on %s: %w (last error: %v); %s:\n%s", s.Addr(), ctx.Err(), err, logPath, tail(log, 4096))
		case <-tick.C:
		}
	}
}

var portTaken = regexp.MustCompile(`Bind on TCP/IP port|Address already in use`)

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another
// process may take it before mariadbd binds it; launch detects that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.cfg.Addr }

// Config returns a go-sql-driver configuration for root on database (empty
// for none). Callers may change the copy, e.g. to set ParseTime.
func (s *Server) Config(database string) *mysql.Config {
	cfg := s.cfg.Clone()
	cfg.DBName = database
	return cfg
}

// DSN returns a go-sql-driver DSN for root over TCP on database (empty for
// none). It keeps the driver's defaults: multiStatements and
// interpolateParams off, parseTime off (callers add what they need).
func (s *Server) DSN(database string) string { return s.Config(database).FormatDSN() }

// Open returns a *sql.DB for root on database (empty for none).
func (s *Server) Open(database string) (*sql.DB, error) {
	connector, err := mysql.NewConnector(s.Config(database))
	if err != nil {
		return nil, fmt.Errorf("mariadb connector: %w", err)
	}
	return sql.OpenDB(connector), nil
}

// Pid returns the process id of a throwaway server's mariadbd, or 0 for an
// existing server.
func (s *Server) Pid() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

// Version returns the version mariadbd reports, e.g.
// "10.11.19-MariaDB-0+deb12u1"; empty for an existing server.
func (s *Server) Version() string { return s.version }

// Close stops a throwaway server and removes its folder; for an existing
// server it only closes the connections Server opened. It is safe to call
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.adminDB != nil {
			_ = s.adminDB.Close()
		}
		if s.proc == nil {
			return
		}
		began := time.Now()
		crashed := s.proc.exited()
		err := s.proc.stop(s.stopTO)
		if crashed {
			err = fmt.Errorf("mariadbd on %s had exited before Close (%v); log: %s", s.Addr(), s.proc.err,
				tail(readFile(filepath.Join(s.dir, "error.log")), 4096))
		}
		if rmErr := os.RemoveAll(s.dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove server folder: %w", rmErr))
		}
		s.closeErr = err
		s.log.Info("mariadb stopped", "addr", s.Addr(), "took", time.Since(began))
	})
	return s.closeErr
}

func readFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// The server folder's name prefix and the files that tell removeStale
// whether a folder is orphaned.
const (
	stalePrefix   = "srbackup-mariadb-"
	ownerFile     = "owner.pid"
	serverPidFile = "mariadbd.pid"
)

// removeStale removes server folders left by processes that died without
// Close, once neither the owner nor its mariadbd is alive.
func removeStale(tempDir string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(tempDir, stalePrefix+"*"))
	for _, dir := range dirs {
		owner, ok := readPid(filepath.Join(dir, ownerFile))
		if !ok || alive(owner) {
			continue
		}
		if server, ok := readPid(filepath.Join(dir, serverPidFile)); ok && alive(server) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			log.Info("removed orphaned mariadb folder", "dir", dir, "owner_pid", owner)
		}
	}
}

func readPid(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}
