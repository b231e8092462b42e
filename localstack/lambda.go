package localstack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// DefaultFunctionTimeout is the Lambda timeout of a registered function when
// none is given; the upload function in AWS gets 15 minutes.
const DefaultFunctionTimeout = 15 * time.Minute

// LambdaServer serves the Lambda Invoke API (POST
// /2015-03-31/functions/{name}/invocations) in-process. Each function is a Go
// handler run through lambda.NewHandler, the same adapter the Lambda Go runtime
// uses, so payload decoding and error reporting match AWS: a failed invocation
// answers 200 with X-Amz-Function-Error: Unhandled and a body
// {"errorType","errorMessage"} whose errorType is the error's Go type name.
type LambdaServer struct {
	region, account string
	log             *slog.Logger
	faults          *FaultPlan

	mu      sync.Mutex
	funcs   map[string]*function
	running map[string][]byte // request id -> payload of each handler running
	observe func(Invocation)
}

// Labels on the goroutines of each invocation (runtime/pprof), so a CPU
// profile of the process can be split by function and by invocation.
const (
	FunctionLabel   = "function"
	InvocationLabel = "invocation"
)

// Invocation is one finished invocation, as Observe reports it.
type Invocation struct {
	Function, RequestID string
	Payload             []byte
	Start, End          time.Time
	ErrorType           string // empty when it succeeded
}

// Observe calls f after every invocation ends (nil stops it): a benchmark
// builds its timeline from them. f must not block.
func (s *LambdaServer) Observe(f func(Invocation)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe = f
}

type function struct {
	handler lambda.Handler
	timeout time.Duration
	stats   FunctionStats
}

// FunctionStats counts the invocations of one function.
type FunctionStats struct {
	Invocations, Errors, InFlight, MaxInFlight int
}

func newLambdaServer(region, account string, log *slog.Logger, faults *FaultPlan) *LambdaServer {
	return &LambdaServer{region: region, account: account, log: log, faults: faults, funcs: map[string]*function{}, running: map[string][]byte{}}
}

// Register serves handler (anything lambda.NewHandler accepts) as the function
// name, replacing any function of that name.
func (s *LambdaServer) Register(name string, handler any) {
	s.RegisterHandler(name, lambda.NewHandler(handler))
}

// RegisterHandler serves a lambda.Handler as the function name. Tests use it to
// wrap a real function, e.g. to inject faults in front of it.
func (s *LambdaServer) RegisterHandler(name string, h lambda.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.funcs[name] = &function{handler: h, timeout: DefaultFunctionTimeout}
}

// Handler returns the handler registered as name, or nil.
func (s *LambdaServer) Handler(name string) lambda.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.funcs[name]; f != nil {
		return f.handler
	}
	return nil
}

// Stats returns a copy of the invocation counters of function name.
func (s *LambdaServer) Stats(name string) FunctionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.funcs[name]; f != nil {
		return f.stats
	}
	return FunctionStats{}
}

// Running counts the handlers running now (any function) whose payload
// contains substr: a test waits for a cancelled job's stragglers with it.
func (s *LambdaServer) Running(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.running {
		if strings.Contains(string(p), substr) {
			n++
		}
	}
	return n
}

// ARN returns the function ARN the local stack uses for name.
func (s *LambdaServer) ARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.region, s.account, name)
}

// functionName accepts "name", "name:qualifier", "account:function:name" or a full ARN.
func functionName(v string) string {
	if i := strings.Index(v, "function:"); i >= 0 {
		v = v[i+len("function:"):]
	}
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[:i]
	}
	return v
}

