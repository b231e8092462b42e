// Package awsconf loads the AWS SDK configuration every srbackup function
// uses. Endpoints come only from the standard AWS_ENDPOINT_URL_<SERVICE>
// variables, so the same code talks to AWS, to LocalStack and to the
// Docker-free local stack.
package awsconf

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Load is LoadFrom(ctx, os.Getenv).
func Load(ctx context.Context) (aws.Config, error) { return LoadFrom(ctx, os.Getenv) }

// LoadFrom returns the default SDK configuration with a retryer suited to
// S3 SlowDown and DynamoDB throttling: StarRocks users report backups failing
// on un-retried 503s (StarRocks issue #39917), so allow more attempts than the
// SDK default of 3.
//
// The region and the credentials come from getenv (AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) when it sets
// them, as the Lambda runtime does for a function's role; else from the
// SDK's default chain. So functions with different identities can run in one
// process, each with its own getenv.
func LoadFrom(ctx context.Context, getenv func(string) string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryer(func() aws.Retryer {
		return retry.AddWithMaxAttempts(retry.NewStandard(), 8)
	})}
	if r := getenv("AWS_REGION"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		// Static credentials (a Lambda role's, or the local stack's keys):
		// nothing else is looked up, so IMDS is never asked, and the local
		// stack's functions print no "falling back to IMDSv1" warning.
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))),
			config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	// Shared files named by getenv (the local stack names /dev/null) win
	// over the process's, so a function never reads the user's profile.
	if f := getenv("AWS_CONFIG_FILE"); f != "" {
		opts = append(opts, config.WithSharedConfigFiles([]string{f}))
	}
	if f := getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{f}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}
