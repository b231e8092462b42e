package stack_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/infra/stack"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/workarea"
)

// defaults is the stack as `cdk deploy` with no srbackup context builds it.
var defaults = &fixture{name: "default"}

// full sets every context key, in the forms the CLI and cdk.json give them.
var full = &fixture{name: "full", overrides: map[string]any{
	stack.CtxStackName:         "SrBackupProd",
	stack.CtxSourceSecretArn:   "arn:aws:secretsmanager:eu-west-1:123456789012:secret:srbackup/source",
	stack.CtxRestoreSecretArn:  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:srbackup/restore-target",
	stack.CtxVpcID:             "vpc-0123456789abcdef0",
	stack.CtxSubnetIDs:         "subnet-0aaa1111, subnet-0bbb2222",
	stack.CtxSecurityGroupIDs:  []any{"sg-0ccc3333"},
	stack.CtxBucketName:        "corp-backups",
	stack.CtxRepositoryBuckets: `["corp-archive"]`,
	stack.CtxKMSKeyArn:         "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	stack.CtxSchedules: []any{
		map[string]any{"name": "nightly", "cron": "0 3 * * ? *", "sql": `BACKUP SNAPSHOT shop.nightly TO repo PROPERTIES ("type" = "full")`, "timezone": "Europe/Berlin"},
		map[string]any{"name": "hourly-orders", "cron": "rate(1 hour)", "sql": "BACKUP SNAPSHOT shop.orders_hourly TO repo ON (TABLE orders)"},
	},
	stack.CtxAdmins:                []any{"arn:aws:iam::123456789012:role/dba", "arn:aws:iam::123456789012:user/alice"},
	stack.CtxAlarmEmail:            "ops@example.com",
	stack.CtxTracing:               "true",
	stack.CtxLogRetentionDays:      "90",
	stack.CtxJobHistoryTTLDays:     90,
	stack.CtxExecutionTimeoutHours: 48,
	stack.CtxUploadMemoryMB:        4096,
	// Below srbackup:maxParallelism (64): each job is granted at most 16.
	stack.CtxWorkerReservedConcurrency: 16,
}}

func TestFailedAssertionFailsTheTestNotTheBinary(t *testing.T) {
	s := defaults.get(t)
	err := catch(func() { s.assert.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(1)) })
	if err == nil {
		t.Fatal("a false assertion passed")
	}
	if !strings.Contains(err.Error(), "AWS::SQS::Queue") {
		t.Errorf("assertion error does not say what failed: %v", err)
	}
}

// functionExpectation is what each function must look like; written out
// here, independently of the stack's own table.
type functionExpectation struct {
	memory, timeout int
	env             []string
	allowed         []string // every action its role allows, exactly
	forbidden       []string // spelled out for the reader; implied by allowed
}

var logActions = []string{"logs:CreateLogStream", "logs:PutLogEvents"}

