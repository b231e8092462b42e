// Command localiam writes the local stack's IAM policies
// (localstack/iam/policies.json) from the CDK stack: it synthesizes the
// default configuration of cdk.json with placeholder Lambda bundles and
// resolves the roles' policies to local ARNs (stack.LocalPolicies). Run it
// through `go generate ./localstack/iam` after changing a role;
// infra/stack's TestLocalPoliciesFile fails until then.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/infra/stack"
)

func main() {
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.Parse()
	// No CloudFormation validation: the policies are all that is read.
	os.Setenv("CDK_VALIDATION", "false")
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	jsii.Close() // jsii read the environment at init
	b, err := run()
	jsii.Close()
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(b)
		} else {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localiam:", err)
		os.Exit(1)
	}
}

func run() ([]byte, error) {
	root, err := stack.RepoRoot(".")
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "srbackup-localiam-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	zips := filepath.Join(tmp, "lambda")
	if err := stack.WritePlaceholderBundles(zips); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cdk struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cdk); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	cdk.Context[stack.CtxLambdaZipDir] = zips
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(tmp, "out")), Context: &cdk.Context})
	cfg, err := stack.ConfigFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }, root)
	if err != nil {
		return nil, err
	}
	st, err := stack.New(app, cfg, nil)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(*app.Synth(nil).GetStackArtifact(st.ArtifactId()).TemplateFullPath())
	if err != nil {
		return nil, err
	}
	var tmpl map[string]any
	if err := json.Unmarshal(b, &tmpl); err != nil {
		return nil, err
	}
	return st.LocalPolicies(tmpl)
}
