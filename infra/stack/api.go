package stack

import (
	"encoding/json"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Route is one HTTP API route served by the api function.
type Route struct {
	Method awsapigatewayv2.HttpMethod
	Path   string
}

var pathParamRe = regexp.MustCompile(`\{[^}/]+\}`)

// ARNPath is the route's path in an execute-api ARN: each {parameter} is *.
func (r Route) ARNPath() string { return pathParamRe.ReplaceAllString(r.Path, "*") }

// Routes are the HTTP API's routes; every one requires AWS_IAM (SigV4) authorization.
var Routes = []Route{
	{awsapigatewayv2.HttpMethod_POST, "/v1/sql"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/backups"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/backups/{jobId}"},
	{awsapigatewayv2.HttpMethod_DELETE, "/v1/backups/{jobId}"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/restores"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/restores/{jobId}"},
	{awsapigatewayv2.HttpMethod_DELETE, "/v1/restores/{jobId}"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/openapi.yaml"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/repositories"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/repositories/{repo}/snapshots"},
	{awsapigatewayv2.HttpMethod_GET, "/v1/verifications/{verificationId}"},
}

// accessLogFormat is one JSON object per request; the caller's IAM identity is
// what srbackup authorizes statements against, so it is logged.
var accessLogFormat = map[string]string{
	"requestId":        "$context.requestId",
	"requestTime":      "$context.requestTime",
	"ip":               "$context.identity.sourceIp",
	"caller":           "$context.identity.caller",
	"userArn":          "$context.identity.userArn",
	"routeKey":         "$context.routeKey",
	"status":           "$context.status",
	"protocol":         "$context.protocol",
	"responseLength":   "$context.responseLength",
	"integrationError": "$context.integrationErrorMessage",
	"latencyMs":        "$context.responseLatency",
}

type api struct {
	url          *string
	invokePolicy awsiam.ManagedPolicy
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

func (s *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination { return s.destination }
func (s *accessLogSettings) Format() awsapigateway.AccessLogFormat              { return s.format }

// newAPI creates the HTTP API (payload v2) in front of the api function, with
// IAM authorization on every route, throttling and JSON access logs, and a
// managed policy that grants calling it.
func newAPI(scope constructs.Construct, cfg Config, fn awslambda.Function) *api {
	format, _ := json.Marshal(accessLogFormat) // a map of strings always marshals
	httpAPI := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("srbackup: StarRocks BACKUP statements over HTTP"),
		DefaultAuthorizer:  awsapigatewayv2authorizers.NewHttpIamAuthorizer(),
		CreateDefaultStage: jsii.Bool(false),
	})
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), fn, nil)
	for _, r := range Routes {
		httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{r.Method},
			Integration: integration,
		})
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention(cfg.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := httpAPI.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(cfg.APIThrottleRate),
			BurstLimit: jsii.Number(float64(cfg.APIThrottleBurst)),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(logs),
			format:      awsapigateway.AccessLogFormat_Custom(jsii.String(string(format))),
		},
	})
	// One ARN per route, on the one stage; a path parameter is a *.
	var routes []*string
	for _, r := range Routes {
		routes = append(routes, httpAPI.ArnForExecuteApi(jsii.String(string(r.Method)), jsii.String(r.ARNPath()), stage.StageName()))
	}
	invoke := awsiam.NewManagedPolicy(scope, jsii.String("ApiInvokePolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("Call the srbackup HTTP API; attach to the users and roles that run srbackup statements"),
		Statements:  &[]awsiam.PolicyStatement{policy([]string{"execute-api:Invoke"}, routes...)},
	})
	return &api{url: stage.Url(), invokePolicy: invoke}
}
