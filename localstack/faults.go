package localstack

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/srbackup/srbackup/localstack/iam"
)

// FaultPlan is a test's list of faults for the local stack to inject: "the
// Nth call (or every call, or the first K calls) of operation X of service
// Y, for function F, touching P, gets fault Z". The services consult it on
// every request, so faults reach the real functions the way AWS's do, and no
// function code branches on them. An empty plan injects nothing.
//
// Rules are scoped by Function and Match, so tests that share one stack can
// each arm their own (Match on a database name or a snapshot label).
type FaultPlan struct {
	mu    sync.Mutex
	rules []*Armed
}

// Service is where a fault is injected.
type Service string

const (
	ServiceLambda   Service = "lambda"   // the Lambda Invoke API (synchronous invocations)
	ServiceS3       Service = "s3"       // the S3 REST API
	ServiceDynamoDB Service = "dynamodb" // the DynamoDB JSON API
	ServiceSource   Service = "source"   // the TCP proxy in front of the source database (Options.Faults)
)

// Rule says which calls get a fault.
type Rule struct {
	Service Service
	// Op is the IAM action of an S3 or DynamoDB request ("s3:PutObject",
	// which covers a multipart upload's parts, or "dynamodb:UpdateItem");
	// empty matches any. Lambda and source rules ignore it.
	Op string
	// Function is whom the call is for: the invoked function (Lambda), the
	// function that signed the request (S3, DynamoDB) or opened the
	// connection (source). Empty matches any.
	Function string
	// Match are strings that must all occur in the call: in the Lambda
	// payload, the S3 object key, listing prefix or body, the DynamoDB
	// request body, or the bytes a client sends to the source in one read.
	Match []string
	// Calls picks which of the matching calls get the fault.
	Calls Calls
	Fault Fault
}

// Calls is a range of matching calls, counted from 1; To 0 has no end.
type Calls struct{ From, To int }

// Nth is the nth matching call only.
func Nth(n int) Calls { return Calls{n, n} }

// First is the first k matching calls.
func First(k int) Calls { return Calls{1, k} }

// Every is every matching call.
func Every() Calls { return Calls{1, 0} }

func (c Calls) has(n int) bool { return n >= c.From && (c.To == 0 || n <= c.To) }

// FaultKind is what happens to a call.
type FaultKind int

const (
	// FaultLambdaError runs the handler, then reports an unhandled
	// function error of type Code instead of its result, as Lambda reports
	// a handler's error (200, X-Amz-Function-Error: Unhandled).
	FaultLambdaError FaultKind = iota + 1
	// FaultLambdaLost runs the handler and abandons the invocation after
	// After (or when the handler returns, if sooner): the handler's
	// context is cancelled and the caller gets a timed-out invoke
	// (errorType Sandbox.Timedout), as when a sandbox dies mid-call. The
	// handler may still finish what it is doing; Armed.Wait waits for it.
	FaultLambdaLost
	// FaultLambdaHold holds the invocation before the handler runs until
	// Armed.Release, then runs the handler to completion even if the
	// caller has gone (a stopped or timed-out execution does not stop a
	// running Lambda).
	FaultLambdaHold
	// FaultS3Error answers Status with the S3 error Code.
	FaultS3Error
	// FaultDynamoDBError answers 400 with the DynamoDB error Code.
	FaultDynamoDBError
	// FaultDropConnection closes the source connection without
	// forwarding what the client sent.
	FaultDropConnection
)

// Fault is one injected failure.
type Fault struct {
	Kind    FaultKind
	Code    string // Lambda errorType, S3 or DynamoDB error code
	Message string
	Status  int           // S3 HTTP status
	After   time.Duration // FaultLambdaLost
}

// LambdaError reports an unhandled error of type errorType after the handler ran.
func LambdaError(errorType, message string) Fault {
	return Fault{Kind: FaultLambdaError, Code: errorType, Message: message}
}

// LambdaLost abandons the invocation after d (see FaultLambdaLost).
func LambdaLost(d time.Duration) Fault { return Fault{Kind: FaultLambdaLost, After: d} }

// LambdaHold holds the invocation until released (see FaultLambdaHold).
func LambdaHold() Fault { return Fault{Kind: FaultLambdaHold} }

