package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/pipeline"
)

// TestAPI drives every statement through POST /v1/sql and the REST
// resources, with the API function's real handler over the local stack.
func TestAPI(t *testing.T) {
	e := startAPIEnv(t)
	loc := fmt.Sprintf("s3://%s/backups", e.stack.Bucket)

	t.Run("repositories", func(t *testing.T) {
		e.mustSQL(fmt.Sprintf("CREATE REPOSITORY repo WITH BROKER ON LOCATION '%s' PROPERTIES ('aws.s3.iam_role_arn' = 'arn:aws:iam::123456789012:role/srbackup')", loc))
		e.mustSQL(fmt.Sprintf("CREATE READ ONLY REPOSITORY ro WITH BROKER ON LOCATION '%s'", loc))
		res := e.mustSQL("SHOW REPOSITORIES")[0]
		if len(res.Rows) != 2 || cell(t, res, 0, "RepoName") != "repo" || cell(t, res, 1, "IsReadOnly") != "true" {
			t.Fatalf("SHOW REPOSITORIES: %v", rowText(res))
		}
		status, out := e.sql(fmt.Sprintf("CREATE REPOSITORY repo WITH BROKER ON LOCATION '%s'", loc))
		if status != http.StatusConflict || out.Error.Code != "CONFLICT" {
			t.Fatalf("duplicate repository: %d %+v", status, out.Error)
		}
		before := e.state()
		status, out = e.sql(fmt.Sprintf("CREATE REPOSITORY k WITH BROKER ON LOCATION '%s' PROPERTIES ('aws.s3.access_key' = 'AKIAXXXX', 'aws.s3.secret_key' = 'hunter2')", loc))
		if status != http.StatusBadRequest || !strings.Contains(out.Error.Message, "refuses plaintext credentials") || strings.Contains(out.Error.Message, "hunter2") {
			t.Fatalf("plaintext keys: %d %+v", status, out.Error)
		}
		// The api role may touch only the deployment's buckets, so S3
		// refuses before it looks for the bucket, as on AWS.
		status, out = e.sql("CREATE REPOSITORY nb WITH BROKER ON LOCATION 's3://no-such-bucket/x'")
		if status != http.StatusBadRequest || !strings.Contains(out.Error.Message, "not writable (AccessDenied)") {
			t.Fatalf("unreachable location: %d %+v", status, out.Error)
		}
		if after := e.state(); after != before {
			t.Fatalf("a refused CREATE REPOSITORY changed state:\n%s\n---\n%s", before, after)
		}
		status, out = e.sql("BACKUP DATABASE shop SNAPSHOT s_ro TO ro")
		if status != http.StatusConflict || !strings.Contains(out.Error.Message, "Repository ro is read only") {
			t.Fatalf("backup to read-only: %d %+v", status, out.Error)
		}
		e.mustSQL("CREATE REPOSITORY tmp WITH BROKER ON LOCATION '" + loc + "'; DROP REPOSITORY tmp")
		status, out = e.sql("DROP REPOSITORY tmp")
		if status != http.StatusBadRequest {
			t.Fatalf("drop unknown: %d %+v", status, out.Error)
		}
	})

	t.Run("backup", func(t *testing.T) {
		status, out := e.sql("BACKUP DATABASE shop SNAPSHOT s1 TO repo ON (TABLE customers, TABLE products)")
		if status != http.StatusAccepted || out.Error != nil || len(out.Results) != 1 || out.Results[0].Job == nil {
			t.Fatalf("BACKUP: %d %+v", status, out)
		}
		j := out.Results[0].Job
		if j.SnapshotName != "s1" || j.Database != "shop" || !strings.HasSuffix(j.ExecutionARN, ":execution:backup:"+j.JobID) {
			t.Fatalf("job: %+v", j)
		}
		if cell(t, out.Results[0], 0, "JobId") != j.JobID {
			t.Fatalf("row: %v", rowText(out.Results[0]))
		}
		// The database is locked at once.
		status, busy := e.sql("BACKUP DATABASE shop SNAPSHOT s2 TO repo")
		if status != http.StatusConflict || !strings.Contains(busy.Error.Message, "Can only run one backup or restore job of a database at same time") {
			t.Fatalf("second BACKUP: %d %+v", status, busy.Error)
		}
		res := e.waitState("shop", "FINISHED")
		for col, want := range map[string]string{"Status": "[OK]", "SnapshotName": "s1", "DbName": "shop", "BackupObjs": "[shop.customers], [shop.products]"} {
			if got := cell(t, res, 0, col); got != want {
				t.Errorf("%s = %q, want %q", col, got, want)
			}
		}
		for _, col := range []string{"CreateTime", "SnapshotFinishedTime", "UploadFinishedTime", "FinishedTime"} {
			if v := cell(t, res, 0, col); len(v) != len("2006-01-02 15:04:05") {
				t.Errorf("%s = %q", col, v)
			}
		}

		// SHOW SNAPSHOT, both shapes.
		snaps := e.mustSQL("SHOW SNAPSHOT ON repo")[0]
		if len(snaps.Rows) != 1 || cell(t, snaps, 0, "Snapshot") != "s1" || cell(t, snaps, 0, "Status") != "OK" {
			t.Fatalf("SHOW SNAPSHOT: %v", rowText(snaps))
		}
		ts := cell(t, snaps, 0, "Timestamp")
		detail := e.mustSQL(fmt.Sprintf("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = 's1' AND TIMESTAMP = '%s'", ts))[0]
		if cell(t, detail, 0, "Database") != "shop" || cell(t, detail, 0, "Status") != "OK" || !strings.Contains(cell(t, detail, 0, "Details"), "customers") {
			t.Fatalf("SHOW SNAPSHOT detail: %v", rowText(detail))
		}
		missing := e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT IN ('s1', 'nope')")[0]
		if len(missing.Rows) != 2 || cell(t, missing, 1, "Status") != "ERROR: no snapshot" {
			t.Fatalf("SHOW SNAPSHOT IN: %v", rowText(missing))
		}
		status, bad := e.sql("SHOW SNAPSHOT ON repo WHERE TIMESTAMP = 'x'")
		if status != http.StatusBadRequest || !strings.Contains(bad.Error.Message, "Where clause should looks like: SNAPSHOT = 'your_snapshot_name' [AND TIMESTAMP = '2018-04-18-19-19-10']") {
			t.Fatalf("bad WHERE: %d %+v", status, bad.Error)
		}

		// CANCEL of a finished job.
		status, out = e.sql("CANCEL BACKUP FROM shop")
		if status != http.StatusConflict || out.Error.Message != "Job with label s1 can not be cancelled. state: FINISHED" {
			t.Fatalf("CANCEL finished: %d %+v", status, out.Error)
		}
		status, out = e.sql("CANCEL BACKUP FROM nodb")
		if status != http.StatusNotFound || out.Error.Message != "No backup job is currently running" {
			t.Fatalf("CANCEL none: %d %+v", status, out.Error)
		}

		// REST resources.
		r := e.call("GET", "/v1/backups/"+j.JobID, "", "", "")
		var got api.Job
		if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &got) != nil || got.State != "FINISHED" || got.Progress.ShardsDone != got.Progress.ShardsTotal || got.Progress.ShardsTotal == 0 {
			t.Fatalf("GET job: %d %s", r.StatusCode, r.Body)
		}
		r = e.call("GET", "/v1/backups", "db=shop&limit=5", "", "")
		if r.StatusCode != 200 || !strings.Contains(r.Body, j.JobID) {
			t.Fatalf("GET history: %d %s", r.StatusCode, r.Body)
		}
		r = e.call("GET", "/v1/repositories/repo/snapshots", "snapshot=s1", "", "")
		if r.StatusCode != 200 || !strings.Contains(r.Body, `"OK"`) {
			t.Fatalf("GET snapshots: %d %s", r.StatusCode, r.Body)
		}
		r = e.call("GET", "/v1/backups/nope", "", "", "")
		if r.StatusCode != 404 {
			t.Fatalf("GET unknown job: %d %s", r.StatusCode, r.Body)
		}
		r = e.call("DELETE", "/v1/backups/"+j.JobID, "", "", "")
		if r.StatusCode != 409 {
			t.Fatalf("DELETE finished job: %d %s", r.StatusCode, r.Body)
		}
		r = e.call("GET", "/v1/openapi.yaml", "", "", "")
		if r.StatusCode != 200 || !strings.HasPrefix(r.Body, "openapi: 3") {
			t.Fatalf("openapi: %d", r.StatusCode)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		e.gate.hold()
		defer e.gate.release()
		status, out := e.sql("BACKUP DATABASE shop SNAPSHOT c1 TO repo")
		if status != http.StatusAccepted {
			t.Fatalf("BACKUP: %d %+v", status, out.Error)
		}
		<-e.gate.entered
		e.waitState("shop", "UPLOADING")
		// The API locked for a short pending lease; the execution's Lock
		// state extended it to the full lease (issue 12 §2).
		want := out.Results[0].Job.Deadline.Add(pipeline.DefaultLockGrace).Truncate(time.Second)
		if _, exp, ok, err := jobstore.New(e.ddb, e.stack.Table).Holder(context.Background(), "shop"); err != nil || !ok || !exp.Equal(want) {
			t.Fatalf("lock expires %v (%v %v), want %v", exp, ok, err, want)
		}
		e.mustSQL("CANCEL BACKUP FROM shop")
		res := e.mustSQL("SHOW BACKUP FROM shop")[0]
		if cell(t, res, 0, "State") != "CANCELLED" || cell(t, res, 0, "Status") != "[COMMON_ERROR, msg: user cancelled]" {
			t.Fatalf("after CANCEL: %v", rowText(res))
		}
		e.gate.release()
		// The lock is released at once: a new BACKUP is accepted.
		status, out = e.sql("BACKUP DATABASE shop SNAPSHOT c2 TO repo ON (TABLE customers)")
		if status != http.StatusAccepted {
			t.Fatalf("BACKUP after CANCEL: %d %+v", status, out.Error)
		}
		e.waitState("shop", "FINISHED")
		desc, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(strings.Replace(out.Results[0].Job.ExecutionARN, out.Results[0].Job.JobID, cell(t, res, 0, "JobId"), 1))})
		if err != nil || desc.Status == "RUNNING" || desc.Status == "SUCCEEDED" {
			t.Fatalf("cancelled execution: %v %v", err, desc)
		}
	})
}
