package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/api/apiclient"
	"github.com/srbackup/srbackup/shared/api/apitest"
)

// sigV4 signs a generated client's requests as a caller of the deployed API
// would (`local up` ignores the signature and serves the local admin).
func sigV4(creds aws.Credentials, region string) apiclient.RequestEditorFn {
	return func(ctx context.Context, req *http.Request) error {
		var body []byte
		if req.Body != nil {
			var err error
			if body, err = io.ReadAll(req.Body); err != nil {
				return err
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		sum := sha256.Sum256(body)
		return v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", region, time.Now())
	}
}

// testGeneratedClient drives `srbackup local up` at endpoint with the client
// oapi-codegen generated from openapi.yaml (shared/api/apiclient), every
// exchange checked against the document.
func testGeneratedClient(t *testing.T, endpoint string) {
	ctx := t.Context()
	c, err := apiclient.NewClientWithResponses(endpoint,
		apiclient.WithHTTPClient(&http.Client{Transport: apitest.Transport(t, nil)}),
		apiclient.WithRequestEditorFn(sigV4(aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, "us-east-1")))
	if err != nil {
		t.Fatal(err)
	}

	doc, err := c.GetOpenAPIWithResponse(ctx)
	if err != nil || doc.StatusCode() != http.StatusOK || !bytes.Equal(doc.Body, api.OpenAPI) || doc.YAML200 == nil {
		t.Fatalf("GetOpenAPI: %v %d", err, doc.StatusCode())
	}

	repos, err := c.ShowRepositoriesWithResponse(ctx)
	if err != nil || repos.JSON200 == nil || repos.JSON200.Statement != apiclient.StatementKindSHOWREPOSITORIES || repos.JSON200.Rows == nil {
		t.Fatalf("ShowRepositories: %v %s", err, repos.Body)
	}

	// BACKUP through the JSON body: 202 with the job.
	run, err := c.RunSQLWithResponse(ctx, apiclient.SQLRequest{Sql: "BACKUP DATABASE shop SNAPSHOT gen1 TO repo ON (TABLE customers)"})
	if err != nil || run.JSON202 == nil || len(run.JSON202.Results) != 1 || run.JSON202.Results[0].Job == nil {
		t.Fatalf("RunSQL BACKUP: %v %d %s", err, run.StatusCode(), run.Body)
	}
	started, err := run.JSON202.Results[0].Job.AsJob()
	if err != nil || started.SnapshotName != "gen1" || started.Database != "shop" {
		t.Fatalf("the BACKUP result's job: %+v %v", started, err)
	}

	// Poll the job as `srbackup wait` does.
	var j *apiclient.Job
	for deadline := time.Now().Add(2 * time.Minute); ; {
		got, err := c.GetBackupWithResponse(ctx, started.JobId)
		if err != nil || got.JSON200 == nil {
			t.Fatalf("GetBackup: %v %s", err, got.Body)
		}
		if j = got.JSON200; j.State == apiclient.JobStateFINISHED || j.State == apiclient.JobStateCANCELLED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s", j.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if j.State != apiclient.JobStateFINISHED || j.Status != "[OK]" || j.FinishedTime == nil || j.Progress.ShardsDone != j.Progress.ShardsTotal {
		t.Fatalf("job ended %+v", j)
	}

	db, limit := "shop", 5
	list, err := c.ListBackupsWithResponse(ctx, &apiclient.ListBackupsParams{Db: &db, Limit: &limit})
	if err != nil || list.JSON200 == nil || len(list.JSON200.Jobs) == 0 || list.JSON200.Jobs[0].JobId != started.JobId {
		t.Fatalf("ListBackups: %v %s", err, list.Body)
	}

	name := "gen1"
	snaps, err := c.ShowSnapshotsWithResponse(ctx, "repo", &apiclient.ShowSnapshotsParams{Snapshot: &name})
	if err != nil || snaps.JSON200 == nil || snaps.JSON200.Rows == nil || len(*snaps.JSON200.Rows) != 1 {
		t.Fatalf("ShowSnapshots: %v %s", err, snaps.Body)
	}

	// Errors arrive typed.
	cancel, err := c.CancelBackupWithResponse(ctx, started.JobId)
	if err != nil || cancel.JSON409 == nil || cancel.JSON409.Error.Code != apiclient.ErrorCodeCONFLICT {
		t.Fatalf("CancelBackup of a finished job: %v %d %s", err, cancel.StatusCode(), cancel.Body)
	}
	missing, err := c.GetBackupWithResponse(ctx, "no-such-job")
	if err != nil || missing.JSON404 == nil || missing.JSON404.Error.Code != apiclient.ErrorCodeNOTFOUND {
		t.Fatalf("GetBackup unknown: %v %d %s", err, missing.StatusCode(), missing.Body)
	}
	failed, err := c.RunSQLWithTextBodyWithResponse(ctx, "SHOW BACKUP FROM shop; CANCEL BACKUP FROM shop") // gen1 has finished
	if err != nil || failed.JSON409 == nil || failed.JSON409.FailedStatement == nil || *failed.JSON409.FailedStatement != 1 ||
		failed.JSON409.Results == nil || len(*failed.JSON409.Results) != 1 || failed.JSON409.Error.Code != apiclient.ErrorCodeCONFLICT {
		t.Fatalf("a failed second statement: %v %d %s", err, failed.StatusCode(), failed.Body)
	}
}
