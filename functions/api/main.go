// Command api is the srbackup HTTP API function (API Gateway HTTP API,
// payload format 2.0, IAM authorization).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/srbackup/srbackup/shared/app"
)

func main() {
	h, err := app.APIHandler(context.Background(), os.Getenv, nil)
	if err != nil {
		log.Fatalf("api: %v", err)
	}
	lambda.Start(h)
}
