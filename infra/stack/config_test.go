package stack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/srbackup/srbackup/infra/stack"
)

func lookup(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := stack.ConfigFromContext(lookup(nil), "/repo")
	if err != nil {
		t.Fatal(err)
	}
	if c.StackName != "SrBackup" || c.LambdaZipDir != "/repo/_build/lambda" || c.StateMachineDefinition != "/repo/statemachine/backup.asl.json" ||
		c.RestoreStateMachineDefinition != "/repo/statemachine/restore.asl.json" || c.RestoreSecretArn != "" {
		t.Errorf("names and paths: %+v", c)
	}
	if c.LogRetentionDays != 30 || c.JobHistoryTTLDays != 30 || c.APIThrottleRate != 10 || c.APIThrottleBurst != 20 ||
		c.ExecutionTimeout != 0 || c.UploadMemoryMB != 2048 || c.Tracing || c.SourceSecretArn != "" || c.BucketName != "" || !c.BucketAccessLogs {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConfigValueForms(t *testing.T) {
	c, err := stack.ConfigFromContext(lookup(map[string]any{
		stack.CtxSubnetIDs:             "subnet-01, subnet-02,",
		stack.CtxVpcID:                 "vpc-0a",
		stack.CtxSecurityGroupIDs:      `["sg-01"]`,
		stack.CtxRepositoryBuckets:     []any{"a-bucket", "b.bucket"},
		stack.CtxTracing:               true,
		stack.CtxBucketAccessLogs:      "false",
		stack.CtxLogRetentionDays:      "365",
		stack.CtxExecutionTimeoutHours: 36.0,
		stack.CtxSchedules:             `[{"name": "n1", "cron": "cron(0 1 * * ? *)", "sql": "BACKUP SNAPSHOT d.s TO r"}]`,
		stack.CtxLambdaZipDir:          "/abs/zips",
	}), "/repo")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.SubnetIDs, []string{"subnet-01", "subnet-02"}) || !slices.Equal(c.SecurityGroupIDs, []string{"sg-01"}) ||
		!slices.Equal(c.RepositoryBuckets, []string{"a-bucket", "b.bucket"}) {
		t.Errorf("lists: %q %q %q", c.SubnetIDs, c.SecurityGroupIDs, c.RepositoryBuckets)
	}
	if !c.Tracing || c.BucketAccessLogs || c.LogRetentionDays != 365 || c.ExecutionTimeout != 36*time.Hour || c.LambdaZipDir != "/abs/zips" {
		t.Errorf("scalars: %+v", c)
	}
	if len(c.Schedules) != 1 || c.Schedules[0].Expression() != "cron(0 1 * * ? *)" {
		t.Errorf("schedules: %+v", c.Schedules)
	}
}

func TestScheduleExpression(t *testing.T) {
	for in, want := range map[string]string{
		"0 3 * * ? *":             "cron(0 3 * * ? *)",
		" cron(0 3 * * ? *)":      "cron(0 3 * * ? *)",
		"rate(1 day)":             "rate(1 day)",
		"at(2030-01-01T00:00:00)": "at(2030-01-01T00:00:00)",
	} {
		if got := (stack.Schedule{Cron: in}).Expression(); got != want {
			t.Errorf("Expression(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]struct {
		ctx  map[string]any
		want string
	}{
		"secret not an ARN":       {map[string]any{stack.CtxSourceSecretArn: "my-secret"}, stack.CtxSourceSecretArn},
		"restore secret not ARN":  {map[string]any{stack.CtxRestoreSecretArn: "arn:aws:iam::123456789012:role/x"}, stack.CtxRestoreSecretArn},
		"subnets without vpc":     {map[string]any{stack.CtxSubnetIDs: "subnet-01"}, stack.CtxVpcID},
		"vpc without subnets":     {map[string]any{stack.CtxVpcID: "vpc-01"}, stack.CtxSubnetIDs},
		"bad subnet":              {map[string]any{stack.CtxVpcID: "vpc-01", stack.CtxSubnetIDs: "sub-1"}, stack.CtxSubnetIDs},
		"bad security group":      {map[string]any{stack.CtxVpcID: "vpc-01", stack.CtxSubnetIDs: "subnet-1", stack.CtxSecurityGroupIDs: "default"}, stack.CtxSecurityGroupIDs},
		"bad bucket":              {map[string]any{stack.CtxBucketName: "Not_A_Bucket"}, stack.CtxBucketName},
		"bad extra bucket":        {map[string]any{stack.CtxRepositoryBuckets: []any{"ok-bucket", 3.0}}, stack.CtxRepositoryBuckets},
		"bad key":                 {map[string]any{stack.CtxKMSKeyArn: "alias/backup"}, stack.CtxKMSKeyArn},
		"bad sweep schedule":      {map[string]any{stack.CtxSweepSchedule: "hourly"}, stack.CtxSweepSchedule},
		"object lock, own bucket": {map[string]any{stack.CtxObjectLockDays: 30, stack.CtxBucketName: "corp-backups"}, stack.CtxObjectLockDays},
		"negative object lock":    {map[string]any{stack.CtxObjectLockDays: -1}, stack.CtxObjectLockDays},
		"schedules not JSON":      {map[string]any{stack.CtxSchedules: "nightly"}, stack.CtxSchedules},
		"schedule unknown field":  {map[string]any{stack.CtxSchedules: `[{"name":"a","cron":"0 1 * * ? *","sql":"x","when":"now"}]`}, "unknown field"},
		"schedule without sql":    {map[string]any{stack.CtxSchedules: `[{"name":"a","cron":"0 1 * * ? *"}]`}, "sql is empty"},
		"schedule bad name":       {map[string]any{stack.CtxSchedules: `[{"name":"a b","cron":"0 1 * * ? *","sql":"x"}]`}, "name"},
		"schedule twice":          {map[string]any{stack.CtxSchedules: `[{"name":"a","cron":"0 1 * * ? *","sql":"x"},{"name":"a","cron":"0 2 * * ? *","sql":"y"}]`}, "defined twice"},
		"schedule five fields":    {map[string]any{stack.CtxSchedules: `[{"name":"a","cron":"0 1 * * *","sql":"x"}]`}, "six fields"},
		"schedule bad zone":       {map[string]any{stack.CtxSchedules: `[{"name":"a","cron":"0 1 * * ? *","sql":"x","timezone":"Mars/Olympus"}]`}, "time zone"},
		"admin not an ARN":        {map[string]any{stack.CtxAdmins: "alice"}, stack.CtxAdmins},
		"bad e-mail":              {map[string]any{stack.CtxAlarmEmail: "ops"}, stack.CtxAlarmEmail},
		"tracing not a bool":      {map[string]any{stack.CtxTracing: "yes please"}, stack.CtxTracing},
		"access logs not a bool":  {map[string]any{stack.CtxBucketAccessLogs: "off"}, stack.CtxBucketAccessLogs},
		"retention not accepted":  {map[string]any{stack.CtxLogRetentionDays: 31}, stack.CtxLogRetentionDays},
		"retention not a number":  {map[string]any{stack.CtxLogRetentionDays: "a month"}, stack.CtxLogRetentionDays},
		"ttl zero":                {map[string]any{stack.CtxJobHistoryTTLDays: 0}, stack.CtxJobHistoryTTLDays},
		"fractional ttl":          {map[string]any{stack.CtxJobHistoryTTLDays: 1.5}, "whole number"},
		"timeout over a year":     {map[string]any{stack.CtxExecutionTimeoutHours: 9000}, stack.CtxExecutionTimeoutHours},
		"parallelism over 1000":   {map[string]any{stack.CtxMaxParallelism: 5000}, stack.CtxMaxParallelism},
		"negative reservation":    {map[string]any{stack.CtxWorkerReservedConcurrency: -1}, stack.CtxWorkerReservedConcurrency},
		"upload memory too large": {map[string]any{stack.CtxUploadMemoryMB: 20000}, stack.CtxUploadMemoryMB},
		"throttle zero":           {map[string]any{stack.CtxAPIThrottleRate: 0}, stack.CtxAPIThrottleRate},
		"stack name":              {map[string]any{stack.CtxStackName: "srbackup_prod"}, stack.CtxStackName},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := stack.ConfigFromContext(lookup(c.ctx), "/repo")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestCdkJSON(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cdk struct {
		App              string         `json:"app"`
		Notices          *bool          `json:"notices"`
		VersionReporting *bool          `json:"versionReporting"`
		Context          map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cdk); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	if cdk.App != "go run ./infra" {
		t.Errorf("app %q, want go run ./infra", cdk.App)
	}
	if cdk.Notices == nil || *cdk.Notices || cdk.VersionReporting == nil || *cdk.VersionReporting {
		t.Errorf("notices and versionReporting must be false")
	}
	for key, want := range map[string]any{
		"cli-telemetry": false,
		// CDK validation findings fail `cdk synth` (make synth).
		"@aws-cdk/core:validateAgainstDefaultRules":    true,
		"@aws-cdk/aws-iam:minimizePolicies":            true,
		"@aws-cdk/aws-s3:publicAccessBlockedByDefault": true,
	} {
		if cdk.Context[key] != want {
			t.Errorf("context %s = %v, want %v", key, cdk.Context[key], want)
		}
	}
}

func TestScheduleMaxAge(t *testing.T) {
	for _, c := range []struct {
		s    stack.Schedule
		want time.Duration
	}{
		{stack.Schedule{Cron: "rate(1 hour)"}, 3 * time.Hour},
		{stack.Schedule{Cron: "rate(7 days)"}, 7*24*time.Hour + 2*time.Hour},
		{stack.Schedule{Cron: "0 3 * * ? *"}, 26 * time.Hour},
		{stack.Schedule{Cron: "cron(0 3 ? * SUN *)", MaxAgeHours: 170}, 170 * time.Hour},
	} {
		if got := c.s.MaxAge(); got != c.want {
			t.Errorf("MaxAge(%+v) = %v, want %v", c.s, got, c.want)
		}
	}
	if db, err := (stack.Schedule{SQL: "BACKUP SNAPSHOT shop.n TO r"}).Database(); err != nil || db != "shop" {
		t.Errorf("Database = %q %v", db, err)
	}
}
