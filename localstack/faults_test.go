package localstack_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
)

// faultStack is a stack with one function, "f", that records each call and
// waits for its context when its payload says "block".
func faultStack(t *testing.T, opts localstack.Options) (*localstack.Stack, chan string, chan error) {
	t.Helper()
	calls, cut := make(chan string, 10), make(chan error, 10)
	opts.Handlers = func(context.Context, func(string) func(string) string) (map[string]any, error) {
		return map[string]any{"f": func(ctx context.Context, in map[string]string) (string, error) {
			calls <- in["say"]
			if in["say"] == "block" {
				<-ctx.Done()
				cut <- ctx.Err()
			}
			return "ok " + in["say"], nil
		}}, nil
	}
	return localtest.StartForTest(t, opts), calls, cut
}

func invoke(t *testing.T, c *lambda.Client, payload string) *lambda.InvokeOutput {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFaultPlanLambda(t *testing.T) {
	st, calls, cut := faultStack(t, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := lambda.NewFromConfig(cfg)

	// The second call mentioning "x" gets an error after the handler ran.
	a := st.Faults.Add(localstack.Rule{Service: localstack.ServiceLambda, Function: "f", Match: []string{`"x`}, Calls: localstack.Nth(2),
		Fault: localstack.LambdaError("TransientError", "injected")})
	for i, want := range []string{"", "TransientError", "", ""} {
		say := "x"
		if i == 3 {
			say = "y" // not matched
		}
		out := invoke(t, c, `{"say":"`+say+`"}`)
		if got := aws.ToString(out.FunctionError); (got != "") != (want != "") || (want != "" && !strings.Contains(string(out.Payload), `"errorType":"TransientError"`)) {
			t.Errorf("call %d: function error %q payload %s, want %q", i+1, got, out.Payload, want)
		}
		if got := <-calls; got != say {
			t.Errorf("call %d: handler saw %q", i+1, got)
		}
	}
	if a.Hits() != 1 {
		t.Errorf("hits %d, want 1", a.Hits())
	}
	a.Remove()

	// Lost: the caller gets a timed-out invoke at once; the handler's context is cut.
	lost := st.Faults.Add(localstack.Rule{Service: localstack.ServiceLambda, Function: "f", Calls: localstack.Every(), Fault: localstack.LambdaLost(50 * time.Millisecond)})
	out := invoke(t, c, `{"say":"block"}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"Sandbox.Timedout"`) {
		t.Errorf("lost invoke answered %q %s", aws.ToString(out.FunctionError), out.Payload)
	}
	<-calls
	if err := <-cut; !errors.Is(err, context.Canceled) {
		t.Errorf("handler context ended with %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := lost.Wait(ctx); err != nil {
		t.Errorf("abandoned handler still running: %v", err)
	}
	if n := st.Lambda.Running("block"); n != 0 {
		t.Errorf("%d handlers still counted running", n)
	}
	lost.Remove()

	// Hold: nothing runs until released.
	hold := st.Faults.Add(localstack.Rule{Service: localstack.ServiceLambda, Function: "f", Calls: localstack.First(1), Fault: localstack.LambdaHold()})
	done := make(chan *lambda.InvokeOutput)
	go func() {
		out, _ := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{"say":"held"}`)})
		done <- out
	}()
	<-hold.Hit()
	select {
	case got := <-calls:
		t.Fatalf("held handler ran: %q", got)
	case <-time.After(100 * time.Millisecond):
	}
	if n := st.Lambda.Running("held"); n != 0 {
		t.Errorf("a held invocation counts as running (%d)", n)
	}
	hold.Release()
	if out := <-done; out == nil || string(out.Payload) != `"ok held"` {
		t.Errorf("released invoke answered %+v", out)
	}
	<-calls
	hold.Remove()
}

func TestFaultPlanS3AndDynamoDB(t *testing.T) {
	st, _, _ := faultStack(t, localstack.Options{})
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	once := func(o *s3.Options) { o.RetryMaxAttempts = 1 }
	s3c := s3.NewFromConfig(cfg)
	put := func(key string, opts ...func(*s3.Options)) error {
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key), Body: strings.NewReader("x")}, opts...)
		return err
	}
	st.Faults.Add(localstack.Rule{Service: localstack.ServiceS3, Op: "s3:PutObject", Match: []string{"a/"}, Calls: localstack.Nth(1), Fault: localstack.S3InternalError()})
	st.Faults.Add(localstack.Rule{Service: localstack.ServiceS3, Op: "s3:PutObject", Match: []string{"a/"}, Calls: localstack.Nth(2), Fault: localstack.S3SlowDown()})
	var ae smithy.APIError
	if err := put("a/1", once); !errors.As(err, &ae) || ae.ErrorCode() != "InternalError" {
		t.Errorf("first put: %v, want InternalError", err)
	}
	if err := put("a/1", once); !errors.As(err, &ae) || ae.ErrorCode() != "SlowDown" {
		t.Errorf("second put: %v, want SlowDown", err)
	}
	if err := put("b/1", once); err != nil {
		t.Errorf("unmatched put: %v", err)
	}
	// The SDK's retryer retries both: a call that meets both faults succeeds.
	st.Faults.Add(localstack.Rule{Service: localstack.ServiceS3, Op: "s3:PutObject", Match: []string{"c/"}, Calls: localstack.First(1), Fault: localstack.S3InternalError()})
	st.Faults.Add(localstack.Rule{Service: localstack.ServiceS3, Op: "s3:PutObject", Match: []string{"c/"}, Calls: localstack.Nth(2), Fault: localstack.S3SlowDown()})
	if err := put("c/1"); err != nil {
		t.Errorf("retried put: %v", err)
	}

	ddb := dynamodb.NewFromConfig(cfg)
	item := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "LOCK#db1"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "LOCK"}}
	st.Faults.Add(localstack.Rule{Service: localstack.ServiceDynamoDB, Op: "dynamodb:PutItem", Match: []string{"LOCK#db1"}, Calls: localstack.Nth(1), Fault: localstack.DynamoDBThroughputExceeded()})
	st.Faults.Add(localstack.Rule{Service: localstack.ServiceDynamoDB, Op: "dynamodb:PutItem", Match: []string{"LOCK#db1"}, Calls: localstack.Nth(2), Fault: localstack.DynamoDBThrottling()})
	putItem := func(opts ...func(*dynamodb.Options)) error {
		_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item}, opts...)
		return err
	}
	onceDB := func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
	var pte *ddbtypes.ProvisionedThroughputExceededException
	if err := putItem(onceDB); !errors.As(err, &pte) {
		t.Errorf("first put: %v, want ProvisionedThroughputExceededException", err)
	}
	if err := putItem(onceDB); !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("second put: %v, want ThrottlingException", err)
	}
	if err := putItem(onceDB); err != nil {
		t.Errorf("third put: %v", err)
	}
	st.Faults.Add(localstack.Rule{Service: localstack.ServiceDynamoDB, Op: "dynamodb:PutItem", Calls: localstack.First(2), Fault: localstack.DynamoDBThrottling()})
	if err := putItem(); err != nil {
		t.Errorf("retried put: %v", err)
	}
}

// TestFaultPlanSource drops a connection through the source proxy: an
// echo server stands in for the database.
func TestFaultPlanSource(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	dsn := "root@tcp(" + l.Addr().String() + ")/"
	st, _, _ := faultStack(t, localstack.Options{Faults: true, Env: map[string]string{"SRBACKUP_SOURCE_DSN": dsn}})
	cfg, err := mysql.ParseDSN(st.FunctionEnv("f")("SRBACKUP_SOURCE_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr == l.Addr().String() {
		t.Fatal("the function's DSN does not go through the proxy")
	}
	if other, _ := mysql.ParseDSN(st.FunctionEnv("g")("SRBACKUP_SOURCE_DSN")); other.Addr == cfg.Addr {
		t.Error("two functions share one proxy")
	}
	a := st.Faults.Add(localstack.Rule{Service: localstack.ServiceSource, Function: "f", Match: []string{"boom"}, Calls: localstack.First(1), Fault: localstack.DropConnection()})
	talk := func(msg string) (string, error) {
		c, err := net.Dial("tcp", cfg.Addr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		if _, err := c.Write([]byte(msg)); err != nil {
			return "", err
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, len(msg))
		_, err = io.ReadFull(c, buf)
		return string(buf), err
	}
	if got, err := talk("hello"); err != nil || got != "hello" {
		t.Errorf("through the proxy: %q %v", got, err)
	}
	if got, err := talk("boom"); err == nil {
		t.Errorf("dropped connection answered %q", got)
	}
	if got, err := talk("boom"); err != nil || got != "boom" {
		t.Errorf("after the first drop: %q %v", got, err)
	}
	if a.Hits() != 1 {
		t.Errorf("hits %d", a.Hits())
	}
}

// TestSetExecutionTimeout times one execution out with the test-only
// override, as AWS ends an execution past its TimeoutSeconds.
func TestSetExecutionTimeout(t *testing.T) {
	def := filepath.Join(t.TempDir(), "wait.asl.json")
	if err := os.WriteFile(def, []byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"End":true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _, _ := faultStack(t, localstack.Options{Faults: true, StepFunctions: true, StateMachines: map[string]string{"wait": def}})
	ctx := context.Background()
	if err := st.SetExecutionTimeout(ctx, "short", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := sfn.NewFromConfig(cfg)
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.StateMachineARNs["wait"]), Name: aws.String("short")})
	if err != nil {
		t.Fatal(err)
	}
	d := waitExecution(t, c, out.ExecutionArn)
	if d.Status != sfntypes.ExecutionStatusTimedOut || aws.ToString(d.Error) != "States.Timeout" {
		t.Errorf("execution %s %s, want TIMED_OUT States.Timeout", d.Status, aws.ToString(d.Error))
	}
	// Another execution keeps the definition's timeout.
	other, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.StateMachineARNs["wait"]), Name: aws.String("long")})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if d, _ := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: other.ExecutionArn}); d.Status != sfntypes.ExecutionStatusRunning {
		t.Errorf("other execution %s", d.Status)
	}
	// A running execution times out from now.
	if err := st.SetExecutionTimeout(ctx, "long", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := waitExecution(t, c, other.ExecutionArn); d.Status != sfntypes.ExecutionStatusTimedOut {
		t.Errorf("running execution %s after its timeout was set, want TIMED_OUT", d.Status)
	}
}
