package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/localstack/mariadb"
	"github.com/srbackup/srbackup/localstack/sandbox"
	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/app"
)

// runLocal is `srbackup local up`.
func runLocal(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 || args[0] != "up" {
		fmt.Fprintln(std.err, "usage: srbackup local up [flags]")
		return 2
	}
	fs := flag.NewFlagSet("local up", flag.ContinueOnError)
	fs.SetOutput(std.err)
	addr := fs.String("addr", defaultLocalAddr, "address to serve the API on: a loopback address unless -allow-remote")
	allowRemote := fs.Bool("allow-remote", false, "serve on a non-loopback -addr too: anyone who reaches it is the local admin")
	opts := localOptions{}
	fs.Int64Var(&opts.size, "size", 8<<20, "target size in bytes of the sample database `shop`")
	source := fs.String("source", os.Getenv(envLocalSource), "back up this MySQL/MariaDB server instead of a throwaway sample: a go-sql-driver DSN without its password, e.g. backup@tcp(db:3306)/ (default $"+envLocalSource+")")
	passwordFile := fs.String("source-password-file", "", "file holding the -source password (else $"+envSourcePass+")")
	fs.StringVar(&opts.dataDir, "data-dir", os.Getenv(envLocalDataDir), "keep the repository's files in this directory across restarts (default $"+envLocalDataDir+"; none: in memory)")
	fs.Usage = func() {
		fmt.Fprintln(std.err, `usage: srbackup local up [flags]

Starts the local AWS stack (S3, DynamoDB, Lambda, Step Functions), a throwaway
MariaDB with the sample database shop (or, with -source, your own server),
registers the repository repo, and serves the srbackup API over HTTP until
interrupted. Then use srbackup --local sql "SHOW BACKUP" (or --endpoint with
the printed URL).`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := checkLocalAddr(*addr, *allowRemote); err != nil {
		fmt.Fprintln(std.err, "srbackup local up:", err)
		return 2
	}
	opts.addr = *addr
	if *source != "" {
		var err error
		if opts.source, err = parseOwnSource(*source, *passwordFile, os.Getenv); err != nil {
			fmt.Fprintln(std.err, "srbackup local up:", err)
			return 2
		}
	}
	if err := localUp(ctx, opts, std, nil); err != nil {
		fmt.Fprintln(std.err, "srbackup local up:", err)
		return 1
	}
	return 0
}

// checkLocalAddr refuses an address that is not loopback unless
// allowRemote: the local API trusts a principal header and makes every
// caller without one the admin, so it must not be reachable from the
// network by accident. An empty host (":8650") listens on every interface.
func checkLocalAddr(addr string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address: the local API makes every caller its admin; pass -allow-remote to serve it on the network anyway", addr)
}

// localOptions are `local up`'s settings.
type localOptions struct {
	addr string
	size int64 // of the sample database
	// source is the user's own server; nil starts a throwaway MariaDB with
	// the sample database.
	source *ownSource
	// dataDir keeps the repository's files across restarts ("": memory).
	dataDir string
}

// localUp runs the local deployment until ctx ends. ready, when set,
// receives the endpoint once it serves.
func localUp(ctx context.Context, opts localOptions, std stdio, ready func(endpoint string)) error {
	log := slog.New(slog.NewJSONHandler(std.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var dsn, sourceName string
	var databases []string
	if opts.source != nil {
		fmt.Fprintf(std.err, "checking the source %s…\n", opts.source)
		var err error
		if databases, err = opts.source.check(ctx); err != nil {
			return err
		}
		dsn, sourceName = opts.source.cfg.FormatDSN(), opts.source.String()
	} else {
		fmt.Fprintln(std.err, "starting MariaDB…")
		db, err := mariadb.Start(ctx, mariadb.Options{})
		if err != nil {
			return fmt.Errorf("MariaDB: %w", err)
		}
		defer db.Close()
		conn, err := db.Open("")
		if err != nil {
			return err
		}
		fmt.Fprintln(std.err, "generating the sample database shop…")
		_, err = fixture.Generate(ctx, conn, fixture.Options{Database: "shop", SizeBytes: max(opts.size, fixture.MinSizeBytes), Seed: 1})
		conn.Close()
		if err != nil {
			return fmt.Errorf("sample database: %w", err)
		}
		dsn, sourceName, databases = db.DSN(""), db.Addr(), []string{"shop"}
	}
	fmt.Fprintln(std.err, "starting the local AWS stack…")
	// The local user (localPrincipal) is the sandbox's admin: it holds every
	// privilege. The DSN (with a password for -source) reaches the functions
	// only through their in-process environment, never the process's or the
	// Step Functions server's.
	stackOpts := sandbox.StackOptions(map[string]string{"SRBACKUP_ADMINS": localPrincipal}, log)
	handlers := stackOpts.Handlers
	stackOpts.Handlers = func(ctx context.Context, envOf func(string) func(string) string) (map[string]any, error) {
		return handlers(ctx, func(fn string) func(string) string { return withSourceDSN(envOf(fn), dsn) })
	}
	if opts.dataDir != "" {
		stackOpts.S3Dir = s3Dir(opts.dataDir)
	}
	st, err := localstack.Start(ctx, stackOpts)
	if err != nil {
		return fmt.Errorf("local stack: %w", err)
	}
	defer st.Close()
	srv, err := app.NewAPIServer(ctx, withSourceDSN(st.FunctionEnv("api"), dsn), log.With("function", "api"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	endpoint := "http://" + ln.Addr().String()
	hs := &http.Server{
		Handler:           api.HTTPHandler(srv.Handle, api.HTTPOptions{TrustPrincipalHeader: true, DefaultPrincipal: localPrincipal}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	c, err := newClient(ctx, endpointFlags{endpoint: endpoint, local: true})
	if err != nil {
		return err
	}
	// Into a kept directory this finds the repository's __repo_info and
	// keeps it: its snapshots are listed again.
	repo := fmt.Sprintf("CREATE REPOSITORY %s WITH BROKER ON LOCATION 's3://%s/%s'", localRepository, st.Bucket, localRepoPrefix)
	if _, err := c.runSQL(ctx, repo, ""); err != nil {
		return fmt.Errorf("register repository %s: %w", localRepository, err)
	}
	file := localEndpointFile()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err == nil {
		if err := os.WriteFile(file, []byte(endpoint+"\n"), 0o600); err == nil {
			defer os.Remove(file)
		}
	}
	fmt.Fprintf(std.out, "srbackup API: %s\n", endpoint)
	fmt.Fprintf(std.out, "source: %s (databases: %s), repository: %s (s3://%s/%s)\n", sourceName, strings.Join(databases, ", "), localRepository, st.Bucket, localRepoPrefix)
	try := "<db>"
	if len(databases) > 0 {
		try = databases[0]
	}
	fmt.Fprintf(std.out, "try:   srbackup --local sql -D %s \"BACKUP SNAPSHOT s1 TO %s\"\n", shellWord(try), localRepository)
	printS3Commands(std.out, st, opts.dataDir)
	if opts.dataDir == "" {
		fmt.Fprintln(std.out, "The repository is in memory: it ends with local up (keep it with -data-dir).")
	}
	fmt.Fprintln(std.out, "Ctrl-C stops everything.")
	if ready != nil {
		ready(endpoint)
	}
	<-ctx.Done()
	return nil
}

// shellWord quotes s for a POSIX shell when it is not a plain word.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// withSourceDSN is getenv with SRBACKUP_SOURCE_DSN set to dsn.
func withSourceDSN(getenv func(string) string, dsn string) func(string) string {
	return func(k string) string {
		if k == "SRBACKUP_SOURCE_DSN" {
			return dsn
		}
		return getenv(k)
	}
}

// runLocalFlag serves `srbackup --local <command> …`: the command with
// --local.
func runLocalFlag(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprintln(std.err, "usage: srbackup --local <sql|wait> …")
		return 2
	}
	return run(ctx, append([]string{args[0], "--local"}, args[1:]...), std)
}