var expectedFunctions = map[string]functionExpectation{
	stack.FnAPI: {
		memory: 512, timeout: 30,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays, stack.EnvSourceSecretArn, stack.EnvStateMachineArn, stack.EnvRestoreStateMachineArn, stack.EnvVerifyFunction, stack.EnvMaxParallelism},
		allowed: []string{
			"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
			"dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "lambda:InvokeFunction",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject",
			"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
			"states:StartExecution", "states:StopExecution",
		},
		// DROP SNAPSHOT deletes snapshot objects only (checked on resources below), never old versions.
		forbidden: []string{"s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:BypassGovernanceRetention"},
	},
	stack.FnParse: {
		memory: 256, timeout: 60,
		env:       []string{stack.EnvTable, stack.EnvSourceSecretArn, stack.EnvMaxParallelism},
		allowed:   []string{"dynamodb:GetItem", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
		forbidden: []string{"s3:PutObject", "s3:GetObject", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "states:StartExecution"},
	},
	stack.FnLock: {
		memory: 256, timeout: 30,
		env:       []string{stack.EnvTable, stack.EnvJobHistoryTTLDays},
		allowed:   []string{"dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "s3:ListBucket"},
		forbidden: []string{"secretsmanager:GetSecretValue", "dynamodb:DeleteItem", "s3:PutObject", "s3:DeleteObject"},
	},
	stack.FnSnapshot: {
		memory: 1024, timeout: 900,
		env:       []string{stack.EnvTable, stack.EnvJobHistoryTTLDays, stack.EnvSourceSecretArn},
		allowed:   []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "s3:GetObject", "s3:PutObject", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
		forbidden: []string{"dynamodb:DeleteItem", "s3:DeleteObject"},
	},
	stack.FnUpload: {
		memory: stack.DefaultUploadMemoryMB, timeout: 900,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays, stack.EnvSourceSecretArn},
		allowed: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
		// It must not be able to delete the lock, nor anything in S3 but
		// data files (TestUploadKeyScopes), nor versions.
		forbidden: []string{"dynamodb:DeleteItem", "s3:DeleteObjectVersion", "dynamodb:BatchWriteItem"},
	},
	stack.FnFinalize: {
		memory: 512, timeout: 300,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays},
		allowed: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
			"s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"},
		forbidden: []string{"secretsmanager:GetSecretValue", "s3:DeleteObjectVersion"},
	},
	stack.FnCleanup: {
		memory: 512, timeout: 900,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays},
		allowed: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads",
			"states:DescribeExecution", "states:ListExecutions", "states:ListMapRuns"},
		forbidden: []string{"secretsmanager:GetSecretValue", "s3:PutObject", "states:StartExecution"},
	},
	// RESTORE keeps no files in S3: no function of it writes or deletes there.
	stack.FnRestoreParse: {
		memory: 256, timeout: 120,
		env:       []string{stack.EnvTable, stack.EnvMaxParallelism},
		allowed:   []string{"dynamodb:GetItem", "s3:GetObject", "s3:ListBucket"},
		forbidden: append([]string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "states:StartExecution", "secretsmanager:GetSecretValue"}, restoreForbidden...),
	},
	stack.FnRestorePrepare: {
		memory: 512, timeout: 900,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays, stack.EnvTargetSecretArn, stack.EnvWorkBucket},
		// PutObject: the load Map's items, in the work area only (workFunctions).
		allowed: []string{"dynamodb:GetItem", "dynamodb:UpdateItem",
			"s3:GetObject", "s3:ListBucket", "s3:PutObject", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
		forbidden: append([]string{"dynamodb:DeleteItem", "dynamodb:PutItem"}, restoreForbidden...),
	},
	stack.FnRestoreLoad: {
		memory: 1024, timeout: 900,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays, stack.EnvTargetSecretArn},
		allowed: []string{"dynamodb:GetItem", "dynamodb:UpdateItem",
			"s3:GetObject", "s3:ListBucket", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
		// It must not be able to delete the lock.
		forbidden: append([]string{"dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"}, restoreForbidden...),
	},
	stack.FnRestoreCommit: {
		memory: 512, timeout: 900,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays, stack.EnvTargetSecretArn, stack.EnvWorkBucket},
		allowed: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem",
			"s3:DeleteObject", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"},
		forbidden: append([]string{"s3:GetObject", "s3:ListBucket"}, restoreForbidden...),
	},
	stack.FnRestoreCleanup: {
		memory: 256, timeout: 900,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays, stack.EnvTargetSecretArn, stack.EnvWorkBucket},
		allowed: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem",
			"s3:DeleteObject", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "states:DescribeExecution", "states:ListExecutions", "states:ListMapRuns"},
		forbidden: append([]string{"s3:GetObject", "states:StartExecution"}, restoreForbidden...),
	},
	// The sweep deletes snapshot objects only; it writes nothing in S3 and no job.
	stack.FnSweep: {
		memory: 256, timeout: 900,
		env: []string{stack.EnvTable, stack.EnvJobHistoryTTLDays},
		allowed: []string{"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
		forbidden: []string{"s3:PutObject", "s3:DeleteObjectVersion", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue", "states:StartExecution"},
	},
}

// The verify function reads snapshots and writes only its own verification items.
var verifyExpectation = functionExpectation{
	memory: 512, timeout: 900,
	env:       []string{stack.EnvTable, stack.EnvJobHistoryTTLDays},
	allowed:   []string{"dynamodb:GetItem", "dynamodb:PutItem", "s3:GetObject", "s3:ListBucket"},
	forbidden: []string{"s3:PutObject", "s3:DeleteObject", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
}

func init() { expectedFunctions[stack.FnVerify] = verifyExpectation }

// snapshotOnly are the functions whose S3 deletes are limited to snapshot
// objects (stack.SnapshotKeyPattern).
var snapshotOnly = map[string]bool{stack.FnAPI: true, stack.FnSweep: true, stack.FnVerify: true}

// restoreFunctions are RESTORE's own functions that connect to the target
// (restoreparse reads only the registry and the repository).
var restoreFunctions = []string{stack.FnRestorePrepare, stack.FnRestoreLoad, stack.FnRestoreCommit, stack.FnRestoreCleanup}

// restoreForbidden: the restore job keeps no files in S3 and starts nothing.
// restoreForbidden: a restore function never writes or deletes in a
// repository; the work area's grants (workFunctions) are checked by
// resource, not listed here.
var restoreForbidden = []string{"s3:DeleteObjectVersion", "s3:AbortMultipartUpload",
	"states:StopExecution", "lambda:InvokeFunction"}

// workFunctions are the functions with access to the work area, and the one
// action each has there, on the RESTORE items files only.
var workFunctions = map[string]string{
	stack.FnRestorePrepare: "s3:PutObject",
	stack.FnRestoreCommit:  "s3:DeleteObject",
	stack.FnRestoreCleanup: "s3:DeleteObject",
}

// workItems is the resource of the work area's grants in bucket (an ARN or
// a rendered reference to one).
func workItems(bucketArn string) string { return bucketArn + "/" + workarea.RestoreItemsPattern }

func constructID(name string) string { return strings.ToUpper(name[:1]) + name[1:] }

// function returns the logical id, properties and role logical id of a function.
func (s *synthesized) function(t *testing.T, name string) (id string, p map[string]any, roleID string) {
	t.Helper()
	id, r := s.resource(t, "AWS::Lambda::Function", constructID(name)+"Function")
	p = props(r)
	role, ok := p["Role"].(map[string]any)["Fn::GetAtt"].([]any)
	if !ok {
		t.Fatalf("%s: function %s has no role of its own: %v", s.name, name, p["Role"])
	}
	return id, p, role[0].(string)
}

func TestLambdaFunctions(t *testing.T) {
	s := defaults.get(t)
	must(t, "one function per name", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(stack.FunctionNames))))
	})
	maxMemory := 0.0
	for _, name := range stack.FunctionNames {
		_, p, _ := s.function(t, name)
		maxMemory = max(maxMemory, p["MemorySize"].(float64))
	}
	for _, name := range stack.FunctionNames {
		t.Run(name, func(t *testing.T) {
			want := expectedFunctions[name]
			_, p, _ := s.function(t, name)
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
				t.Errorf("runtime %v, handler %v; want provided.al2023, bootstrap", p["Runtime"], p["Handler"])
			}
			if got := strs(p["Architectures"]); !slices.Equal(got, []string{"arm64"}) {
				t.Errorf("architectures %v, want [arm64]", got)
			}
			if p["MemorySize"] != float64(want.memory) || p["Timeout"] != float64(want.timeout) {
				t.Errorf("memory %v MB, timeout %v s; want %d, %d", p["MemorySize"], p["Timeout"], want.memory, want.timeout)
			}
			if _, ok := p["Code"].(map[string]any)["S3Key"]; !ok {
				t.Errorf("code is not an asset: %v", p["Code"])
			}
			logging, _ := p["LoggingConfig"].(map[string]any)
			if logging["LogFormat"] != "JSON" {
				t.Errorf("LoggingConfig %v, want LogFormat JSON", logging)
			}
			lg := strings.Trim(render(logging["LogGroup"]), "${}")
			if r := s.json["Resources"].(map[string]any)[lg]; r == nil || props(r.(map[string]any))["RetentionInDays"] != float64(stack.DefaultLogRetentionDays) {
				t.Errorf("log group %s has no %d-day retention: %v", lg, stack.DefaultLogRetentionDays, r)
			}
			if p["TracingConfig"] != nil || p["VpcConfig"] != nil {
				t.Errorf("tracing or VPC set without context: %v %v", p["TracingConfig"], p["VpcConfig"])
			}
			vars, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if got := slices.Sorted(maps.Keys(vars)); !slices.Equal(got, sorted(want.env)) {
				t.Errorf("environment %v, want %v", got, sorted(want.env))
			}
			for k, v := range vars {
				if strings.Contains(strings.ToLower(k+render(v)), "password") {
					t.Errorf("environment variable %s=%s looks like a secret", k, render(v))
				}
			}
		})
	}
	_, upload, _ := s.function(t, stack.FnUpload)
	if upload["MemorySize"] != maxMemory || upload["Timeout"] != 900.0 {
		t.Errorf("upload has %v MB and %v s; want the most memory (%v) and 900 s", upload["MemorySize"], upload["Timeout"], maxMemory)
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func TestFunctionRolesAreLeastPrivilege(t *testing.T) {
	s := defaults.get(t)
	tableID, _ := s.resource(t, "AWS::DynamoDB::Table", "Jobs")
	bucketID, _ := s.resource(t, "AWS::S3::Bucket", "Repository")
	secretID, _ := s.resource(t, "AWS::SecretsManager::Secret", "SourceSecret")
	smID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", "BackupStateMachine")
	restoreID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", "RestoreStateMachine")
	for _, name := range stack.FunctionNames {
		t.Run(name, func(t *testing.T) {
			want, ok := expectedFunctions[name]
			if !ok {
				t.Fatalf("no expectation for function %s: add it to expectedFunctions", name)
			}
			_, p, roleID := s.function(t, name)
			stmts, managed := s.rolePolicies(roleID)
			if got, all := actions(stmts), sorted(append(want.allowed, logActions...)); !slices.Equal(got, all) {
				t.Errorf("allowed actions\n got %v\nwant %v", got, all)
			}
			for _, f := range want.forbidden {
				if slices.Contains(actions(stmts), f) {
					t.Errorf("%s is allowed, must not be", f)
				}
			}
			if len(managed) > 0 {
				t.Errorf("managed policies %v: want none (no VPC)", managed)
			}
			for _, st := range stmts {
				for _, r := range st.Resources {
					if r == "*" {
						t.Errorf("statement %v allows resource *", st.Actions)
					}
				}
				for _, a := range st.Actions {
					if strings.Contains(a, "*") {
						t.Errorf("wildcard action %s", a)
					}
				}
			}
			checkResources := func(prefix string, wantRes ...string) {
				t.Helper()
				for _, a := range actions(stmts) {
					if strings.HasPrefix(a, prefix) {
						if got := resourcesFor(stmts, a); !isSubset(got, wantRes) {
							t.Errorf("%s on %v, want within %v", a, got, wantRes)
						}
					}
				}
			}
			for _, a := range actions(stmts) {
				if !strings.HasPrefix(a, "dynamodb:") {
					continue
				}
				// Query also reads the index, by name; nothing else touches it.
				want := []string{"${" + tableID + ".Arn}"}
				if a == "dynamodb:Query" {
					want = append(want, "${"+tableID+".Arn}/index/"+jobstore.IndexByDB)
				}
				if got := resourcesFor(stmts, a); !slices.Equal(got, want) {
					t.Errorf("%s on %v, want %v", a, got, want)
				}
			}
			checkResources("secretsmanager:", "${"+secretID+"}")
			checkResources("s3:ListBucket", "${"+bucketID+".Arn}")
			objects := "${" + bucketID + ".Arn}/" + stack.RepositoryKeyPattern
			for _, a := range []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"} {
				if (name == stack.FnUpload && (a == "s3:GetObject" || a == "s3:DeleteObject")) || (name == stack.FnSnapshot && a == "s3:GetObject") {
					continue // one kind of key each, below
				}
				if snapshotOnly[name] {
					continue // snapshot objects only, below
				}
				if workFunctions[name] == a {
					if got := resourcesFor(stmts, a); !slices.Equal(got, []string{workItems("${" + bucketID + ".Arn}")}) {
						t.Errorf("%s on %v, want the work area's RESTORE items files only", a, got)
					}
					continue
				}
				checkResources(a, objects)
			}
			if name == stack.FnSnapshot {
				// A retried SnapshotShard reads its earlier attempt's plan, nothing else.
				if got := resourcesFor(stmts, "s3:GetObject"); !slices.Equal(got, []string{objects + stack.PlanKeys}) {
					t.Errorf("s3:GetObject on %v, want plan files only", got)
				}
			}
			if name == stack.FnUpload {
				// Upload reads plans only and deletes data files only.
				if got := resourcesFor(stmts, "s3:GetObject"); !slices.Equal(got, []string{objects + stack.PlanKeys}) {
					t.Errorf("s3:GetObject on %v, want plan files only", got)
				}
				if got := resourcesFor(stmts, "s3:DeleteObject"); !slices.Equal(got, []string{objects + stack.ContentKeys}) {
					t.Errorf("s3:DeleteObject on %v, want data files only", got)
				}
			}
			if snapshotOnly[name] {
				for _, a := range []string{"s3:DeleteObject", "s3:AbortMultipartUpload"} {
					checkResources(a, "${"+bucketID+".Arn}/"+stack.SnapshotKeyPattern)
				}
				if name == stack.FnSweep || name == stack.FnVerify {
					checkResources("s3:GetObject", "${"+bucketID+".Arn}/"+stack.SnapshotKeyPattern)
				} else {
					checkResources("s3:GetObject", objects)
					checkResources("s3:PutObject", objects)
				}
			}
			checkResources("states:StartExecution", "${"+smID+"}", "${"+restoreID+"}")
			lg := render(p["LoggingConfig"].(map[string]any)["LogGroup"])
			checkResources("logs:", strings.TrimSuffix(lg, "}")+".Arn}")
		})
	}
}

