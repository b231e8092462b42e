package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/app"
	"github.com/srbackup/srbackup/shared/pipeline"
)

// TestWholeDatabaseListedAtPlanning backs up a whole database whose object
// list is over the spec's limit (lowered to 64 bytes here; 32 KB by
// default, about 350 tables of the longest names): the spec carries only
// the count, SnapshotShard lists the database and the plan in S3 holds
// the list, and the snapshot's __info has every table, view and function.
// SHOW BACKUP summarises it, and the API's JSON lists every object (read
// from __info once the job is FINISHED). RESTORE brings the database back the same
// (checksums and definitions).
func TestWholeDatabaseListedAtPlanning(t *testing.T) {
	e := newEnv(t, envOptions{extraEnv: map[string]string{"SRBACKUP_MAX_SPEC_OBJECTS_BYTES": "64"}})
	rec := e.mustFinish(fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT wide TO repo", e.db))
	if rec.Spec.ObjectCount == 0 || len(rec.Spec.Objects) != 0 {
		t.Fatalf("spec: %d objects listed, count %d", len(rec.Spec.Objects), rec.Spec.ObjectCount)
	}
	if got, want := rec.BackupObjs(), fmt.Sprintf("[%s.*] (%d objects, listed in the snapshot's __info)", e.db, rec.Spec.ObjectCount); got != want {
		t.Errorf("BackupObjs = %q, want %q", got, want)
	}
	info := e.snapshot("wide")
	var got []string
	for _, o := range info.Objects {
		got = append(got, o.Name)
	}
	slices.Sort(got)
	want := e.queryStrings(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?
		UNION ALL SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'FUNCTION'`, e.db, e.db)
	if !slices.Equal(got, want) || len(got) != rec.Spec.ObjectCount {
		t.Errorf("__info lists %q, the database holds %q (count %d)", got, want, rec.Spec.ObjectCount)
	}

	// The API's JSON lists them all, from __info.
	h, err := app.APIHandler(context.Background(), func(k string) string {
		if k == "SRBACKUP_ADMINS" {
			return testPrincipal
		}
		return e.st.FunctionEnv("api")(k)
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp := (&apiEnv{t: t, stack: e.st, h: h}).call("GET", "/v1/backups/"+rec.Spec.JobID, "", "", "")
	var j api.Job
	if err := json.Unmarshal([]byte(resp.Body), &j); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET job: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	got = got[:0]
	for _, o := range j.Objects {
		got = append(got, o.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || j.ObjectCount != rec.Spec.ObjectCount || j.BackupObjs != rec.BackupObjs() {
		t.Errorf("API job lists %q (count %d, %q), want %q", got, j.ObjectCount, j.BackupObjs, want)
	}

	ts, err := e.repo.Timestamps(context.Background(), "wide")
	if err != nil || len(ts) != 1 {
		t.Fatalf("timestamps: %v %v", ts, err)
	}
	target := e.db + "_r"
	t.Cleanup(func() { _ = e.srv.DropDatabase(context.Background(), target) })
	in, _ := json.Marshal(map[string]string{"sql": fmt.Sprintf(`RESTORE SNAPSHOT wide FROM repo DATABASE %s AS %s PROPERTIES ("backup_timestamp" = "%s")`, e.db, target, ts[0])})
	out, err := e.sfn.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(e.st.StateMachineARNs["restore"]), Input: aws.String(string(in)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := e.wait(aws.ToString(out.ExecutionArn)); d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("restore: %s %s: %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	// The RESTORE's spec too keeps only the count (Prepare resolved the
	// statement against __info again); SHOW RESTORE summarises, and the
	// API's job lists every object, resolved the same way.
	rrec, err := e.store.Get(context.Background(), pipeline.ExecutionName(aws.ToString(out.ExecutionArn)))
	if err != nil {
		t.Fatal(err)
	}
	if !rrec.Spec.Unlisted() || rrec.Spec.ObjectCount != len(want) {
		t.Errorf("restore spec: %d objects listed, count %d, want the count %d only", len(rrec.Spec.Objects), rrec.Spec.ObjectCount, len(want))
	}
	if got, wantObjs := rrec.RestoreObjs(), fmt.Sprintf("* (all %d objects of the snapshot, listed in its __info)", len(want)); got != wantObjs {
		t.Errorf("RestoreObjs = %q, want %q", got, wantObjs)
	}
	resp = (&apiEnv{t: t, stack: e.st, h: h}).call("GET", "/v1/restores/"+rrec.Spec.JobID, "", "", "")
	var rj api.RestoreJob
	if err := json.Unmarshal([]byte(resp.Body), &rj); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET restore job: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	got = got[:0]
	for _, o := range rj.Objects {
		got = append(got, o.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || rj.ObjectCount != len(want) {
		t.Errorf("API restore job lists %q (count %d), want %q", got, rj.ObjectCount, want)
	}
	re := &restoreEnv{apiEnv: &apiEnv{t: t}, pool: e.pool()}
	sameMap(t, "checksum", re.checksums(e.db), re.checksums(target))
	defs := func(db string) map[string]string {
		m := re.definitions(db)
		for k, v := range m {
			m[k] = strings.ReplaceAll(v, "`"+db+"`", "`DB`")
		}
		return m
	}
	sameMap(t, "definition", defs(e.db), defs(target))
}
