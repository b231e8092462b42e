package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // schedule time zones are checked at synth, whatever the host has installed

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/srbackup/srbackup/shared/sql"
)

// Context keys read by the app (`cdk deploy -c key=value` or the "context" of cdk.json).
const (
	CtxStackName             = "srbackup:stackName"
	CtxLambdaZipDir          = "srbackup:lambdaZipDir"
	CtxSourceSecretArn       = "srbackup:sourceSecretArn"
	CtxRestoreSecretArn      = "srbackup:restoreSecretArn"
	CtxVpcID                 = "srbackup:vpcId"
	CtxSubnetIDs             = "srbackup:subnetIds"
	CtxSecurityGroupIDs      = "srbackup:securityGroupIds"
	CtxBucketName            = "srbackup:bucketName"
	CtxRepositoryBuckets     = "srbackup:repositoryBuckets"
	CtxKMSKeyArn             = "srbackup:kmsKeyArn"
	CtxBucketAccessLogs      = "srbackup:bucketAccessLogs"
	CtxSchedules             = "srbackup:schedules"
	CtxAdmins                = "srbackup:admins"
	CtxAlarmEmail            = "srbackup:alarmEmail"
	CtxTracing               = "srbackup:tracing"
	CtxLogRetentionDays      = "srbackup:logRetentionDays"
	CtxJobHistoryTTLDays     = "srbackup:jobHistoryTtlDays"
	CtxNoncurrentVersionDays = "srbackup:noncurrentVersionDays"
	CtxAPIThrottleRate       = "srbackup:apiThrottleRate"
	CtxAPIThrottleBurst      = "srbackup:apiThrottleBurst"
	CtxExecutionTimeoutHours = "srbackup:executionTimeoutHours"
	CtxUploadMemoryMB        = "srbackup:uploadMemoryMb"
	CtxSweepSchedule         = "srbackup:sweepSchedule"
	CtxObjectLockDays        = "srbackup:objectLockDays"
	// CtxMaxParallelism caps every job's parallelism (pipeline.GrantParallelism).
	CtxMaxParallelism = "srbackup:maxParallelism"
	// CtxWorkerReservedConcurrency reserves Lambda concurrency for the upload
	// and RESTORE load workers (0: none, they share the account's pool); a
	// job is then granted at most that many.
	CtxWorkerReservedConcurrency = "srbackup:workerReservedConcurrency"
)

// Defaults of the optional settings.
const (
	DefaultStackName             = "SrBackup"
	DefaultLambdaZipDir          = "_build/lambda"
	DefaultLogRetentionDays      = 30
	DefaultJobHistoryTTLDays     = 30
	DefaultNoncurrentVersionDays = 30
	DefaultAPIThrottleRate       = 10
	DefaultAPIThrottleBurst      = 20
	DefaultExecutionTimeout      = 7 * 24 * time.Hour // when the definition sets no TimeoutSeconds
	DefaultUploadMemoryMB        = 2048
	// DefaultSweepSchedule runs the expiry sweep hourly; "off" disables it.
	DefaultSweepSchedule = "rate(1 hour)"
	// DefaultMaxParallelism bounds one job's upload Lambdas and source
	// connections.
	DefaultMaxParallelism = 64
)

// The state machine definitions, relative to the repository root.
const (
	StateMachineFile        = "statemachine/backup.asl.json"
	RestoreStateMachineFile = "statemachine/restore.asl.json"
)

