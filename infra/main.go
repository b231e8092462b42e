// Command infra is the AWS CDK app that deploys srbackup. The CDK CLI runs it
// (cdk.json: "app": "go run ./infra") from the repository root; the settings
// are the srbackup:* context keys documented in infra/stack/config.go.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/infra/stack"
)

func main() {
	err := run()
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "srbackup infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	root, err := stack.RepoRoot(".")
	if err != nil {
		return err
	}
	cfg, err := stack.ConfigFromContext(func(key string) any {
		return app.Node().TryGetContext(jsii.String(key))
	}, root)
	if err != nil {
		return err
	}
	if _, err := stack.New(app, cfg, nil); err != nil {
		return err
	}
	// cdk-nag's AwsSolutions pack: an unsuppressed finding fails `cdk synth`
	// and `cdk deploy`; its CSV report is written next to the template.
	stack.CheckAwsSolutions(app, true, false)
	app.Synth(nil)
	return nil
}
