package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/srbackup/srbackup/shared/api"
)

// localPrincipal is who a local-mode client claims to be.
const localPrincipal = "arn:aws:iam::123456789012:user/local"

// defaultLocalAddr is where `srbackup local up` listens unless told otherwise.
const defaultLocalAddr = "127.0.0.1:8650"

// client talks to the srbackup HTTP API, signing requests with SigV4
// (service execute-api) using the default AWS credential chain.
type client struct {
	endpoint *url.URL
	http     *http.Client
	creds    aws.CredentialsProvider
	region   string
	local    bool
}

// apiFailure is an error answer of the API.
type apiFailure struct {
	Status int
	Err    api.Error
}

func (f *apiFailure) Error() string {
	return fmt.Sprintf("ERROR %s (HTTP %d): %s", f.Err.Code, f.Status, f.Err.Message)
}

// endpointFlags are the flags every API command takes.
type endpointFlags struct {
	endpoint string
	local    bool
}

// newClient resolves the endpoint (--endpoint, SRBACKUP_ENDPOINT, or the
// local stack's with --local) and loads credentials. Local mode needs none
// and looks for none (no AWS configuration, no instance metadata): the local
// server takes the principal from a header.
func newClient(ctx context.Context, f endpointFlags) (*client, error) {
	ep := f.endpoint
	if ep == "" && !f.local {
		ep = os.Getenv("SRBACKUP_ENDPOINT")
	}
	if ep == "" && f.local {
		ep = localEndpoint()
	}
	if ep == "" {
		return nil, errors.New("no endpoint: give --endpoint, set SRBACKUP_ENDPOINT, or use --local with `srbackup local up`")
	}
	u, err := url.Parse(strings.TrimRight(ep, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid endpoint %q: want http(s)://host[/base]", ep)
	}
	c := &client{endpoint: u, http: &http.Client{Timeout: 60 * time.Second}, local: f.local}
	if c.local {
		return c, nil
	}
	// The SDK's own log would add a WARN line per lookup that fails (e.g.
	// "falling back to IMDSv1"); a missing credential gets one line below.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	c.creds, c.region = cfg.Credentials, cmp.Or(cfg.Region, regionOf(u.Host))
	if c.region == "" {
		return nil, errors.New("no AWS region for signing: set AWS_REGION (or a region in the AWS CLI's profile)")
	}
	if c.creds == nil {
		return nil, errNoCredentials
	}
	if _, err := c.creds.Retrieve(ctx); err != nil {
		return nil, errNoCredentials
	}
	return c, nil
}

// errNoCredentials is the one line a caller without AWS credentials gets.
var errNoCredentials = errors.New("no AWS credentials to sign the request with: configure the AWS CLI (aws configure, AWS_PROFILE) " +
	"or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for `srbackup local up` use --local")

// regionOf takes the region from an API Gateway host name
// (<id>.execute-api.<region>.amazonaws.com).
func regionOf(host string) string {
	parts := strings.Split(host, ".")
	for i, p := range parts {
		if p == "execute-api" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

// localEndpointFile is where `srbackup local up` writes its endpoint.
func localEndpointFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "srbackup", "local-endpoint")
}

func localEndpoint() string {
	if b, err := os.ReadFile(localEndpointFile()); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b))
	}
	return "http://" + defaultLocalAddr
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	u := *c.endpoint
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.local {
		req.Header.Set(api.PrincipalHeader, localPrincipal)
	}
	if err := c.sign(ctx, req, body); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, u.Redacted(), err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error   *api.Error `json:"error"`
			Message string     `json:"message"` // API Gateway's own errors
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != nil {
			// A failed POST /v1/sql also carries the earlier results.
			if out != nil {
				_ = json.Unmarshal(raw, out)
			}
			return &apiFailure{Status: resp.StatusCode, Err: *e.Error}
		}
		msg := e.Message
		if msg == "" {
			msg = strings.TrimSpace(string(raw))
		}
		return &apiFailure{Status: resp.StatusCode, Err: api.Error{Code: http.StatusText(resp.StatusCode), Message: msg}}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, u.Redacted(), err)
	}
	return nil
}

// sign adds a SigV4 signature: always, except in local mode.
func (c *client) sign(ctx context.Context, req *http.Request, body []byte) error {
	if c.creds == nil {
		return nil
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return errNoCredentials
	}
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", c.region, time.Now())
}

// runSQL posts statements; database is the current database they start
// with ("" for none).
func (c *client) runSQL(ctx context.Context, text, database string) (api.Response, error) {
	req := map[string]string{"sql": text}
	if database != "" {
		req["database"] = database
	}
	body, err := json.Marshal(req)
	if err != nil {
		return api.Response{}, err
	}
	var out api.Response
	err = c.do(ctx, http.MethodPost, "/v1/sql", nil, body, &out)
	return out, err
}

// getJob reads one job.
// getJob reads a BACKUP job, or a RESTORE job shown in the same shape: its
// data files count as its shards.
func (c *client) getJob(ctx context.Context, id string) (api.Job, error) {
	var j api.Job
	err := c.do(ctx, http.MethodGet, "/v1/backups/"+url.PathEscape(id), nil, nil, &j)
	var f *apiFailure
	if !errors.As(err, &f) || f.Status != http.StatusNotFound {
		return j, err
	}
	var r api.RestoreJob
	if rerr := c.do(ctx, http.MethodGet, "/v1/restores/"+url.PathEscape(id), nil, nil, &r); rerr != nil {
		return j, err // neither: the backup's 404
	}
	return api.Job{
		JobID: r.JobID, SnapshotName: r.SnapshotName, Database: r.Database, Repository: r.Repository,
		State: r.State, Status: r.Status, CreateTime: r.CreateTime, FinishedTime: r.FinishedTime,
		Deadline: r.Deadline, TimeoutSeconds: r.TimeoutSeconds, ExecutionARN: r.ExecutionARN, Restore: true,
		Progress: api.Progress{ShardsDone: r.Progress.FilesDone, ShardsTotal: r.Progress.FilesTotal, BytesDone: r.Progress.BytesDone, BytesTotal: r.Progress.BytesTotal},
	}, nil
}
