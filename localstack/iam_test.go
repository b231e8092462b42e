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
