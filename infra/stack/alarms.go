package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newAlarms alarms on failed and timed-out executions and on every function's
// errors and throttles. With an alarm e-mail they notify an SNS topic, which
// is returned; otherwise the alarms only show in CloudWatch and it is nil.
func newAlarms(scope constructs.Construct, cfg Config, sms map[string]awsstepfunctions.StateMachine, fns map[string]awslambda.Function) awssns.Topic {
	var topic awssns.Topic
	if cfg.AlarmEmail != "" {
		topic = awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
			DisplayName: jsii.String("srbackup alarms"),
			EnforceSSL:  jsii.Bool(true),
		})
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	period := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}
	alarm := func(id, description string, metric awscloudwatch.Metric) {
		a := metric.CreateAlarm(scope, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if topic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
		}
	}
	for _, m := range machines {
		sm := sms[m.kind]
		alarm(m.alarmPrefix+"ExecutionsFailedAlarm", "srbackup: a "+m.kind+" execution failed", sm.MetricFailed(period))
		alarm(m.alarmPrefix+"ExecutionsTimedOutAlarm", "srbackup: a "+m.kind+" execution timed out", sm.MetricTimedOut(period))
	}
	for _, name := range FunctionNames {
		fn := fns[name]
		id := constructID(name)
		alarm(id+"ErrorsAlarm", "srbackup: the "+name+" function failed", fn.MetricErrors(period))
		alarm(id+"ThrottlesAlarm", "srbackup: the "+name+" function was throttled", fn.MetricThrottles(period))
	}
	return topic
}
