// Package localstack starts the AWS services srbackup uses on 127.0.0.1, with
// no Docker and no AWS account: S3 (gofakes3, in-process), DynamoDB (minidyn,
// in-process), the Lambda Invoke API (in-process, dispatching to the real Go
// handlers) and the Step Functions API (a Node child process running the real
// statemachine/*.asl.json with aws-local-stepfunctions).
//
// The same stack serves the tests, `make demo` and `srbackup local up`. It
// points the process environment at itself through the standard
// AWS_ENDPOINT_URL_<SERVICE> variables, so the functions run unchanged: there
// is one stack per process at a time.
package localstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/srbackup/srbackup/localstack/iam"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/jobstore"
)

// Account and region of every local ARN.
const (
	Region  = iam.Region
	Account = iam.Account
)

// Options configure a local stack. The zero value starts S3, DynamoDB and the
// Lambda server with the default table and bucket.
type Options struct {
	// Handlers builds the Lambda functions to serve, keyed by function name.
	// It runs after the process environment points at the stack; envOf
	// returns a function's environment, which holds its own credentials as
	// Lambda's does (Stack.FunctionEnv).
	Handlers func(ctx context.Context, envOf func(function string) func(string) string) (map[string]any, error)

	// IAM makes every service authorize every request against the signer's
	// role, as AWS does: each function signs with its own access key
	// (FunctionEnv), each state machine with its role's, and the policies
	// are the CDK stack's (package iam). The operator's key (the process
	// environment's) may do anything. Policies replaces the embedded
	// policies, e.g. to take a grant away in a test.
	IAM      bool
	Policies *iam.Policies

	// StepFunctions starts the Step Functions server (needs node and
	// `make tools`). StateMachines maps names to ASL files (relative to the
	// repository root) to create; ${<Name>FunctionArn} substitutions become
	// the ARN of the local function <name> (lower-cased).
	StepFunctions bool
	StateMachines map[string]string

	// StatusChangeFunctions are invoked asynchronously with the EventBridge
	// "Step Functions Execution Status Change" event when an execution ends
	// ABORTED, FAILED or TIMED_OUT, as the deployed rules do; an entry
	// "machine=fn" receives only the executions of state machine "machine".
	StatusChangeFunctions []string

	// RetryInterval, when set, replaces every Retry interval of every state
	// machine, so tests of retries run fast.
	RetryInterval time.Duration

	// Table and Bucket name the DynamoDB table and the S3 bucket to create
	// (defaults "srbackup" and "srbackup-repo").
	Table, Bucket string

	// Env is extra process environment for the functions (e.g. SRBACKUP_SOURCE_DSN).
	Env map[string]string

	// Faults turns on the fault plan's hooks that cost something when
	// idle: every function reaches the source (and RESTORE target) through
	// a TCP proxy of its own that ServiceSource rules can cut, and the Step
	// Functions server accepts SetExecutionTimeout. Tests only.
	Faults bool

	// S3Middleware wraps the S3 server, e.g. to inject faults in tests.
	S3Middleware func(http.Handler) http.Handler

	// S3Dir keeps the S3 stand-in's buckets and objects as files under this
	// directory (gofakes3's filesystem backend), so a repository outlives
	// the stack; empty keeps them in memory. The bucket is created only if
	// it is not there yet.
	S3Dir string

	Logger *slog.Logger
}

// Stack is a running local AWS stack.
type Stack struct {
	S3URL, DynamoDBURL, LambdaURL, StepFunctionsURL string
	Table, Bucket                                   string
	// StateMachineARNs maps the names in Options.StateMachines to their ARNs.
	StateMachineARNs map[string]string
	Lambda           *LambdaServer
	// IAM authorizes requests when Options.IAM is set; nil otherwise.
	IAM *iam.Authorizer
	// Faults is the fault plan every service consults (empty: none).
	Faults *FaultPlan

	root    string
	env     map[string]string
	proxyMu sync.Mutex
	proxies map[string]*sourceProxy // nil unless Options.Faults
	saved   map[string]*string      // process environment before Start
	servers []*http.Server
	sfn     *stepFunctions
}

