package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/localstack/mariadb/mariadbtest"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
)

// TestLocalAddrLoopbackOnly: `srbackup local up` refuses to serve its
// admin-for-everyone API beyond loopback unless asked (issue 12 §2).
func TestLocalAddrLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8650": true, "127.0.0.2:0": true, "[::1]:8650": true, "localhost:8650": true,
		":8650": false, "0.0.0.0:8650": false, "[::]:8650": false, "192.168.1.5:8650": false,
		"example.com:8650": false, "127.0.0.1": false,
	} {
		if err := checkLocalAddr(addr, false); (err == nil) != ok {
			t.Errorf("checkLocalAddr(%q) = %v, want ok %v", addr, err, ok)
		}
		if err := checkLocalAddr(addr, true); err != nil {
			t.Errorf("checkLocalAddr(%q, allowRemote) = %v", addr, err)
		}
	}
	// Refused before anything starts.
	var out, errb strings.Builder
	if code := runLocal(context.Background(), []string{"up", "-addr", "0.0.0.0:8650"}, stdio{out: &out, err: &errb}); code != 2 || !strings.Contains(errb.String(), "-allow-remote") {
		t.Errorf("local up -addr 0.0.0.0:8650 = %d, %q", code, errb.String())
	}
}

// TestParseOwnSource: the DSN of -source holds no password; the password
// comes from the environment or a file, and no error shows either.
func TestParseOwnSource(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if _, err := parseOwnSource("u:hunter2@tcp(db:3306)/", "", env(nil)); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), envSourcePass) {
		t.Errorf("password in the DSN: %v", err)
	}
	if _, err := parseOwnSource("u:hunter2@tcp(db:3306", "", env(nil)); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("malformed DSN: %v", err)
	}
	o, err := parseOwnSource("u@tcp(db:3306)/", "", env(map[string]string{envSourcePass: "s3cret"}))
	if err != nil || o.cfg.Passwd != "s3cret" || o.String() != "u@db:3306" {
		t.Fatalf("password from the environment: %+v %v", o, err)
	}
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err = parseOwnSource("u@tcp(db:3306)/", file, env(map[string]string{envSourcePass: "s3cret"})); err != nil || o.cfg.Passwd != "from-file" {
		t.Errorf("password from a file: %+v %v", o, err)
	}
	if _, err = parseOwnSource("u@tcp(db:3306)/", file+".missing", env(nil)); err == nil {
		t.Error("a missing password file was accepted")
	}
}

// TestLocalUpOwnSource runs `local up` against an existing server (a user
// with a password, on the tests' MariaDB) with -data-dir: a BACKUP of its
// database through the CLI, a restart on the same directory that still
// lists the snapshot, and the printed AWS CLI command listing its files.
// The password shows nowhere (issue 11 §2).
func TestLocalUpOwnSource(t *testing.T) {
	localtest.RequireNodeTools(t)
	maria := mariadbtest.ForTest(t)
	db := mariadbtest.NewDatabase(t, maria)
	conn, err := maria.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	user, password := "srb_local_"+strconv.Itoa(os.Getpid()), "pw-"+strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'", "GRANT ALL PRIVILEGES ON *.* TO '" + user + "'@'%'",
	} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = conn.ExecContext(context.Background(), "DROP USER '"+user+"'@'%'") })
	src, err := parseOwnSource(user+"@tcp("+maria.Addr()+")/", "", func(k string) string {
		if k == envSourcePass {
			return password
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()

	var logs strings.Builder
	// steps gets the endpoint and what local up printed before it served.
	up := func(t *testing.T, steps func(ep, printed string)) string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		endpoint, done := make(chan string, 1), make(chan error, 1)
		var out, errb bytes.Buffer
		go func() {
			done <- localUp(ctx, localOptions{addr: "127.0.0.1:0", source: src, dataDir: dataDir}, stdio{out: &out, err: &errb}, func(ep string) { endpoint <- ep })
		}()
		select {
		case ep := <-endpoint:
			steps(ep, out.String())
		case err := <-done:
			t.Fatalf("local up ended: %v\n%s", err, errb.String())
		case <-time.After(3 * time.Minute):
			t.Fatal("local up did not start")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("local up: %v", err)
		}
		logs.WriteString(out.String() + errb.String())
		return out.String()
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
		logs.WriteString(out.String() + errb.String())
		if code != 0 {
			t.Fatalf("srbackup %v: %d\n%s\n%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}

	first := up(t, func(ep, _ string) {
		out := cli("sql", "--local", "--endpoint", ep, "-D", db, "BACKUP SNAPSHOT own1 TO repo")
		id := regexp.MustCompile(`srbackup wait (\S+)`).FindStringSubmatch(out)
		if id == nil {
			t.Fatalf("BACKUP: %s", out)
		}
		cli("wait", "--local", "--endpoint", ep, "--interval", "100ms", id[1])
	})
	if !strings.Contains(first, "source: "+user+"@"+maria.Addr()) || !strings.Contains(first, db) {
		t.Errorf("local up did not name the source and its databases:\n%s", first)
	}
	up(t, func(ep, printed string) {
		if out := cli("sql", "--local", "--endpoint", ep, "SHOW SNAPSHOT ON repo"); !strings.Contains(out, "| own1 ") {
			t.Errorf("after a restart on the same -data-dir, SHOW SNAPSHOT:\n%s", out)
		}
		list := regexp.MustCompile(`(?m)^list:  (.*)$`).FindStringSubmatch(printed)
		if list == nil || !strings.Contains(printed, "query: duckdb -c") || !strings.Contains(printed, "files: "+repositoryDir(dataDir, "srbackup-repo")) {
			t.Fatalf("local up printed no S3 commands:\n%s", printed)
		}
		if _, err := exec.LookPath("aws"); err != nil {
			t.Logf("no AWS CLI here: the printed command is not run (%s)", list[1])
			return
		}
		cmd := exec.Command("sh", "-c", list[1])
		for _, kv := range os.Environ() { // the stack's process environment names no profile, which the CLI refuses
			if !strings.HasPrefix(kv, "AWS_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "__ss_own1/__ss_content/"+db+"/t/") {
			t.Errorf("%s: %v\n%s", list[1], err, out)
		}
	})
	// The snapshot's files are plain Parquet files on disk, which DuckDB reads.
	files, _ := filepath.Glob(filepath.Join(repositoryDir(dataDir, "srbackup-repo"), "__ss_own1", "__ss_content", db, "t", "*", "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("Parquet files on disk: %v", files)
	}
	if tables := parquettest.NewDuckDB(t).Read(t, files...); len(tables) != 1 || len(tables[0].Rows) != 2 {
		t.Errorf("DuckDB read %+v", tables)
	}
	if shellWord("shop") != "shop" || shellWord("my db") != "'my db'" || shellWord("it's") != `'it'\''s'` || shellWord("`x`") != "'`x`'" {
		t.Errorf("shell words: %s %s %s", shellWord("my db"), shellWord("it's"), shellWord("`x`"))
	}
	if strings.Contains(logs.String(), password) {
		t.Error("the source's password was printed")
	}
}