func isSubset(got, allowed []string) bool {
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			return false
		}
	}
	return len(got) > 0
}

// states walks a definition's states, nested Map and Parallel states included.
func states(def map[string]any, visit func(name string, st map[string]any)) {
	for name, raw := range def["States"].(map[string]any) {
		st := raw.(map[string]any)
		visit(name, st)
		for _, key := range []string{"ItemProcessor", "Iterator"} {
			if sub, ok := st[key].(map[string]any); ok {
				states(sub, visit)
			}
		}
		for _, b := range asSlice(st["Branches"]) {
			states(b.(map[string]any), visit)
		}
	}
}

// machineExpectation is one state machine of the stack.
type machineExpectation struct {
	kind, id, file string
	subs           map[string]string
	functions      []string // exactly the functions it may invoke
	cleanup        string   // the function its execution-ended rule runs
	ruleID         string
}

var expectedMachines = []machineExpectation{
	{kind: "backup", id: "BackupStateMachine", file: stack.StateMachineFile, subs: stack.DefinitionSubstitutions,
		functions: []string{stack.FnParse, stack.FnLock, stack.FnSnapshot, stack.FnUpload, stack.FnFinalize, stack.FnCleanup},
		cleanup:   stack.FnCleanup, ruleID: "ExecutionEndedRule"},
	{kind: "restore", id: "RestoreStateMachine", file: stack.RestoreStateMachineFile, subs: stack.RestoreDefinitionSubstitutions,
		functions: []string{stack.FnRestoreParse, stack.FnLock, stack.FnRestorePrepare, stack.FnRestoreLoad, stack.FnRestoreCommit, stack.FnRestoreCleanup},
		cleanup:   stack.FnRestoreCleanup, ruleID: "RestoreExecutionEndedRule"},
}

func TestStateMachines(t *testing.T) {
	s := defaults.get(t)
	must(t, "two state machines", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::StepFunctions::StateMachine"), jsii.Number(float64(len(expectedMachines))))
	})
	for _, m := range expectedMachines {
		t.Run(m.kind, func(t *testing.T) { checkStateMachine(t, s, m) })
	}
}

