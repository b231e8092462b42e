package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// CheckAwsSolutions applies cdk-nag's AwsSolutions rule pack to scope (the
// app): at synth, every finding the stack does not suppress becomes an error
// or a warning annotation, and with cdk.json's
// @aws-cdk/core:annotationsInValidationReport an error fails the synth.
// reports writes cdk-nag's CSV report per stack into the output directory;
// logSuppressed adds an info annotation for every suppressed finding.
func CheckAwsSolutions(scope constructs.IConstruct, reports, logSuppressed bool) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Reports:    jsii.Bool(reports),
		LogIgnores: jsii.Bool(logSuppressed),
	}), nil)
}

// Suppression reasons: each names why the finding is right by design, so a
// reviewer can check it against the resource. The README's deploy section
// lists the same.
const (
	reasonRepositoryKeys = "Repository locations are chosen at run time (CREATE REPOSITORY ... ON LOCATION \"s3://bucket/prefix\"), " +
		"so the key has a leading wildcard; the pattern keeps the function inside srbackup's own " +
		"__srbackup_repository_<name>/ trees of the configured buckets, never other objects of a shared bucket."
	reasonExecutions = "Execution ARNs are created at run time (one per BACKUP or RESTORE job); the wildcard is the execution " +
		"name under this one state machine, so the grant reaches its executions only."
	reasonStateMachineRole = "Resource * is what the Step Functions log delivery (logs:CreateLogDelivery, GetLogDelivery, " +
		"UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) " +
		"and X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) accept: neither service " +
		"supports resource-level permissions for these actions."
	reasonXRay = "X-Ray tracing (srbackup:tracing): xray:PutTraceSegments and xray:PutTelemetryRecords support no " +
		"resource-level permissions, so they are granted on *."
	reasonENI = "VPC function (srbackup:vpcId): Lambda creates, describes and deletes the function's network interfaces with " +
		"the role (ec2:CreateNetworkInterface, DescribeNetworkInterfaces, DescribeSubnets, DeleteNetworkInterface, " +
		"AssignPrivateIpAddresses, UnassignPrivateIpAddresses); the Describe actions support no resource-level permissions and " +
		"the interfaces' ids are not known before Lambda creates them. This is the EC2 half of AWSLambdaVPCAccessExecutionRole, " +
		"without its logs:* on every log group."
	reasonAPIPathParameters = "The routes with a path parameter ({jobId}, {repo}) are granted with * in its place: the " +
		"parameter is a job id or repository name, and srbackup's own privileges (GRANT ... ON REPOSITORY / EXPORT) decide " +
		"what the caller may see or cancel. Stage and method are exact."
	reasonSourceSecret = "The stack creates this secret empty for a database srbackup does not manage; srbackup cannot " +
		"rotate credentials it does not own. Rotate them on the database and update the secret (or pass your own rotated " +
		"secret with srbackup:sourceSecretArn)."
	reasonMapRuns = "A Distributed Map's child executions and Map Runs are named <machine>/<label>:<id>, the id chosen by " +
		"Step Functions at run time: granted on this machine's children only. Its items are read from the repository's " +
		"__ss_<label>/__items_<job>.json files only (batch numbers, never a plan or data), in every snapshot since labels are the user's."
	reasonWorkItems = "A RESTORE's load Map items live in the deployment's work area, one file per job at " +
		"__srbackup_work/restore/<job id>/items.json of the stack's own bucket; the job id is chosen at run time, so it is " +
		"the wildcard. Prepare may only put, Commit and Cleanup only delete, the restore state machine only read such files: " +
		"no other object of the bucket, and no repository."
	reasonAccessLogsOff = "Server access logging was turned off with srbackup:bucketAccessLogs=false, the operator's choice " +
		"(e.g. CloudTrail S3 data events instead)."
)

