//go:build localstack

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
)

// TestLocalStackBackup runs a whole-database backup against srbackup deployed
// into LocalStack by localstack/init/ready.d/deploy.sh. `make test-localstack`
// runs it with AWS_ENDPOINT_URL pointing at LocalStack and the sample
// database on the host.
func TestLocalStackBackup(t *testing.T) {
	if os.Getenv("AWS_ENDPOINT_URL") == "" || os.Getenv("SRBACKUP_LOCALSTACK_DB") == "" {
		t.Fatal("set AWS_ENDPOINT_URL (LocalStack) and SRBACKUP_LOCALSTACK_DB (a database on the source server): run `make test-localstack`")
	}
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store := jobstore.New(dynamodb.NewFromConfig(cfg), "srbackup")
	if _, err := store.PutRepository(ctx, jobstore.Repository{Name: "repo", Location: "s3://srbackup-repo/backups"}); err != nil {
		t.Fatal(err)
	}
	loc, _ := repository.ParseLocation("s3://srbackup-repo/backups")
	repo, err := repository.New(s3.NewFromConfig(cfg), "repo", loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.WriteRepoInfo(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	label := "ls_" + time.Now().UTC().Format("20060102150405")
	in, _ := json.Marshal(map[string]string{"sql": "BACKUP DATABASE " + os.Getenv("SRBACKUP_LOCALSTACK_DB") + " SNAPSHOT " + label + " TO repo"})
	c := sfn.NewFromConfig(cfg)
	start, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:backup"), Input: aws.String(string(in)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(time.Second) {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == sfntypes.ExecutionStatusSucceeded {
			break
		}
		if d.Status != sfntypes.ExecutionStatusRunning || time.Now().After(deadline) {
			t.Fatalf("execution %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
	}
	ts, err := repo.Timestamps(ctx, label)
	if err != nil || len(ts) != 1 {
		t.Fatalf("timestamps: %v %v", ts, err)
	}
	if _, err := repo.VerifySnapshot(ctx, label, ts[0]); err != nil {
		t.Fatal(err)
	}
}
