package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/srbackup/srbackup/shared/api"
)

// TestQuietLocalMode: `srbackup --local …` looks for no cloud credentials at
// all (the metadata stub sees no request and nothing is printed about it),
// and in AWS mode a missing credential is one clear line, without the SDK's
// "falling back to IMDSv1" warning (issue 11 §2). The process's real
// standard error is captured, since that is where the SDK logs.
func TestQuietLocalMode(t *testing.T) {
	var imdsHits atomic.Int32
	imdsStub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		imdsHits.Add(1)
		w.WriteHeader(http.StatusForbidden) // what this project's machines answer
	}))
	defer imdsStub.Close()
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": imdsStub.URL, "AWS_EC2_METADATA_DISABLED": "",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_REGION": "us-east-1",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
	} {
		t.Setenv(k, v)
	}
	// The API as `local up` serves it, over a handler that answers every
	// statement with an empty result.
	apiSrv := httptest.NewServer(api.HTTPHandler(func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"results":[{"statement":"SHOW_REPOSITORIES","columns":["RepoName"]}]}`}, nil
	}, api.HTTPOptions{TrustPrincipalHeader: true, DefaultPrincipal: localPrincipal}))
	defer apiSrv.Close()

	code, out, errb, stderr := runCapturingStderr(t, "--local", "sql", "--endpoint", apiSrv.URL, "SHOW REPOSITORIES")
	if code != 0 || !strings.Contains(out, "Empty set") || errb != "" || stderr != "" || imdsHits.Load() != 0 {
		t.Errorf("--local: exit %d, out %q, err %q, process stderr %q, IMDS asked %d times", code, out, errb, stderr, imdsHits.Load())
	}

	code, out, errb, stderr = runCapturingStderr(t, "sql", "--endpoint", apiSrv.URL, "SHOW REPOSITORIES")
	if code != 1 || out != "" || strings.Count(errb, "\n") != 1 || !strings.Contains(errb, "no AWS credentials to sign the request with") || stderr != "" {
		t.Errorf("AWS mode without credentials: exit %d, out %q, err %q, process stderr %q", code, out, errb, stderr)
	}
}

// runCapturingStderr runs the CLI and also returns what was written to the
// process's standard error (the SDK's default logger writes there).
func runCapturingStderr(t *testing.T, args ...string) (code int, out, errb, stderr string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	captured := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		captured <- string(b)
	}()
	var o, e bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(""), out: &o, err: &e})
	os.Stderr = saved
	w.Close()
	return code, o.String(), e.String(), <-captured
}
