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
	size := fs.Int64("size", 8<<20, "target size in bytes of the sample database `shop`")
	fs.Usage = func() {
		fmt.Fprintln(std.err, `usage: srbackup local up [flags]

Starts the local AWS stack (S3, DynamoDB, Lambda, Step Functions), a throwaway
MariaDB with the sample database shop, registers the repository repo, and
serves the srbackup API over HTTP until interrupted. Then use
srbackup --local sql "SHOW BACKUP" (or --endpoint with the printed URL).`)
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
	if err := localUp(ctx, *addr, *size, std, nil); err != nil {
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

// localUp runs the local deployment until ctx ends. ready, when set,
// receives the endpoint once it serves.
func localUp(ctx context.Context, addr string, size int64, std stdio, ready func(endpoint string)) error {
	log := slog.New(slog.NewJSONHandler(std.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
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
	_, err = fixture.Generate(ctx, conn, fixture.Options{Database: "shop", SizeBytes: max(size, fixture.MinSizeBytes), Seed: 1})
	conn.Close()
	if err != nil {
		return fmt.Errorf("sample database: %w", err)
	}
	fmt.Fprintln(std.err, "starting the local AWS stack…")
	// The local user (localPrincipal) is the sandbox's admin: it holds every privilege.
	st, err := localstack.Start(ctx, sandbox.StackOptions(map[string]string{"SRBACKUP_SOURCE_DSN": db.DSN(""), "SRBACKUP_ADMINS": localPrincipal}, log))
	if err != nil {
		return fmt.Errorf("local stack: %w", err)
	}
	defer st.Close()
	srv, err := app.NewAPIServer(ctx, st.FunctionEnv("api"), log.With("function", "api"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
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
	repo := fmt.Sprintf("CREATE REPOSITORY repo WITH BROKER ON LOCATION 's3://%s/backups'", st.Bucket)
	if _, err := c.runSQL(ctx, repo, ""); err != nil {
		return fmt.Errorf("register repository repo: %w", err)
	}
	file := localEndpointFile()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err == nil {
		if err := os.WriteFile(file, []byte(endpoint+"\n"), 0o600); err == nil {
			defer os.Remove(file)
		}
	}
	fmt.Fprintf(std.out, "srbackup API: %s\n", endpoint)
	fmt.Fprintf(std.out, "source: %s (database shop), repository: repo (s3://%s/backups)\n", db.Addr(), st.Bucket)
	fmt.Fprintf(std.out, "try:   srbackup --local sql \"BACKUP DATABASE shop SNAPSHOT s1 TO repo\"\n")
	fmt.Fprintln(std.out, "Ctrl-C stops everything.")
	if ready != nil {
		ready(endpoint)
	}
	<-ctx.Done()
	return nil
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
