package stack

import (
	"archive/zip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/privilege"
	"github.com/srbackup/srbackup/shared/workarea"
)

// Function names: one Lambda per functions/<name> directory, bundled as <name>.zip.
const (
	FnAPI      = "api"
	FnParse    = "parse"
	FnLock     = "lock"
	FnSnapshot = "snapshot"
	FnUpload   = "upload"
	FnFinalize = "finalize"
	FnCleanup  = "cleanup"

	// The RESTORE job's own steps; it shares FnLock with BACKUP.
	FnRestoreParse   = "restoreparse"
	FnRestorePrepare = "restoreprepare"
	FnRestoreLoad    = "restoreload"
	FnRestoreCommit  = "restorecommit"
	FnRestoreCleanup = "restorecleanup"

	// FnSweep drops expired snapshots on a schedule.
	FnSweep = "sweep"
	// FnVerify runs ADMIN VERIFY SNAPSHOT, invoked asynchronously by the API.
	FnVerify = "verify"
)

// FunctionNames lists every function: the API, then the backup and restore
// pipelines in order. Each has a functions/<name> directory.
var FunctionNames = []string{FnAPI, FnParse, FnLock, FnSnapshot, FnUpload, FnFinalize, FnCleanup,
	FnRestoreParse, FnRestorePrepare, FnRestoreLoad, FnRestoreCommit, FnRestoreCleanup, FnSweep, FnVerify}

// Environment variables the stack sets on the functions.
const (
	EnvTable                  = "SRBACKUP_TABLE"
	EnvStateMachineArn        = "SRBACKUP_STATE_MACHINE_ARN"
	EnvRestoreStateMachineArn = "SRBACKUP_RESTORE_STATE_MACHINE_ARN"
	EnvSourceSecretArn        = "SRBACKUP_SOURCE_SECRET_ARN"
	EnvTargetSecretArn        = "SRBACKUP_TARGET_SECRET_ARN"
	EnvAdmins                 = "SRBACKUP_ADMINS"
	EnvJobHistoryTTLDays      = "SRBACKUP_JOB_HISTORY_TTL_DAYS"
	EnvBackupAgeDatabases     = "SRBACKUP_BACKUP_AGE_DATABASES"
	EnvVerifyFunction         = "SRBACKUP_VERIFY_FUNCTION"
	// EnvWorkBucket is the bucket of the deployment's work area
	// (workarea.Prefix in the stack's own bucket), on the functions that
	// write or delete work files.
	EnvWorkBucket = "SRBACKUP_WORK_BUCKET"
	// EnvExecutionTimeout tells the functions that lock jobs a configured
	// execution timeout, which bounds a lock's lease (unset: the
	// definitions' 7 days).
	EnvExecutionTimeout = "SRBACKUP_EXECUTION_TIMEOUT_SECONDS"
	// EnvMaxParallelism is the cap on a job's parallelism, on the
	// functions that prepare jobs.
	EnvMaxParallelism = "SRBACKUP_MAX_PARALLELISM"
)

// functionSpec is what one function is and what it may touch. The actions
// lists are the whole of its data access: nothing else is granted.
type functionSpec struct {
	name        string
	description string
	memoryMB    int
	timeout     time.Duration
	// readsSource functions read the source secret and run in the source VPC.
	readsSource bool
	// worker functions run a job's Map iterations, as many at once as its
	// parallelism (srbackup:workerReservedConcurrency reserves them).
	worker bool
	// connectsTarget functions (RESTORE's) read the target secret (the
	// restore secret, else the source one) and run in the source VPC.
	connectsTarget bool
	// tableActions apply to the table, and Query also to its indexes. Its
	// item writes (tableWrites) apply only to items whose partition keys
	// match writeKeys.
	tableActions []string
	// writeKeys are the partition key patterns (jobstore.Keys*) of the items
	// the function writes: its PutItem, UpdateItem, DeleteItem and
	// BatchWriteItem are conditioned on dynamodb:LeadingKeys.
	writeKeys []string
	// bucketActions apply to the repository buckets themselves.
	bucketActions []string
	// objectActions apply to repository objects (RepositoryKeyPattern).
	objectActions []string
	// keyActions apply to one kind of repository object only.
	keyActions []keyGrant
	// workActions apply to the RESTORE load Map's items files in the
	// deployment's work area (workarea.RestoreItemsPattern) only.
	workActions []string
}

// keyGrant allows actions on the repository objects whose keys match keys
// (a pattern within a repository: RepositoryKeyPattern + keys).
type keyGrant struct {
	keys    string
	actions []string
}

