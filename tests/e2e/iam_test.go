package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/iam"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
)

// deniedTo reports whether the stack refused action to role.
func deniedTo(st *localstack.Stack, role, action string) bool {
	for _, d := range st.IAM.Denied() {
		if d.Principal.Role == role && d.Action == action {
			return true
		}
	}
	return false
}

// deniedCount is how many times the stack refused action to role.
func deniedCount(st *localstack.Stack, role, action string) int {
	n := 0
	for _, d := range st.IAM.Denied() {
		if d.Principal.Role == role && d.Action == action {
			n++
		}
	}
	return n
}

// without returns the deployed policies with role's action taken away.
func without(t *testing.T, role, action string) *iam.Policies {
	t.Helper()
	p, err := iam.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Remove(role, action) {
		t.Fatalf("role %s has no %s to take away", role, action)
	}
	return p
}

// failAfterMeta makes upload fail permanently after writing a __meta of its
// job, as a job that fails once its metadata exists would leave it.
func failAfterMeta(e **env) func(st *localstack.Stack) {
	var once sync.Once
	return func(st *localstack.Stack) {
		st.Lambda.RegisterHandler("upload", handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
			var ev pipeline.BatchEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, err
			}
			var err error
			once.Do(func() {
				_, err = (*e).repo.WriteMeta(ctx, ev.Job.Label, repository.Meta{Name: ev.Job.Label, Database: ev.Job.Database, JobID: ev.Job.JobID})
			})
			if err != nil {
				return nil, err
			}
			return nil, &PermanentError{Message: "injected failure after __meta"}
		}))
	}
}

// TestIAMGrants: the grants that IAM enforcement on the local stack found
// missing (issue 12) are each needed — taken away again, a backup fails
// with AccessDenied — and cleanup, with all of them, removes a failed job's
// __meta.
func TestIAMGrants(t *testing.T) {
	t.Run("cleanup removes a failed job's __meta", func(t *testing.T) {
		var e *env
		e = newEnv(t, envOptions{wrap: failAfterMeta(&e)})
		r := e.run("BACKUP DATABASE " + e.db + " SNAPSHOT m1 TO repo ON (TABLE customers)")
		e.mustCancel(t, r, "m1", "[COMMON_ERROR, msg: injected failure after __meta]")
	})
	t.Run("without cleanup's s3:GetObject", func(t *testing.T) {
		var e *env
		e = newEnv(t, envOptions{wrap: failAfterMeta(&e), policies: without(t, "cleanup", "s3:GetObject")})
		r := e.run("BACKUP DATABASE " + e.db + " SNAPSHOT m1 TO repo ON (TABLE customers)")
		// Cleanup cannot tell whose __meta it is: the job is never
		// cancelled and the database stays locked.
		if r.rec.State == job.Cancelled || e.lockHolder(e.db) == "" || !deniedTo(e.st, "cleanup", "s3:GetObject") {
			t.Errorf("job %s, lock %q, denials %v; want a stuck job and cleanup refused s3:GetObject", r.rec.State, e.lockHolder(e.db), e.st.IAM.Denied())
		}
	})
	t.Run("without upload's s3:GetObject", func(t *testing.T) {
		e := newEnv(t, envOptions{policies: without(t, "upload", "s3:GetObject")})
		r := e.run("BACKUP DATABASE " + e.db + " SNAPSHOT p1 TO repo ON (TABLE customers)")
		// Upload cannot read its shard plan: every backup fails, at once
		// (AccessDenied is not retried), with a message that says why and
		// does not carry AWS's text (the role ARN).
		if r.status != sfntypes.ExecutionStatusFailed || r.rec.State != job.Cancelled ||
			!strings.Contains(r.rec.Status.String(), "read shard plan: access denied by AWS (AccessDenied)") ||
			strings.Contains(r.rec.Status.String(), "arn:") || !deniedTo(e.st, "upload", "s3:GetObject") {
			t.Errorf("execution %s, job %s %s; want CANCELLED with AccessDenied", r.status, r.rec.State, r.rec.Status)
		}
		// At most once for each of the plan's two batches the Map starts;
		// retried as transient, it was refused 9 times.
		if n := deniedCount(e.st, "upload", "s3:GetObject"); n > 2 {
			t.Errorf("upload was refused s3:GetObject %d times; want once per batch, never retried", n)
		}
	})
	t.Run("without finalize's s3:DeleteObject", func(t *testing.T) {
		e := newEnv(t, envOptions{policies: without(t, "finalize", "s3:DeleteObject")})
		e.mustFinish("BACKUP DATABASE " + e.db + " SNAPSHOT f1 TO repo ON (TABLE customers)")
		// The job finishes, but its shard plan (primary-key boundary
		// values) stays behind.
		var plans []string
		for _, f := range e.snapshotFiles(e.repo, "f1") {
			if strings.HasPrefix(f, "__plan_") {
				plans = append(plans, f)
			}
		}
		if len(plans) == 0 || !deniedTo(e.st, "finalize", "s3:DeleteObject") {
			t.Errorf("plans left %v, denials %v; want the plan left behind and finalize refused s3:DeleteObject", plans, e.st.IAM.Denied())
		}
	})
}