func checkStateMachine(t *testing.T, s *synthesized, m machineExpectation) {
	_, r := s.resource(t, "AWS::StepFunctions::StateMachine", m.id)
	p := props(r)
	if p["StateMachineType"] != "STANDARD" {
		t.Errorf("type %v, want STANDARD", p["StateMachineType"])
	}
	logging, _ := p["LoggingConfiguration"].(map[string]any)
	if logging["Level"] != "ALL" || logging["IncludeExecutionData"] != true || len(asSlice(logging["Destinations"])) != 1 {
		t.Errorf("logging %v, want level ALL with execution data to one log group", logging)
	}
	if tracing, _ := p["TracingConfiguration"].(map[string]any); tracing["Enabled"] != true {
		t.Errorf("tracing %v, want X-Ray on whatever srbackup:tracing says", tracing)
	}
	lg := render(asSlice(logging["Destinations"])[0].(map[string]any)["CloudWatchLogsLogGroup"].(map[string]any)["LogGroupArn"])
	if !strings.HasPrefix(lg, "${"+m.id+"Logs") {
		t.Errorf("logs go to %s, want the %sLogs log group", lg, m.id)
	}

	text, ok := p["DefinitionString"].(string)
	if !ok {
		t.Fatalf("DefinitionString is not a literal string: %v", p["DefinitionString"])
	}
	file, err := os.ReadFile(filepath.Join(repoRoot, m.file))
	if err != nil {
		t.Fatal(err)
	}
	if text != strings.TrimSpace(string(file)) {
		t.Errorf("the template's definition differs from %s", m.file)
	}
	var def map[string]any
	if err := json.Unmarshal([]byte(text), &def); err != nil {
		t.Fatalf("definition is not JSON: %v", err)
	}
	if secs, _ := def["TimeoutSeconds"].(float64); secs <= 0 {
		t.Errorf("no overall TimeoutSeconds in the definition")
	}
	var maps_, retries, catches int
	states(def, func(name string, st map[string]any) {
		if st["Type"] == "Map" {
			maps_++
		}
		if len(asSlice(st["Retry"])) > 0 {
			retries++
		}
		if len(asSlice(st["Catch"])) > 0 {
			catches++
		}
	})
	if maps_ == 0 || retries == 0 || catches == 0 {
		t.Errorf("definition has %d Map, %d Retry, %d Catch states; want each", maps_, retries, catches)
	}

	// Every ${…} of the definition is substituted by the ARN of its function,
	// and those are exactly the functions expected.
	subs, _ := p["DefinitionSubstitutions"].(map[string]any)
	var invokable, named []string
	for v, fn := range m.subs {
		if !strings.Contains(text, "${"+v+"}") {
			continue
		}
		fnID, _, _ := s.function(t, fn)
		if got := render(subs[v]); got != "${"+fnID+".Arn}" {
			t.Errorf("substitution %s = %s, want the ARN of %s", v, got, fnID)
		}
		// Unqualified: the definition invokes no version or alias.
		invokable = append(invokable, "${"+fnID+".Arn}")
		named = append(named, fn)
	}
	if len(subs) != len(invokable) {
		t.Errorf("substitutions %v: want exactly the %d variables the definition uses", slices.Sorted(maps.Keys(subs)), len(invokable))
	}
	if !slices.Equal(sorted(named), sorted(m.functions)) {
		t.Errorf("the definition calls %v, want %v", sorted(named), sorted(m.functions))
	}

	// Its role may invoke these functions and nothing else.
	roleID := strings.Trim(strings.TrimSuffix(render(p["RoleArn"]), ".Arn}"), "${")
	stmts, _ := s.rolePolicies(roleID)
	if got := resourcesFor(stmts, "lambda:InvokeFunction"); !slices.Equal(got, sorted(invokable)) {
		t.Errorf("state machine may invoke %v, want exactly %v", got, sorted(invokable))
	}
	// Its Distributed Maps: it starts its own children, describes and stops
	// them, and reads the items files (backup) and nothing else in S3.
	selfID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", m.id)
	if got := resourcesFor(stmts, "states:StartExecution"); !slices.Equal(got, []string{"${" + selfID + "}"}) {
		t.Errorf("state machine may start %v, want itself only (its Map Runs' children)", got)
	}
	children := "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${" + selfID + ".Name}/*"
	for _, a := range []string{"states:DescribeExecution", "states:StopExecution"} {
		if got := resourcesFor(stmts, a); !slices.Equal(got, []string{children}) {
			t.Errorf("state machine may %s %v, want its children %s only", a, got, children)
		}
	}
	items := resourcesFor(stmts, "s3:GetObject")
	if m.kind == "backup" && (len(items) != 1 || !strings.HasSuffix(items[0], stack.RepositoryKeyPattern+stack.ItemKeys)) {
		t.Errorf("backup state machine may read %v, want the items files only", items)
	}
	bucketID, _ := s.resource(t, "AWS::S3::Bucket", "Repository")
	if m.kind == "restore" && !slices.Equal(items, []string{workItems("${" + bucketID + ".Arn}")}) {
		t.Errorf("restore state machine may read %v, want the work area's items files only", items)
	}
	apiID, _, _ := s.function(t, stack.FnAPI)
	for _, st := range stmts {
		for _, a := range st.Actions {
			if strings.HasPrefix(a, "lambda:") && a != "lambda:InvokeFunction" {
				t.Errorf("state machine role allows %s", a)
			}
		}
		for _, r := range st.Resources {
			if strings.Contains(r, apiID) {
				t.Errorf("state machine role reaches the api function: %v on %s", st.Actions, r)
			}
		}
	}
}

func TestTableMatchesJobstoreSchema(t *testing.T) {
	s := defaults.get(t)
	must(t, "one table", func() { s.assert.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	_, r := s.resource(t, "AWS::DynamoDB::Table", "Jobs")
	p := props(r)
	want := jobstore.CreateTableInput("")

	keySchema := func(ks []types.KeySchemaElement) []any {
		var out []any
		for _, k := range ks {
			out = append(out, map[string]any{"AttributeName": *k.AttributeName, "KeyType": string(k.KeyType)})
		}
		return out
	}
	asJSON := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if got, w := asJSON(p["KeySchema"]), asJSON(keySchema(want.KeySchema)); got != w {
		t.Errorf("KeySchema %s, want %s", got, w)
	}
	var wantAttrs []string
	for _, d := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, *d.AttributeName+":"+string(d.AttributeType))
	}
	var gotAttrs []string
	for _, d := range asSlice(p["AttributeDefinitions"]) {
		m := d.(map[string]any)
		gotAttrs = append(gotAttrs, m["AttributeName"].(string)+":"+m["AttributeType"].(string))
	}
	if !slices.Equal(sorted(gotAttrs), sorted(wantAttrs)) {
		t.Errorf("AttributeDefinitions %v, want %v", gotAttrs, wantAttrs)
	}
	gsis := asSlice(p["GlobalSecondaryIndexes"])
	if len(gsis) != len(want.GlobalSecondaryIndexes) {
		t.Fatalf("%d GSIs, want %d", len(gsis), len(want.GlobalSecondaryIndexes))
	}
	for i, w := range want.GlobalSecondaryIndexes {
		g := gsis[i].(map[string]any)
		if g["IndexName"] != *w.IndexName || asJSON(g["KeySchema"]) != asJSON(keySchema(w.KeySchema)) ||
			g["Projection"].(map[string]any)["ProjectionType"] != string(w.Projection.ProjectionType) {
			t.Errorf("GSI %v, want %s on %v projecting %s", g, *w.IndexName, keySchema(w.KeySchema), w.Projection.ProjectionType)
		}
	}
	if *want.GlobalSecondaryIndexes[0].IndexName != jobstore.IndexByDB {
		t.Errorf("jobstore's GSI is %s, not jobstore.IndexByDB", *want.GlobalSecondaryIndexes[0].IndexName)
	}

	must(t, "on-demand, PITR, TTL, deletion protection", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": jobstore.AttrTTL, "Enabled": true},
			"DeletionProtectionEnabled":        true,
		})
	})
	if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("table DeletionPolicy %v, UpdateReplacePolicy %v; want Retain", r["DeletionPolicy"], r["UpdateReplacePolicy"])
	}
}

