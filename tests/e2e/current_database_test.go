package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/api"
)

// TestCurrentDatabase runs BACKUPs that name no database through the real
// API, state machine and functions: one after USE, one with the request's
// "database" field. Both snapshot the current database; a RESTORE sent with
// a current database still restores into the snapshot's database, and a bare
// CANCEL BACKUP is still refused (issue 11 §2).
func TestCurrentDatabase(t *testing.T) {
	e := startRestoreEnv(t)
	post := func(text, database string) (int, api.Response) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"sql": text, "database": database})
		resp := e.call("POST", "/v1/sql", "", "application/json", string(body))
		var out api.Response
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			t.Fatalf("%s: %v", resp.Body, err)
		}
		return resp.StatusCode, out
	}

	status, out := post("USE shop; BACKUP SNAPSHOT cur1 TO repo ON (TABLE customers)", "")
	if status != http.StatusAccepted || len(out.Results) != 2 || out.Results[1].Job == nil || out.Results[1].Job.Database != "shop" {
		t.Fatalf("USE shop; BACKUP: %d %+v", status, out)
	}
	e.waitState("shop", "FINISHED")
	status, out = post("BACKUP SNAPSHOT cur2 TO repo ON (TABLE customers)", "shop")
	if status != http.StatusAccepted || out.Results[0].Job == nil || out.Results[0].Job.Database != "shop" {
		t.Fatalf(`"database": "shop" BACKUP: %d %+v`, status, out)
	}
	e.waitState("shop", "FINISHED")
	for _, label := range []string{"cur1", "cur2"} {
		res := e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = '" + label + "'")[0]
		ts := cell(t, res, 0, "Timestamp")
		detail := e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = '" + label + "' AND TIMESTAMP = '" + ts + "'")[0]
		if db := cell(t, detail, 0, "Database"); db != "shop" || cell(t, detail, 0, "Status") != "OK" {
			t.Fatalf("snapshot %s: %v", label, rowText(detail))
		}
	}

	// RESTORE ignores the current database: it goes into the snapshot's.
	ts := cell(t, e.mustSQL("SHOW SNAPSHOT ON repo WHERE SNAPSHOT = 'cur2'")[0], 0, "Timestamp")
	status, out = post("USE mysql; "+restoreSQL("cur2", ts, ""), "mysql")
	if status != http.StatusAccepted || len(out.Results) != 2 || out.Results[1].Job == nil {
		t.Fatalf("RESTORE with a current database: %d %+v", status, out)
	}
	if res := e.waitRestore("shop", "FINISHED"); cell(t, res, 0, "DbName") != "shop" {
		t.Fatalf("RESTORE went to %v", rowText(res))
	}

	// A bare CANCEL BACKUP is refused whatever the current database.
	status, out = post("CANCEL BACKUP", "shop")
	if status != http.StatusBadRequest || out.Error == nil || !strings.Contains(out.Error.Message, "No selected database for cancel BACKUP/RESTORE") {
		t.Fatalf("bare CANCEL BACKUP: %d %+v", status, out)
	}
}
