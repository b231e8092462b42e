package stack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/infra/stack"
)

// vpcKMS is a created bucket encrypted with a KMS key and under S3 Object
// Lock, functions in a VPC with a security group the stack creates, and
// schedules.
var vpcKMS = &fixture{name: "vpc-kms", overrides: map[string]any{
	stack.CtxObjectLockDays: 35,
	stack.CtxVpcID:          "vpc-0123456789abcdef0",
	stack.CtxSubnetIDs:      "subnet-0aaa1111,subnet-0bbb2222",
	stack.CtxKMSKeyArn:      "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	stack.CtxSchedules:      `[{"name": "nightly", "cron": "0 3 * * ? *", "sql": "BACKUP SNAPSHOT shop.nightly TO repo"}]`,
	stack.CtxAlarmEmail:     "ops@example.com",
}}

// noAccessLogs turns the bucket's server access logs off.
var noAccessLogs = &fixture{name: "no-access-logs", overrides: map[string]any{stack.CtxBucketAccessLogs: "false"}}

// nagFixtures are the configurations cdk-nag checks.
var nagFixtures = []*fixture{defaults, full, vpcKMS, noAccessLogs}

// TestAwsSolutions: every configuration passes cdk-nag's AwsSolutions pack,
// and the CDK itself warns about nothing: each finding is fixed, or
// suppressed in the stack with its reason.
func TestAwsSolutions(t *testing.T) {
	for _, f := range nagFixtures {
		t.Run(f.name, func(t *testing.T) {
			s := f.get(t)
			n := 0
			for _, m := range s.messages {
				if m.Level != "error" && m.Level != "warning" {
					continue
				}
				n++
				t.Errorf("%s at %s: %s", m.Level, m.Path, firstLine(m.Text))
			}
			if n > 0 {
				t.Logf("%d unsuppressed findings", n)
			}
		})
	}
}

// nagSuppression is one entry of a resource's cdk_nag metadata.
type nagSuppression struct {
	ID        string `json:"id"`
	Reason    string `json:"reason"`
	AppliesTo []any  `json:"applies_to"`
}

// allowedSuppressions are the only rules the stack may suppress; anything
// else the pack finds must be fixed.
var allowedSuppressions = []string{"AwsSolutions-IAM5", "AwsSolutions-SMG4", "AwsSolutions-S1"}

// TestNagSuppressionsAreNarrow: every suppression is one of the expected
// rules, has a reason a reviewer can check, and an IAM5 one names the
// wildcard it is about; none is stack-wide.
func TestNagSuppressionsAreNarrow(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	suppressed := map[string]bool{}
	for _, f := range nagFixtures {
		s := f.get(t)
		if md, _ := s.json["Metadata"].(map[string]any); md["cdk_nag"] != nil {
			t.Errorf("%s: stack-wide suppressions %v", f.name, md["cdk_nag"])
		}
		for id, r := range s.json["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			if md["cdk_nag"] == nil {
				continue
			}
			b, _ := json.Marshal(md["cdk_nag"].(map[string]any)["rules_to_suppress"])
			var sups []nagSuppression
			if err := json.Unmarshal(b, &sups); err != nil {
				t.Fatalf("%s %s: %v", f.name, id, err)
			}
			path := s.paths[id]
			for _, sup := range sups {
				// cdk-nag logs each suppressed finding (LogIgnores): a
				// suppression that matched nothing is stale or misplaced.
				if !slices.ContainsFunc(s.messages, func(m message) bool {
					return m.Level == "info" && m.Path == path && strings.HasPrefix(m.Text, "CdkNagSuppression") &&
						strings.Contains(m.Text, sup.ID+" was triggered but suppressed")
				}) {
					t.Errorf("%s %s: the %s suppression matches no finding", f.name, path, sup.ID)
				}
				if !slices.Contains(allowedSuppressions, sup.ID) {
					t.Errorf("%s %s suppresses %s", f.name, id, sup.ID)
				}
				if len(sup.Reason) < 80 {
					t.Errorf("%s %s: reason for %s is too short to check: %q", f.name, id, sup.ID, sup.Reason)
				}
				if sup.ID == "AwsSolutions-IAM5" && len(sup.AppliesTo) == 0 {
					t.Errorf("%s %s: an IAM5 suppression must name its findings (appliesTo)", f.name, id)
				}
				suppressed[sup.ID] = true
			}
		}
	}
	for id := range suppressed {
		if !strings.Contains(string(readme), "`"+id+"`") {
			t.Errorf("the README does not list the %s suppressions", id)
		}
	}
}

