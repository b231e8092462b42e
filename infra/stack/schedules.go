package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newSchedules creates one EventBridge Scheduler schedule per configured
// statement. The execution input carries the scheduled time (not the time the
// target was invoked), so a retried start names the same snapshot.
func newSchedules(scope constructs.Construct, cfg Config, sm awsstepfunctions.IStateMachine) {
	for _, s := range cfg.Schedules {
		var tz awscdk.TimeZone
		if s.Timezone != "" {
			tz = awscdk.TimeZone_Of(jsii.String(s.Timezone))
		}
		description := "srbackup: " + s.SQL
		if r := []rune(description); len(r) > 512 { // the Scheduler's limit
			description = string(r[:511]) + "…"
		}
		awsscheduler.NewSchedule(scope, jsii.String("Schedule-"+s.Name), &awsscheduler.ScheduleProps{
			Description: jsii.String(description),
			Schedule:    awsscheduler.ScheduleExpression_Expression(jsii.String(s.Expression()), tz),
			Target: awsschedulertargets.NewStepFunctionsStartExecution(sm, &awsschedulertargets.ScheduleTargetBaseProps{
				Input: awsscheduler.ScheduleTargetInput_FromObject(map[string]any{
					"sql":  s.SQL,
					"time": awsscheduler.ContextAttribute_ScheduledTime(),
				}),
				RetryAttempts: jsii.Number(3),
			}),
		})
	}
}

// newSweepSchedule invokes the expiry sweep on cfg.SweepSchedule (hourly by
// default), unless it is "off". It is an L1 schedule with a role of its own
// that may invoke exactly the sweep function (the L2 Lambda target also
// grants <function>:*, every version and alias).
func newSweepSchedule(scope constructs.Construct, cfg Config, sweep awslambda.IFunction) awsiam.IRole {
	if cfg.SweepSchedule == "off" {
		return nil
	}
	role := awsiam.NewRole(scope, jsii.String("SweepScheduleRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
		Description: jsii.String("srbackup: the sweep schedule invokes the sweep function"),
	})
	role.AddToPolicy(policy([]string{"lambda:InvokeFunction"}, sweep.FunctionArn()))
	input := `{"source":"srbackup.sweep","time":"<aws.scheduler.scheduled-time>"}`
	awsscheduler.NewCfnSchedule(scope, jsii.String("SweepSchedule"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String("srbackup: drop expired snapshots (DROP SNAPSHOT's way), finish interrupted drops"),
		ScheduleExpression: jsii.String(cfg.SweepSchedule),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:         sweep.FunctionArn(),
			RoleArn:     role.RoleArn(),
			Input:       jsii.String(input),
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(0)}, // the next run retries
		},
	})
	return role
}
