// Package stack defines the srbackup CloudFormation stack: the Lambda
// functions, the backup and restore state machines, the DynamoDB job table, the S3
// repository bucket, the HTTP API, schedules and alarms.
//
// The stack is environment-agnostic and makes no lookups, so it synthesizes
// offline; everything account-specific comes from [Config].
package stack

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Stack is the synthesized srbackup stack and its main resources.
type Stack struct {
	awscdk.Stack
	// Functions by name (FnAPI, FnParse, …).
	Functions           map[string]awslambda.Function
	StateMachine        awsstepfunctions.StateMachine // BACKUP
	RestoreStateMachine awsstepfunctions.StateMachine
	Table               awsdynamodb.Table
	Bucket              awss3.IBucket // the repository bucket, created or imported
	// SweepScheduleRole is the role the sweep's schedule invokes it with
	// (nil with srbackup:sweepSchedule=off).
	SweepScheduleRole awsiam.IRole
}

// New adds the srbackup stack to scope. It fails, rather than panics, when a
// build artefact is missing or the configuration cannot be deployed.
func New(scope constructs.Construct, cfg Config, props *awscdk.StackProps) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	defs := map[string]*definition{}
	for _, m := range machines {
		d, err := loadDefinition(m.path(cfg), m)
		if err != nil {
			return nil, err
		}
		defs[m.kind] = d
	}
	if err := checkBundles(cfg.LambdaZipDir); err != nil {
		return nil, err
	}

	sp := awscdk.StackProps{}
	if props != nil {
		sp = *props
	}
	if sp.Description == nil {
		sp.Description = jsii.String("srbackup: StarRocks-style BACKUP of a MySQL-protocol database into S3, as Lambda functions chained by Step Functions")
	}
	st := awscdk.NewStack(scope, jsii.String(cfg.StackName), &sp)
	s := &Stack{Stack: st, Functions: map[string]awslambda.Function{}}

	var key awskms.IKey
	if cfg.KMSKeyArn != "" {
		key = awskms.Key_FromKeyArn(st, jsii.String("RepositoryKey"), jsii.String(cfg.KMSKeyArn))
	}
	table, err := newTable(st)
	if err != nil {
		return nil, err
	}
	bucket, accessLogs := newRepositoryBucket(st, cfg, key)
	s.Table, s.Bucket = table, bucket
	buckets := []awss3.IBucket{bucket}
	for i, name := range cfg.RepositoryBuckets {
		buckets = append(buckets, awss3.Bucket_FromBucketName(st, jsii.String(fmt.Sprintf("RepositoryBucket%d", i+1)), jsii.String(name)))
	}
	source := sourceSecret(st, cfg)
	target := source
	if cfg.RestoreSecretArn != "" {
		target = secretRef{arn: jsii.String(cfg.RestoreSecretArn), partial: true}
	}
	network := sourceNetwork(st, cfg)

	env := environment{
		table:         table,
		buckets:       buckets,
		work:          bucket,
		key:           key,
		source:        source,
		target:        target,
		network:       network,
		jobHistoryTTL: cfg.JobHistoryTTLDays,
	}
	for _, spec := range functionSpecs(cfg) {
		s.Functions[spec.name] = newFunction(st, cfg, spec, env)
	}

	sms := map[string]awsstepfunctions.StateMachine{}
	for _, m := range machines {
		sm, err := newStateMachine(st, cfg, m, defs[m.kind], s.Functions)
		if err != nil {
			return nil, err
		}
		sms[m.kind] = sm
		grantExecutionAccess(s.Functions[FnAPI], sm)
		grantDistributedMap(st, m, sm, env)
		grantCleanupMapRuns(st, m, sm, s.Functions)
		newCleanupTrigger(st, m, sm, s.Functions[m.cleanup])
	}
	s.StateMachine, s.RestoreStateMachine = sms[backupMachine.kind], sms[restoreMachine.kind]
	sm := s.StateMachine
	s.Functions[FnAPI].AddEnvironment(jsii.String(EnvStateMachineArn), sm.StateMachineArn(), nil)
	s.Functions[FnAPI].AddEnvironment(jsii.String(EnvRestoreStateMachineArn), s.RestoreStateMachine.StateMachineArn(), nil)
	if len(cfg.Admins) > 0 {
		s.Functions[FnAPI].AddEnvironment(jsii.String(EnvAdmins), jsii.String(strings.Join(cfg.Admins, ",")), nil)
	}
	newSchedules(st, cfg, sm)
	s.SweepScheduleRole = newSweepSchedule(st, cfg, s.Functions[FnSweep])
	// ADMIN VERIFY SNAPSHOT: the API invokes the verify function (exactly it).
	s.Functions[FnAPI].AddEnvironment(jsii.String(EnvVerifyFunction), s.Functions[FnVerify].FunctionArn(), nil)
	s.Functions[FnAPI].AddToRolePolicy(policy([]string{"lambda:InvokeFunction"}, s.Functions[FnVerify].FunctionArn()))
	if dbs := slices.Sorted(maps.Keys(scheduledDatabases(cfg))); len(dbs) > 0 {
		s.Functions[FnSweep].AddEnvironment(jsii.String(EnvBackupAgeDatabases), jsii.String(strings.Join(dbs, ",")), nil)
	}
	newDashboard(st)
	api := newAPI(st, cfg, s.Functions[FnAPI])
	topic := newAlarms(st, cfg, sms, s.Functions)

	output(st, "ApiUrl", api.url, "Base URL of the HTTP API (requests are SigV4-signed for service execute-api)")
	output(st, "ApiInvokePolicyArn", api.invokePolicy.ManagedPolicyArn(), "Managed policy that lets a principal call the HTTP API")
	output(st, "StateMachineArn", sm.StateMachineArn(), "Backup state machine; start it with {\"sql\": \"BACKUP …\"}")
	output(st, "RestoreStateMachineArn", s.RestoreStateMachine.StateMachineArn(), "Restore state machine; start it with {\"sql\": \"RESTORE …\"}")
	output(st, "TableName", table.TableName(), "DynamoDB table of jobs, locks and repositories")
	output(st, "BucketName", bucket.BucketName(), "S3 repository bucket")
	output(st, "SourceSecretArn", source.arn, "Secrets Manager secret holding the source database connection")
	if network != nil && network.createdGroup != nil {
		output(st, "SourceSecurityGroupId", network.createdGroup.SecurityGroupId(), "Security group of the functions that connect to the source; allow it in the database's security group")
	}
	if topic != nil {
		output(st, "AlarmTopicArn", topic.TopicArn(), "SNS topic the alarms notify")
	}
	if accessLogs != nil {
		output(st, "AccessLogBucketName", accessLogs.BucketName(), "S3 server access logs of the repository bucket")
	}
	suppressFindings(st, cfg, suppressible{
		inVPC:           network != nil,
		createdSecret:   cfg.SourceSecretArn == "",
		createdBucket:   cfg.BucketName == "",
		accessLogBucket: accessLogs != nil,
	})
	return s, nil
}

