// Command cleanup is srbackup's cleanup Lambda function; see shared/app and shared/pipeline.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/srbackup/srbackup/shared/app"
)

func main() {
	h, err := app.Handler(context.Background(), "cleanup", os.Getenv)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("start", "function", "cleanup", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
