package localstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
)

// TransientError is retried by the acceptance state machine.
type TransientError struct{ msg string }

func (e *TransientError) Error() string { return e.msg }

type runInput struct {
	Run         string `json:"run"`
	Items       []int  `json:"items"`
	Parallelism int    `json:"parallelism"`
}

type itemInput struct {
	Run  string `json:"run"`
	Item int    `json:"item"`
}

// acceptanceHandlers are small functions that use S3 and DynamoDB the way the
// srbackup functions do: clients from the default config, conditional writes
// and a transaction.
func acceptanceHandlers(st **localstack.Stack, attempts map[int]int, mu *sync.Mutex) func(ctx context.Context, _ func(string) func(string) string) (map[string]any, error) {
	return func(ctx context.Context, _ func(string) func(string) string) (map[string]any, error) {
		cfg, err := awsconf.Load(ctx)
		if err != nil {
			return nil, err
		}
		s3c, ddb := s3.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg)
		table, bucket := func() string { return (*st).Table }, func() string { return (*st).Bucket }
		runKey := func(run string) map[string]ddbtypes.AttributeValue {
			return map[string]ddbtypes.AttributeValue{
				"pk": &ddbtypes.AttributeValueMemberS{Value: "RUN#" + run},
				"sk": &ddbtypes.AttributeValueMemberS{Value: "RUN"},
			}
		}
		prepare := func(ctx context.Context, in runInput) (runInput, error) {
			item := runKey(in.Run)
			item["done"] = &ddbtypes.AttributeValueMemberN{Value: "0"}
			_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(table()), Item: item,
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			})
			if err != nil {
				return in, fmt.Errorf("claim run %s: %w", in.Run, err)
			}
			return in, nil
		}
		writer := func(ctx context.Context, in itemInput) (map[string]any, error) {
			mu.Lock()
			attempts[in.Item]++
			n := attempts[in.Item]
			mu.Unlock()
			switch {
			case in.Item == 1 && n == 1:
				return nil, &TransientError{"item 1 fails its first attempt"}
			case in.Item == 4:
				return nil, errors.New("item 4 always fails")
			}
			key := fmt.Sprintf("runs/%s/item-%d", in.Run, in.Item)
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(bucket()), Key: aws.String(key), Body: strings.NewReader(strings.Repeat("x", 1000*in.Item)),
			}); err != nil {
				return nil, err
			}
			_, err := ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
				{Put: &ddbtypes.Put{
					TableName: aws.String(table()),
					Item: map[string]ddbtypes.AttributeValue{
						"pk":  &ddbtypes.AttributeValueMemberS{Value: "RUN#" + in.Run},
						"sk":  &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("ITEM#%03d", in.Item)},
						"key": &ddbtypes.AttributeValueMemberS{Value: key},
					},
					ConditionExpression: aws.String("attribute_not_exists(sk)"),
				}},
				{Update: &ddbtypes.Update{
					TableName: aws.String(table()), Key: runKey(in.Run),
					UpdateExpression:          aws.String("ADD done :one"),
					ConditionExpression:       aws.String("attribute_exists(pk)"),
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":one": &ddbtypes.AttributeValueMemberN{Value: "1"}},
				}},
			}})
			if err != nil {
				return nil, err
			}
			return map[string]any{"item": in.Item, "ok": true, "key": key}, nil
		}
		summarize := func(ctx context.Context, in struct {
			Run     string           `json:"run"`
			Results []map[string]any `json:"results"`
		}) (map[string]any, error) {
			var objects int
			p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket()), Prefix: aws.String("runs/" + in.Run + "/"), MaxKeys: aws.Int32(2)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				objects += len(page.Contents)
			}
			got, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table()), Key: runKey(in.Run), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return nil, err
			}
			failed := 0
			for _, r := range in.Results {
				if r["ok"] == false {
					failed++
				}
			}
			done := got.Item["done"].(*ddbtypes.AttributeValueMemberN).Value
			return map[string]any{"objects": objects, "done": done, "failed": failed}, nil
		}
		return map[string]any{"prepare": prepare, "writer": writer, "summarize": summarize}, nil
	}
}

