package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/shared/workarea"
)

// DefinitionSubstitutions maps each ${…} variable of the backup ASL to the
// function whose ARN replaces it. The state machine may invoke these
// functions only.
var DefinitionSubstitutions = map[string]string{
	"ParseFunctionArn":    FnParse,
	"LockFunctionArn":     FnLock,
	"SnapshotFunctionArn": FnSnapshot,
	"UploadFunctionArn":   FnUpload,
	"FinalizeFunctionArn": FnFinalize,
	"CleanupFunctionArn":  FnCleanup,
}

// RestoreDefinitionSubstitutions is DefinitionSubstitutions for the restore
// ASL. Lock is the same function: one BACKUP or RESTORE per database.
var RestoreDefinitionSubstitutions = map[string]string{
	"RestoreparseFunctionArn":   FnRestoreParse,
	"LockFunctionArn":           FnLock,
	"RestoreprepareFunctionArn": FnRestorePrepare,
	"RestoreloadFunctionArn":    FnRestoreLoad,
	"RestorecommitFunctionArn":  FnRestoreCommit,
	"RestorecleanupFunctionArn": FnRestoreCleanup,
}

// machine is what differs between the backup and the restore state machines.
type machine struct {
	id      string // construct id prefix: BackupStateMachine, BackupStateMachineLogs
	kind    string // "backup", "restore"
	comment string
	file    string // the definition, relative to the repository root
	path    func(Config) string
	subs    map[string]string
	// cleanup is the function the execution-ended rule runs, under ruleID.
	cleanup string
	ruleID  string
	// alarmPrefix starts the ids of the execution alarms.
	alarmPrefix string
	// readsItems machines' Distributed Maps read their items from the
	// repository (ItemKeys), readsWorkItems machines' from the deployment's
	// work area (workarea.RestoreItemsPattern).
	readsItems, readsWorkItems bool
}

var (
	backupMachine = machine{
		id: "Backup", kind: "backup",
		comment:     "srbackup BACKUP job: Parse, Lock, SnapshotShard, UploadBatch (Map), Finalize; Cleanup on failure",
		file:        StateMachineFile,
		path:        func(c Config) string { return c.StateMachineDefinition },
		subs:        DefinitionSubstitutions,
		cleanup:     FnCleanup,
		ruleID:      "ExecutionEndedRule",
		alarmPrefix: "",
		readsItems:  true,
	}
	restoreMachine = machine{
		id: "Restore", kind: "restore",
		comment:        "srbackup RESTORE job: Parse, Lock, Prepare, LoadBatch (Map), Commit; Cleanup on failure",
		file:           RestoreStateMachineFile,
		path:           func(c Config) string { return c.RestoreStateMachineDefinition },
		subs:           RestoreDefinitionSubstitutions,
		cleanup:        FnRestoreCleanup,
		ruleID:         "RestoreExecutionEndedRule",
		alarmPrefix:    "Restore",
		readsWorkItems: true,
	}
	machines = []machine{backupMachine, restoreMachine}
)

var placeholderRe = regexp.MustCompile(`\$\{([^}]*)\}`)

// definition is a parsed ASL file.
type definition struct {
	path string
	raw  []byte
	// fields maps each top-level field to its JSON text, kept as written.
	fields map[string]json.RawMessage
	// variables are the ${…} names used, sorted.
	variables []string
}

// loadDefinition reads the ASL file of m and checks that it is JSON with
// states and uses only the substitution variables the stack provides for it.
func loadDefinition(path string, m machine) (*definition, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("state machine definition %s not found (it is %s in the repository)", path, m.file)
	}
	if err != nil {
		return nil, fmt.Errorf("state machine definition: %w", err)
	}
	d := &definition{path: path, raw: b}
	if err := json.Unmarshal(b, &d.fields); err != nil {
		return nil, fmt.Errorf("state machine definition %s: %w", path, err)
	}
	if d.fields["StartAt"] == nil || d.fields["States"] == nil {
		return nil, fmt.Errorf("state machine definition %s: StartAt and States are required", path)
	}
	for _, match := range placeholderRe.FindAllSubmatch(b, -1) {
		v := string(match[1])
		if _, ok := m.subs[v]; !ok {
			return nil, fmt.Errorf("state machine definition %s uses ${%s}, which the stack does not substitute in the %s state machine (known: %s)",
				path, v, m.kind, strings.Join(slices.Sorted(maps.Keys(m.subs)), ", "))
		}
		if !slices.Contains(d.variables, v) {
			d.variables = append(d.variables, v)
		}
	}
	slices.Sort(d.variables)
	return d, nil
}

