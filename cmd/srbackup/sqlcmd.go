package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
)

// runSQL is `srbackup sql [flags] ["<statements>"]`: run statements through
// the HTTP API, or read them at a prompt.
func runSQL(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	fs.SetOutput(std.err)
	var ef endpointFlags
	fs.StringVar(&ef.endpoint, "endpoint", "", "API endpoint (default $SRBACKUP_ENDPOINT)")
	fs.BoolVar(&ef.local, "local", false, "talk to `srbackup local up`")
	asJSON := fs.Bool("json", false, "print results as JSON")
	vertical := fs.Bool("vertical", false, `print rows vertically (as a statement ending with \G)`)
	database := databaseFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(std.err, `usage: srbackup sql [flags] ["<statements>"]

Runs StarRocks statements through the srbackup API. Without a statement it
reads them at a prompt: end a statement with ; (or \G for vertical output);
\history lists what you ran, \q or exit quits. -D db (or USE db; at the
prompt) is the database a BACKUP naming none backs up.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	c, err := newClient(ctx, ef)
	if err != nil {
		fmt.Fprintln(std.err, "srbackup sql:", err)
		return 1
	}
	format := formatTable
	switch {
	case *asJSON:
		format = formatJSON
	case *vertical:
		format = formatVertical
	}
	if fs.NArg() > 0 {
		return execSQL(ctx, c, strings.Join(fs.Args(), " "), database, format, std)
	}
	return prompt(ctx, c, database, format, std)
}

// databaseFlag is -D/--database, the mysql client's flag for the current
// database.
func databaseFlag(fs *flag.FlagSet) *string {
	db := fs.String("database", "", "current database: the one a BACKUP naming none backs up (as USE db)")
	fs.StringVar(db, "D", "", "short for -database")
	return db
}

// execSQL runs one submission and prints its results; a trailing \G asks
// for vertical output. database is the current database, which a
// successful USE changes.
func execSQL(ctx context.Context, c *client, text string, database *string, format outputFormat, std stdio) int {
	text = strings.TrimSpace(text)
	if t, ok := strings.CutSuffix(text, `\G`); ok {
		text = t
		if format == formatTable {
			format = formatVertical
		}
	}
	resp, err := c.runSQL(ctx, text, *database)
	for _, r := range resp.Results {
		if r.Statement == "USE" && r.Database != "" {
			*database = r.Database // the prompt keeps it, as the mysql client does
		}
	}
	printResults(std.out, resp.Results, format)
	if err != nil {
		fmt.Fprintln(std.err, err)
		return 1
	}
	return 0
}

// prompt reads statements interactively: lines accumulate until one ends
// with ; or \G.
func prompt(ctx context.Context, c *client, database *string, format outputFormat, std stdio) int {
	sc := bufio.NewScanner(std.in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var history []string
	var buf strings.Builder
	code := 0
	for {
		if buf.Len() == 0 {
			fmt.Fprint(std.out, "srbackup> ")
		} else {
			fmt.Fprint(std.out, "       -> ")
		}
		if !sc.Scan() {
			fmt.Fprintln(std.out)
			return code
		}
		line := strings.TrimSpace(sc.Text())
		if buf.Len() == 0 {
			switch strings.ToLower(strings.TrimSuffix(line, ";")) {
			case "":
				continue
			case `\q`, "quit", "exit":
				return code
			case `\history`, `\h`:
				for i, h := range history {
					fmt.Fprintf(std.out, "%4d  %s\n", i+1, h)
				}
				continue
			}
		}
		if buf.Len() > 0 {
			buf.WriteByte('\n')
		}
		buf.WriteString(line)
		if !strings.HasSuffix(line, ";") && !strings.HasSuffix(line, `\G`) {
			continue
		}
		text := buf.String()
		buf.Reset()
		history = append(history, strings.ReplaceAll(text, "\n", " "))
		if execSQL(ctx, c, text, database, format, std) != 0 {
			code = 1
		}
		if ctx.Err() != nil {
			return 130
		}
	}
}