// Kinds of repository objects, as key patterns within a repository.
const (
	PlanKeys    = "/__ss_*/__plan_*"       // a job's shard plan, deleted on commit or cleanup
	ContentKeys = "/__ss_*/__ss_content/*" // data files
	ItemKeys    = "/__ss_*/__items_*"      // a job's Distributed Map items (batch numbers), deleted with its plan
	// SnapshotKeys is every object of every snapshot, never __repo_info:
	// what DROP SNAPSHOT and the sweep delete, and what verify reads.
	SnapshotKeys = "/__ss_*"
)

func functionSpecs(cfg Config) []functionSpec {
	return []functionSpec{{
		name:        FnAPI,
		description: "srbackup HTTP API: runs SQL statements, parses and locks BACKUP jobs synchronously, starts and stops executions",
		memoryMB:    512,
		timeout:     30 * time.Second, // API Gateway waits at most 30 s
		readsSource: true,
		// Every kind of item: the API runs every statement (BACKUP's lock,
		// repositories, GRANT, DROP SNAPSHOT, ADMIN VERIFY, the deployment id).
		writeKeys: []string{jobstore.KeysJobs, jobstore.KeysLocks, jobstore.KeysSnapshotNames, jobstore.KeysDatabases,
			jobstore.KeysRepositories, jobstore.KeysDeployment, jobstore.KeysDrops, jobstore.KeysVerifications,
			privilege.KeysGrants, privilege.KeysRoles},
		tableActions: []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
			"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
		bucketActions: []string{"s3:ListBucket", "s3:ListBucketMultipartUploads"},
		objectActions: []string{"s3:GetObject", "s3:PutObject"},
		// DROP SNAPSHOT: snapshot objects only, never __repo_info.
		keyActions: []keyGrant{{keys: SnapshotKeys, actions: []string{"s3:DeleteObject", "s3:AbortMultipartUpload"}}},
	}, {
		name:         FnParse,
		description:  "srbackup Parse step: parses and validates a statement into a job spec",
		memoryMB:     256,
		timeout:      time.Minute,
		readsSource:  true,
		tableActions: []string{"dynamodb:GetItem"},
	}, {
		name:        FnLock,
		description: "srbackup Lock step: claims the database and the snapshot name with conditional writes",
		memoryMB:    256,
		timeout:     30 * time.Second,
		writeKeys: []string{jobstore.KeysJobs, jobstore.KeysLocks, jobstore.KeysSnapshotNames, jobstore.KeysDatabases,
			jobstore.KeysDeployment}, // the deployment id is created on first use
		// UpdateItem: a stale PENDING job holding the label (its API died
		// before StartExecution) is cancelled in the same transaction.
		tableActions:  []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"},
		bucketActions: []string{"s3:ListBucket"},
	}, {
		name:        FnSnapshot,
		description: "srbackup SnapshotShard step: freezes the object list, reads DDL and plans shards",
		memoryMB:    1024,
		timeout:     15 * time.Minute, // planning tens of thousands of partitions takes minutes
		readsSource: true,
		// PutItem: the point-in-time rendezvous item (JOB#<id> / PIT).
		writeKeys:     []string{jobstore.KeysJobs},
		tableActions:  []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		objectActions: []string{"s3:PutObject"},
		// A retry reads the plan an earlier attempt wrote instead of
		// writing another (the fault matrix's retried SnapshotShard).
		keyActions: []keyGrant{{keys: PlanKeys, actions: []string{"s3:GetObject"}}},
	}, {
		name:        FnUpload,
		worker:      true,
		description: "srbackup UploadBatch step: streams shards from the source into Parquet files in S3",
		memoryMB:    cfg.UploadMemoryMB,
		timeout:     15 * time.Minute, // the Lambda maximum; the shard planner sizes batches to fit
		readsSource: true,
		// Query: a worker reads what an earlier attempt recorded of its
		// share in one query, not one GetItem per shard.
		writeKeys:    []string{jobstore.KeysJobs},
		tableActions: []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		// CreateMultipartUpload, UploadPart and CompleteMultipartUpload are authorized by s3:PutObject.
		objectActions: []string{"s3:PutObject", "s3:AbortMultipartUpload"},
		keyActions: []keyGrant{
			// It reads its shard plan, and deletes a data file it wrote
			// for a job cancelled meanwhile (cleanup may have run already);
			// it cannot delete a manifest, a plan or another kind of file.
			{keys: PlanKeys, actions: []string{"s3:GetObject"}},
			{keys: ContentKeys, actions: []string{"s3:DeleteObject"}},
		},
	}, {
		name:          FnFinalize,
		description:   "srbackup Finalize step: writes the snapshot meta and info files, marks the job FINISHED, releases the lock",
		memoryMB:      512,
		timeout:       5 * time.Minute,
		writeKeys:     []string{jobstore.KeysJobs, jobstore.KeysLocks, jobstore.KeysSnapshotNames},
		tableActions:  []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
		bucketActions: []string{"s3:ListBucket"},
		// DeleteObject: the plan on commit, and the commit itself when a
		// cancel raced it.
		objectActions: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
	}, {
		name:          FnCleanup,
		description:   "srbackup Cleanup step: cancels a failed, timed-out or cancelled job, releases the lock, removes partial files",
		memoryMB:      512,
		timeout:       15 * time.Minute,
		writeKeys:     []string{jobstore.KeysJobs, jobstore.KeysLocks, jobstore.KeysSnapshotNames},
		tableActions:  []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
		bucketActions: []string{"s3:ListBucket", "s3:ListBucketMultipartUploads"},
		// GetObject: whether a __meta or __info is the failed job's own.
		objectActions: []string{"s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"},
	},
		// RESTORE never writes or deletes in a repository (it may be read-only,
		// or in a bucket the deployment may only read): its one file, the load
		// Map's items, is in the deployment's work area, which Prepare writes
		// and Commit and Cleanup delete. Each one's table access mirrors its
		// backup counterpart's. DynamoDB has no TransactWriteItems permission:
		// a transaction needs the actions of its parts (a lock release is a
		// conditional Delete, a job update an Update).
		{
			// Parse checks the statement against the registry and the
			// repository only: it never connects to the target.
			name:          FnRestoreParse,
			description:   "srbackup RESTORE Parse step: parses and validates a RESTORE statement into a job spec",
			memoryMB:      256,
			timeout:       2 * time.Minute,
			tableActions:  []string{"dynamodb:GetItem"},
			bucketActions: []string{"s3:ListBucket"},
			objectActions: []string{"s3:GetObject"},
		}, {
			name:           FnRestorePrepare,
			description:    "srbackup RESTORE Prepare step: verifies the snapshot, compares schemas, creates staging tables and plans the load",
			memoryMB:       512,
			timeout:        15 * time.Minute,
			connectsTarget: true,
			writeKeys:      []string{jobstore.KeysJobs},
			tableActions:   []string{"dynamodb:GetItem", "dynamodb:UpdateItem"},
			bucketActions:  []string{"s3:ListBucket"},
			objectActions:  []string{"s3:GetObject"},
			workActions:    []string{"s3:PutObject"},
		}, {
			name:           FnRestoreLoad,
			worker:         true,
			description:    "srbackup RESTORE LoadBatch step: streams Parquet files from S3 into the staging tables, verifying checksums",
			memoryMB:       1024,
			timeout:        15 * time.Minute,
			connectsTarget: true,
			writeKeys:      []string{jobstore.KeysJobs},
			tableActions:   []string{"dynamodb:GetItem", "dynamodb:UpdateItem"},
			bucketActions:  []string{"s3:ListBucket"},
			objectActions:  []string{"s3:GetObject"},
		}, {
			name:           FnRestoreCommit,
			description:    "srbackup RESTORE Commit step: swaps the staging tables in, restores views and routines, marks the job FINISHED, releases the lock",
			memoryMB:       512,
			timeout:        15 * time.Minute,
			connectsTarget: true,
			writeKeys:      []string{jobstore.KeysJobs, jobstore.KeysLocks},
			tableActions:   []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
			workActions:    []string{"s3:DeleteObject"},
		}, {
			name:           FnRestoreCleanup,
			description:    "srbackup RESTORE Cleanup step: cancels a failed, timed-out or cancelled restore, drops staging tables, releases the lock",
			memoryMB:       256,
			timeout:        15 * time.Minute,
			connectsTarget: true,
			writeKeys:      []string{jobstore.KeysJobs, jobstore.KeysLocks},
			tableActions:   []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
			workActions:    []string{"s3:DeleteObject"},
		}, {
			name:        FnSweep,
			description: "srbackup expiry sweep: drops this deployment's snapshots past their ExpireTime, finishes interrupted DROP SNAPSHOTs",
			memoryMB:    256,
			timeout:     15 * time.Minute,
			// Jobs and repositories read; drop markers written and removed;
			// name reservations removed. No job is ever written.
			writeKeys:     []string{jobstore.KeysDrops, jobstore.KeysSnapshotNames, jobstore.KeysDeployment},
			tableActions:  []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
			bucketActions: []string{"s3:ListBucket", "s3:ListBucketMultipartUploads"},
			// Snapshot objects only: it can neither write nor touch __repo_info.
			keyActions: []keyGrant{{keys: SnapshotKeys, actions: []string{"s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}}},
		}, {
			name:        FnVerify,
			description: "srbackup ADMIN VERIFY SNAPSHOT: checks a snapshot run against its manifest and records the rows",
			memoryMB:    512,
			timeout:     15 * time.Minute,
			// Its own verification items only; it reads snapshots and writes nothing in S3.
			writeKeys:     []string{jobstore.KeysVerifications},
			tableActions:  []string{"dynamodb:GetItem", "dynamodb:PutItem"},
			bucketActions: []string{"s3:ListBucket"},
			keyActions:    []keyGrant{{keys: SnapshotKeys, actions: []string{"s3:GetObject"}}},
		}}
}

// environment is what the functions share.
type environment struct {
	table   awsdynamodb.Table
	buckets []awss3.IBucket
	// work is the bucket of the deployment's work area: the stack's own.
	work          awss3.IBucket
	key           awskms.IKey
	source        secretRef // the source database's secret
	target        secretRef // the secret RESTORE connects to the target with
	network       *network
	jobHistoryTTL int
}

// bundlePath is where `make build` puts the zip of a function.
func bundlePath(dir, name string) string { return filepath.Join(dir, name+".zip") }

// checkBundles fails with a hint when a function's zip has not been built.
func checkBundles(dir string) error {
	var missing []string
	for _, name := range FunctionNames {
		if _, err := os.Stat(bundlePath(dir, name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("lambda bundle: %w", err)
			}
			missing = append(missing, name+".zip")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("lambda bundles missing in %s: %s; run `make build` first (or point context %s at a directory holding them)",
			dir, strings.Join(missing, ", "), CtxLambdaZipDir)
	}
	return nil
}

// newFunction creates the function, its log group and its role with exactly
// the permissions its spec lists.
func newFunction(scope constructs.Construct, cfg Config, spec functionSpec, env environment) awslambda.Function {
	id := constructID(spec.name)

	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retention(cfg.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("srbackup " + spec.name + " function"),
	})
	// Instead of AWSLambdaBasicExecutionRole (any log group): this log group only.
	role.AddToPolicy(policy([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, logs.LogGroupArn()))

	vars := map[string]*string{EnvTable: env.table.TableName()}
	if spec.name == FnAPI || spec.name == FnParse || spec.name == FnRestoreParse {
		vars[EnvMaxParallelism] = jsii.String(strconv.Itoa(cfg.JobParallelismCap()))
	}
	if cfg.ExecutionTimeout != 0 && (spec.name == FnAPI || spec.name == FnLock) {
		vars[EnvExecutionTimeout] = jsii.String(strconv.Itoa(int(cfg.ExecutionTimeout.Seconds())))
	}
	if len(spec.tableActions) > 0 {
		reads := slices.DeleteFunc(slices.Clone(spec.tableActions), isTableWrite)
		if len(reads) > 0 {
			role.AddToPolicy(policy(reads, env.table.TableArn()))
		}
		if writes := slices.DeleteFunc(slices.Clone(spec.tableActions), func(a string) bool { return !isTableWrite(a) }); len(writes) > 0 {
			st := policy(writes, env.table.TableArn())
			st.AddCondition(jsii.String("ForAllValues:StringLike"), map[string]any{
				"dynamodb:LeadingKeys": jsii.Strings(spec.writeKeys...),
			})
			role.AddToPolicy(st)
		}
		if slices.Contains(spec.tableActions, "dynamodb:Query") {
			// Each index by name: Query reads the job history through them.
			var indexes []*string
			for _, name := range tableIndexNames() {
				indexes = append(indexes, jsii.String(*env.table.TableArn()+"/index/"+name))
			}
			role.AddToPolicy(policy([]string{"dynamodb:Query"}, indexes...))
		}
		if slices.ContainsFunc(spec.tableActions, isTableWrite) {
			vars[EnvJobHistoryTTLDays] = jsii.String(strconv.Itoa(env.jobHistoryTTL))
		}
	}
	if len(spec.bucketActions) > 0 {
		var resources []*string
		for _, b := range env.buckets {
			resources = append(resources, b.BucketArn())
		}
		role.AddToPolicy(policy(spec.bucketActions, resources...))
	}
	grants := spec.keyActions
	if len(spec.objectActions) > 0 {
		grants = append([]keyGrant{{actions: spec.objectActions}}, grants...)
	}
	var objectActions []string
	for _, g := range grants {
		var resources []*string
		for _, b := range env.buckets {
			resources = append(resources, b.ArnForObjects(jsii.String(RepositoryKeyPattern+g.keys)))
		}
		role.AddToPolicy(policy(g.actions, resources...))
		objectActions = append(objectActions, g.actions...)
	}
	if len(spec.workActions) > 0 {
		role.AddToPolicy(policy(spec.workActions, env.work.ArnForObjects(jsii.String(workarea.RestoreItemsPattern))))
		objectActions = append(objectActions, spec.workActions...)
		vars[EnvWorkBucket] = env.work.BucketName()
	}
	if env.key != nil && len(objectActions) > 0 {
		// What S3 asks of KMS on the caller's behalf: GenerateDataKey for
		// a PUT, Decrypt for a GET and for each part of a multipart upload.
		// (The CDK's GrantEncryptDecrypt adds ReEncrypt* and
		// GenerateDataKey*, which S3 never uses.)
		var kms []string
		if slices.Contains(objectActions, "s3:PutObject") {
			kms = append(kms, "kms:GenerateDataKey")
		}
		if slices.Contains(objectActions, "s3:PutObject") || slices.Contains(objectActions, "s3:GetObject") {
			kms = append(kms, "kms:Decrypt")
		}
		if len(kms) > 0 {
			role.AddToPolicy(policy(kms, env.key.KeyArn()))
		}
	}

	props := &awslambda.FunctionProps{
		Description:           jsii.String(spec.description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(bundlePath(cfg.LambdaZipDir, spec.name)), nil),
		MemorySize:            jsii.Number(float64(spec.memoryMB)),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(spec.timeout.Seconds())),
		Role:                  role,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &vars,
	}
	if cfg.Tracing {
		props.Tracing = awslambda.Tracing_ACTIVE
	}
	if spec.worker && cfg.WorkerReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(cfg.WorkerReservedConcurrency))
	}
	if spec.readsSource {
		role.AddToPolicy(policy(secretActions, env.source.resources()...))
		vars[EnvSourceSecretArn] = env.source.arn
	}
	if spec.connectsTarget {
		role.AddToPolicy(policy(secretActions, env.target.resources()...))
		vars[EnvTargetSecretArn] = env.target.arn
	}
	if spec.readsSource || spec.connectsTarget {
		if n := env.network; n != nil {
			props.Vpc = n.vpc
			props.VpcSubnets = &awsec2.SubnetSelection{Subnets: &n.subnets}
			props.SecurityGroups = &n.groups
			// The EC2 half of AWSLambdaVPCAccessExecutionRole, without its
			// logs:* on every log group. EC2 scopes none of these to the
			// function's own interfaces (see nag.go).
			role.AddToPolicy(policy(vpcENIActions, jsii.String("*")))
		}
	}
	fn := awslambda.NewFunction(scope, jsii.String(id+"Function"), props)
	return fn
}

// vpcENIActions let Lambda manage a VPC function's network interfaces.
var vpcENIActions = []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
	"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}

var secretActions = []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}