// Config is everything the stack needs to know about one deployment.
type Config struct {
	StackName string
	// LambdaZipDir holds <function>.zip for every function (absolute).
	LambdaZipDir string
	// StateMachineDefinition is the ASL file of the backup state machine (absolute).
	StateMachineDefinition string
	// RestoreStateMachineDefinition is the ASL file of the restore state machine (absolute).
	RestoreStateMachineDefinition string

	// SourceSecretArn is the Secrets Manager secret of the source database;
	// empty means the stack creates an empty secret to be filled in after deploy.
	SourceSecretArn string
	// RestoreSecretArn is the secret the RESTORE functions connect to the
	// target with (a user with DDL rights that the backup functions never
	// read); empty means they use the source secret.
	RestoreSecretArn string
	// VpcID, SubnetIDs and SecurityGroupIDs place the functions that connect to
	// the source database in a VPC. All empty means no VPC.
	VpcID            string
	SubnetIDs        []string
	SecurityGroupIDs []string

	// BucketName is an existing repository bucket; empty means the stack creates one.
	BucketName string
	// RepositoryBuckets are further buckets repositories may live in.
	RepositoryBuckets []string
	// KMSKeyArn encrypts the created bucket (else SSE-S3) and is granted to the
	// functions that read or write repository objects.
	KMSKeyArn string
	// BucketAccessLogs turns on S3 server access logging of the created
	// bucket into a log bucket of its own (the default).
	BucketAccessLogs bool

	Schedules  []Schedule
	Admins     []string
	AlarmEmail string
	Tracing    bool

	LogRetentionDays      int
	JobHistoryTTLDays     int
	NoncurrentVersionDays int
	APIThrottleRate       float64
	APIThrottleBurst      int
	// ExecutionTimeout replaces the definition's TimeoutSeconds when non-zero.
	ExecutionTimeout time.Duration
	UploadMemoryMB   int
	MaxParallelism   int
	// WorkerReservedConcurrency is the reserved concurrency of the upload
	// and RESTORE load functions; zero: none.
	WorkerReservedConcurrency int
	// SweepSchedule is the expiry sweep's EventBridge Scheduler expression
	// ("rate(1 hour)", "cron(…)"), or "off".
	SweepSchedule string
	// ObjectLockDays, when positive, turns S3 Object Lock on for the
	// created bucket with a governance-mode default retention of that many
	// days.
	ObjectLockDays int
}

// Schedule is one EventBridge Scheduler schedule that starts the state machine
// with {"sql": SQL, "time": <scheduled time>}.
type Schedule struct {
	Name string `json:"name"`
	// Cron is an EventBridge Scheduler expression: "cron(0 3 * * ? *)", "rate(1 day)",
	// or the six cron fields alone.
	Cron string `json:"cron"`
	SQL  string `json:"sql"`
	// Timezone is an IANA zone name for cron expressions; empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// MaxAgeHours is how old the database's last FINISHED backup may get
	// before the backup-age alarm fires; zero: the rate's period plus 2
	// hours for rate(…), 26 hours (a daily schedule) for cron(…).
	MaxAgeHours int `json:"maxAgeHours,omitempty"`
}

// Database returns the database the schedule's BACKUP backs up.
func (s Schedule) Database() (string, error) {
	stmts, err := sql.Parse(s.SQL)
	if err != nil {
		return "", err
	}
	b, ok := stmts[0].(*sql.BackupStmt)
	if len(stmts) != 1 || !ok || b.Database == "" {
		return "", fmt.Errorf("not one BACKUP of a database")
	}
	return b.Database, nil
}

// MaxAge is how old the last FINISHED backup may be (MaxAgeHours).
func (s Schedule) MaxAge() time.Duration {
	if s.MaxAgeHours > 0 {
		return time.Duration(s.MaxAgeHours) * time.Hour
	}
	e := s.Expression()
	if inner, ok := strings.CutPrefix(e, "rate("); ok {
		f := strings.Fields(strings.TrimSuffix(inner, ")"))
		if len(f) == 2 {
			n, err := strconv.Atoi(f[0])
			unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(f[1], "s")]
			if err == nil && n > 0 && unit > 0 {
				return time.Duration(n)*unit + 2*time.Hour
			}
		}
	}
	return 26 * time.Hour
}

// Expression returns the schedule expression, wrapping bare cron fields in cron(…).
func (s Schedule) Expression() string {
	e := strings.TrimSpace(s.Cron)
	if strings.HasSuffix(e, ")") && (strings.HasPrefix(e, "cron(") || strings.HasPrefix(e, "rate(") || strings.HasPrefix(e, "at(")) {
		return e
	}
	return "cron(" + e + ")"
}

// retentionDays are the retention periods CloudWatch Logs accepts.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

