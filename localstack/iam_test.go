package localstack_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/iam"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
)

// TestIAMDeniesEachService checks that with Options.IAM every local service
// authorizes each request against the signer's role and refuses as AWS
// does: S3 AccessDenied (403), DynamoDB, Lambda and Step Functions
// AccessDeniedException; a state machine invokes functions as its own role;
// an unknown access key is refused.
func TestIAMDeniesEachService(t *testing.T) {
	ctx := context.Background()
	table := iam.TableARN(iam.Table)
	policies := &iam.Policies{Roles: map[string][]iam.Statement{
		"reader": {
			{Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: []string{"arn:aws:s3:::" + iam.Bucket + "/*"}},
			{Effect: "Allow", Actions: []string{"dynamodb:GetItem"}, Resources: []string{table}},
			{Effect: "Allow", Actions: []string{"lambda:InvokeFunction"}, Resources: []string{iam.FunctionARN("hello")}},
			{Effect: "Allow", Actions: []string{"states:DescribeExecution"}, Resources: []string{"arn:aws:states:*:*:execution:invoke:*"}},
			{Effect: "Deny", Actions: []string{"s3:GetObject"}, Resources: []string{"arn:aws:s3:::" + iam.Bucket + "/secret/*"}},
		},
		iam.StateMachineRole("invoke"): {
			{Effect: "Allow", Actions: []string{"lambda:InvokeFunction"}, Resources: []string{iam.FunctionARN("hello")}},
		},
	}}
	hello := func(context.Context) (string, error) { return "hello", nil }
	st := localtest.StartForTest(t, localstack.Options{
		Handlers: func(context.Context, func(string) func(string) string) (map[string]any, error) {
			return map[string]any{"hello": hello, "other": hello}, nil
		},
		StepFunctions: true,
		StateMachines: map[string]string{"invoke": "localstack/testdata/invoke.asl.json"},
		IAM:           true,
		Policies:      policies,
	})
	as := func(role string) aws.Config {
		cfg, err := awsconf.LoadFrom(ctx, st.FunctionEnv(role))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	reader := as("reader")
	denied := func(what string, err error, code string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code {
			t.Errorf("%s: %v, want %s", what, err, code)
			return
		}
		if code == "AccessDenied" || code == "AccessDeniedException" {
			if !strings.Contains(ae.ErrorMessage(), "assumed-role/reader/reader is not authorized to perform: ") {
				t.Errorf("%s: message %q", what, ae.ErrorMessage())
			}
		}
	}

	// S3: GetObject is allowed (the key is missing), PutObject is not, a Deny wins.
	s3c := s3.NewFromConfig(reader)
	_, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String("a/b")})
	denied("GetObject of a missing key", err, "NoSuchKey")
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String("a/b"), Body: strings.NewReader("x")})
	denied("PutObject", err, "AccessDenied")
	_, err = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String("secret/k")})
	denied("GetObject under an explicit Deny", err, "AccessDenied")
	_, err = s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(st.Bucket)})
	denied("ListObjectsV2 (s3:ListBucket)", err, "AccessDenied")

	// DynamoDB: GetItem yes, PutItem and a transaction with a Put no.
	db := dynamodb.NewFromConfig(reader)
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "x"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "y"}}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Table), Key: key}); err != nil {
		t.Errorf("GetItem: %v", err)
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: key})
	denied("PutItem", err, "AccessDeniedException")
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{{Put: &ddbtypes.Put{TableName: aws.String(st.Table), Item: key}}}})
	denied("TransactWriteItems with a Put", err, "AccessDeniedException")

	// Lambda: hello yes, other no.
	lc := lambda.NewFromConfig(reader)
	if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello")}); err != nil {
		t.Errorf("Invoke hello: %v", err)
	}
	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("other")})
	denied("Invoke other", err, "AccessDeniedException")

	// Step Functions: the reader may not start executions; the operator may.
	_, err = sfn.NewFromConfig(reader).StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.StateMachineARNs["invoke"])})
	denied("StartExecution", err, "AccessDeniedException")
	admin, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start, err := sfn.NewFromConfig(admin).StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.StateMachineARNs["invoke"])})
	if err != nil {
		t.Fatal(err)
	}
	// The state machine's role may invoke hello, not other.
	d := waitExecution(t, sfn.NewFromConfig(reader), start.ExecutionArn)
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "Lambda.AccessDeniedException" ||
		!strings.Contains(aws.ToString(d.Cause), "assumed-role/invoke-state-machine/invoke-state-machine is not authorized to perform: lambda:InvokeFunction on resource: "+iam.FunctionARN("other")) {
		t.Errorf("execution %s: %s: %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if st.Lambda.Stats("hello").Invocations != 2 || st.Lambda.Stats("other").Invocations != 0 {
		t.Errorf("invocations: hello %d, other %d", st.Lambda.Stats("hello").Invocations, st.Lambda.Stats("other").Invocations)
	}

	// An access key no role has.
	stranger := admin.Copy()
	stranger.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIASTRANGER", SecretAccessKey: "x"}, nil
	}))
	_, err = s3.NewFromConfig(stranger).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String("a/b")})
	denied("S3 with an unknown key", err, "InvalidAccessKeyId")
	_, err = dynamodb.NewFromConfig(stranger).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Table), Key: key})
	denied("DynamoDB with an unknown key", err, "UnrecognizedClientException")
}

