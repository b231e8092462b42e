package repository

import (
	"errors"

	"github.com/aws/smithy-go"
)

// infoStatus is SHOW SNAPSHOT's "ERROR: Failed to get info: …" status for
// err. A failed S3 request shows only its error code: AWS's text can carry
// role ARNs, bucket names and request ids, and SHOW SNAPSHOT is answered
// to anyone who may use the repository. srbackup's own checks (a checksum,
// an info file that names another snapshot) keep their text.
func infoStatus(err error) string {
	var ae smithy.APIError
	var op *smithy.OperationError
	switch {
	case errors.As(err, &ae):
		return statusGetInfo + "S3 refused the request (" + ae.ErrorCode() + ")"
	case errors.As(err, &op):
		return statusGetInfo + "the S3 request failed"
	case errors.Is(err, ErrChecksum):
		return statusGetInfo + "the info file does not match its checksum"
	}
	return statusGetInfo + err.Error()
}
