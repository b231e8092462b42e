// Command srbackup is srbackup's command-line tool. Each subcommand lives in
// its own file and is listed in the table below.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stdio is where a command reads and writes.
type stdio struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// command is one subcommand: run gets the arguments after its name and
// returns the process exit code (0 ok, 1 failure, 2 usage error).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, std stdio) int
}

// commands is the dispatch table.
func commands() []command {
	return []command{
		{"parse", "parse and validate StarRocks statements, print canonical SQL or JSON", runParse},
		{"sql", "run statements through the srbackup API (table, \\G or --json output; a prompt without arguments)", runSQL},
		{"wait", "show a job's progress until it ends; exit 0 only when it FINISHED", runWait},
		{"verify", "ADMIN VERIFY SNAPSHOT: check a snapshot against its manifest; exit 0 only when every file is OK", runVerify},
		{"local", "local up: run srbackup locally (AWS stack, MariaDB, sample database) and serve the API", runLocal},
		{"--local", "run a command against `srbackup local up`, e.g. srbackup --local sql \"SHOW BACKUP\"", runLocalFlag},
		{"demo", "run a real BACKUP end to end on a local sandbox, then SHOW BACKUP and SHOW SNAPSHOT", runDemo},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		usage(std.err)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(std.out)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], std)
		}
	}
	fmt.Fprintf(std.err, "srbackup: unknown command %q\n", args[0])
	usage(std.err)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: srbackup <command> [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'srbackup <command> -h' for a command's flags.")
}
