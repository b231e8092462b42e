package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/srbackup/srbackup/shared/job"
)

// TestPublicErrorAccessDenied: AWS refusing the deployment's role a
// permission is a 500 that says so, not a 503 "retry later" (a retry
// cannot help) nor a 403 (the caller lacks nothing); transient failures
// stay 503 with a generic text.
func TestPublicErrorAccessDenied(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123:assumed-role/x is not authorized"}
	e, internal := publicError(job.Transient("read job", denied))
	if e.Status != http.StatusInternalServerError || e.Code != "INTERNAL" || !internal ||
		!strings.Contains(e.Message, "read job: access denied by AWS (AccessDeniedException)") || strings.Contains(e.Message, "arn:") {
		t.Errorf("access denied answered %d %s %q (internal %v)", e.Status, e.Code, e.Message, internal)
	}
	e, internal = publicError(job.Transient("read job", errors.New("connection reset by 10.0.0.1")))
	if e.Status != http.StatusServiceUnavailable || e.Code != CodeUnavailable || !internal || strings.Contains(e.Message, "10.0.0.1") {
		t.Errorf("transient failure answered %d %s %q (internal %v)", e.Status, e.Code, e.Message, internal)
	}
}