func TestRepositoryBucket(t *testing.T) {
	s := defaults.get(t)
	must(t, "the repository bucket and its access-log bucket", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(2))
	})
	id, r := s.resource(t, "AWS::S3::Bucket", "Repository")
	must(t, "versioned, encrypted, private, aborts multipart uploads after a day", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"VersioningConfiguration": map[string]any{"Status": "Enabled"},
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			}},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"LifecycleConfiguration": map[string]any{"Rules": []any{
				map[string]any{"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1}, "Status": "Enabled"},
				map[string]any{"ExpirationInDays": stack.WorkFileDays, "Prefix": workarea.Prefix, "Status": "Enabled"},
				map[string]any{"NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": stack.DefaultNoncurrentVersionDays}, "Status": "Enabled"},
			}},
		})
	})
	if r["DeletionPolicy"] != "Retain" {
		t.Errorf("bucket DeletionPolicy %v, want Retain", r["DeletionPolicy"])
	}

	_, pol := s.resource(t, "AWS::S3::BucketPolicy", "RepositoryPolicy")
	if render(props(pol)["Bucket"]) != "${"+id+"}" {
		t.Fatalf("bucket policy is for %s", render(props(pol)["Bucket"]))
	}
	var denied bool
	for _, raw := range asSlice(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
		st := raw.(map[string]any)
		cond, _ := json.Marshal(st["Condition"])
		if st["Effect"] == "Deny" && render(st["Principal"]) == `{"AWS":"*"}` && st["Action"] == "s3:*" &&
			string(cond) == `{"Bool":{"aws:SecureTransport":"false"}}` &&
			slices.Equal(sorted(strs(st["Resource"])), []string{"${" + id + ".Arn}", "${" + id + ".Arn}/*"}) {
			denied = true
		}
	}
	if !denied {
		t.Errorf("the bucket policy does not deny non-TLS access to the bucket and its objects: %v", props(pol)["PolicyDocument"])
	}
}

func TestHTTPAPIRequiresIAM(t *testing.T) {
	s := defaults.get(t)
	must(t, "one HTTP API", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Api"), jsii.Number(1))
		s.assert.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"ProtocolType": "HTTP"})
		s.assert.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Integration"), map[string]any{
			"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0",
		})
	})
	want := []string{
		"DELETE /v1/backups/{jobId}", "DELETE /v1/restores/{jobId}", "GET /v1/backups", "GET /v1/backups/{jobId}",
		"GET /v1/openapi.yaml", "GET /v1/repositories", "GET /v1/repositories/{repo}/snapshots",
		"GET /v1/restores", "GET /v1/restores/{jobId}", "GET /v1/verifications/{verificationId}", "POST /v1/sql",
	}
	var got []string
	for id, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		got = append(got, p["RouteKey"].(string))
		if p["AuthorizationType"] != "AWS_IAM" {
			t.Errorf("route %s (%s) has authorization %v, want AWS_IAM", p["RouteKey"], id, p["AuthorizationType"])
		}
	}
	if sort.Strings(got); !slices.Equal(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}

	_, stage := s.resource(t, "AWS::ApiGatewayV2::Stage", "HttpApiDefaultStage")
	p := props(stage)
	rs, _ := p["DefaultRouteSettings"].(map[string]any)
	if p["StageName"] != "$default" || p["AutoDeploy"] != true ||
		rs["ThrottlingRateLimit"] != float64(stack.DefaultAPIThrottleRate) || rs["ThrottlingBurstLimit"] != float64(stack.DefaultAPIThrottleBurst) {
		t.Errorf("stage %v: want $default, auto-deployed, throttled at %d/s burst %d", p, stack.DefaultAPIThrottleRate, stack.DefaultAPIThrottleBurst)
	}
	logs, _ := p["AccessLogSettings"].(map[string]any)
	var format map[string]string
	if err := json.Unmarshal([]byte(render(logs["Format"])), &format); err != nil || format["requestId"] != "$context.requestId" || format["userArn"] == "" {
		t.Errorf("access log format %v is not JSON with the request id and caller (%v)", logs["Format"], err)
	}
	if !strings.HasPrefix(render(logs["DestinationArn"]), "${ApiAccessLogs") {
		t.Errorf("access logs go to %v, want the ApiAccessLogs log group", logs["DestinationArn"])
	}

	apiID, _, _ := s.function(t, stack.FnAPI)
	must(t, "API Gateway may invoke the api function", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action":       "lambda:InvokeFunction",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{apiID, "Arn"}},
			"Principal":    "apigateway.amazonaws.com",
		})
	})
	_, invoke := s.resource(t, "AWS::IAM::ManagedPolicy", "ApiInvokePolicy")
	st := statementsOf(props(invoke)["PolicyDocument"])
	apiRef := "${" + strings.TrimSuffix(strings.TrimPrefix(render(props(stage)["ApiId"]), "${"), "}") + "}"
	var wantRoutes []string
	for _, r := range want {
		method, path, _ := strings.Cut(r, " ")
		path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "*")
		wantRoutes = append(wantRoutes, "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"+apiRef+"/$default/"+method+path)
	}
	if len(st) != 1 || !slices.Equal(st[0].Actions, []string{"execute-api:Invoke"}) || !slices.Equal(sorted(st[0].Resources), sorted(wantRoutes)) {
		t.Errorf("ApiInvokePolicy %v: want execute-api:Invoke on exactly\n%v", st, sorted(wantRoutes))
	}
}