// TestDynamoDBLeadingKeys checks dynamodb:LeadingKeys on every request shape
// srbackup uses: single items, each part of a transaction, every key of a
// batch, and a Query's key condition; and, with the deployed policies, that
// an upload worker writes its job's items but never a lock.
func TestDynamoDBLeadingKeys(t *testing.T) {
	ctx := context.Background()
	table := iam.TableARN(iam.Table)
	jobsOnly := map[string]any{"ForAllValues:StringLike": map[string]any{iam.LeadingKeys: []any{"JOB#*"}}}
	policies := &iam.Policies{Roles: map[string][]iam.Statement{"worker": {{
		Effect:    "Allow",
		Actions:   []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:GetItem"},
		Resources: []string{table},
		Condition: jobsOnly,
	}}}}
	st := localtest.StartForTest(t, localstack.Options{IAM: true, Policies: policies})
	cfg, err := awsconf.LoadFrom(ctx, st.FunctionEnv("worker"))
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	item := func(pk string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"pk": s(pk), "sk": s("X")}
	}
	tbl := aws.String(st.Table)
	check := func(what string, err error, wantDenied bool) {
		t.Helper()
		var ae smithy.APIError
		isDenied := errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException"
		if isDenied != wantDenied || (err != nil && !isDenied) {
			t.Errorf("%s: %v, want denied %v", what, err, wantDenied)
		}
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("JOB#1")})
	check("PutItem JOB#1", err, false)
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("LOCK#db")})
	check("PutItem LOCK#db", err, true)
	_, err = db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: item("REPOS")})
	check("DeleteItem REPOS", err, true)
	_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: item("JOB#1"),
		UpdateExpression: aws.String("SET a = :a"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":a": s("b")}})
	check("UpdateItem JOB#1", err, false)
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{TableName: tbl, Item: item("JOB#2")}},
		{Delete: &ddbtypes.Delete{TableName: tbl, Key: item("LOCK#db")}},
	}})
	check("a transaction with one part on LOCK#db", err, true)
	_, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{
		st.Table: {{PutRequest: &ddbtypes.PutRequest{Item: item("JOB#3")}}, {DeleteRequest: &ddbtypes.DeleteRequest{Key: item("GRANT#u")}}},
	}})
	check("a batch with one key GRANT#u", err, true)
	_, err = db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{
		st.Table: {Keys: []map[string]ddbtypes.AttributeValue{item("JOB#1"), item("JOB#2")}},
	}})
	check("BatchGetItem of jobs", err, false)
	query := func(pk string) error {
		_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: tbl,
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :p)"),
			ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#sk": "sk"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": s(pk), ":p": s("X")}})
		return err
	}
	check("Query JOB#1", query("JOB#1"), false)
	check("Query LOCK#db", query("LOCK#db"), true)

	// The deployed policies: upload writes job items, never a lock.
	deployed := localtest.StartForTest(t, localstack.Options{IAM: true})
	cfg, err = awsconf.LoadFrom(ctx, deployed.FunctionEnv("upload"))
	if err != nil {
		t.Fatal(err)
	}
	up := dynamodb.NewFromConfig(cfg)
	_, err = up.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(deployed.Table), Item: item("JOB#1")})
	check("upload PutItem JOB#1", err, false)
	_, err = up.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(deployed.Table), Item: item("LOCK#db")})
	check("upload PutItem LOCK#db", err, true)
}
