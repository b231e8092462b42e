package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
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