func TestExecutionEndRuleRunsCleanup(t *testing.T) {
	s := defaults.get(t)
	for _, m := range expectedMachines {
		t.Run(m.kind, func(t *testing.T) {
			smID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", m.id)
			cleanupID, _, cleanupRole := s.function(t, m.cleanup)
			_, rule := s.resource(t, "AWS::Events::Rule", m.ruleID)
			p := props(rule)
			pattern, _ := json.Marshal(p["EventPattern"])
			want := `{"detail":{"stateMachineArn":[{"Ref":"` + smID + `"}],"status":["ABORTED","FAILED","TIMED_OUT"]},"detail-type":["Step Functions Execution Status Change"],"source":["aws.states"]}`
			if string(pattern) != want {
				t.Errorf("event pattern\n got %s\nwant %s", pattern, want)
			}
			targets := asSlice(p["Targets"])
			if len(targets) != 1 || render(targets[0].(map[string]any)["Arn"]) != "${"+cleanupID+".Arn}" {
				t.Errorf("rule targets %v, want the %s function", targets, m.cleanup)
			}
			// Cleanup finds the failed child of a Distributed Map (its
			// error is the job's), through a policy of its own (no cycle):
			// the execution's Map Runs, their children, and no more.
			stmts, _ := s.rolePolicies(cleanupRole)
			arn := "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
			for action, want := range map[string]string{
				"states:ListMapRuns":       arn + "execution:${" + smID + ".Name}:*",
				"states:ListExecutions":    arn + "mapRun:${" + smID + ".Name}/*",
				"states:DescribeExecution": arn + "execution:${" + smID + ".Name}/*",
			} {
				if res := resourcesFor(stmts, action); !slices.Equal(res, []string{want}) {
					t.Errorf("%s may %s %v, want %s only", m.cleanup, action, res, want)
				}
			}
		})
	}
	must(t, "one rule per state machine", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(float64(len(expectedMachines))))
	})
}

// TestAPIRunsBothStateMachines: the api function starts and stops
// executions of both machines, and knows both ARNs.
func TestAPIRunsBothStateMachines(t *testing.T) {
	s := defaults.get(t)
	_, p, roleID := s.function(t, stack.FnAPI)
	stmts, _ := s.rolePolicies(roleID)
	vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
	var started []string
	for _, m := range expectedMachines {
		smID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", m.id)
		started = append(started, "${"+smID+"}")
		for _, a := range []string{"states:StopExecution"} {
			// GrantExecution names the executions by the machine's name, cut out of its ARN.
			if !slices.ContainsFunc(resourcesFor(stmts, a), func(r string) bool {
				return strings.Contains(r, ":execution:") && strings.Contains(r, `{"Ref":"`+smID+`"}`) && strings.HasSuffix(r, ":*")
			}) {
				t.Errorf("api may not %s executions of %s: %v", a, smID, resourcesFor(stmts, a))
			}
		}
	}
	if got := resourcesFor(stmts, "states:StartExecution"); !slices.Equal(got, sorted(started)) {
		t.Errorf("api may start %v, want exactly %v", got, sorted(started))
	}
	backupID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", "BackupStateMachine")
	restoreID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", "RestoreStateMachine")
	if render(vars[stack.EnvStateMachineArn]) != "${"+backupID+"}" || render(vars[stack.EnvRestoreStateMachineArn]) != "${"+restoreID+"}" {
		t.Errorf("%s=%v, %s=%v; want the backup and restore state machines", stack.EnvStateMachineArn, vars[stack.EnvStateMachineArn],
			stack.EnvRestoreStateMachineArn, vars[stack.EnvRestoreStateMachineArn])
	}
}

// TestRestoreFunctions: without a restore secret, RESTORE connects with the
// source secret; it never writes to S3; nothing else connects to the target.
func TestRestoreFunctions(t *testing.T) {
	s := defaults.get(t)
	secretID, _ := s.resource(t, "AWS::SecretsManager::Secret", "SourceSecret")
	for _, name := range stack.FunctionNames {
		_, p, roleID := s.function(t, name)
		stmts, _ := s.rolePolicies(roleID)
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		restore := slices.Contains(restoreFunctions, name)
		if got, ok := vars[stack.EnvTargetSecretArn]; ok != restore || (ok && render(got) != "${"+secretID+"}") {
			t.Errorf("%s: %s=%v; want the source secret on the restore functions only", name, stack.EnvTargetSecretArn, got)
		}
		if !restore {
			continue
		}
		if _, ok := vars[stack.EnvSourceSecretArn]; ok {
			t.Errorf("%s has %s: restore functions connect to the target", name, stack.EnvSourceSecretArn)
		}
		for _, a := range actions(stmts) {
			if !strings.HasPrefix(a, "s3:") || a == "s3:GetObject" || a == "s3:ListBucket" {
				continue
			}
			if a != workFunctions[name] {
				t.Errorf("%s may %s: the restore job only reads repositories, and writes only its work files", name, a)
			} else if got := resourcesFor(stmts, a); len(got) != 1 || !strings.HasSuffix(got[0], "/"+workarea.RestoreItemsPattern) {
				t.Errorf("%s may %s on %v: want the work area's RESTORE items files only", name, a, got)
			}
		}
	}
}

func TestOutputsAndAlarms(t *testing.T) {
	s := defaults.get(t)
	outputs, _ := s.json["Outputs"].(map[string]any)
	for _, o := range []string{"ApiUrl", "ApiInvokePolicyArn", "StateMachineArn", "RestoreStateMachineArn", "TableName", "BucketName", "SourceSecretArn"} {
		if outputs[o] == nil {
			t.Errorf("output %s missing (have %v)", o, slices.Sorted(maps.Keys(outputs)))
		}
	}
	alarms := s.resources("AWS::CloudWatch::Alarm")
	if want := 2*len(expectedMachines) + 2*len(stack.FunctionNames); len(alarms) != want {
		t.Errorf("%d alarms, want %d", len(alarms), want)
	}
	var metrics []string
	for _, a := range alarms {
		p := props(a)
		metrics = append(metrics, p["Namespace"].(string)+"/"+p["MetricName"].(string))
		if p["AlarmActions"] != nil {
			t.Errorf("alarm has actions without an alarm e-mail: %v", p["AlarmActions"])
		}
	}
	for _, m := range []string{"AWS/States/ExecutionsFailed", "AWS/States/ExecutionsTimedOut", "AWS/Lambda/Errors", "AWS/Lambda/Throttles"} {
		if !slices.Contains(metrics, m) {
			t.Errorf("no alarm on %s", m)
		}
	}
	must(t, "no SNS topic without an alarm e-mail", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(0))
	})
}