// unusedGrants are the actions a role is granted that no scenario of this
// suite uses, each with the reason it is granted anyway. checkUnusedGrants
// fails the suite when a grant is unused and not listed here, or listed and
// used (the reason is stale).
var unusedGrants = map[string]map[string]string{
	"api":   {"s3:AbortMultipartUpload": abortUploads},
	"sweep": {"s3:AbortMultipartUpload": abortUploads},
	"upload": {"s3:AbortMultipartUpload": "the transfer manager aborts a multipart upload that fails part-way; " +
		"no scenario fails an upload between its first and last part"},
	"lock": {"dynamodb:UpdateItem": "a Lock meeting a stale PENDING job on its label (the API died between Lock and " +
		"StartExecution) cancels it in the same transaction; jobstore's TestStalePendingLabelIsTakenOver covers it, no e2e scenario kills the API"},
	"restoreprepare": {"s3:ListBucket": notFound},
	"restoreload":    {"s3:ListBucket": notFound},
	"verify":         {"s3:ListBucket": notFound},
	"schedule:sweep": {"lambda:InvokeFunction": "EventBridge Scheduler invokes the sweep on AWS; the local stack has no scheduler " +
		"(the sweep is run directly in TestLifecycle)"},
}

const (
	abortUploads = "DROP SNAPSHOT and the expiry sweep abort the multipart uploads an interrupted job left under the snapshot; " +
		"no scenario leaves one behind"
	notFound = "without s3:ListBucket, S3 answers a missing object with 403 AccessDenied instead of 404 NoSuchKey; " +
		"with it, a damaged snapshot reads as \"File does not exist\" (no scenario deletes a file under a running job)"
)

// notEmulated are the services whose grants no local scenario can use: the
// local stack has no endpoint for them (logs and traces are not collected,
// the source and target are reached with a DSN, not through a secret).
var notEmulated = map[string]string{
	"logs":           "CloudWatch Logs",
	"xray":           "X-Ray",
	"secretsmanager": "Secrets Manager",
	"kms":            "KMS",
	"ec2":            "VPC networking",
}

func checkUnusedGrants(u *iam.Usage) error {
	p, err := iam.Embedded()
	if err != nil {
		return err
	}
	var problems []string
	unused := u.Unused(p)
	for role, acts := range unused {
		for _, act := range acts {
			service, _, _ := strings.Cut(act, ":")
			if notEmulated[service] == "" && unusedGrants[role][act] == "" {
				problems = append(problems, fmt.Sprintf("%s: %s is granted but no scenario used it (remove it, add a scenario, or justify it in unusedGrants)", role, act))
			}
		}
	}
	for role, acts := range unusedGrants {
		for act := range acts {
			if !slices.Contains(unused[role], act) {
				problems = append(problems, fmt.Sprintf("%s: %s is listed in unusedGrants but a scenario used it: remove the entry", role, act))
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n  "))
	}
	return nil
}