// Start starts a stack. Close it to stop every server and child process and
// to restore the process environment.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s := &Stack{
		Table:            cmp.Or(opts.Table, "srbackup"),
		Bucket:           cmp.Or(opts.Bucket, "srbackup-repo"),
		StateMachineARNs: map[string]string{},
		Faults:           &FaultPlan{},
	}
	s.Lambda = newLambdaServer(Region, Account, log, s.Faults)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if opts.IAM {
		if s.Table != iam.Table || s.Bucket != iam.Bucket {
			return nil, fmt.Errorf("IAM: the policies name table %s and bucket %s, not %s and %s", iam.Table, iam.Bucket, s.Table, s.Bucket)
		}
		p := opts.Policies
		if p == nil {
			if p, err = iam.Embedded(); err != nil {
				return nil, err
			}
		}
		s.IAM = iam.NewAuthorizer(p)
	}
	// guard authorizes a service's requests when IAM is on.
	guard := func(h http.Handler, describe func(*http.Request) (request, error), deny func(http.ResponseWriter, *http.Request, error)) http.Handler {
		if s.IAM == nil {
			return h
		}
		return authorize(s.IAM, h, describe, deny)
	}
	var backend gofakes3.Backend = s3mem.New()
	if opts.S3Dir != "" {
		if backend, err = s3Files(opts.S3Dir); err != nil {
			return nil, err
		}
	}
	var s3h http.Handler = faultS3(s.Faults, s3Patch{gofakes3.New(backend).Server()})
	if opts.S3Middleware != nil {
		s3h = opts.S3Middleware(s3h)
	}
	if s.S3URL, err = s.serve("s3", guard(s3h, describeS3, denyS3)); err != nil {
		return nil, err
	}
	if s.DynamoDBURL, err = s.serve("dynamodb", guard(faultDynamoDB(s.Faults, newDynamoDB(Region, Account)), describeDynamoDB, denyDynamoDB)); err != nil {
		return nil, err
	}
	if s.LambdaURL, err = s.serve("lambda", guard(s.Lambda, describeLambda, denyLambda)); err != nil {
		return nil, err
	}
	for name := range opts.StateMachines {
		s.StateMachineARNs[name] = StateMachineARN(name)
	}
	s.env = map[string]string{
		"AWS_REGION":                       Region,
		"AWS_ACCESS_KEY_ID":                iam.AdminAccessKey,
		"AWS_SECRET_ACCESS_KEY":            iam.Secret,
		"AWS_SESSION_TOKEN":                "",
		"AWS_PROFILE":                      "",
		"AWS_CONFIG_FILE":                  os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":      os.DevNull,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ENDPOINT_URL_S3":              s.S3URL,
		"AWS_ENDPOINT_URL_DYNAMODB":        s.DynamoDBURL,
		"AWS_ENDPOINT_URL_LAMBDA":          s.LambdaURL,
		"AWS_REQUEST_CHECKSUM_CALCULATION": "when_required", // gofakes3 stores aws-chunked bodies verbatim
		"AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required", // and returns whole-object checksums on ranged GETs
		"SRBACKUP_TABLE":                   s.Table,
		"SRBACKUP_WORK_BUCKET":             s.Bucket, // the deployment's own bucket, as infra/stack sets it
	}
	if arn, ok := s.StateMachineARNs["backup"]; ok {
		s.env["SRBACKUP_STATE_MACHINE_ARN"] = arn
	}
	if arn, ok := s.StateMachineARNs["restore"]; ok {
		s.env["SRBACKUP_RESTORE_STATE_MACHINE_ARN"] = arn
	}
	for k, v := range opts.Env {
		s.env[k] = v
	}

	if opts.Faults {
		s.proxies = map[string]*sourceProxy{}
	}

	if opts.StepFunctions {
		if s.root, err = Root(); err != nil {
			return nil, err
		}
		env := s.environ()
		if opts.RetryInterval > 0 {
			env = append(env, fmt.Sprintf("SFN_RETRY_MS=%d", opts.RetryInterval.Milliseconds()))
		}
		env = append(env, "SFN_STATUS_CHANGE_FUNCTIONS="+strings.Join(opts.StatusChangeFunctions, ","))
		if opts.Faults {
			env = append(env, "SFN_TEST_HOOKS=1")
		}
		// Each state machine calls Lambda with its role's key, the
		// EventBridge rules as their service principal.
		env = append(env, "SFN_ROLE_KEY_PREFIX="+iam.AccessKey(""), "SFN_EVENTS_ACCESS_KEY="+iam.ServiceAccessKey("events.amazonaws.com"))
		if s.IAM != nil {
			// What a state machine does outside any service's API, starting
			// a Distributed Map's child executions, is checked here.
			iamURL, err := s.serve("iam", iamCheck(s.IAM))
			if err != nil {
				return nil, err
			}
			env = append(env, "SFN_IAM_URL="+iamURL)
		}
		if s.sfn, err = startStepFunctions(ctx, s.root, env, log); err != nil {
			return nil, err
		}
		s.StepFunctionsURL = s.sfn.url
		if s.IAM != nil {
			// The Node server sits behind an authorizing proxy.
			target, err := url.Parse(s.sfn.url)
			if err != nil {
				return nil, err
			}
			if s.StepFunctionsURL, err = s.serve("sfn-proxy", guard(httputil.NewSingleHostReverseProxy(target), describeStepFunctions, denyStepFunctions)); err != nil {
				return nil, err
			}
		}
		s.env["AWS_ENDPOINT_URL_SFN"] = s.StepFunctionsURL
	}
	s.setProcessEnv()

	if opts.Handlers != nil {
		handlers, err := opts.Handlers(ctx, s.FunctionEnv)
		if err != nil {
			return nil, fmt.Errorf("build lambda handlers: %w", err)
		}
		for name, h := range handlers {
			s.Lambda.Register(name, h)
		}
	}
	if err := s.provision(ctx, opts.StateMachines); err != nil {
		return nil, err
	}
	return s, nil
}