func TestFullConfiguration(t *testing.T) {
	s := full.get(t)
	if !strings.HasSuffix(s.path, "SrBackupProd.template.json") {
		t.Errorf("template %s, want the stack named by %s", s.path, stack.CtxStackName)
	}
	must(t, "existing bucket and secret are not created", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(0))
		s.assert.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(0))
	})
	secret := full.overrides[stack.CtxSourceSecretArn].(string)
	restoreSecret := full.overrides[stack.CtxRestoreSecretArn].(string)
	key := full.overrides[stack.CtxKMSKeyArn].(string)
	readsSource := []string{stack.FnAPI, stack.FnParse, stack.FnSnapshot, stack.FnUpload}
	inVPC := append(slices.Clone(readsSource), restoreFunctions...)
	withKey := []string{stack.FnAPI, stack.FnSnapshot, stack.FnUpload, stack.FnFinalize, stack.FnCleanup,
		stack.FnRestoreParse, stack.FnRestorePrepare, stack.FnRestoreLoad, stack.FnSweep, stack.FnVerify}

	for _, name := range stack.FunctionNames {
		t.Run(name, func(t *testing.T) {
			_, p, roleID := s.function(t, name)
			stmts, managed := s.rolePolicies(roleID)
			vpc, _ := p["VpcConfig"].(map[string]any)
			if slices.Contains(inVPC, name) {
				if !slices.Equal(strs(vpc["SubnetIds"]), []string{"subnet-0aaa1111", "subnet-0bbb2222"}) ||
					!slices.Equal(strs(vpc["SecurityGroupIds"]), []string{"sg-0ccc3333"}) {
					t.Errorf("VpcConfig %v, want the configured subnets and security group", vpc)
				}
				// The EC2 half of AWSLambdaVPCAccessExecutionRole, without its logs:* on *.
				for _, a := range []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"} {
					if got := resourcesFor(stmts, a); !slices.Equal(got, []string{"*"}) {
						t.Errorf("%s on %v, want * (Lambda manages the function's interfaces)", a, got)
					}
				}
			} else if vpc != nil || slices.ContainsFunc(actions(stmts), func(a string) bool { return strings.HasPrefix(a, "ec2:") }) {
				t.Errorf("%s does not connect to the source but is in the VPC: %v %v", name, vpc, actions(stmts))
			}
			if len(managed) > 0 {
				t.Errorf("managed policies %v, want none", managed)
			}
			// Resource * only where the service has no resource-level permissions.
			for _, st := range stmts {
				if slices.Contains(st.Resources, "*") {
					for _, a := range st.Actions {
						if !strings.HasPrefix(a, "ec2:") && !strings.HasPrefix(a, "xray:") {
							t.Errorf("%s on *", a)
						}
					}
				}
			}
			// Each function reads one secret at most: the backup functions
			// the source's, RESTORE's the restore secret; never both.
			var wantSecret []string
			switch {
			case slices.Contains(readsSource, name):
				wantSecret = []string{secret, secret + "-??????"}
			case slices.Contains(restoreFunctions, name):
				wantSecret = []string{restoreSecret, restoreSecret + "-??????"}
			}
			for _, a := range []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"} {
				if got := resourcesFor(stmts, a); !slices.Equal(got, wantSecret) {
					t.Errorf("%s on %v, want %v", a, got, wantSecret)
				}
			}
			for _, a := range []string{"s3:ListBucket", "s3:PutObject", "s3:GetObject", "s3:DeleteObject"} {
				for _, r := range resourcesFor(stmts, a) {
					if !strings.Contains(r, ":s3:::corp-backups") && !strings.Contains(r, ":s3:::corp-archive") {
						t.Errorf("%s on %s, outside the configured buckets", a, r)
					}
				}
			}
			if got := resourcesFor(stmts, "s3:PutObject"); workFunctions[name] == "s3:PutObject" {
				if !slices.Equal(got, []string{workItems("arn:${AWS::Partition}:s3:::corp-backups")}) {
					t.Errorf("s3:PutObject on %v, want the work area of the stack's bucket only", got)
				}
			} else if len(got) > 0 && len(got) != 2 {
				t.Errorf("s3:PutObject on %v, want both repository buckets", got)
			}
			kms := resourcesFor(stmts, "kms:Decrypt")
			if slices.Contains(withKey, name) != (len(kms) > 0) || (len(kms) > 0 && !slices.Equal(kms, []string{key})) {
				t.Errorf("kms:Decrypt on %v (want the key only for functions reading or writing objects)", kms)
			}
			if p["TracingConfig"].(map[string]any)["Mode"] != "Active" {
				t.Errorf("tracing %v, want Active", p["TracingConfig"])
			}
			vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if ttl, ok := vars[stack.EnvJobHistoryTTLDays]; ok && ttl != "90" {
				t.Errorf("%s=%v, want 90", stack.EnvJobHistoryTTLDays, ttl)
			}
			// The functions that lock jobs bound the lock by the execution
			// timeout (48 hours here).
			if got, ok := vars[stack.EnvExecutionTimeout]; (name == stack.FnAPI || name == stack.FnLock) != ok || (ok && got != "172800") {
				t.Errorf("%s=%v, want 172800 on the api and lock functions only", stack.EnvExecutionTimeout, got)
			}
			if name == stack.FnAPI && vars[stack.EnvAdmins] != "arn:aws:iam::123456789012:role/dba,arn:aws:iam::123456789012:user/alice" {
				t.Errorf("%s=%v", stack.EnvAdmins, vars[stack.EnvAdmins])
			}
			if got, ok := vars[stack.EnvTargetSecretArn]; slices.Contains(restoreFunctions, name) != ok || (ok && got != restoreSecret) {
				t.Errorf("%s=%v, want the restore secret on the restore functions only", stack.EnvTargetSecretArn, got)
			}
			if got, ok := vars[stack.EnvSourceSecretArn]; slices.Contains(readsSource, name) != ok || (ok && got != secret) {
				t.Errorf("%s=%v, want the source secret on the backup functions that read the source only", stack.EnvSourceSecretArn, got)
			}
			if name == stack.FnUpload && p["MemorySize"] != 4096.0 {
				t.Errorf("upload memory %v, want 4096", p["MemorySize"])
			}
			// The workers' concurrency is reserved, and no job is granted more.
			worker := name == stack.FnUpload || name == stack.FnRestoreLoad
			if got, ok := p["ReservedConcurrentExecutions"]; worker != ok || (ok && got != 16.0) {
				t.Errorf("ReservedConcurrentExecutions %v, want 16 on the upload and load workers only", got)
			}
			if got, ok := vars[stack.EnvMaxParallelism]; ok && got != "16" {
				t.Errorf("%s=%v, want the reserved concurrency 16", stack.EnvMaxParallelism, got)
			}
		})
	}

	for _, m := range expectedMachines {
		_, sm := s.resource(t, "AWS::StepFunctions::StateMachine", m.id)
		var def map[string]any
		if err := json.Unmarshal([]byte(props(sm)["DefinitionString"].(string)), &def); err != nil || def["TimeoutSeconds"] != 48*3600.0 {
			t.Errorf("%s definition TimeoutSeconds %v (%v), want 48 h", m.kind, def["TimeoutSeconds"], err)
		}
		if props(sm)["TracingConfiguration"].(map[string]any)["Enabled"] != true {
			t.Errorf("%s state machine tracing is off", m.kind)
		}
	}
	smID, _ := s.resource(t, "AWS::StepFunctions::StateMachine", "BackupStateMachine")

	schedules := s.resources("AWS::Scheduler::Schedule")
	if len(schedules) != 3 {
		t.Fatalf("%d schedules, want the 2 configured and the sweep's", len(schedules))
	}
	sweepID, sweepProps, _ := s.function(t, stack.FnSweep)
	if v := sweepProps["Environment"].(map[string]any)["Variables"].(map[string]any)[stack.EnvBackupAgeDatabases]; v != "shop" {
		t.Errorf("sweep %s = %v, want the scheduled database shop", stack.EnvBackupAgeDatabases, v)
	}
	var ages []map[string]any
	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		if strings.HasPrefix(id, "BackupAgeAlarm") {
			ages = append(ages, props(a))
		}
	}
	// The hourly schedule's 1 h + 2 h margin is the stricter of shop's two.
	if len(ages) != 1 || ages[0]["MetricName"] != "BackupAge" || ages[0]["Namespace"] != "srbackup" || ages[0]["Threshold"] != 10800.0 ||
		ages[0]["TreatMissingData"] != "breaching" || ages[0]["Statistic"] != "Maximum" || len(asSlice(ages[0]["AlarmActions"])) != 1 {
		t.Errorf("backup-age alarms %v, want one on shop at 3 h, missing data breaching, notifying the topic", ages)
	}
	if len(s.resources("AWS::CloudWatch::Dashboard")) != 1 {
		t.Error("no dashboard")
	}
	sweep := schedules["SweepSchedule"]
	if p := props(sweep); p["ScheduleExpression"] != stack.DefaultSweepSchedule || !strings.Contains(render(p["Target"].(map[string]any)["Arn"]), sweepID) {
		t.Errorf("sweep schedule %v, want %s invoking the sweep function", p, stack.DefaultSweepSchedule)
	}
	for _, want := range full.overrides[stack.CtxSchedules].([]any) {
		w := want.(map[string]any)
		_, r := s.resource(t, "AWS::Scheduler::Schedule", "Schedule"+strings.NewReplacer("-", "", "_", "", ".", "").Replace(w["name"].(string)))
		p := props(r)
		target := p["Target"].(map[string]any)
		var input map[string]string
		if err := json.Unmarshal([]byte(render(target["Input"])), &input); err != nil {
			t.Errorf("schedule %s input %v is not JSON: %v", w["name"], target["Input"], err)
		}
		if input["sql"] != w["sql"] || input["time"] != "<aws.scheduler.scheduled-time>" || len(input) != 2 {
			t.Errorf("schedule %s input %v, want its sql and the scheduled time", w["name"], input)
		}
		if render(target["Arn"]) != "${"+smID+"}" {
			t.Errorf("schedule %s targets %v", w["name"], target["Arn"])
		}
		wantExpr := w["cron"].(string)
		if !strings.HasPrefix(wantExpr, "rate(") {
			wantExpr = "cron(" + wantExpr + ")"
		}
		if p["ScheduleExpression"] != wantExpr {
			t.Errorf("schedule %s expression %v, want %s", w["name"], p["ScheduleExpression"], wantExpr)
		}
		if tz, _ := w["timezone"].(string); tz != "" && p["ScheduleExpressionTimezone"] != tz {
			t.Errorf("schedule %s time zone %v, want %s", w["name"], p["ScheduleExpressionTimezone"], tz)
		}
		roleID := strings.Trim(strings.TrimSuffix(render(target["RoleArn"]), ".Arn}"), "${")
		stmts, _ := s.rolePolicies(roleID)
		if got := actions(stmts); !slices.Equal(got, []string{"states:StartExecution"}) || !slices.Equal(resourcesFor(stmts, "states:StartExecution"), []string{"${" + smID + "}"}) {
			t.Errorf("scheduler role %v, want states:StartExecution on the state machine only", stmts)
		}
	}

	must(t, "alarm e-mail", func() {
		s.assert.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(1))
		s.assert.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com",
		})
	})
	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		if len(asSlice(props(a)["AlarmActions"])) != 1 {
			t.Errorf("alarm %s does not notify the topic", id)
		}
	}
	for id, lg := range s.resources("AWS::Logs::LogGroup") {
		if props(lg)["RetentionInDays"] != 90.0 {
			t.Errorf("log group %s retention %v, want 90", id, props(lg)["RetentionInDays"])
		}
	}
}