var (
	stackNameRe    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	scheduleNameRe = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
	bucketNameRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	secretArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$`)
	kmsKeyArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[\w-]+$`)
	principalArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$`)
	vpcIDRe        = regexp.MustCompile(`^vpc-[0-9a-f]+$`)
	subnetIDRe     = regexp.MustCompile(`^subnet-[0-9a-f]+$`)
	sgIDRe         = regexp.MustCompile(`^sg-[0-9a-f]+$`)
	emailRe        = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// ConfigFromContext reads the srbackup:* context keys through lookup (typically
// Node.TryGetContext) and fills in defaults. Relative paths are resolved
// against root, the repository root. Values given on the command line arrive as
// strings; lists may be JSON arrays or comma-separated.
func ConfigFromContext(lookup func(key string) any, root string) (Config, error) {
	r := contextReader{lookup: lookup}
	c := Config{
		StackName:                     r.str(CtxStackName, DefaultStackName),
		LambdaZipDir:                  r.str(CtxLambdaZipDir, DefaultLambdaZipDir),
		StateMachineDefinition:        filepath.Join(root, StateMachineFile),
		RestoreStateMachineDefinition: filepath.Join(root, RestoreStateMachineFile),
		SourceSecretArn:               r.str(CtxSourceSecretArn, ""),
		RestoreSecretArn:              r.str(CtxRestoreSecretArn, ""),
		VpcID:                         r.str(CtxVpcID, ""),
		SubnetIDs:                     r.list(CtxSubnetIDs),
		SecurityGroupIDs:              r.list(CtxSecurityGroupIDs),
		BucketName:                    r.str(CtxBucketName, ""),
		RepositoryBuckets:             r.list(CtxRepositoryBuckets),
		KMSKeyArn:                     r.str(CtxKMSKeyArn, ""),
		Schedules:                     r.schedules(CtxSchedules),
		Admins:                        r.list(CtxAdmins),
		AlarmEmail:                    r.str(CtxAlarmEmail, ""),
		Tracing:                       r.boolean(CtxTracing, false),
		BucketAccessLogs:              r.boolean(CtxBucketAccessLogs, true),
		LogRetentionDays:              r.integer(CtxLogRetentionDays, DefaultLogRetentionDays),
		JobHistoryTTLDays:             r.integer(CtxJobHistoryTTLDays, DefaultJobHistoryTTLDays),
		NoncurrentVersionDays:         r.integer(CtxNoncurrentVersionDays, DefaultNoncurrentVersionDays),
		APIThrottleRate:               r.number(CtxAPIThrottleRate, DefaultAPIThrottleRate),
		APIThrottleBurst:              r.integer(CtxAPIThrottleBurst, DefaultAPIThrottleBurst),
		ExecutionTimeout:              time.Duration(r.integer(CtxExecutionTimeoutHours, 0)) * time.Hour,
		UploadMemoryMB:                r.integer(CtxUploadMemoryMB, DefaultUploadMemoryMB),
		MaxParallelism:                r.integer(CtxMaxParallelism, DefaultMaxParallelism),
		WorkerReservedConcurrency:     r.integer(CtxWorkerReservedConcurrency, 0),
		SweepSchedule:                 r.str(CtxSweepSchedule, DefaultSweepSchedule),
		ObjectLockDays:                r.integer(CtxObjectLockDays, 0),
	}
	if r.err != nil {
		return Config{}, r.err
	}
	if !filepath.IsAbs(c.LambdaZipDir) {
		c.LambdaZipDir = filepath.Join(root, c.LambdaZipDir)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports the first setting that cannot be deployed, naming its context key.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("context %s: %s", key, fmt.Sprintf(format, args...))
	}
	if !stackNameRe.MatchString(c.StackName) {
		return bad(CtxStackName, "%q is not a CloudFormation stack name", c.StackName)
	}
	if c.SourceSecretArn != "" && !secretArnRe.MatchString(c.SourceSecretArn) {
		return bad(CtxSourceSecretArn, "%q is not a Secrets Manager secret ARN", c.SourceSecretArn)
	}
	if c.RestoreSecretArn != "" && !secretArnRe.MatchString(c.RestoreSecretArn) {
		return bad(CtxRestoreSecretArn, "%q is not a Secrets Manager secret ARN", c.RestoreSecretArn)
	}
	if c.VpcID == "" && (len(c.SubnetIDs) > 0 || len(c.SecurityGroupIDs) > 0) {
		return bad(CtxVpcID, "required when %s or %s is set", CtxSubnetIDs, CtxSecurityGroupIDs)
	}
	if c.VpcID != "" {
		if !vpcIDRe.MatchString(c.VpcID) {
			return bad(CtxVpcID, "%q is not a VPC id", c.VpcID)
		}
		if len(c.SubnetIDs) == 0 {
			return bad(CtxSubnetIDs, "at least one subnet id is required with %s", CtxVpcID)
		}
	}
	for _, id := range c.SubnetIDs {
		if !subnetIDRe.MatchString(id) {
			return bad(CtxSubnetIDs, "%q is not a subnet id", id)
		}
	}
	for _, id := range c.SecurityGroupIDs {
		if !sgIDRe.MatchString(id) {
			return bad(CtxSecurityGroupIDs, "%q is not a security group id", id)
		}
	}
	if c.BucketName != "" && !bucketNameRe.MatchString(c.BucketName) {
		return bad(CtxBucketName, "%q is not an S3 bucket name", c.BucketName)
	}
	for _, b := range c.RepositoryBuckets {
		if !bucketNameRe.MatchString(b) {
			return bad(CtxRepositoryBuckets, "%q is not an S3 bucket name", b)
		}
	}
	if c.KMSKeyArn != "" && !kmsKeyArnRe.MatchString(c.KMSKeyArn) {
		return bad(CtxKMSKeyArn, "%q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)", c.KMSKeyArn)
	}
	names := map[string]bool{}
	if e := c.SweepSchedule; e != "off" && !((strings.HasPrefix(e, "rate(") || strings.HasPrefix(e, "cron(")) && strings.HasSuffix(e, ")")) {
		return bad(CtxSweepSchedule, "%q is not an EventBridge Scheduler rate(…) or cron(…) expression, nor off", e)
	}
	switch {
	case c.ObjectLockDays < 0 || c.ObjectLockDays > 36500:
		return bad(CtxObjectLockDays, "%d is not a number of days from 0 (off) to 36500", c.ObjectLockDays)
	case c.ObjectLockDays > 0 && c.BucketName != "":
		return bad(CtxObjectLockDays, "applies to the bucket the stack creates; turn Object Lock on for %s yourself", c.BucketName)
	}
	for i, s := range c.Schedules {
		switch {
		case !scheduleNameRe.MatchString(s.Name):
			return bad(CtxSchedules, "schedule %d: name %q must be 1-64 letters, digits, '.', '_' or '-'", i, s.Name)
		case names[s.Name]:
			return bad(CtxSchedules, "schedule %q is defined twice", s.Name)
		case strings.TrimSpace(s.SQL) == "":
			return bad(CtxSchedules, "schedule %q: sql is empty", s.Name)
		case strings.TrimSpace(s.Cron) == "":
			return bad(CtxSchedules, "schedule %q: cron is empty", s.Name)
		}
		names[s.Name] = true
		if e := s.Expression(); strings.HasPrefix(e, "cron(") && len(strings.Fields(e[5:len(e)-1])) != 6 {
			return bad(CtxSchedules, "schedule %q: %s needs six fields (minutes hours day-of-month month day-of-week year)", s.Name, e)
		}
		if s.MaxAgeHours < 0 {
			return bad(CtxSchedules, "schedule %q: maxAgeHours must be positive", s.Name)
		}
		if s.Timezone != "" {
			if _, err := time.LoadLocation(s.Timezone); err != nil {
				return bad(CtxSchedules, "schedule %q: unknown time zone %q", s.Name, s.Timezone)
			}
		}
	}
	for _, a := range c.Admins {
		if !principalArnRe.MatchString(a) {
			return bad(CtxAdmins, "%q is not an IAM principal ARN", a)
		}
	}
	if c.AlarmEmail != "" && !emailRe.MatchString(c.AlarmEmail) {
		return bad(CtxAlarmEmail, "%q is not an e-mail address", c.AlarmEmail)
	}
	if _, ok := retentionDays[c.LogRetentionDays]; !ok {
		return bad(CtxLogRetentionDays, "%d is not one of the values CloudWatch Logs accepts: %v", c.LogRetentionDays, slices.Sorted(maps.Keys(retentionDays)))
	}
	if c.JobHistoryTTLDays < 1 {
		return bad(CtxJobHistoryTTLDays, "must be at least 1, got %d", c.JobHistoryTTLDays)
	}
	if c.NoncurrentVersionDays < 1 {
		return bad(CtxNoncurrentVersionDays, "must be at least 1, got %d", c.NoncurrentVersionDays)
	}
	if c.APIThrottleRate <= 0 || c.APIThrottleBurst < 1 {
		return bad(CtxAPIThrottleRate, "rate and burst (%s) must be positive", CtxAPIThrottleBurst)
	}
	// Standard workflows run at most one year.
	if c.ExecutionTimeout != 0 && (c.ExecutionTimeout < time.Hour || c.ExecutionTimeout > 365*24*time.Hour) {
		return bad(CtxExecutionTimeoutHours, "must be between 1 and 8760 hours, got %v", c.ExecutionTimeout)
	}
	if c.MaxParallelism < 1 || c.MaxParallelism > 1000 {
		return bad(CtxMaxParallelism, "must be between 1 and 1000, got %d", c.MaxParallelism)
	}
	if c.WorkerReservedConcurrency < 0 || c.WorkerReservedConcurrency > 1000 {
		return bad(CtxWorkerReservedConcurrency, "must be between 0 (none) and 1000, got %d", c.WorkerReservedConcurrency)
	}
	if c.UploadMemoryMB < 128 || c.UploadMemoryMB > 10240 {
		return bad(CtxUploadMemoryMB, "must be between 128 and 10240, got %d", c.UploadMemoryMB)
	}
	return nil
}

// contextReader converts context values and keeps the first conversion error.
type contextReader struct {
	lookup func(string) any
	err    error
}

func (r *contextReader) fail(key string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("context %s: %v is not %s", key, v, want)
	}
}

func (r *contextReader) get(key string) (any, bool) {
	v := r.lookup(key)
	if v == nil {
		return nil, false
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, true
}

func (r *contextReader) str(key, def string) string {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		r.fail(key, v, "a string")
		return def
	}
	return strings.TrimSpace(s)
}

// list accepts a JSON array (from cdk.json, or as a string from -c) or a comma-separated string.
func (r *contextReader) list(key string) []string {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, "[") {
			var out []string
			for f := range strings.SplitSeq(s, ",") {
				if f = strings.TrimSpace(f); f != "" {
					out = append(out, f)
				}
			}
			return out
		}
		var arr []any
		if err := json.Unmarshal([]byte(s), &arr); err != nil {
			r.fail(key, v, "a JSON array")
			return nil
		}
		v = arr
	}
	arr, ok := v.([]any)
	if !ok {
		r.fail(key, v, "a list of strings")
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok || strings.TrimSpace(s) == "" {
			r.fail(key, e, "a non-empty string")
			return nil
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

func (r *contextReader) boolean(key string, def bool) bool {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	switch b := v.(type) {
	case bool:
		return b
	case string:
		p, err := strconv.ParseBool(strings.TrimSpace(b))
		if err != nil {
			r.fail(key, v, "true or false")
		}
		return p
	}
	r.fail(key, v, "true or false")
	return def
}

func (r *contextReader) number(key string, def float64) float64 {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err == nil {
			return f
		}
	}
	r.fail(key, v, "a number")
	return def
}

func (r *contextReader) integer(key string, def int) int {
	f := r.number(key, float64(def))
	if f != float64(int(f)) {
		r.fail(key, f, "a whole number")
		return def
	}
	return int(f)
}

// schedules accepts a JSON array of {name, cron, sql[, timezone]}, as a value or as a string.
func (r *contextReader) schedules(key string) []Schedule {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	raw, isString := v.(string)
	if !isString {
		b, err := json.Marshal(v)
		if err != nil {
			r.fail(key, v, "a JSON array of schedules")
			return nil
		}
		raw = string(b)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	var out []Schedule
	if err := dec.Decode(&out); err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("context %s: want a JSON array of {\"name\", \"cron\", \"sql\", \"timezone\"?}: %w", key, err)
		}
		return nil
	}
	return out
}

// JobParallelismCap is the most workers one job may be granted: the
// deployment's cap, and no more than the workers' reserved concurrency
// (more would only be throttled).
func (c Config) JobParallelismCap() int {
	if c.WorkerReservedConcurrency > 0 {
		return min(c.MaxParallelism, c.WorkerReservedConcurrency)
	}
	return c.MaxParallelism
}
