package localstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
)

// TestStepFunctionsEmulationUnits runs the Node unit tests of the
// Distributed Map emulation and the payload quota (localstack/sfn/*.test.js).
func TestStepFunctionsEmulationUnits(t *testing.T) {
	localtest.RequireNodeTools(t)
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	tests, _ := filepath.Glob(filepath.Join(root, "localstack", "sfn", "*.test.js"))
	if len(tests) == 0 {
		t.Fatal("no localstack/sfn/*.test.js")
	}
	cmd := exec.Command("node", append([]string{"--test"}, tests...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(root, "_tools", "node_modules"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}

// batchEvent is what a Distributed Map child receives with an ItemBatcher.
type batchEvent struct {
	Items      []int `json:"Items"`
	BatchInput struct {
		Run string `json:"run"`
	} `json:"BatchInput"`
}

// TestDistributedMap runs a Distributed Map on the local server: the items
// come from the local S3 object the input names, each child execution gets
// {Items, BatchInput}, a child's task is retried, the children are listed
// under the Map Run; a task result over 256 KB fails the execution with
// States.DataLimitExceeded although a Catch of States.ALL is in place.
func TestDistributedMap(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var batches []batchEvent
	attempts := map[int]int{}
	st := localtest.StartForTest(t, localstack.Options{
		Handlers: func(context.Context, func(string) func(string) string) (map[string]any, error) {
			return map[string]any{
				"batch": func(_ context.Context, ev batchEvent) (map[string]int, error) {
					mu.Lock()
					defer mu.Unlock()
					attempts[ev.Items[0]]++
					if ev.Items[0] == 2 && attempts[2] == 1 {
						return nil, &TransientError{"batch [2 3] fails its first attempt"}
					}
					batches = append(batches, ev)
					return map[string]int{"n": len(ev.Items)}, nil
				},
				"large": func(context.Context, map[string]any) (string, error) {
					return strings.Repeat("x", 300<<10), nil
				},
			}, nil
		},
		StepFunctions: true,
		StateMachines: map[string]string{"distributed": "localstack/testdata/distributed.asl.json"},
		RetryInterval: 10 * time.Millisecond,
	})
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(st.Bucket), Key: aws.String("plans/items.json"), Body: strings.NewReader("[0,1,2,3,4]"),
	}); err != nil {
		t.Fatal(err)
	}
	c := sfn.NewFromConfig(cfg)
	start, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(st.StateMachineARNs["distributed"]),
		Input:           aws.String(`{"bucket":"` + st.Bucket + `","key":"plans/items.json","run":"r1","parallelism":2}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := waitExecution(t, c, start.ExecutionArn)
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: error=%s cause=%s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	slices.SortFunc(batches, func(a, b batchEvent) int { return a.Items[0] - b.Items[0] })
	var got []string
	for _, b := range batches {
		raw, _ := json.Marshal(b)
		got = append(got, string(raw))
	}
	want := []string{`{"Items":[0,1],"BatchInput":{"run":"r1"}}`, `{"Items":[2,3],"BatchInput":{"run":"r1"}}`, `{"Items":[4],"BatchInput":{"run":"r1"}}`}
	if !slices.Equal(got, want) {
		t.Errorf("batches %v\nwant %v", got, want)
	}
	if attempts[2] != 2 {
		t.Errorf("batch [2 3] ran %d times, want 2 (one Retry in its child)", attempts[2])
	}
	var out struct {
		Results []map[string]int `json:"results"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil || len(out.Results) != 3 || out.Results[2]["n"] != 1 {
		t.Errorf("output %s (%v): want the three children's results in item order", aws.ToString(d.Output), err)
	}
	runs, err := c.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: start.ExecutionArn})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("ListMapRuns: %v %v", runs, err)
	}
	children, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(children.Executions) != 3 {
		t.Errorf("%d child executions, want 3", len(children.Executions))
	}
	for _, e := range children.Executions {
		if e.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(e.ExecutionArn), ":execution:distributed/Fan:") {
			t.Errorf("child %s %s", aws.ToString(e.ExecutionArn), e.Status)
		}
	}

	// A 300 KB task result: States.DataLimitExceeded, which no Catch takes.
	big, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.StateMachineARNs["distributed"]), Input: aws.String(`{"big":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitExecution(t, c, big.ExecutionArn); d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "States.DataLimitExceeded" {
		t.Errorf("oversize result: %s error=%s cause=%s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}

	// A missing item file fails the Map with States.ItemReaderFailed.
	missing, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(st.StateMachineARNs["distributed"]),
		Input:           aws.String(`{"bucket":"` + st.Bucket + `","key":"plans/none.json","run":"r2","parallelism":2}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitExecution(t, c, missing.ExecutionArn); d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "States.ItemReaderFailed" || !strings.Contains(aws.ToString(d.Cause), "NoSuchKey") {
		t.Errorf("missing items: %s error=%s cause=%s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
}

// TestUnexecutedMapFieldsRefused: the server refuses a definition with a Map
// field the emulation does not execute, so nothing runs differently from AWS
// unnoticed.
func TestUnexecutedMapFieldsRefused(t *testing.T) {
	ctx := context.Background()
	localtest.StartForTest(t, localstack.Options{StepFunctions: true})
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ToleratedFailurePercentage":10,
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`
	_, err = sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("tolerant"), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::123456789012:role/x"),
	})
	var invalid *sfntypes.InvalidDefinition
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "ToleratedFailurePercentage is not executed") {
		t.Fatalf("CreateStateMachine: %v, want InvalidDefinition naming ToleratedFailurePercentage", err)
	}
}
