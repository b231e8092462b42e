package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/shared/pipeline"
)

// TestAPIBadInput checks that bad requests get a clear 4xx and change
// nothing, and that schedule- and console-shaped executions make one job each.
func TestAPIBadInput(t *testing.T) {
	e := startAPIEnv(t)
	e.mustSQL(fmt.Sprintf("CREATE REPOSITORY repo WITH BROKER ON LOCATION 's3://%s/backups'", e.stack.Bucket))

	big := strings.Repeat("x", 2<<20)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"malformed JSON", "POST", "/v1/sql", "application/json", `{"sql": "SHOW BACKUP`, 400, "BAD_REQUEST"},
		{"unknown field", "POST", "/v1/sql", "application/json", `{"sql": "SHOW BACKUP", "drop": true}`, 400, "BAD_REQUEST"},
		{"empty body", "POST", "/v1/sql", "application/json", ``, 400, "BAD_REQUEST"},
		{"empty sql", "POST", "/v1/sql", "application/json", `{"sql": "  "}`, 400, "BAD_REQUEST"},
		{"unknown statement", "POST", "/v1/sql", "text/plain", `SELECT * FROM shop.customers`, 400, "SYNTAX_ERROR"},
		{"injection in database", "POST", "/v1/sql", "text/plain", "BACKUP DATABASE `x``; DROP TABLE customers; --` SNAPSHOT s TO repo", 400, "ANALYSIS_ERROR"},
		{"injection in snapshot", "POST", "/v1/sql", "text/plain", "BACKUP DATABASE shop SNAPSHOT x`; DROP TABLE t TO repo", 400, "SYNTAX_ERROR"},
		{"injection in table", "POST", "/v1/sql", "text/plain", "BACKUP DATABASE shop SNAPSHOT s TO repo ON (TABLE `customers; DROP TABLE customers`)", 400, "ANALYSIS_ERROR"},
		{"injection in repository", "POST", "/v1/sql", "text/plain", "SHOW SNAPSHOT ON `repo/../../x`", 400, "ANALYSIS_ERROR"},
		{"2 MiB body", "POST", "/v1/sql", "application/json", `{"sql": "` + big + `"}`, 413, "PAYLOAD_TOO_LARGE"},
		{"2 MiB text", "POST", "/v1/sql", "text/plain", big, 413, "PAYLOAD_TOO_LARGE"},
		{"bad content type", "POST", "/v1/sql", "application/xml", `<sql/>`, 415, "BAD_REQUEST"},
		{"GRANT to an unknown role", "POST", "/v1/sql", "text/plain", `GRANT REPOSITORY ON SYSTEM TO ROLE ghost`, 400, "ANALYSIS_ERROR"},
		{"GRANT to a bad principal", "POST", "/v1/sql", "text/plain", `GRANT ROLE r TO USER 'bob'`, 400, "ANALYSIS_ERROR"},
		{"wrong method", "GET", "/v1/sql", "", ``, 405, "METHOD_NOT_ALLOWED"},
		{"unknown path", "GET", "/v1/nothing", "", ``, 404, "NO_SUCH_RESOURCE"},
		{"bad limit", "GET", "/v1/backups", "", ``, 400, "BAD_REQUEST"},
	}
	before := e.state()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			query := ""
			if c.name == "bad limit" {
				query = "db=shop&limit=-1"
			}
			r := e.call(c.method, c.path, query, c.ctype, c.body)
			var out struct {
				Error *struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.Error == nil {
				t.Fatalf("%d %q: not an error body", r.StatusCode, r.Body)
			}
			if r.StatusCode != c.status || out.Error.Code != c.code || out.Error.Message == "" {
				t.Fatalf("got %d %s %q, want %d %s", r.StatusCode, out.Error.Code, out.Error.Message, c.status, c.code)
			}
			if strings.Contains(out.Error.Message, "goroutine") || strings.Contains(out.Error.Message, "127.0.0.1") {
				t.Fatalf("leaks internals: %q", out.Error.Message)
			}
		})
	}
	if after := e.state(); after != before {
		t.Fatalf("bad input changed state:\n%s\n---\n%s", before, after)
	}

	t.Run("schedule", func(t *testing.T) {
		input := `{"sql": "BACKUP DATABASE shop SNAPSHOT nightly TO repo ON (TABLE customers) PROPERTIES (\"label_suffix\" = \"time\")", "time": "2026-11-24T03:00:00Z"}`
		// A duplicate delivery: the same scheduled time twice.
		arns := make([]string, 2)
		for i := range arns {
			out, err := e.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
				StateMachineArn: aws.String(e.stack.StateMachineARNs["backup"]), Input: aws.String(input),
			})
			if err != nil {
				t.Fatal(err)
			}
			arns[i] = aws.ToString(out.ExecutionArn)
		}
		statuses := waitExecutions(t, e, arns...)
		if ok := (statuses[0] == "SUCCEEDED" && statuses[1] == "FAILED") || (statuses[0] == "FAILED" && statuses[1] == "SUCCEEDED"); !ok {
			t.Fatalf("duplicate delivery: executions ended %v, want one SUCCEEDED and one FAILED", statuses)
		}
		res := e.mustSQL("SHOW BACKUP FROM shop")[0]
		if cell(t, res, 0, "SnapshotName") != "nightly_20261124030000" || cell(t, res, 0, "State") != "FINISHED" {
			t.Fatalf("scheduled job: %v", rowText(res))
		}
		r := e.call("GET", "/v1/backups", "db=shop&limit=100", "", "")
		if n := strings.Count(r.Body, `"snapshotName":"nightly_20261124030000"`); n != 1 {
			t.Fatalf("%d jobs for one scheduled time: %s", n, r.Body)
		}
	})

	t.Run("console", func(t *testing.T) {
		in, _ := json.Marshal(pipeline.ExecutionInput{SQL: "BACKUP DATABASE shop SNAPSHOT console1 TO repo ON (TABLE products)"})
		out, err := e.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
			StateMachineArn: aws.String(e.stack.StateMachineARNs["backup"]), Input: aws.String(string(in)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if s := waitExecutions(t, e, aws.ToString(out.ExecutionArn)); s[0] != "SUCCEEDED" {
			t.Fatalf("console execution ended %s", s[0])
		}
		res := e.mustSQL("SHOW BACKUP FROM shop")[0]
		if cell(t, res, 0, "SnapshotName") != "console1" || cell(t, res, 0, "State") != "FINISHED" || cell(t, res, 0, "Status") != "[OK]" {
			t.Fatalf("console job: %v", rowText(res))
		}
		if id := cell(t, res, 0, "JobId"); id != pipeline.ExecutionName(aws.ToString(out.ExecutionArn)) {
			t.Fatalf("job id %s is not the execution name of %s", id, aws.ToString(out.ExecutionArn))
		}
		if res := e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = 'console1'")[0]; cell(t, res, 0, "Status") != "OK" {
			t.Fatalf("SHOW SNAPSHOT: %v", rowText(res))
		}
	})
}

// waitExecutions waits for executions to end and returns their statuses.
func waitExecutions(t *testing.T, e *apiEnv, arns ...string) []string {
	t.Helper()
	out := make([]string, len(arns))
	deadline := time.Now().Add(3 * time.Minute)
	for i, arn := range arns {
		for {
			d, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != "RUNNING" {
				out[i] = string(d.Status)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("execution %s still running", arn)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return out
}
