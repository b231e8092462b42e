package sql_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/srbackup/srbackup/shared/sql"
)

func resultJSON(t *testing.T, text string) string {
	t.Helper()
	stmts, err := sql.Parse(text)
	b, jerr := json.Marshal(sql.NewResult(stmts, err))
	if jerr != nil {
		t.Fatalf("marshal %q: %v", text, jerr)
	}
	return string(b)
}

// TestJSONContract pins the JSON form other tools code against.
func TestJSONContract(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"BACKUP SNAPSHOT example_db.label1 TO example_repo ON (TABLE t PARTITION (p1, p2), ALL VIEWS)",
			`{"statements":[{"kind":"BACKUP","database":"example_db","snapshot":"label1","repository":"example_repo","objects":[{"type":"TABLE","name":"t","partitions":["p1","p2"]},{"type":"ALL_VIEWS"}],"external_catalogs":null,"properties":{"type":"FULL","timeout":"86400"}}]}`},
		{"BACKUP SNAPSHOT db.l TO r PROPERTIES ('parallelism'='2', 'compression'='none')",
			`{"statements":[{"kind":"BACKUP","database":"db","snapshot":"l","repository":"r","objects":null,"external_catalogs":null,"properties":{"type":"FULL","timeout":"86400","compression":"none","parallelism":"2"}}]}`},
		{"BACKUP EXTERNAL CATALOGS (c1, c2) SNAPSHOT l TO r",
			`{"statements":[{"kind":"BACKUP","database":"","snapshot":"l","repository":"r","objects":null,"external_catalogs":["c1","c2"],"properties":{"type":"FULL","timeout":"86400"}}]}`},
		{"BACKUP ALL EXTERNAL CATALOGS SNAPSHOT l TO r",
			`{"statements":[{"kind":"BACKUP","database":"","snapshot":"l","repository":"r","objects":null,"all_external_catalogs":true,"external_catalogs":null,"properties":{"type":"FULL","timeout":"86400"}}]}`},
		{"SHOW BACKUP; SHOW BACKUP FROM db; CANCEL BACKUP FROM db; CANCEL BACKUP FOR EXTERNAL CATALOG",
			`{"statements":[{"kind":"SHOW_BACKUP"},{"kind":"SHOW_BACKUP","database":"db"},{"kind":"CANCEL_BACKUP","database":"db"},{"kind":"CANCEL_BACKUP","external_catalog":true}]}`},
		{"SHOW SNAPSHOT ON r; SHOW SNAPSHOT ON r WHERE SNAPSHOT = 's'; SHOW SNAPSHOT ON r WHERE SNAPSHOT = 's' AND TIMESTAMP = 't'; SHOW SNAPSHOT ON r WHERE SNAPSHOT IN ('a', 'b')",
			`{"statements":[{"kind":"SHOW_SNAPSHOT","repository":"r"},{"kind":"SHOW_SNAPSHOT","repository":"r","where":{"snapshot":"s"}},{"kind":"SHOW_SNAPSHOT","repository":"r","where":{"snapshot":"s","timestamp":"t"}},{"kind":"SHOW_SNAPSHOT","repository":"r","where":{"snapshots":["a","b"]}}]}`},
		{"CREATE READ ONLY REPOSITORY r WITH BROKER ON LOCATION 's3://bucket/p' PROPERTIES ('aws.s3.region' = 'eu-west-1'); DROP REPOSITORY r; SHOW REPOSITORIES",
			`{"statements":[{"kind":"CREATE_REPOSITORY","name":"r","read_only":true,"location":"s3://bucket/p","properties":{"aws.s3.region":"eu-west-1"}},{"kind":"DROP_REPOSITORY","name":"r"},{"kind":"SHOW_REPOSITORIES"}]}`},
		{`RESTORE SNAPSHOT l FROM r DATABASE d AS d2 ON (TABLE t AS t2, ALL VIEWS) PROPERTIES ("backup_timestamp" = "ts")`,
			`{"statements":[{"kind":"RESTORE","database":"d","database_alias":"d2","snapshot":"l","repository":"r","objects":[{"type":"TABLE","name":"t","alias":"t2"},{"type":"ALL_VIEWS"}],"external_catalogs":null,"properties":{"timeout":"86400","backup_timestamp":"ts"}}]}`},
		{`RESTORE SNAPSHOT l FROM r EXTERNAL CATALOG (c AS c2) PROPERTIES ("backup_timestamp" = "ts")`,
			`{"statements":[{"kind":"RESTORE","database":"","snapshot":"l","repository":"r","objects":null,"external_catalogs":[{"name":"c","alias":"c2"}],"properties":{"timeout":"86400","backup_timestamp":"ts"}}]}`},
		{"GRANT EXPORT ON TABLE db.t TO USER 'arn:aws:iam::1:user/a'; REVOKE ROLE r1, r2 FROM ROLE r3; GRANT REPOSITORY ON SYSTEM TO ROLE r",
			`{"statements":[{"kind":"GRANT","privileges":["EXPORT"],"object":{"type":"TABLE","database":"db","table":"t"},"grantee":{"type":"USER","name":"arn:aws:iam::1:user/a"}},{"kind":"REVOKE","roles":["r1","r2"],"grantee":{"type":"ROLE","name":"r3"}},{"kind":"GRANT","privileges":["REPOSITORY"],"object":{"type":"SYSTEM"},"grantee":{"type":"ROLE","name":"r"}}]}`},
		{"DROP SNAPSHOT s ON r; DROP SNAPSHOT s ON r FORCE",
			`{"statements":[{"kind":"DROP_SNAPSHOT","snapshot":"s","repository":"r"},{"kind":"DROP_SNAPSHOT","snapshot":"s","repository":"r","force":true}]}`},
		{"CREATE ROLE IF NOT EXISTS r; DROP ROLE r",
			`{"statements":[{"kind":"CREATE_ROLE","name":"r","if_not_exists":true},{"kind":"DROP_ROLE","name":"r"}]}`},
		{"BACKUP SNAPSHOT db.l TO r ON (t PARTITON (p1))",
			`{"error":{"message":"Getting syntax error at line 1, column 33. Detail message: unexpected 'PARTITON', expecting '.', 'TEMPORARY', 'PARTITION', 'PARTITIONS', 'AS', ',' or ')'.","line":1,"column":33}}`},
		{"\n  BACKUP SNAPSHOT l TO r",
			`{"error":{"message":"Getting analyzing error. Detail message: No database selected.","line":2,"column":3}}`},
	} {
		if got := resultJSON(t, c.in); got != c.want {
			t.Errorf("JSON of %q\n got: %s\nwant: %s", c.in, got, c.want)
		}
	}
}

func TestNewResultForeignError(t *testing.T) {
	b, err := json.Marshal(sql.NewResult(nil, errors.New("boom")))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"error":{"message":"boom","line":0,"column":0}}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