func TestMissingBundlesAreReported(t *testing.T) {
	app := newApp(t.TempDir(), map[string]any{stack.CtxLambdaZipDir: t.TempDir()})
	cfg, err := configOf(app)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stack.New(app, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "upload.zip") {
		t.Fatalf("error %v, want one naming the missing zips and `make build`", err)
	}
}

func TestBadDefinitionsAreReported(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]struct {
		path, want string
		restore    bool
	}{
		"missing":   {path: filepath.Join(dir, "absent.asl.json"), want: "not found"},
		"not JSON":  {path: write("bad.asl.json", `{"StartAt": `), want: "unexpected end of JSON"},
		"no states": {path: write("empty.asl.json", `{"Comment": "x"}`), want: "StartAt and States are required"},
		"unknown variable": {path: write("unknown.asl.json",
			`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${RestoreFunctionArn}","End":true}}}`), want: "${RestoreFunctionArn}"},
		// Each machine substitutes its own functions only.
		"restore step in backup": {path: write("mixed.asl.json",
			`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${RestoreloadFunctionArn}","End":true}}}`), want: "${RestoreloadFunctionArn}"},
		"restore missing": {path: filepath.Join(dir, "absent-restore.asl.json"), want: stack.RestoreStateMachineFile, restore: true},
		"backup step in restore": {path: write("mixed-restore.asl.json",
			`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${UploadFunctionArn}","End":true}}}`), want: "in the restore state machine", restore: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			app := newApp(t.TempDir(), nil)
			cfg, err := configOf(app)
			if err != nil {
				t.Fatal(err)
			}
			if c.restore {
				cfg.RestoreStateMachineDefinition = c.path
			} else {
				cfg.StateMachineDefinition = c.path
			}
			if _, err := stack.New(app, cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestEveryFunctionDirIsDeployed ties functions/* to FunctionNames: a
// function without a directory cannot be built, and a directory the stack
// does not deploy is dead code (or a missing role).
func TestEveryFunctionDirIsDeployed(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(repoRoot, "functions", e.Name(), "main.go")); err == nil {
				dirs = append(dirs, e.Name())
			}
		}
	}
	if !slices.Equal(sorted(dirs), sorted(stack.FunctionNames)) {
		t.Errorf("functions/* %v, stack.FunctionNames %v: want the same names", sorted(dirs), sorted(stack.FunctionNames))
	}
	if len(expectedFunctions) != len(stack.FunctionNames) {
		t.Errorf("expectedFunctions has %d entries for %d functions", len(expectedFunctions), len(stack.FunctionNames))
	}
}
