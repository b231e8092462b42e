package apitest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/api/apitest"
	"github.com/srbackup/srbackup/shared/job"
)

func event(method, path, query, contentType, body string, signed bool) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: path, RawQueryString: query, Headers: map[string]string{}, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
	if contentType != "" {
		ev.Headers["content-type"] = contentType
	}
	if signed {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/t"},
		}
	}
	return ev
}

func response(status int, body string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
}

// backupJob is a job as the API renders it, from the real types.
func backupJob(t *testing.T) string {
	t.Helper()
	at := time.Date(2026, 11, 24, 3, 0, 0, 123e6, time.UTC)
	rec := job.NewRecord(job.Spec{JobID: "0193", Database: "shop", Label: "s1", Repository: "repo", CreatedAt: at, Deadline: at.Add(time.Hour),
		Objects: []job.Object{{Kind: job.KindTable, Name: "orders"}}, Options: job.Options{TimeoutSeconds: 3600}})
	rec.State, rec.SnapshotFinishedTime, rec.TaskErrors, rec.ExecutionARN = job.Uploading, at, map[int]string{3: "boom"}, "arn:x"
	b, err := json.Marshal(api.NewJob(rec))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const restoreJob = `{"jobId":"r1","snapshotName":"s1","timestamp":"2026-11-24-03-00-00-000","database":"shop2","snapshotDatabase":"shop",` +
	`"repository":"repo","state":"DOWNLOADING","status":"[OK]","restoreObjs":"[shop.orders]","objectCount":1,"createTime":"2026-11-24T03:00:00Z",` +
	`"metaPreparedTime":"2026-11-24T03:00:01Z","snapshotFinishedTime":null,"downloadFinishedTime":null,"finishedTime":null,` +
	`"deadline":"2026-11-25T03:00:00Z","timeoutSeconds":86400,"progress":{"filesDone":1,"filesTotal":4,"bytesDone":10,"bytesTotal":40}}`

func TestVerifyEvent(t *testing.T) {
	c := apitest.Load(t)
	j := backupJob(t)
	showBackup := `{"statement":"SHOW_BACKUP","columns":["JobId"],"rows":[["1"],[null]]}`
	cases := []struct {
		name     string
		ev       events.APIGatewayV2HTTPRequest
		resp     events.APIGatewayV2HTTPResponse
		mismatch string // "" when the exchange matches the document
	}{
		{"job list", event("GET", "/v1/backups", "db=shop&limit=5", "", "", true), response(200, `{"jobs":[`+j+`]}`), ""},
		{"one job", event("GET", "/v1/backups/0193", "", "", "", true), response(200, j), ""},
		{"restore job", event("GET", "/v1/restores/r1", "", "", "", true), response(200, restoreJob), ""},
		{"restore list", event("GET", "/v1/restores", "", "", "", true), response(200, `{"jobs":[`+restoreJob+`]}`), ""},
		{"a backup job is no restore job", event("GET", "/v1/restores/r1", "", "", "", true), response(200, j), "restoreObjs"},
		{"BACKUP result", event("POST", "/v1/sql", "", "text/plain", "BACKUP SNAPSHOT shop.s1 TO repo", true),
			response(202, `{"results":[{"statement":"BACKUP","columns":["JobId"],"rows":[["0193"]],"job":`+j+`}]}`), ""},
		{"RESTORE result", event("POST", "/v1/sql", "", "application/json", `{"sql":"RESTORE SNAPSHOT shop.s1 FROM repo"}`, true),
			response(202, `{"results":[{"statement":"RESTORE","columns":["JobId"],"rows":[["r1"]],"job":`+restoreJob+`}]}`), ""},
		{"neither job", event("POST", "/v1/sql", "", "text/plain", "BACKUP SNAPSHOT shop.s1 TO repo", true),
			response(202, `{"results":[{"statement":"BACKUP","job":{"jobId":"x"}}]}`), "/results/0/job"},
		{"SHOW result", event("POST", "/v1/sql", "", "text/plain", "SHOW BACKUP", true), response(200, `{"results":[`+showBackup+`]}`), ""},
		{"ok result", event("POST", "/v1/sql", "", "text/plain", "DROP SNAPSHOT s1 ON repo", true), response(200, `{"results":[{"statement":"DROP_SNAPSHOT","ok":true}]}`), ""},
		{"failed statement", event("POST", "/v1/sql", "", "text/plain", "SHOW BACKUP; CANCEL BACKUP FROM shop", true),
			response(400, `{"results":[`+showBackup+`],"error":{"code":"ANALYSIS_ERROR","message":"No running job"},"failedStatement":1}`), ""},
		{"unknown statement kind", event("POST", "/v1/sql", "", "text/plain", "VERIFY", true), response(200, `{"results":[{"statement":"VERIFY","ok":true}]}`), "statement"},
		{"undocumented field", event("GET", "/v1/backups/0193", "", "", "", true), response(200, strings.Replace(j, `"jobId"`, `"extra":1,"jobId"`, 1)), "extra"},
		{"undocumented state", event("GET", "/v1/backups/0193", "", "", "", true), response(200, strings.Replace(j, `"UPLOADING"`, `"LOADING"`, 1)), "state"},
		{"missing field", event("GET", "/v1/backups/0193", "", "", "", true), response(200, strings.Replace(j, `"database":"shop",`, "", 1)), "database"},
		{"undocumented status", event("GET", "/v1/backups/0193", "", "", "", true), response(409, `{"error":{"code":"CONFLICT","message":"x"}}`), "not documented"},
		{"undocumented error code", event("GET", "/v1/backups/0193", "", "", "", true), response(404, `{"error":{"code":"GONE","message":"x"}}`), "code"},
		{"error without message", event("GET", "/v1/backups/0193", "", "", "", true), response(404, `{"error":{"code":"NOT_FOUND"}}`), "message"},
		{"wrong content type", event("GET", "/v1/backups", "", "", "", true),
			events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/html"}, Body: `{"jobs":[]}`}, "text/html"},
		{"unsigned", event("GET", "/v1/backups", "", "", "", false), response(401, `{"error":{"code":"UNAUTHENTICATED","message":"sign it"}}`), ""},
		{"unsigned but served", event("GET", "/v1/backups", "", "", "", false), response(200, `{"jobs":[]}`), "accepted"},
		{"bad limit refused", event("GET", "/v1/backups", "limit=0", "", "", true), response(400, `{"error":{"code":"BAD_REQUEST","message":"limit"}}`), ""},
		{"bad limit served", event("GET", "/v1/backups", "limit=0", "", "", true), response(200, `{"jobs":[]}`), "accepted"},
		{"unknown field refused", event("POST", "/v1/sql", "", "application/json", `{"sql":"SHOW BACKUP","x":1}`, true),
			response(400, `{"error":{"code":"BAD_REQUEST","message":"not valid JSON"}}`), ""},
		{"unknown path", event("GET", "/v1/nothing", "", "", "", true), response(404, `{"error":{"code":"NO_SUCH_RESOURCE","message":"no such resource"}}`), ""},
		{"unknown path served", event("GET", "/v1/nothing", "", "", "", true), response(200, `{}`), "no such operation"},
		{"wrong method without Allow", event("PUT", "/v1/sql", "", "", "", true), response(405, `{"error":{"code":"METHOD_NOT_ALLOWED","message":"no"}}`), "Allow"},
		{"the document", event("GET", "/v1/openapi.yaml", "", "", "", true),
			events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/yaml"}, Body: string(api.OpenAPI)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.VerifyEvent(tc.ev, tc.resp)
			switch {
			case tc.mismatch == "" && err != nil:
				t.Errorf("want a match, got %v", err)
			case tc.mismatch != "" && err == nil:
				t.Errorf("want a mismatch mentioning %q, got none", tc.mismatch)
			case tc.mismatch != "" && !strings.Contains(err.Error(), tc.mismatch):
				t.Errorf("want a mismatch mentioning %q, got %v", tc.mismatch, err)
			}
		})
	}

	allowed := response(405, `{"error":{"code":"METHOD_NOT_ALLOWED","message":"no"}}`)
	allowed.Headers["Allow"] = http.MethodPost
	if err := c.VerifyEvent(event("PUT", "/v1/sql", "", "", "", true), allowed); err != nil {
		t.Errorf("405 with Allow: %v", err)
	}
}
