package awsconf_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/srbackup/srbackup/shared/awsconf"
)

// TestStaticCredentialsNeverAskIMDS: with keys in the environment (a
// Lambda role's, the local stack's), the configuration never reaches the
// instance metadata service, so local mode prints no IMDS warning (issue 11
// §2). The metadata endpoint is a stub that counts what reaches it.
func TestStaticCredentialsNeverAskIMDS(t *testing.T) {
	var hits atomic.Int32
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	defer stub.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", stub.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "s", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
	cfg, err := awsconf.LoadFrom(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDLOCAL" {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	if _, err := imds.NewFromConfig(cfg).GetRegion(context.Background(), nil); err == nil {
		t.Error("an IMDS client from the configuration answered: IMDS is not disabled")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("IMDS was asked %d times", n)
	}
}