func TestAccessLogBucket(t *testing.T) {
	s := defaults.get(t)
	repoID, repo := s.resource(t, "AWS::S3::Bucket", "Repository")
	logsID, logs := s.resource(t, "AWS::S3::Bucket", "RepositoryAccessLogs")
	lc, _ := props(repo)["LoggingConfiguration"].(map[string]any)
	if render(lc["DestinationBucketName"]) != "${"+logsID+"}" || lc["LogFilePrefix"] != "repository/" {
		t.Errorf("repository bucket logging %v, want %s with prefix repository/", lc, logsID)
	}
	p := props(logs)
	enc, _ := json.Marshal(p["BucketEncryption"])
	if !strings.Contains(string(enc), `"SSEAlgorithm":"AES256"`) {
		t.Errorf("log bucket encryption %s, want SSE-S3 (access logs cannot go to an SSE-KMS bucket)", enc)
	}
	pab, _ := json.Marshal(p["PublicAccessBlockConfiguration"])
	if string(pab) != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
		t.Errorf("log bucket public access block %s", pab)
	}
	rules, _ := json.Marshal(p["LifecycleConfiguration"])
	if !strings.Contains(string(rules), `"ExpirationInDays":30`) {
		t.Errorf("log bucket lifecycle %s, want logs expired after %d days", rules, stack.DefaultLogRetentionDays)
	}
	if logs["DeletionPolicy"] != "Retain" {
		t.Errorf("log bucket DeletionPolicy %v, want Retain", logs["DeletionPolicy"])
	}
	// TLS only, and S3's log delivery may write (bucket policy, not ACLs).
	var tlsOnly, delivery bool
	for id, pol := range s.resources("AWS::S3::BucketPolicy") {
		if render(props(pol)["Bucket"]) != "${"+logsID+"}" {
			continue
		}
		for _, raw := range asSlice(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
			st := raw.(map[string]any)
			cond, _ := json.Marshal(st["Condition"])
			if st["Effect"] == "Deny" && st["Action"] == "s3:*" && string(cond) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				tlsOnly = true
			}
			if st["Effect"] == "Allow" && render(st["Principal"]) == `{"Service":"logging.s3.amazonaws.com"}` &&
				strings.Contains(string(cond), repoID) {
				delivery = true
			}
		}
		_ = id
	}
	if !tlsOnly || !delivery {
		t.Errorf("log bucket policy: TLS-only %v, delivery from the repository bucket only %v", tlsOnly, delivery)
	}
	if outputs, _ := s.json["Outputs"].(map[string]any); outputs["AccessLogBucketName"] == nil {
		t.Errorf("no AccessLogBucketName output")
	}

	off := noAccessLogs.get(t)
	must(t, "no log bucket when turned off", func() {
		off.assert.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(1))
	})
	_, repo = off.resource(t, "AWS::S3::Bucket", "Repository")
	if props(repo)["LoggingConfiguration"] != nil {
		t.Errorf("logging %v with %s=false", props(repo)["LoggingConfiguration"], stack.CtxBucketAccessLogs)
	}
}

// TestVPCWithKMSKey: the created bucket is encrypted with the key, which
// only the functions that read or write objects may use, and only for what
// S3 asks of it.
func TestVPCWithKMSKey(t *testing.T) {
	s := vpcKMS.get(t)
	key := vpcKMS.overrides[stack.CtxKMSKeyArn].(string)
	_, repo := s.resource(t, "AWS::S3::Bucket", "Repository")
	enc, _ := json.Marshal(props(repo)["BucketEncryption"])
	if !strings.Contains(string(enc), `"KMSMasterKeyID":"`+key+`"`) || !strings.Contains(string(enc), `"BucketKeyEnabled":true`) {
		t.Errorf("bucket encryption %s, want the key with a bucket key", enc)
	}
	lock, _ := json.Marshal(props(repo)["ObjectLockConfiguration"])
	if props(repo)["ObjectLockEnabled"] != true || string(lock) != `{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Days":35,"Mode":"GOVERNANCE"}}}` {
		t.Errorf("object lock %v %s, want governance mode for 35 days", props(repo)["ObjectLockEnabled"], lock)
	}
	sgID, _ := s.resource(t, "AWS::EC2::SecurityGroup", "SourceAccess")
	writes := regexp.MustCompile(`^(api|snapshot|upload|finalize|restoreprepare)$`)
	for _, name := range stack.FunctionNames {
		_, p, roleID := s.function(t, name)
		stmts, _ := s.rolePolicies(roleID)
		for _, a := range []string{"s3:BypassGovernanceRetention", "s3:PutObjectRetention", "s3:DeleteObjectVersion"} {
			if slices.Contains(actions(stmts), a) {
				t.Errorf("%s may %s: it could destroy locked versions", name, a)
			}
		}
		var kms []string
		for _, a := range actions(stmts) {
			if strings.HasPrefix(a, "kms:") {
				kms = append(kms, a)
				if got := resourcesFor(stmts, a); !slices.Equal(got, []string{key}) {
					t.Errorf("%s: %s on %v, want the key only", name, a, got)
				}
			}
		}
		objects := slices.ContainsFunc(actions(stmts), func(a string) bool { return a == "s3:GetObject" || a == "s3:PutObject" })
		switch {
		case writes.MatchString(name) && slices.Contains(actions(stmts), "s3:PutObject"):
			if !slices.Equal(kms, []string{"kms:Decrypt", "kms:GenerateDataKey"}) {
				t.Errorf("%s writes objects: kms %v, want Decrypt and GenerateDataKey", name, kms)
			}
		case objects:
			if !slices.Equal(kms, []string{"kms:Decrypt"}) {
				t.Errorf("%s reads objects: kms %v, want Decrypt", name, kms)
			}
		case len(kms) > 0:
			t.Errorf("%s touches no objects but may use the key: %v", name, kms)
		}
		vpc, _ := p["VpcConfig"].(map[string]any)
		if vpc != nil && !slices.Equal(strs(vpc["SecurityGroupIds"]), []string{"${" + sgID + ".GroupId}"}) {
			t.Errorf("%s security groups %v, want the created one", name, vpc["SecurityGroupIds"])
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
