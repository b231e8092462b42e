package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/workarea"
)

// RepositoryKeyPattern matches every S3 key srbackup writes: repositories
// live under <location>/__srbackup_repository_<name>/ (README, "The S3 repository"), so the
// functions get no access to other objects of a shared bucket.
const RepositoryKeyPattern = "*__srbackup_repository_*"

// SnapshotKeyPattern matches the keys of snapshots only (__ss_<label>/…),
// never a repository's __repo_info: what DROP SNAPSHOT and the expiry sweep
// may delete.
const SnapshotKeyPattern = RepositoryKeyPattern + SnapshotKeys

// WorkFileDays is when the bucket's lifecycle rule expires a work file
// (workarea.Prefix) that its job did not delete. A RESTORE's Map reads its
// items once, when it starts right after Prepare wrote them, so a file a day
// old is already a straggler whatever the execution timeout.
const WorkFileDays = 2

// newTable declares the job table from jobstore.CreateTableInput, so the code
// and the stack cannot disagree on keys or indexes.
func newTable(scope constructs.Construct) (awsdynamodb.Table, error) {
	in := jobstore.CreateTableInput("")
	if in.BillingMode != types.BillingModePayPerRequest {
		return nil, fmt.Errorf("jobstore.CreateTableInput: billing mode %q: the stack only declares on-demand tables", in.BillingMode)
	}
	attrType := map[string]awsdynamodb.AttributeType{}
	for _, d := range in.AttributeDefinitions {
		t, err := dynamoAttributeType(d.AttributeType)
		if err != nil {
			return nil, err
		}
		attrType[*d.AttributeName] = t
	}
	table := awsdynamodb.NewTable(scope, jsii.String("Jobs"), &awsdynamodb.TableProps{
		PartitionKey: keyAttribute(in.KeySchema, types.KeyTypeHash, attrType),
		SortKey:      keyAttribute(in.KeySchema, types.KeyTypeRange, attrType),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(jobstore.AttrTTL),
		DeletionProtection:  jsii.Bool(true),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
	})
	for _, gsi := range in.GlobalSecondaryIndexes {
		props := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      gsi.IndexName,
			PartitionKey:   keyAttribute(gsi.KeySchema, types.KeyTypeHash, attrType),
			SortKey:        keyAttribute(gsi.KeySchema, types.KeyTypeRange, attrType),
			ProjectionType: awsdynamodb.ProjectionType(gsi.Projection.ProjectionType),
		}
		if len(gsi.Projection.NonKeyAttributes) > 0 {
			props.NonKeyAttributes = jsii.Strings(gsi.Projection.NonKeyAttributes...)
		}
		table.AddGlobalSecondaryIndex(props)
	}
	return table, nil
}

// tableIndexNames are the names of the table's global secondary indexes.
func tableIndexNames() []string {
	var names []string
	for _, gsi := range jobstore.CreateTableInput("").GlobalSecondaryIndexes {
		names = append(names, *gsi.IndexName)
	}
	return names
}

// keyAttribute returns the key of the given type, or nil when the schema has none.
func keyAttribute(schema []types.KeySchemaElement, kt types.KeyType, attrType map[string]awsdynamodb.AttributeType) *awsdynamodb.Attribute {
	for _, k := range schema {
		if k.KeyType == kt {
			return &awsdynamodb.Attribute{Name: k.AttributeName, Type: attrType[*k.AttributeName]}
		}
	}
	return nil
}

func dynamoAttributeType(t types.ScalarAttributeType) (awsdynamodb.AttributeType, error) {
	switch t {
	case types.ScalarAttributeTypeS:
		return awsdynamodb.AttributeType_STRING, nil
	case types.ScalarAttributeTypeN:
		return awsdynamodb.AttributeType_NUMBER, nil
	case types.ScalarAttributeTypeB:
		return awsdynamodb.AttributeType_BINARY, nil
	}
	return "", fmt.Errorf("jobstore.CreateTableInput: attribute type %q is unknown to the stack", t)
}

// newRepositoryBucket imports the configured bucket, or creates one that is
// versioned, encrypted, private, TLS-only, retained on stack deletion and,
// unless cfg.BucketAccessLogs is off, logs every request into an access-log
// bucket of its own (returned; nil when there is none).
func newRepositoryBucket(scope constructs.Construct, cfg Config, key awskms.IKey) (awss3.IBucket, awss3.Bucket) {
	if cfg.BucketName != "" {
		return awss3.Bucket_FromBucketName(scope, jsii.String("Repository"), jsii.String(cfg.BucketName)), nil
	}
	props := &awss3.BucketProps{
		Versioned:         jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("abort-incomplete-multipart-uploads"),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				// The work area's files are deleted by the job that wrote them
				// when it ends; one a crash left behind expires (WorkFileDays).
				Id:         jsii.String("expire-work-files"),
				Prefix:     jsii.String(workarea.Prefix),
				Expiration: awscdk.Duration_Days(jsii.Number(WorkFileDays)),
			},
			{
				// Deleted or overwritten objects stay recoverable for a while, then stop costing.
				Id:                          jsii.String("expire-noncurrent-versions"),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(float64(cfg.NoncurrentVersionDays))),
				ExpiredObjectDeleteMarker:   jsii.Bool(true),
			},
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	}
	if cfg.ObjectLockDays > 0 {
		// Ransomware protection: every version is retained in governance
		// mode, so no function role (none holds
		// s3:BypassGovernanceRetention) and no stolen credential of one can
		// destroy a snapshot early. A delete only adds a delete marker: the
		// snapshot disappears from SHOW SNAPSHOT and RESTORE, and its
		// versions stay recoverable until their retention ends.
		props.ObjectLockEnabled = jsii.Bool(true)
		props.ObjectLockDefaultRetention = awss3.ObjectLockRetention_Governance(awscdk.Duration_Days(jsii.Number(float64(cfg.ObjectLockDays))))
	}
	if key != nil {
		props.Encryption = awss3.BucketEncryption_KMS
		props.EncryptionKey = key
		props.BucketKeyEnabled = jsii.Bool(true)
	}
	var logs awss3.Bucket
	if cfg.BucketAccessLogs {
		logs = newAccessLogBucket(scope, cfg)
		props.ServerAccessLogsBucket = logs
		props.ServerAccessLogsPrefix = jsii.String("repository/")
	}
	return awss3.NewBucket(scope, jsii.String("Repository"), props), logs
}

// newAccessLogBucket creates the bucket the repository bucket's server
// access logs go to: SSE-S3 (S3 cannot deliver access logs to a bucket whose
// default encryption is SSE-KMS), private, TLS-only, logs expired after
// cfg.LogRetentionDays, retained on stack deletion like the bucket it audits.
func newAccessLogBucket(scope constructs.Construct, cfg Config) awss3.Bucket {
	return awss3.NewBucket(scope, jsii.String("RepositoryAccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(cfg.LogRetentionDays))),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}