// S3InternalError is S3's 500 InternalError.
func S3InternalError() Fault {
	return Fault{Kind: FaultS3Error, Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error. Please try again."}
}

// S3SlowDown is S3's 503 SlowDown.
func S3SlowDown() Fault {
	return Fault{Kind: FaultS3Error, Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: "Please reduce your request rate."}
}

// DynamoDBThroughputExceeded is DynamoDB's ProvisionedThroughputExceededException.
func DynamoDBThroughputExceeded() Fault {
	return Fault{Kind: FaultDynamoDBError, Code: "ProvisionedThroughputExceededException",
		Message: "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}
}

// DynamoDBThrottling is DynamoDB's ThrottlingException.
func DynamoDBThrottling() Fault {
	return Fault{Kind: FaultDynamoDBError, Code: "ThrottlingException", Message: "Rate of requests exceeds the allowed throughput."}
}

// DropConnection closes the source connection.
func DropConnection() Fault { return Fault{Kind: FaultDropConnection} }

// Armed is a rule in a plan, with what it did.
type Armed struct {
	Rule
	plan *FaultPlan

	seen, hits int // under plan.mu
	hit        chan struct{}
	hitOnce    sync.Once
	release    chan struct{}
	relOnce    sync.Once
	running    sync.WaitGroup // handlers it abandoned or held
}

// Add arms a rule. Remove it when the test ends.
func (p *FaultPlan) Add(r Rule) *Armed {
	a := &Armed{Rule: r, plan: p, hit: make(chan struct{}), release: make(chan struct{})}
	p.mu.Lock()
	p.rules = append(p.rules, a)
	p.mu.Unlock()
	return a
}

// Hits is how many calls got the fault.
func (a *Armed) Hits() int {
	a.plan.mu.Lock()
	defer a.plan.mu.Unlock()
	return a.hits
}

// Hit is closed when the first call gets the fault.
func (a *Armed) Hit() <-chan struct{} { return a.hit }

// Release lets held invocations run.
func (a *Armed) Release() { a.relOnce.Do(func() { close(a.release) }) }

// Wait waits, up to ctx, for the handlers the rule abandoned or held to return.
func (a *Armed) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.running.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Remove disarms the rule and releases what it holds.
func (a *Armed) Remove() {
	a.plan.mu.Lock()
	for i, r := range a.plan.rules {
		if r == a {
			a.plan.rules = append(a.plan.rules[:i], a.plan.rules[i+1:]...)
			break
		}
	}
	a.plan.mu.Unlock()
	a.Release()
}

// releaseAll releases every hold, so a closing stack never waits on one.
func (p *FaultPlan) releaseAll() {
	p.mu.Lock()
	rules := append([]*Armed(nil), p.rules...)
	p.mu.Unlock()
	for _, a := range rules {
		a.Release()
	}
}

// call is one request as the rules see it.
type call struct {
	service      Service
	op, function string
	contains     func(string) bool
}

// match counts the call against every rule it matches and returns the
// first rule whose range it falls in, or nil. A nil plan matches nothing.
func (p *FaultPlan) match(c call) *Armed {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var fired *Armed
	for _, a := range p.rules {
		if a.Service != c.service || (a.Op != "" && c.service != ServiceLambda && c.service != ServiceSource && a.Op != c.op) ||
			(a.Function != "" && a.Function != c.function) || !a.matches(c) {
			continue
		}
		a.seen++
		if fired == nil && a.Calls.has(a.seen) {
			fired = a
			a.hits++
			if a.Fault.Kind == FaultLambdaLost || a.Fault.Kind == FaultLambdaHold {
				a.running.Add(1) // before the hit is signalled, so Wait sees it
			}
			a.hitOnce.Do(func() { close(a.hit) })
		}
	}
	return fired
}

func (a *Armed) matches(c call) bool {
	for _, m := range a.Match {
		if !c.contains(m) {
			return false
		}
	}
	return true
}

// signer is the function (or role) an access key belongs to.
func signer(r *http.Request) string { return strings.TrimPrefix(accessKey(r), iam.AccessKey("")) }

// faultS3 answers S3 requests the plan says fail, after authorization.
func faultS3(p *FaultPlan, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		desc, err := describeS3(r)
		if err != nil || len(desc) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		prefix := r.URL.Query().Get("prefix")
		body, _ := readBody(r) // DeleteObjects names its keys in the body
		a := p.match(call{service: ServiceS3, op: desc[0].action, function: signer(r), contains: func(m string) bool {
			return strings.Contains(key, m) || strings.Contains(prefix, m) || bytes.Contains(body, []byte(m))
		}})
		if a == nil {
			next.ServeHTTP(w, r)
			return
		}
		out, _ := xml.Marshal(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string
			Message   string
			RequestId string
		}{Code: a.Fault.Code, Message: a.Fault.Message, RequestId: requestID()})
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(a.Fault.Status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(append([]byte(xml.Header), out...))
		}
	})
}

// faultDynamoDB answers DynamoDB requests the plan says fail, after authorization.
func faultDynamoDB(p *FaultPlan, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := readBody(r)
		op := "dynamodb:" + strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
		a := p.match(call{service: ServiceDynamoDB, op: op, function: signer(r), contains: func(m string) bool { return bytes.Contains(body, []byte(m)) }})
		if a == nil {
			next.ServeHTTP(w, r)
			return
		}
		// DynamoDB names the error with its service namespace; the SDK
		// reads the part after '#'.
		ns := "com.amazonaws.dynamodb.v20120810#"
		if a.Fault.Code == "ThrottlingException" {
			ns = "com.amazon.coral.availability#"
		}
		writeAWSJSON(w, http.StatusBadRequest, map[string]string{"__type": ns + a.Fault.Code, "message": a.Fault.Message})
	})
}
