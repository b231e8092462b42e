package stack

import (
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/shared/metrics"
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
	if cfg.SweepSchedule != "off" {
		// The sweep reports each scheduled database's backup age hourly; no
		// value (no FINISHED backup in its recent history, or no sweep)
		// breaches. A threshold on the age, not a count of successes over
		// an evaluation window, works for weekly schedules too.
		ages := scheduledDatabases(cfg)
		for _, db := range slices.Sorted(maps.Keys(ages)) {
			a := backupAgeMetric(db).CreateAlarm(scope, jsii.String("BackupAgeAlarm"+alarmID(db)), &awscloudwatch.CreateAlarmOptions{
				AlarmDescription:   jsii.String(fmt.Sprintf("srbackup: the last FINISHED backup of %s is older than %s", db, ages[db])),
				Threshold:          jsii.Number(ages[db].Seconds()),
				EvaluationPeriods:  jsii.Number(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
			})
			if topic != nil {
				a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
			}
		}
	}
	return topic
}

// scheduledDatabases maps every database a schedule backs up to the
// smallest age its schedules allow (Schedule.MaxAge). A schedule whose sql
// is not one BACKUP of a database (it fails at every run anyway, and the
// failed-execution alarm says so) has no age alarm.
func scheduledDatabases(cfg Config) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, s := range cfg.Schedules {
		db, err := s.Database()
		if err != nil {
			continue
		}
		if cur, ok := out[db]; !ok || s.MaxAge() < cur {
			out[db] = s.MaxAge()
		}
	}
	return out
}

// backupAgeMetric is the sweep's BackupAge of db, the maximum over an hour.
func backupAgeMetric(db string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metrics.Namespace),
		MetricName:    jsii.String(metrics.MetricBackupAge),
		DimensionsMap: &map[string]*string{metrics.DimDatabase: jsii.String(db)},
		Statistic:     jsii.String("Maximum"),
		Period:        awscdk.Duration_Hours(jsii.Number(1)),
	})
}

// alarmID turns a database name into a construct id part (letters and
// digits, plus a hash when anything was dropped, so names never collide).
func alarmID(db string) string {
	var b strings.Builder
	for _, r := range db {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	if b.String() != db {
		fmt.Fprintf(&b, "%08x", crc32.ChecksumIEEE([]byte(db)))
	}
	return b.String()
}

// newDashboard shows throughput, durations, job outcomes and backup age,
// from the functions' EMF metrics, for every database (SEARCH expressions).
func newDashboard(scope constructs.Construct) {
	search := func(label, dims, metric, stat string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(fmt.Sprintf("SEARCH('{%s,%s} MetricName=\"%s\"', '%s', 3600)", metrics.Namespace, dims, metric, stat)),
			Label:        jsii.String(label),
			Period:       awscdk.Duration_Hours(jsii.Number(1)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{},
		})
	}
	jobDims := metrics.DimJobType + "," + metrics.DimDatabase
	graph := func(title string, ms ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &ms, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Bytes backed up per hour", search("bytes", jobDims, metrics.MetricBytes, "Sum")),
				graph("Job duration (s, max per hour)", search("duration", jobDims, metrics.MetricDuration, "Maximum")),
			},
			{
				graph("Jobs finished and cancelled", search("finished", jobDims, metrics.MetricJobsFinished, "Sum"),
					search("cancelled", jobDims, metrics.MetricJobsCancelled, "Sum")),
				graph("Age of the last FINISHED backup (s)", search("age", metrics.DimDatabase, metrics.MetricBackupAge, "Maximum")),
			},
		},
	})
}