func waitExecution(t *testing.T, c *sfn.Client, arn *string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution still running after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAcceptance(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	attempts := map[int]int{}
	var st *localstack.Stack
	t0 := time.Now()
	st = localtest.StartForTest(t, localstack.Options{
		Handlers:      acceptanceHandlers(&st, attempts, &mu),
		StepFunctions: true,
		StateMachines: map[string]string{"acceptance": "localstack/testdata/acceptance.asl.json"},
		RetryInterval: 10 * time.Millisecond,
	})
	t.Logf("stack up in %v", time.Since(t0).Round(time.Millisecond))
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The Invoke API reports errors as the Go runtime does.
	inv, err := lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("writer"), Payload: []byte(`{"run":"direct","item":4}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(inv.FunctionError) != "Unhandled" || !strings.Contains(string(inv.Payload), `"errorType":"errorString"`) {
		t.Fatalf("invoke error: FunctionError=%q payload=%s", aws.ToString(inv.FunctionError), inv.Payload)
	}

	c := sfn.NewFromConfig(cfg)
	start, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(st.StateMachineARNs["acceptance"]),
		Input:           aws.String(`{"run":"r1","items":[0,1,2,3,4,5],"parallelism":2}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := waitExecution(t, c, start.ExecutionArn)
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: error=%s cause=%s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct {
		Objects int    `json:"objects"`
		Done    string `json:"done"`
		Failed  int    `json:"failed"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatal(err)
	}
	// Items 0,1,2,3,5 are written (1 after one retry); 4 is caught.
	if out.Objects != 5 || out.Done != "5" || out.Failed != 1 {
		t.Errorf("output = %+v, want 5 objects, done 5, 1 failed", out)
	}
	if attempts[1] != 2 {
		t.Errorf("item 1 ran %d times, want 2 (one Retry)", attempts[1])
	}
	if attempts[4] != 1+1 { // once directly above, once in the Map: States.ALL is caught, not retried
		t.Errorf("item 4 ran %d times, want 2", attempts[4])
	}
	if got := st.Lambda.Stats("writer").MaxInFlight; got > 2 {
		t.Errorf("MaxConcurrencyPath not honoured: %d writers in flight", got)
	}
	hist, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: start.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	var retried, failedTasks int
	for _, e := range hist.Events {
		switch e.Type {
		case "TaskStateRetried":
			retried++
		case sfntypes.HistoryEventTypeTaskFailed:
			failedTasks++
		}
	}
	if retried != 1 || failedTasks < 2 {
		t.Errorf("history: %d retries, %d failed tasks; want 1 and ≥2", retried, failedTasks)
	}

	// The same run again: the conditional put in Prepare fails the execution.
	again, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(st.StateMachineARNs["acceptance"]),
		Input:           aws.String(`{"run":"r1","items":[0],"parallelism":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitExecution(t, c, again.ExecutionArn); d.Status != sfntypes.ExecutionStatusFailed || !strings.Contains(aws.ToString(d.Cause), "ConditionalCheckFailed") {
		t.Fatalf("rerun: %s error=%s cause=%s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
}

// TestStatusChangeEvent checks the EventBridge rule emulation: executions that
// fail or are stopped invoke the status-change functions with AWS's event.
func TestStatusChangeEvent(t *testing.T) {
	ctx := context.Background()
	events := make(chan map[string]any, 4)
	st := localtest.StartForTest(t, localstack.Options{
		Handlers: func(context.Context, func(string) func(string) string) (map[string]any, error) {
			return map[string]any{"onchange": func(_ context.Context, ev map[string]any) error { events <- ev; return nil }}, nil
		},
		StepFunctions:         true,
		StateMachines:         map[string]string{"fail": "localstack/testdata/fail.asl.json"},
		StatusChangeFunctions: []string{"onchange"},
	})
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := sfn.NewFromConfig(cfg)
	for _, tc := range []struct {
		input, status string
	}{{`{"wait":false}`, "FAILED"}, {`{"wait":true}`, "ABORTED"}} {
		start, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.StateMachineARNs["fail"]), Input: aws.String(tc.input)})
		if err != nil {
			t.Fatal(err)
		}
		if tc.status == "ABORTED" {
			if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: start.ExecutionArn, Cause: aws.String("test")}); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case ev := <-events:
			detail, _ := ev["detail"].(map[string]any)
			if ev["detail-type"] != "Step Functions Execution Status Change" || ev["source"] != "aws.states" ||
				detail["status"] != tc.status || detail["executionArn"] != aws.ToString(start.ExecutionArn) || detail["input"] != tc.input {
				t.Errorf("event = %v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no status-change event for %s", tc.status)
		}
	}
}

// TestCloseStopsEverything checks that no child process outlives the stack.
func TestCloseStopsEverything(t *testing.T) {
	localtest.RequireNodeTools(t)
	st, err := localstack.Start(context.Background(), localstack.Options{StepFunctions: true})
	if err != nil {
		t.Fatal(err)
	}
	pid := st.StepFunctionsPID()
	st.Close()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("step functions server (pid %d) still exists after Close: %v", pid, err)
	}
}

// TestListMultipartUploadsOnFreshBucket checks the S3 patch: a bucket that
// never had a multipart upload lists none, as S3 does (gofakes3 answers 404).
func TestListMultipartUploadsOnFreshBucket(t *testing.T) {
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := s3.NewFromConfig(cfg).ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(st.Bucket), Prefix: aws.String("x/")})
	if err != nil {
		t.Fatalf("ListMultipartUploads on a fresh bucket: %v", err)
	}
	if len(out.Uploads) != 0 || aws.ToString(out.Prefix) != "x/" {
		t.Fatalf("uploads = %v, prefix %q", out.Uploads, aws.ToString(out.Prefix))
	}
}