// ServiceLabel is the pprof label on the goroutines of each emulator the
// stack serves in-process ("s3", "dynamodb", "lambda", "iam",
// "sfn-proxy"); a Lambda invocation's goroutines carry FunctionLabel and
// InvocationLabel instead.
const ServiceLabel = "service"

// StateMachineARN is the local ARN of the state machine name.
func StateMachineARN(name string) string { return iam.StateMachineARN(name) }

// FunctionEnv returns the environment of function name: the process
// environment, the stack's, and the function's own credentials, which sign
// as its role (iam.AccessKey).
func (s *Stack) FunctionEnv(name string) func(string) string {
	return func(k string) string {
		switch k {
		case "AWS_ACCESS_KEY_ID":
			return iam.AccessKey(name)
		case "AWS_SECRET_ACCESS_KEY":
			return iam.Secret
		case "AWS_SESSION_TOKEN":
			return ""
		case "SRBACKUP_SOURCE_DSN", "SRBACKUP_TARGET_DSN":
			if v := s.env[k]; v != "" && s.proxies != nil {
				proxied, err := s.proxiedDSN(name, v)
				if err != nil {
					// An unreachable address fails the function's first
					// connection with this message.
					return "tcp(proxy-failed:0)/?" + url.QueryEscape(err.Error())
				}
				return proxied
			}
		}
		if v, ok := s.env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

// Env returns the environment that points an AWS SDK at the stack.
func (s *Stack) Env() map[string]string {
	out := make(map[string]string, len(s.env))
	for k, v := range s.env {
		out[k] = v
	}
	return out
}

// Close stops the stack and restores the process environment. It is safe to
// call more than once.
func (s *Stack) Close() {
	s.Faults.releaseAll()
	s.proxyMu.Lock()
	for _, p := range s.proxies {
		p.close()
	}
	s.proxies = nil
	s.proxyMu.Unlock()
	if s.sfn != nil {
		s.sfn.close()
		s.sfn = nil
	}
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	s.servers = nil
	for k, v := range s.saved {
		if v == nil {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, *v)
		}
	}
	s.saved = nil
}

func (s *Stack) serve(service string, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	// Every goroutine the server starts inherits the label, so a CPU
	// profile of the process tells the emulators' share from the functions'
	// (ServiceLabel).
	pprof.Do(context.Background(), pprof.Labels(ServiceLabel, service), func(context.Context) {
		go func() { _ = srv.Serve(l) }()
	})
	return "http://" + l.Addr().String(), nil
}

func (s *Stack) environ() []string {
	env := os.Environ()
	keys := make([]string, 0, len(s.env))
	for k := range s.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.env[k])
	}
	return env
}

