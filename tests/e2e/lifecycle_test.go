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
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/lifecycle"
)

// TestLifecycle drives DROP SNAPSHOT, ttl and the expiry sweep end to end:
// real BACKUPs and a RESTORE through the API and the state machines, the
// sweep function invoked as its schedule would.
func TestLifecycle(t *testing.T) {
	e := startRestoreEnv(t)
	loc := fmt.Sprintf("s3://%s/backups", e.stack.Bucket)

	t.Run("ttl fixed into __info", func(t *testing.T) {
		e.mustSQL("BACKUP DATABASE shop SNAPSHOT t7 TO repo ON (TABLE customers, TABLE products) PROPERTIES ('ttl' = '7 days')")
		e.waitState("shop", "FINISHED")
		res := e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = 't7'")[0]
		want := []string{"Snapshot", "Timestamp", "Status", "ClusterId", "FinishTime", "TTL", "ExpireTime"}
		if strings.Join(res.Columns, ",") != strings.Join(want, ",") {
			t.Fatalf("columns %v, want %v", res.Columns, want)
		}
		if cell(t, res, 0, "ClusterId") == "NULL" || cell(t, res, 0, "TTL") != "7 DAY" {
			t.Fatalf("row: %v", rowText(res))
		}
		fin, err1 := time.Parse(time.DateTime, cell(t, res, 0, "FinishTime"))
		exp, err2 := time.Parse(time.DateTime, cell(t, res, 0, "ExpireTime"))
		if err1 != nil || err2 != nil || !exp.Equal(fin.AddDate(0, 0, 7)) || time.Since(fin) > time.Hour {
			t.Fatalf("FinishTime %s, ExpireTime %s: %v %v", cell(t, res, 0, "FinishTime"), cell(t, res, 0, "ExpireTime"), err1, err2)
		}
		// The repository's snapshot_ttl applies when the BACKUP gives none.
		e.mustSQL("CREATE REPOSITORY dflt WITH BROKER ON LOCATION '" + loc + "/dflt' PROPERTIES ('snapshot_ttl' = '1 DAY')")
		e.mustSQL("BACKUP DATABASE shop SNAPSHOT d1 TO dflt ON (TABLE customers)")
		e.waitState("shop", "FINISHED")
		if res := e.mustSQL("SHOW SNAPSHOT ON dflt")[0]; len(res.Rows) != 1 || cell(t, res, 0, "TTL") != "1 DAY" {
			t.Fatalf("repository default: %v", rowText(res))
		}
		status, out := e.sql("BACKUP DATABASE shop SNAPSHOT bad TO repo PROPERTIES ('ttl' = '7')")
		if status != http.StatusBadRequest || !strings.Contains(out.Error.Message, "Invalid ttl: '7'") {
			t.Fatalf("bad ttl: %d %+v", status, out.Error)
		}
	})

	t.Run("refused while a BACKUP writes", func(t *testing.T) {
		e.gate.hold()
		e.mustSQL("BACKUP DATABASE shop SNAPSHOT w TO repo ON (TABLE customers)")
		<-e.gate.entered
		status, out := e.sql("DROP SNAPSHOT w ON repo FORCE")
		if status != http.StatusConflict || !strings.Contains(out.Error.Message, "BACKUP job") {
			t.Errorf("DROP SNAPSHOT while its BACKUP uploads: %d %+v", status, out.Error)
		}
		status, out = e.sql("DROP REPOSITORY repo")
		if status != http.StatusConflict || !strings.Contains(out.Error.Message, "Repository repo is in use by BACKUP job") {
			t.Errorf("DROP REPOSITORY in use: %d %+v", status, out.Error)
		}
		e.gate.release()
		e.waitState("shop", "FINISHED")
	})

	t.Run("refused while a RESTORE reads", func(t *testing.T) {
		ts := cell(t, e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = 'w'")[0], 0, "Timestamp")
		e.loadGate.hold()
		e.mustRestore(t, restoreSQL("w", ts, "DATABASE shop AS shop_lc"))
		<-e.loadGate.entered
		status, out := e.sql("DROP SNAPSHOT w ON repo FORCE")
		if status != http.StatusConflict || !strings.Contains(out.Error.Message, "RESTORE job") {
			t.Errorf("DROP SNAPSHOT while a RESTORE reads it: %d %+v", status, out.Error)
		}
		e.loadGate.release()
		e.waitRestore("shop_lc", "FINISHED")
	})

	t.Run("drop", func(t *testing.T) {
		if res := e.mustSQL("DROP SNAPSHOT w ON repo"); len(res) != 1 || !res[0].OK || res[0].Statement != "DROP_SNAPSHOT" {
			t.Fatalf("DROP SNAPSHOT: %+v", res)
		}
		if res := e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = 'w'")[0]; cell(t, res, 0, "Status") != "ERROR: no snapshot" {
			t.Fatalf("after the drop: %v", rowText(res))
		}
		if left := e.objects("backups/__srbackup_repository_repo/__ss_w/"); len(left) != 0 {
			t.Fatalf("left under the snapshot: %v", left)
		}
		status, out := e.sql("DROP SNAPSHOT w ON repo")
		if status != http.StatusNotFound {
			t.Fatalf("second drop: %d %+v", status, out.Error)
		}
		// The label is reusable.
		e.mustSQL("BACKUP DATABASE shop SNAPSHOT w TO repo ON (TABLE customers)")
		e.waitState("shop", "FINISHED")
	})

	t.Run("verify", func(t *testing.T) {
		verify := func(deep bool) api.VerificationResult {
			t.Helper()
			text := "ADMIN VERIFY SNAPSHOT t7 ON repo"
			if deep {
				text += ` PROPERTIES ("deep" = "true")`
			}
			status, out := e.sql(text)
			if status != http.StatusAccepted || out.Error != nil || out.Results[0].Verification == nil {
				t.Fatalf("%s: %d %+v", text, status, out.Error)
			}
			id := out.Results[0].Verification.ID
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				resp := e.call("GET", "/v1/verifications/"+id, "", "", "")
				var v api.VerificationResult
				if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("GET verification: %d %s", resp.StatusCode, resp.Body)
				}
				if v.Verification.State == "FINISHED" || v.Verification.State == "FAILED" {
					return v
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Fatal("verification did not finish")
			return api.VerificationResult{}
		}
		good := verify(false)
		if good.Verification.State != "FINISHED" || good.Verification.Files < 2 || good.Verification.OK != good.Verification.Files {
			t.Fatalf("good snapshot: %+v", good.Verification)
		}
		// One data file deleted, another overwritten.
		var data []string
		for _, k := range e.objects("backups/__srbackup_repository_repo/__ss_t7/__ss_content/") {
			data = append(data, k)
		}
		if len(data) < 2 {
			t.Fatalf("t7 has %d data files, the test needs 2", len(data))
		}
		if _, err := e.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(e.stack.Bucket), Key: aws.String(data[0])}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.stack.Bucket), Key: aws.String(data[1]), Body: strings.NewReader("not parquet")}); err != nil {
			t.Fatal(err)
		}
		for _, deep := range []bool{false, true} {
			bad := verify(deep)
			if bad.Verification.Missing != 1 || bad.Verification.Mismatch != 1 {
				t.Fatalf("damaged snapshot, deep=%v: %+v", deep, bad.Verification)
			}
			statuses := map[string]int{}
			for _, row := range bad.Rows {
				statuses[*row[3]]++
			}
			if statuses["MISSING"] != 1 || statuses["MISMATCH"] != 1 {
				t.Fatalf("rows %v", statuses)
			}
		}
		e.mustSQL("DROP SNAPSHOT t7 ON repo") // damaged: out of the sweep's way
	})

	t.Run("sweep", func(t *testing.T) {
		e.mustSQL("BACKUP DATABASE shop SNAPSHOT short TO repo ON (TABLE customers) PROPERTIES ('ttl' = '1 SECOND')")
		e.waitState("shop", "FINISHED")
		time.Sleep(1100 * time.Millisecond)
		out, err := e.stack.Lambda.Handler("sweep").Invoke(context.Background(), []byte(`{"source":"aws.scheduler"}`))
		if err != nil {
			t.Fatal(err)
		}
		var res lifecycle.SweepResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("sweep answered %s: %v", out, err)
		}
		if len(res.Dropped) != 1 || res.Dropped[0] != "repo/short" || len(res.Errors) != 0 {
			t.Fatalf("sweep: %+v", res)
		}
		got := []string{}
		for _, row := range e.mustSQL("SHOW SNAPSHOT ON repo")[0].Rows {
			got = append(got, *row[0])
		}
		if strings.Join(got, ",") != "w" {
			t.Fatalf("left after the sweep: %v", got)
		}
	})
}

// objects lists the keys under prefix in the stack's bucket.
func (e *restoreEnv) objects(prefix string) []string {
	e.t.Helper()
	out, err := e.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(e.stack.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}
