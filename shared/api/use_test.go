package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/api"
)

// TestCurrentDatabase: USE within a request and the "database" field give a
// BACKUP without a database its database, with the precedence statement,
// then USE, then "database"; everything else keeps StarRocks' meaning.
// Every exchange is checked against openapi.yaml (issue 11 §2).
func TestCurrentDatabase(t *testing.T) {
	e := startContractEnv(t)
	post := func(status int, body map[string]string) api.Response {
		t.Helper()
		raw, _ := json.Marshal(body)
		var out api.Response
		if err := json.Unmarshal([]byte(e.expect(status, "POST", "/v1/sql", "", "application/json", string(raw))), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	post(200, map[string]string{"sql": "CREATE REPOSITORY repo WITH BROKER ON LOCATION 's3://" + e.bucket + "/backups'"})
	jobDB := func(r api.Response, i int) string {
		t.Helper()
		if len(r.Results) <= i || r.Results[i].Job == nil {
			t.Fatalf("result %d has no job: %+v", i, r)
		}
		return r.Results[i].Job.Database
	}
	cancel := func(db string) {
		t.Helper()
		post(200, map[string]string{"sql": "CANCEL BACKUP FROM " + db})
	}

	// USE, then a BACKUP that names no database.
	r := post(202, map[string]string{"sql": "USE " + e.db + "; BACKUP SNAPSHOT u1 TO repo ON (TABLE customers)"})
	if r.Results[0].Statement != "USE" || !r.Results[0].OK || r.Results[0].Database != e.db || jobDB(r, 1) != e.db {
		t.Fatalf("USE; BACKUP: %+v", r)
	}
	cancel(e.db)
	// The "database" field alone.
	if r = post(202, map[string]string{"sql": "BACKUP SNAPSHOT u2 TO repo", "database": e.db}); jobDB(r, 0) != e.db {
		t.Fatalf(`"database": %+v`, r)
	}
	cancel(e.db)
	// USE wins over "database" (which names a database that does not
	// exist: only USE's is used).
	if r = post(202, map[string]string{"sql": "USE " + e.db + "; BACKUP SNAPSHOT u3 TO repo", "database": "nope"}); jobDB(r, 1) != e.db {
		t.Fatalf(`USE over "database": %+v`, r)
	}
	cancel(e.db)
	// A database named in the statement wins over both.
	if r = post(202, map[string]string{"sql": "USE mysql; BACKUP DATABASE " + e.db + " SNAPSHOT u4 TO repo", "database": "nope"}); jobDB(r, 1) != e.db {
		t.Fatalf("statement over USE: %+v", r)
	}
	cancel(e.db)
	if r = post(202, map[string]string{"sql": "BACKUP SNAPSHOT " + e.db + ".u5 TO repo", "database": "nope"}); jobDB(r, 0) != e.db {
		t.Fatalf(`statement over "database": %+v`, r)
	}

	// StarRocks' meaning elsewhere: SHOW BACKUP without FROM shows every
	// database (mysql has no job, e.db has), a bare CANCEL BACKUP is
	// refused, and a BACKUP with no database at all is refused.
	if r = post(200, map[string]string{"sql": "SHOW BACKUP", "database": "mysql"}); len(r.Results[0].Rows) != 1 {
		t.Errorf("SHOW BACKUP with a current database: %+v", r)
	}
	if r = post(400, map[string]string{"sql": "USE " + e.db + "; CANCEL BACKUP"}); r.Error == nil || !strings.Contains(r.Error.Message, "No selected database for cancel BACKUP/RESTORE") {
		t.Errorf("bare CANCEL BACKUP after USE: %+v", r)
	}
	if r = post(400, map[string]string{"sql": "BACKUP SNAPSHOT u6 TO repo"}); r.Error == nil || !strings.Contains(r.Error.Message, "No database selected") {
		t.Errorf("BACKUP without a database: %+v", r)
	}
	// USE of a database the source does not have fails where it stands.
	if r = post(400, map[string]string{"sql": "SHOW REPOSITORIES; USE nope; BACKUP SNAPSHOT u7 TO repo"}); r.Error == nil ||
		!strings.Contains(r.Error.Message, "Unknown database 'nope'") || r.FailedStatement == nil || *r.FailedStatement != 1 || len(r.Results) != 1 {
		t.Errorf("USE nope: %+v", r)
	}
	// A non-admin may USE (it names a database, nothing more); what follows
	// is checked on its own.
	if resp := e.call(contractUser, "POST", "/v1/sql", "", "text/plain", "USE "+e.db); resp.StatusCode != 200 {
		t.Errorf("USE as a user without grants: %d %s", resp.StatusCode, resp.Body)
	}
	e.expect(400, "POST", "/v1/sql", "", "application/json", `{"sql": "SHOW BACKUP", "database": "`+strings.Repeat("d", 300)+`"}`)
}