func (s *Stack) setProcessEnv() {
	s.saved = map[string]*string{}
	for k, v := range s.env {
		if old, ok := os.LookupEnv(k); ok {
			s.saved[k] = &old
		} else {
			s.saved[k] = nil
		}
		os.Setenv(k, v)
	}
}

// provision creates the table, the bucket and the state machines.
func (s *Stack) provision(ctx context.Context, machines map[string]string) error {
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return err
	}
	db := dynamodb.NewFromConfig(cfg)
	if _, err := db.CreateTable(ctx, jobstore.CreateTableInput(s.Table)); err != nil {
		return fmt.Errorf("create table %s: %w", s.Table, err)
	}
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)}, 10*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", s.Table, err)
	}
	s3c := s3.NewFromConfig(cfg)
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Bucket)}); err == nil {
		// Kept on disk from an earlier run (Options.S3Dir).
	} else if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", s.Bucket, err)
	}
	if len(machines) == 0 {
		return nil
	}
	if s.sfn == nil {
		return errors.New("state machines need Options.StepFunctions")
	}
	client := sfn.NewFromConfig(cfg)
	for name, file := range machines {
		if !filepath.IsAbs(file) {
			file = filepath.Join(s.root, file)
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("state machine %s: %w", name, err)
		}
		def, err := s.substitute(string(raw))
		if err != nil {
			return fmt.Errorf("state machine %s (%s): %w", name, file, err)
		}
		if _, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name:       aws.String(name),
			Definition: aws.String(def),
			RoleArn:    aws.String(iam.RoleARN(iam.StateMachineRole(name))),
		}); err != nil {
			return fmt.Errorf("create state machine %s: %w", name, err)
		}
	}
	return nil
}

var substitution = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// substitute replaces ${<Name>FunctionArn} with the ARN of the local function
// <name>, as the CDK stack's DefinitionSubstitutions do in AWS. Any other
// placeholder is an error, so a definition never runs half-substituted.
func (s *Stack) substitute(def string) (string, error) {
	var unknown []string
	out := substitution.ReplaceAllStringFunc(def, func(m string) string {
		key := substitution.FindStringSubmatch(m)[1]
		fn, ok := strings.CutSuffix(key, "FunctionArn")
		if !ok || fn == "" {
			unknown = append(unknown, m)
			return m
		}
		return s.Lambda.ARN(lowerFirst(fn))
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown substitutions %v", unknown)
	}
	return out, nil
}

func lowerFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// Root finds the repository root: $SRBACKUP_ROOT, or the nearest directory
// upwards from the working directory that holds localstack/sfn/server.js.
func Root() (string, error) {
	if r := os.Getenv("SRBACKUP_ROOT"); r != "" {
		return r, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "localstack", "sfn", "server.js")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found (no localstack/sfn/server.js above the working directory); set SRBACKUP_ROOT")
		}
		dir = parent
	}
}

// StepFunctionsPID is the process id of the Step Functions server, or 0.
func (s *Stack) StepFunctionsPID() int {
	if s.sfn == nil {
		return 0
	}
	return s.sfn.cmd.Process.Pid
}