// secretRef is a Secrets Manager secret the functions read.
type secretRef struct {
	arn     *string
	partial bool // the ARN came from context and may lack the random suffix
}

// resources are the ARNs that name the secret in a policy.
func (s secretRef) resources() []*string {
	if !s.partial {
		return []*string{s.arn}
	}
	// A partial ARN (without the random suffix) names the secret too.
	return []*string{s.arn, jsii.String(*s.arn + "-??????")}
}

// constructID turns a function name into a construct id prefix: "api" → "Api".
func constructID(name string) string { return strings.ToUpper(name[:1]) + name[1:] }

func isTableWrite(action string) bool {
	switch action {
	case "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem":
		return true
	}
	return false
}

// retention converts days (validated by Config.Validate) to the CDK enum.
func retention(days int) awslogs.RetentionDays { return retentionDays[days] }

// WritePlaceholderBundles writes a <name>.zip for every function, holding a
// stand-in bootstrap: a template records only an asset's hash, not what the
// binary does, so tests and the local policy generator synthesize without
// `make build`.
func WritePlaceholderBundles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range FunctionNames {
		f, err := os.Create(bundlePath(dir, name))
		if err != nil {
			return err
		}
		zw := zip.NewWriter(f)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, ExternalAttrs: 0o755 << 16})
		if err == nil {
			_, err = fmt.Fprintf(w, "#!/bin/sh\necho placeholder for %s\n", name)
		}
		if err == nil {
			err = zw.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
