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

	"github.com/srbackup/srbackup/shared/lifecycle"
)

// TestLifecycle drives DROP SNAPSHOT, ttl and the expiry sweep end to end:
// real BACKUPs and a RESTORE through the API and the state machines, the
// sweep function invoked as its schedule would.
func TestLifecycle(t *testing.T) {
	e := startRestoreEnv(t)
	loc := fmt.Sprintf("s3://%s/backups", e.stack.Bucket)

	t.Run("ttl fixed into __info", func(t *testing.T) {
		e.mustSQL("BACKUP DATABASE shop SNAPSHOT t7 TO repo ON (TABLE customers) PROPERTIES ('ttl' = '7 days')")
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
		if strings.Join(got, ",") != "t7,w" {
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
