package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/localstack/mariadb/mariadbtest"
)

// TestCLIAgainstLocalStack runs `srbackup local up` in-process and drives it
// with `srbackup sql` and `srbackup wait`.
func TestCLIAgainstLocalStack(t *testing.T) {
	localtest.RequireNodeTools(t)
	mariadbtest.ForTest(t).Close() // skips (or fails under CI) without MariaDB

	ctx, cancel := context.WithCancel(context.Background())
	endpoint := make(chan string, 1)
	done := make(chan error, 1)
	var upOut, upErr bytes.Buffer
	go func() {
		done <- localUp(ctx, localOptions{addr: "127.0.0.1:0"}, stdio{out: &upOut, err: &upErr}, func(ep string) { endpoint <- ep })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("local up: %v", err)
		}
	})
	var ep string
	select {
	case ep = <-endpoint:
	case err := <-done:
		t.Fatalf("local up ended: %v\n%s", err, upErr.String())
	case <-time.After(3 * time.Minute):
		t.Fatal("local up did not start")
	}

	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
		return code, out.String(), errb.String()
	}

	// Table output.
	code, out, errs := cli("sql", "--endpoint", ep, "SHOW REPOSITORIES")
	if code != 0 || !strings.Contains(out, "| RepoId | RepoName |") || !strings.Contains(out, "| repo ") || !strings.HasSuffix(out, "1 row in set\n") {
		t.Fatalf("SHOW REPOSITORIES: %d\n%s\n%s", code, out, errs)
	}

	// A BACKUP round trip, then wait: exit 0 for FINISHED.
	code, out, errs = cli("sql", "--endpoint", ep, "BACKUP DATABASE shop SNAPSHOT cli1 TO repo ON (TABLE customers)")
	id := regexp.MustCompile(`srbackup wait (\S+)`).FindStringSubmatch(out)
	if code != 0 || id == nil || !strings.Contains(out, "| cli1 ") {
		t.Fatalf("BACKUP: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = cli("wait", "--endpoint", ep, "--interval", "100ms", id[1])
	if code != 0 || !strings.Contains(out, id[1]+" FINISHED [OK]") || !strings.Contains(errs, "100%") {
		t.Fatalf("wait: %d\n%s\n%s", code, out, errs)
	}

	// verify: ADMIN VERIFY SNAPSHOT until it ends; exit 0 when every file is OK.
	code, out, errs = cli("verify", "--endpoint", ep, "--interval", "50ms", "--deep", "cli1", "repo")
	if code != 0 || !regexp.MustCompile(`FINISHED files=\d+ ok=\d+ missing=0 mismatch=0`).MatchString(out) {
		t.Fatalf("verify: %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs = cli("verify", "--endpoint", ep, "no-such", "repo"); code != 1 || !strings.Contains(errs, "does not exist") {
		t.Fatalf("verify unknown: %d %s", code, errs)
	}

	// Vertical output, through the file `local up` wrote for --local.
	code, out, errs = cli("--local", "sql", `SHOW BACKUP FROM shop\G`)
	if code != 0 || !strings.Contains(out, "*************************** 1. row ***************************") || !strings.Contains(out, "       State: FINISHED") {
		t.Fatalf("\\G: %d\n%s\n%s", code, out, errs)
	}

	// JSON output.
	code, out, _ = cli("sql", "--endpoint", ep, "--json", "SHOW SNAPSHOT ON repo")
	if code != 0 || !strings.Contains(out, `"Snapshot"`) || !strings.Contains(out, `"cli1"`) {
		t.Fatalf("--json: %d\n%s", code, out)
	}

	// A statement error: exit 1 with the StarRocks text.
	code, _, errs = cli("sql", "--endpoint", ep, "CANCEL BACKUP FROM shop")
	if code != 1 || !strings.Contains(errs, "Job with label cli1 can not be cancelled. state: FINISHED") {
		t.Fatalf("CANCEL finished: %d %s", code, errs)
	}

	// wait exits 1 for a CANCELLED job (cancelled in the same request that
	// started it) and for an unknown one, 2 for bad usage.
	code, out, errs = cli("sql", "--endpoint", ep, "BACKUP DATABASE shop SNAPSHOT cli2 TO repo; CANCEL BACKUP FROM shop")
	id = regexp.MustCompile(`srbackup wait (\S+)`).FindStringSubmatch(out)
	if code != 0 || id == nil || !strings.HasSuffix(out, "Query OK\n") {
		t.Fatalf("BACKUP; CANCEL: %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs = cli("wait", "--endpoint", ep, id[1]); code != 1 || !strings.Contains(out, "CANCELLED [COMMON_ERROR, msg: user cancelled]") {
		t.Fatalf("wait cancelled: %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs = cli("wait", "--endpoint", ep, "no-such-job"); code != 1 || !strings.Contains(errs, "NOT_FOUND") {
		t.Fatalf("wait unknown: %d %s", code, errs)
	}
	if code, _, _ = cli("wait", "--endpoint", ep); code != 2 {
		t.Fatalf("wait without id: %d", code)
	}

	// The prompt: multi-line input ending with ;.
	var pout, perr bytes.Buffer
	code = run(context.Background(), []string{"sql", "--endpoint", ep}, stdio{
		in:  strings.NewReader("SHOW\nBACKUP FROM shop;\n\\history\nexit\n"),
		out: &pout, err: &perr,
	})
	if code != 0 || !strings.Contains(pout.String(), "       -> ") || !strings.Contains(pout.String(), "| cli2 ") || !strings.Contains(pout.String(), "   1  SHOW BACKUP FROM shop;") {
		t.Fatalf("prompt: %d\n%s\n%s", code, pout.String(), perr.String())
	}

	// The current database: -D, and USE at the prompt, which the prompt
	// keeps for the statements after it (issue 11 §2).
	code, out, errs = cli("sql", "--endpoint", ep, "-D", "shop", "BACKUP SNAPSHOT cli3 TO repo ON (TABLE customers); CANCEL BACKUP FROM shop")
	if code != 0 || !strings.Contains(out, "| cli3 ") || !strings.Contains(out, "| shop ") {
		t.Fatalf("-D shop BACKUP: %d\n%s\n%s", code, out, errs)
	}
	pout.Reset()
	perr.Reset()
	code = run(context.Background(), []string{"sql", "--endpoint", ep}, stdio{
		in:  strings.NewReader("USE shop;\nBACKUP SNAPSHOT cli4 TO repo ON (TABLE customers);\nCANCEL BACKUP FROM shop;\nCANCEL BACKUP;\nexit\n"),
		out: &pout, err: &perr,
	})
	if code != 1 || !strings.Contains(pout.String(), "Database changed") || !strings.Contains(pout.String(), "| cli4 ") ||
		!strings.Contains(perr.String(), "No selected database for cancel BACKUP/RESTORE") {
		t.Fatalf("prompt USE: %d\n%s\n%s", code, pout.String(), perr.String())
	}

	// The client generated from openapi.yaml, against the same server (last:
	// its BACKUP becomes shop's last job).
	t.Run("generated client", func(t *testing.T) { testGeneratedClient(t, ep) })
}
