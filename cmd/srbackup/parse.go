package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/srbackup/srbackup/shared/sql"
)

// maxStdinSQL bounds the SQL text read from standard input.
const maxStdinSQL = 64 << 20

// runParse implements `srbackup parse [--json] [-D db] [--min-timeout d] ["<sql>"]`:
// it parses and validates the statements (from the argument, or standard
// input when there is none) and prints each as canonical SQL, or the JSON
// document sql.Result describes. Exit code 1 on a parse error.
func runParse(_ context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	fs.SetOutput(std.err)
	asJSON := fs.Bool("json", false, "print the statements or the error as JSON")
	database := databaseFlag(fs)
	minTimeout, err := envSeconds("SRBACKUP_MIN_TIMEOUT")
	if err != nil {
		fmt.Fprintf(std.err, "srbackup parse: %v\n", err)
		return 2
	}
	fs.DurationVar(&minTimeout, "min-timeout", minTimeout, "smallest timeout property accepted (default 10m, or SRBACKUP_MIN_TIMEOUT seconds)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: srbackup parse [--json] [-D db] [--min-timeout d] [\"<sql>\"]\n\nParses the statements given, or standard input when none is, and prints them\nas canonical SQL (or JSON). Exit code 1 when they do not parse.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var text string
	switch fs.NArg() {
	case 0:
		b, err := readAllLimited(std.in, maxStdinSQL)
		if err != nil {
			fmt.Fprintf(std.err, "srbackup parse: read standard input: %v\n", err)
			return 2
		}
		text = string(b)
	case 1:
		text = fs.Arg(0)
	default:
		fmt.Fprintln(std.err, "srbackup parse: give the SQL as one argument (quote it) or on standard input")
		return 2
	}

	stmts, err := sql.ParseWithOptions(text, sql.Options{MinTimeout: minTimeout, DefaultDatabase: *database})
	if *asJSON {
		enc := json.NewEncoder(std.out)
		enc.SetEscapeHTML(false)
		if encErr := enc.Encode(sql.NewResult(stmts, err)); encErr != nil {
			fmt.Fprintf(std.err, "srbackup parse: write JSON: %v\n", encErr)
			return 1
		}
	} else if err != nil {
		fmt.Fprintln(std.err, err)
	} else {
		for _, s := range stmts {
			fmt.Fprintf(std.out, "%s;\n", s.SQL())
		}
	}
	if err != nil {
		return 1
	}
	return 0
}

// envSeconds reads a whole number of seconds from the environment; zero
// when the variable is unset.
func envSeconds(key string) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a positive number of seconds, got %q", key, v)
	}
	return time.Duration(n) * time.Second, nil
}

func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}