// body returns the definition as the template carries it. The execution
// ceiling is the definition's top-level TimeoutSeconds: timeout replaces it
// when non-zero, and DefaultExecutionTimeout fills it in when the file has
// none. (A string body is opaque to the CDK, whose own timeout property would
// be ignored.)
func (d *definition) body(timeout time.Duration) (string, error) {
	if timeout == 0 {
		if d.fields["TimeoutSeconds"] != nil {
			return string(bytes.TrimSpace(d.raw)), nil
		}
		timeout = DefaultExecutionTimeout
	}
	fields := maps.Clone(d.fields)
	fields["TimeoutSeconds"] = json.RawMessage(strconv.Itoa(int(timeout.Seconds())))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return "", fmt.Errorf("state machine definition %s: %w", d.path, err)
	}
	return string(bytes.TrimSpace(buf.Bytes())), nil
}

// newStateMachine creates the standard-type state machine m, logging every
// event with execution data and traced by X-Ray, and lets its role invoke
// exactly the functions the definition names. cfg.ExecutionTimeout is the ceiling of both machines.
func newStateMachine(scope awscdk.Stack, cfg Config, m machine, def *definition, fns map[string]awslambda.Function) (awsstepfunctions.StateMachine, error) {
	body, err := def.body(cfg.ExecutionTimeout)
	if err != nil {
		return nil, err
	}
	logs := awslogs.NewLogGroup(scope, jsii.String(m.id+"StateMachineLogs"), &awslogs.LogGroupProps{
		// The /aws/vendedlogs/ prefix keeps the account's log resource policy small.
		LogGroupName:  jsii.String(fmt.Sprintf("/aws/vendedlogs/states/%s-%s", *scope.StackName(), m.kind)),
		Retention:     retention(cfg.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	subs := map[string]*string{}
	for _, v := range def.variables {
		subs[v] = fns[m.subs[v]].FunctionArn()
	}
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String(m.id+"StateMachine"), &awsstepfunctions.StateMachineProps{
		Comment:                 jsii.String(m.comment),
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(body)),
		DefinitionSubstitutions: &subs,
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		// Every event, with its data: the data is the statement, the job
		// spec (database, label, repository, object and partition names,
		// properties), the plan's S3 key and batch numbers, and error causes.
		// It holds no credentials and no row data (the shard plan, whose
		// key-range bounds are row values, stays in S3), and the job table
		// and SHOW BACKUP already show all of it; without it a failed
		// execution cannot be followed once its history has expired.
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(true),
		},
		// Always traced: the trace of an execution is its per-state latency
		// and Lambda invoke times; srbackup:tracing adds the functions' own.
		TracingEnabled: jsii.Bool(true),
	})
	// The definition calls the functions by unqualified ARN (no versions or
	// aliases are published), so the role needs no "<arn>:*".
	var invoked []*string
	for _, v := range def.variables {
		invoked = append(invoked, fns[m.subs[v]].FunctionArn())
	}
	sm.AddToRolePolicy(policy([]string{"lambda:InvokeFunction"}, invoked...))
	return sm, nil
}

// grantExecutionAccess lets the API start and stop executions of m (it
// reads a job's state from the table, never from Step Functions).
func grantExecutionAccess(api awslambda.Function, sm awsstepfunctions.StateMachine) {
	sm.GrantStartExecution(api.Role())
	sm.GrantExecution(api.Role(), jsii.String("states:StopExecution"))
}

