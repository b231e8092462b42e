package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

func TestParseJSON(t *testing.T) {
	code, out, _ := runCLI(t, "", "parse", "--json", "BACKUP SNAPSHOT example_db.label1 TO example_repo ON (TABLE t PARTITION (p1, p2), ALL VIEWS) PROPERTIES ('timeout' = '86400')")
	want := `{"statements":[{"kind":"BACKUP","database":"example_db","snapshot":"label1","repository":"example_repo","objects":[{"type":"TABLE","name":"t","partitions":["p1","p2"]},{"type":"ALL_VIEWS"}],"external_catalogs":null,"properties":{"type":"FULL","timeout":"86400"}}]}` + "\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, output\n%s\nwant\n%s", code, out, want)
	}
}

func TestParseJSONError(t *testing.T) {
	code, out, _ := runCLI(t, "", "parse", "-json", "BACKUP SNAPSHOT db.l TO r ON (t PARTITON (p1))")
	want := `{"error":{"message":"Getting syntax error at line 1, column 33. Detail message: unexpected 'PARTITON', expecting '.', 'TEMPORARY', 'PARTITION', 'PARTITIONS', 'AS', ',' or ')'.","line":1,"column":33}}` + "\n"
	if code != 1 || out != want {
		t.Errorf("exit %d, output\n%s\nwant\n%s", code, out, want)
	}
}

func TestParseStdinCanonical(t *testing.T) {
	code, out, errOut := runCLI(t, "show backup from db; -- done\nshow repositories", "parse")
	if code != 0 || out != "SHOW BACKUP FROM `db`;\nSHOW REPOSITORIES;\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestParseErrorText(t *testing.T) {
	code, out, errOut := runCLI(t, "", "parse", "CANCEL BACKUP")
	if code != 1 || out != "" || errOut != "Getting analyzing error. Detail message: No selected database for cancel BACKUP/RESTORE.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestParseMinTimeout(t *testing.T) {
	text := "BACKUP SNAPSHOT db.l TO r PROPERTIES ('timeout' = '60')"
	if code, _, _ := runCLI(t, "", "parse", text); code != 1 {
		t.Errorf("timeout 60 accepted with the default minimum")
	}
	if code, _, errOut := runCLI(t, "", "parse", "--min-timeout", "1m", text); code != 0 {
		t.Errorf("--min-timeout 1m: exit %d, %s", code, errOut)
	}
	t.Setenv("SRBACKUP_MIN_TIMEOUT", "60")
	if code, _, errOut := runCLI(t, "", "parse", text); code != 0 {
		t.Errorf("SRBACKUP_MIN_TIMEOUT=60: exit %d, %s", code, errOut)
	}
	t.Setenv("SRBACKUP_MIN_TIMEOUT", "soon")
	if code, _, _ := runCLI(t, "", "parse", text); code != 2 {
		t.Errorf("bad SRBACKUP_MIN_TIMEOUT: exit %d, want 2", code)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := runCLI(t, ""); code != 2 || !strings.Contains(errOut, "parse") {
		t.Errorf("no command: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "", "help"); code != 0 || !strings.Contains(out, "parse") {
		t.Errorf("help: exit %d, %q", code, out)
	}
	if code, _, errOut := runCLI(t, "", "nope"); code != 2 || !strings.Contains(errOut, `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "parse", "a", "b"); code != 2 {
		t.Errorf("two arguments: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "", "parse", "--bogus"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, errOut := runCLI(t, "", "parse", "-h"); code != 0 || !strings.Contains(errOut, "usage: srbackup parse") {
		t.Errorf("parse -h: exit %d, %q", code, errOut)
	}
}

// TestParseCurrentDatabase: -D is the current database, USE changes it, a
// database named in the statement wins, and a bare CANCEL BACKUP is still
// refused (issue 11 §2).
func TestParseCurrentDatabase(t *testing.T) {
	code, out, errOut := runCLI(t, "", "parse", "-D", "shop", "BACKUP SNAPSHOT s1 TO r; BACKUP SNAPSHOT x.s2 TO r; USE other; BACKUP SNAPSHOT s3 TO r")
	want := "BACKUP DATABASE `shop` SNAPSHOT `s1` TO `r`" + defaultProps + ";\n" +
		"BACKUP DATABASE `x` SNAPSHOT `s2` TO `r`" + defaultProps + ";\n" +
		"USE `other`;\n" +
		"BACKUP DATABASE `other` SNAPSHOT `s3` TO `r`" + defaultProps + ";\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("exit %d, stdout\n%s\nwant\n%s\nstderr %q", code, out, want, errOut)
	}
	if code, _, errOut = runCLI(t, "", "parse", "--database", "shop", "CANCEL BACKUP"); code != 1 || !strings.Contains(errOut, "No selected database for cancel BACKUP/RESTORE") {
		t.Errorf("bare CANCEL BACKUP with -D: exit %d, %q", code, errOut)
	}
	if code, _, errOut = runCLI(t, "", "parse", "BACKUP SNAPSHOT s1 TO r"); code != 1 || !strings.Contains(errOut, "No database selected") {
		t.Errorf("BACKUP without -D: exit %d, %q", code, errOut)
	}
}

const defaultProps = " PROPERTIES ('type' = 'FULL', 'timeout' = '86400')"
