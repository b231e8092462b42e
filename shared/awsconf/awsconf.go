// Package awsconf loads the AWS SDK configuration every srbackup function
// uses. Endpoints come only from the standard AWS_ENDPOINT_URL_<SERVICE>
// variables, so the same code talks to AWS, to LocalStack and to the
// Docker-free local stack.
package awsconf

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Load returns the default SDK configuration with a retryer suited to
// S3 SlowDown and DynamoDB throttling: StarRocks users report backups failing
// on un-retried 503s (StarRocks issue #39917), so allow more attempts than the
// SDK default of 3.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.AddWithMaxAttempts(retry.NewStandard(), 8)
	}))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}