// Finding patterns (cdk-nag's "appliesTo"): regular expressions over the
// finding id, so they do not depend on logical ids.
var (
	repositoryKeysFinding  = &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.+\/\*__srbackup_repository_\*(\/__ss_\*\/__plan_\*|\/__ss_\*\/__ss_content\/\*|\/__ss_\*)?$/`)}
	itemKeysFinding        = &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.+\/\*__srbackup_repository_\*\/__ss_\*\/__items_\*$/`)}
	childExecutionsFinding = &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:(execution|mapRun):.+\/\*$/`)}
	executionsFinding      = &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.+:\*$/`)}
	workItemsFinding       = &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.+\/__srbackup_work\/restore\/\*\/items\.json$/`)}
	apiRouteFinding        = &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<HttpApi[0-9A-F]{8}>\/\$default\/(GET|POST|DELETE)\/v1\/[a-z]+\/\*(\/[a-z]+)?$/`)}
)

// suppress records suppressions on the resource at path (below the stack).
// cdk-nag fails the synth when no resource has that path, so a suppression
// cannot outlive what it is about.
func suppress(st awscdk.Stack, path string, s ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(st, jsii.String("/"+*st.Node().Path()+"/"+path), &s, jsii.Bool(false))
}

func iam5(reason string, appliesTo ...any) *cdknag.NagPackSuppression {
	return &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(reason), AppliesTo: &appliesTo}
}

// suppressFindings suppresses the AwsSolutions findings that are right by
// design, each on its own resource and, for IAM5, on its own wildcard.
// Everything else the pack finds is an error.
func suppressFindings(st awscdk.Stack, cfg Config, res suppressible) {
	for _, spec := range functionSpecs(cfg) {
		policy := constructID(spec.name) + "Role/DefaultPolicy/Resource"
		if len(spec.objectActions) > 0 || len(spec.keyActions) > 0 {
			suppress(st, policy, iam5(reasonRepositoryKeys, repositoryKeysFinding))
		}
		if len(spec.workActions) > 0 {
			suppress(st, policy, iam5(reasonWorkItems, workItemsFinding))
		}
		if spec.name == FnAPI {
			suppress(st, policy, iam5(reasonExecutions, executionsFinding))
		}
		inVPC := res.inVPC && (spec.readsSource || spec.connectsTarget)
		switch {
		case cfg.Tracing && inVPC:
			suppress(st, policy, iam5(reasonXRay+" "+reasonENI, "Resource::*"))
		case cfg.Tracing:
			suppress(st, policy, iam5(reasonXRay, "Resource::*"))
		case inVPC:
			suppress(st, policy, iam5(reasonENI, "Resource::*"))
		}
	}
	for _, m := range machines {
		suppress(st, m.id+"StateMachine/Role/DefaultPolicy/Resource", iam5(reasonStateMachineRole, "Resource::*"))
		suppress(st, constructID(m.cleanup)+"MapRunAccess/Resource", iam5(reasonExecutions, executionsFinding, childExecutionsFinding))
		mapRuns := []any{childExecutionsFinding}
		if m.readsItems {
			mapRuns = append(mapRuns, itemKeysFinding)
		}
		suppress(st, m.id+"StateMachineMapRuns/Resource", iam5(reasonMapRuns, mapRuns...))
		if m.readsWorkItems {
			suppress(st, m.id+"StateMachineMapRuns/Resource", iam5(reasonWorkItems, workItemsFinding))
		}
	}
	suppress(st, "ApiInvokePolicy/Resource", iam5(reasonAPIPathParameters, apiRouteFinding))
	if res.createdSecret {
		suppress(st, "SourceSecret/Resource", &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-SMG4"), Reason: jsii.String(reasonSourceSecret)})
	}
	// (S1 passes the access-log bucket itself: cdk-nag knows a log target.)
	if res.createdBucket && !res.accessLogBucket {
		suppress(st, "Repository/Resource", &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-S1"), Reason: jsii.String(reasonAccessLogsOff)})
	}
}

// suppressible is what of the optional resources the stack created.
type suppressible struct {
	inVPC, createdSecret, createdBucket, accessLogBucket bool
}