// grantCleanupMapRuns lets m's cleanup function find the failed child of a
// Distributed Map (its error is the job's): the execution's Map Runs, their
// failed children, and each child's error. A policy of its own: the state
// machine depends on the cleanup function, so the function's default policy
// cannot name the state machine.
func grantCleanupMapRuns(scope awscdk.Stack, m machine, sm awsstepfunctions.StateMachine, fns map[string]awslambda.Function) {
	executions := scope.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: jsii.String(*sm.StateMachineName() + ":*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	awsiam.NewPolicy(scope, jsii.String(constructID(m.cleanup)+"MapRunAccess"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{fns[m.cleanup].Role()},
		Statements: &[]awsiam.PolicyStatement{
			policy([]string{"states:ListMapRuns"}, executions),
			policy([]string{"states:ListExecutions"}, mapRunsOf(scope, sm)),
			policy([]string{"states:DescribeExecution"}, childExecutionsOf(scope, sm)),
		},
	})
}

// mapRunsOf is the ARN pattern of sm's Map Runs (mapRun:<machine>/<label>:<id>).
func mapRunsOf(scope awscdk.Stack, sm awsstepfunctions.StateMachine) *string {
	return scope.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("mapRun"),
		ResourceName: jsii.String(*sm.StateMachineName() + "/*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// childExecutionsOf is the ARN pattern of the child executions of sm's
// Distributed Maps (execution:<machine>/<label>:<id>).
func childExecutionsOf(scope awscdk.Stack, sm awsstepfunctions.StateMachine) *string {
	return scope.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: jsii.String(*sm.StateMachineName() + "/*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// grantDistributedMap gives m's role what AWS documents a Distributed Map
// needs: starting its child executions (StartExecution on the state machine
// itself), describing and stopping them, and, where the items are in the
// repository, reading the items files only (never a plan or data). A policy
// of its own: the role's default policy cannot name the state machine that
// depends on it.
func grantDistributedMap(scope awscdk.Stack, m machine, sm awsstepfunctions.StateMachine, env environment) {
	stmts := []awsiam.PolicyStatement{
		policy([]string{"states:StartExecution"}, sm.StateMachineArn()),
		policy([]string{"states:DescribeExecution", "states:StopExecution"}, childExecutionsOf(scope, sm)),
	}
	var items []*string
	if m.readsItems {
		for _, b := range env.buckets {
			items = append(items, b.ArnForObjects(jsii.String(RepositoryKeyPattern+ItemKeys)))
		}
	}
	if m.readsWorkItems {
		items = append(items, env.work.ArnForObjects(jsii.String(workarea.RestoreItemsPattern)))
	}
	if len(items) > 0 {
		stmts = append(stmts, policy([]string{"s3:GetObject"}, items...))
		if env.key != nil {
			stmts = append(stmts, policy([]string{"kms:Decrypt"}, env.key.KeyArn()))
		}
	}
	awsiam.NewPolicy(scope, jsii.String(m.id+"StateMachineMapRuns"), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{sm.Role()},
		Statements: &stmts,
	})
}

// newCleanupTrigger runs m's cleanup function when an execution ends without
// reaching its own Cleanup state: StopExecution (CANCEL BACKUP, CANCEL
// RESTORE) runs no Catch, and a timed-out or failed execution may not have
// cleaned up either.
func newCleanupTrigger(scope constructs.Construct, m machine, sm awsstepfunctions.StateMachine, cleanup awslambda.Function) {
	awsevents.NewRule(scope, jsii.String(m.ruleID), &awsevents.RuleProps{
		Description: jsii.String("srbackup: clean up after aborted, failed or timed-out " + m.kind + " executions"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]any{
				"status":          jsii.Strings("ABORTED", "FAILED", "TIMED_OUT"),
				"stateMachineArn": []*string{sm.StateMachineArn()},
			},
		},
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewLambdaFunction(cleanup, &awseventstargets.LambdaFunctionProps{
				RetryAttempts: jsii.Number(8),
				MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
			}),
		},
	})
}
