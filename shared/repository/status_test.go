package repository

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

// TestInfoStatusHidesAWSText: SHOW SNAPSHOT shows an S3 failure by its
// error code only, never AWS's message (issue 12 §2: it can carry role
// ARNs); srbackup's own checks keep their text.
func TestInfoStatusHidesAWSText(t *testing.T) {
	arn := "arn:aws:sts::123456789012:assumed-role/srbackup-api/fn"
	denied := fmt.Errorf("get s3://b/k: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
		Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: " + arn + " is not authorized"}})
	dial := fmt.Errorf("get s3://b/k: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
		Err: errors.New("dial tcp 10.0.0.7:443: connection refused")})
	for _, c := range []struct {
		err  error
		want string
	}{
		{denied, "ERROR: Failed to get info: S3 refused the request (AccessDenied)"},
		{dial, "ERROR: Failed to get info: the S3 request failed"},
		{fmt.Errorf("read s3://b/k: %w: sdk detail", ErrChecksum), "ERROR: Failed to get info: the info file does not match its checksum"},
		{errors.New("snapshot a 2025: info names snapshot b 2025"), "ERROR: Failed to get info: snapshot a 2025: info names snapshot b 2025"},
	} {
		if got := infoStatus(c.err); got != c.want || strings.Contains(got, "arn:") || strings.Contains(got, "10.0.0.7") {
			t.Errorf("infoStatus(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
