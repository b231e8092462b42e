package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/localstack/sandbox"
	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/api/apitest"
	"github.com/srbackup/srbackup/shared/app"
	"github.com/srbackup/srbackup/shared/awsconf"
)

// testPrincipal is the IAM principal API Gateway would put in the request
// context after checking the caller's SigV4 signature.
const testPrincipal = "arn:aws:iam::123456789012:user/e2e"

// apiEnv is the local stack with the real pipeline functions, a MariaDB
// with the sample shop database, and the API function's real handler.
type apiEnv struct {
	t     *testing.T
	stack *localstack.Stack
	h     api.HandlerFunc
	db    string // the sample database
	sfn   *sfn.Client
	ddb   *dynamodb.Client
	s3    *s3.Client
	gate  *uploadGate
}

// uploadGate holds upload invocations while closed, so a test can act while
// a job is UPLOADING.
type uploadGate struct {
	mu      sync.Mutex
	held    bool
	open    chan struct{}
	entered chan struct{}
}

func newUploadGate() *uploadGate {
	return &uploadGate{open: make(chan struct{}), entered: make(chan struct{}, 64)}
}

// hold makes the next uploads wait until release.
func (g *uploadGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.open = true, make(chan struct{})
}

func (g *uploadGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		g.held = false
		close(g.open)
	}
}

func (g *uploadGate) wrap(next lambda.Handler) lambda.Handler {
	return handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		g.mu.Lock()
		held, open := g.held, g.open
		g.mu.Unlock()
		if held {
			g.entered <- struct{}{}
			select {
			case <-open:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return next.Invoke(ctx, payload)
	})
}

type handlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

func startAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	ctx := context.Background()
	srv := shared.Server(t)
	sqlDB, err := srv.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	res, err := fixture.Generate(ctx, sqlDB, fixture.Options{Database: "shop", SizeBytes: fixture.MinSizeBytes, Seed: 1, DropExisting: true})
	if err != nil {
		t.Fatalf("sample database: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// testPrincipal is the API's admin: it holds every privilege
	// (privilege_test.go covers everyone else).
	stackOpts := sandbox.StackOptions(map[string]string{"SRBACKUP_SOURCE_DSN": srv.DSN(""), "SRBACKUP_ADMINS": testPrincipal}, log)
	stackOpts.RetryInterval = 50 * time.Millisecond
	st := localtest.StartForTest(t, stackOpts)
	gate := newUploadGate()
	st.Lambda.RegisterHandler("upload", gate.wrap(st.Lambda.Handler("upload")))
	t.Cleanup(gate.release)
	// The api function acts as its own role, as deployed.
	h, err := app.APIHandler(ctx, st.FunctionEnv("api"), log.With("function", "api"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &apiEnv{
		t: t, stack: st, h: h, db: res.Database, gate: gate,
		sfn: sfn.NewFromConfig(cfg), ddb: dynamodb.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg),
	}
}

// testWriter sends logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// call sends one request to the API handler as API Gateway would.
func (e *apiEnv) call(method, path, query, contentType, body string) events.APIGatewayV2HTTPResponse {
	e.t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers: map[string]string{}, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + strings.ReplaceAll(e.t.Name(), "/", "-"),
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: testPrincipal, AccountID: "123456789012"},
			},
		},
	}
	if contentType != "" {
		ev.Headers["content-type"] = contentType
	}
	if query != "" {
		ev.QueryStringParameters = map[string]string{}
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			ev.QueryStringParameters[k] = v
		}
	}
	resp, err := e.h(context.Background(), ev)
	if err != nil {
		e.t.Fatalf("%s %s: handler error %v", method, path, err)
	}
	apitest.CheckEvent(e.t, ev, resp) // every response must be one openapi.yaml describes
	return resp
}

// sql runs statements through POST /v1/sql and decodes the answer.
func (e *apiEnv) sql(text string) (int, api.Response) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": text})
	resp := e.call("POST", "/v1/sql", "", "application/json", string(body))
	var out api.Response
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		e.t.Fatalf("%s: decode %q: %v", text, resp.Body, err)
	}
	return resp.StatusCode, out
}

// mustSQL runs statements that must succeed.
func (e *apiEnv) mustSQL(text string) []api.Result {
	e.t.Helper()
	status, out := e.sql(text)
	if status >= 300 || out.Error != nil {
		e.t.Fatalf("%s: %d %+v", text, status, out.Error)
	}
	return out.Results
}

// cell returns column col of row i of r.
func cell(t *testing.T, r api.Result, i int, col string) string {
	t.Helper()
	for j, c := range r.Columns {
		if c == col {
			if i >= len(r.Rows) {
				t.Fatalf("no row %d in %+v", i, r)
			}
			if v := r.Rows[i][j]; v != nil {
				return *v
			}
			return "NULL"
		}
	}
	t.Fatalf("no column %s in %v", col, r.Columns)
	return ""
}

// waitState polls SHOW BACKUP FROM db until the job reaches a final state
// (or want) and returns the result.
func (e *apiEnv) waitState(db string, want ...string) api.Result {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last api.Result
	for time.Now().Before(deadline) {
		last = e.mustSQL("SHOW BACKUP FROM " + db)[0]
		if len(last.Rows) == 1 {
			state := cell(e.t, last, 0, "State")
			for _, w := range want {
				if state == w {
					return last
				}
			}
			if state == "FINISHED" || state == "CANCELLED" {
				e.t.Fatalf("job ended %s %s, want %v: %v", state, cell(e.t, last, 0, "Status"), want, rowText(last))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %v: %v", want, rowText(last))
	return last
}

func rowText(r api.Result) string {
	var b strings.Builder
	for _, row := range r.Rows {
		for j, v := range row {
			s := "NULL"
			if v != nil {
				s = *v
			}
			b.WriteString(r.Columns[j] + "=" + s + " ")
		}
	}
	return b.String()
}

// state is everything in DynamoDB and S3, to check that bad input changes
// nothing.
func (e *apiEnv) state() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	items, err := e.ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(e.stack.Table)})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items.Items {
		raw, _ := json.Marshal(it)
		b.Write(raw)
		b.WriteByte('\n')
	}
	objs, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.stack.Bucket)})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range objs.Contents {
		b.WriteString(aws.ToString(o.Key) + " " + aws.ToString(o.ETag) + "\n")
	}
	return b.String()
}