func output(scope constructs.Construct, id string, value *string, description string) {
	awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}

// sourceSecret returns the source database secret: the configured one
// (possibly partial, i.e. without the random suffix), or a new secret the
// operator fills in after deploying.
func sourceSecret(scope constructs.Construct, cfg Config) secretRef {
	if cfg.SourceSecretArn != "" {
		return secretRef{arn: jsii.String(cfg.SourceSecretArn), partial: true}
	}
	secret := awssecretsmanager.NewSecret(scope, jsii.String("SourceSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("srbackup source database connection; replace the generated value with the connection fields after deploying"),
	})
	return secretRef{arn: secret.SecretArn()}
}

// network is where the functions that connect to the source database run.
type network struct {
	vpc          awsec2.IVpc
	subnets      []awsec2.ISubnet
	groups       []awsec2.ISecurityGroup
	createdGroup awsec2.SecurityGroup
}

// sourceNetwork imports the configured VPC, subnets and security groups by id
// (no lookups). Without security groups it creates one that only allows egress.
func sourceNetwork(scope awscdk.Stack, cfg Config) *network {
	if cfg.VpcID == "" {
		return nil
	}
	n := &network{
		// The AZs are never read: the subnets are given explicitly.
		vpc: awsec2.Vpc_FromVpcAttributes(scope, jsii.String("SourceVpc"), &awsec2.VpcAttributes{
			VpcId:             jsii.String(cfg.VpcID),
			AvailabilityZones: scope.AvailabilityZones(),
		}),
	}
	for i, id := range cfg.SubnetIDs {
		subnet := awsec2.Subnet_FromSubnetId(scope, jsii.String(fmt.Sprintf("SourceSubnet%d", i+1)), jsii.String(id))
		// Only Lambda's VpcConfig reads these subnets; it never needs a route table.
		awscdk.Annotations_Of(subnet).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ec2:noSubnetRouteTableId"),
			jsii.String("the subnets only place Lambda functions"))
		n.subnets = append(n.subnets, subnet)
	}
	for i, id := range cfg.SecurityGroupIDs {
		n.groups = append(n.groups, awsec2.SecurityGroup_FromSecurityGroupId(scope, jsii.String(fmt.Sprintf("SourceSecurityGroup%d", i+1)), jsii.String(id), &awsec2.SecurityGroupImportOptions{Mutable: jsii.Bool(false)}))
	}
	if len(n.groups) == 0 {
		n.createdGroup = awsec2.NewSecurityGroup(scope, jsii.String("SourceAccess"), &awsec2.SecurityGroupProps{
			Vpc:              n.vpc,
			Description:      jsii.String("srbackup functions that connect to the source database"),
			AllowAllOutbound: jsii.Bool(true),
		})
		n.groups = append(n.groups, n.createdGroup)
	}
	return n
}

// policy is a shorthand for an Allow statement.
func policy(actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}