func (s *LambdaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, suffix) {
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "unsupported operation: "+r.Method+" "+r.URL.Path)
		return
	}
	name := functionName(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), suffix))
	s.mu.Lock()
	fn := s.funcs[name]
	s.mu.Unlock()
	if fn == nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+s.ARN(name))
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	id := requestID()
	w.Header().Set("X-Amzn-Requestid", id)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "Event":
		// Asynchronous: the caller does not wait, and the work must not be
		// cancelled when its HTTP request ends.
		go s.invoke(context.WithoutCancel(r.Context()), name, fn, id, payload)
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	}
	run := func(ctx context.Context) ([]byte, *messages.InvokeResponse_Error) {
		return s.invoke(ctx, name, fn, id, payload)
	}
	var out []byte
	var ferr *messages.InvokeResponse_Error
	if a := s.faults.match(call{service: ServiceLambda, function: name, contains: func(m string) bool { return strings.Contains(string(payload), m) }}); a != nil {
		out, ferr = a.invoke(r.Context(), id, fn.timeout, run)
	} else {
		out, ferr = run(r.Context())
	}
	w.Header().Set("Content-Type", "application/json")
	if ferr != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		out, _ = json.Marshal(ferr)
	}
	_, _ = w.Write(out)
}

// invoke runs one invocation with the function's timeout and Lambda context,
// converting errors and panics into the runtime's error payload.
func (s *LambdaServer) invoke(ctx context.Context, name string, fn *function, id string, payload []byte) (out []byte, ferr *messages.InvokeResponse_Error) {
	s.mu.Lock()
	fn.stats.Invocations++
	fn.stats.InFlight++
	fn.stats.MaxInFlight = max(fn.stats.MaxInFlight, fn.stats.InFlight)
	s.running[id] = payload
	s.mu.Unlock()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			ferr = &messages.InvokeResponse_Error{Type: "Runtime.Panic", Message: fmt.Sprint(p)}
		}
		s.mu.Lock()
		fn.stats.InFlight--
		delete(s.running, id)
		if ferr != nil {
			fn.stats.Errors++
		}
		observe := s.observe
		s.mu.Unlock()
		if observe != nil {
			inv := Invocation{Function: name, RequestID: id, Payload: payload, Start: start, End: time.Now()}
			if ferr != nil {
				inv.ErrorType = ferr.Type
			}
			observe(inv)
		}
		attrs := []any{"function", name, "requestId", id, "ms", time.Since(start).Milliseconds()}
		if ferr != nil {
			attrs = append(attrs, "errorType", ferr.Type, "error", ferr.Message)
		}
		s.log.Debug("lambda invoke", attrs...)
	}()
	ctx, cancel := context.WithTimeout(ctx, fn.timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: id, InvokedFunctionArn: s.ARN(name)})
	var b []byte
	var err error
	pprof.Do(ctx, pprof.Labels(FunctionLabel, name, InvocationLabel, id), func(ctx context.Context) {
		b, err = fn.handler.Invoke(ctx, payload)
	})
	if err != nil {
		if e, ok := err.(messages.InvokeResponse_Error); ok {
			return nil, &e
		}
		return nil, &messages.InvokeResponse_Error{Type: errorType(err), Message: err.Error()}
	}
	return b, nil
}

// invoke runs one invocation under the fault a (see FaultKind).
func (a *Armed) invoke(ctx context.Context, id string, timeout time.Duration,
	run func(context.Context) ([]byte, *messages.InvokeResponse_Error),
) ([]byte, *messages.InvokeResponse_Error) {
	switch a.Fault.Kind {
	case FaultLambdaError:
		_, _ = run(ctx)
		return nil, &messages.InvokeResponse_Error{Type: a.Fault.Code, Message: a.Fault.Message}
	case FaultLambdaLost:
		hctx, cut := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer a.running.Done()
			defer close(done)
			_, _ = run(hctx)
		}()
		select {
		case <-done:
		case <-time.After(a.Fault.After):
		}
		cut()
		return nil, &messages.InvokeResponse_Error{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", id, timeout.Seconds())}
	case FaultLambdaHold:
		defer a.running.Done()
		<-a.release
		return run(context.WithoutCancel(ctx))
	}
	return run(ctx)
}

// errorType names an error as the Lambda Go runtime does: its type name
// without package or pointer. State machine Retry and Catch match on it.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func lambdaError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
