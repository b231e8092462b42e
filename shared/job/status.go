package job

import (
	"fmt"
	"strings"
)

// StatusCode is a StarRocks backup Status error code.
type StatusCode string

// Status codes shown in SHOW BACKUP's Status column.
const (
	CodeOK          StatusCode = "OK"
	CodeNotFound    StatusCode = "NOT_FOUND"
	CodeBadFile     StatusCode = "BAD_FILE"
	CodeTimeout     StatusCode = "TIMEOUT"
	CodeCommonError StatusCode = "COMMON_ERROR"
	CodeUnsupported StatusCode = "UNSUPPORTED"
	CodeBadReplace  StatusCode = "BAD_REPLACE" // RESTORE: a view over a table, or the reverse
)

// Valid reports whether c is a known code.
func (c StatusCode) Valid() bool {
	switch c {
	case CodeOK, CodeNotFound, CodeBadFile, CodeTimeout, CodeCommonError, CodeUnsupported, CodeBadReplace:
		return true
	}
	return false
}

// Status is a job's outcome as StarRocks reports it. The zero value is OK.
type Status struct {
	Code    StatusCode `json:"code,omitempty"`
	Message string     `json:"msg,omitempty"`
}

// StatusOK returns the OK status.
func StatusOK() Status { return Status{Code: CodeOK} }

// StatusUserCancelled is the status of a job ended by CANCEL BACKUP:
// "[COMMON_ERROR, msg: user cancelled]".
func StatusUserCancelled() Status { return Status{Code: CodeCommonError, Message: "user cancelled"} }

// StatusTimeout is the status of a job that ran past its deadline:
// "[TIMEOUT, msg: ]" (StarRocks leaves the message empty).
func StatusTimeout() Status { return Status{Code: CodeTimeout} }

// NewStatus returns a status with the given code and message.
func NewStatus(code StatusCode, msg string) Status { return Status{Code: code, Message: msg} }

// OK reports whether s is the OK status.
func (s Status) OK() bool { return s.Code == "" || s.Code == CodeOK }

// String formats s as StarRocks does: "[OK]" or "[<CODE>, msg: <text>]".
func (s Status) String() string {
	if s.OK() {
		return "[OK]"
	}
	return fmt.Sprintf("[%s, msg: %s]", s.Code, s.Message)
}

// ParseStatus parses the String form of a status.
func ParseStatus(text string) (Status, error) {
	if text == "[OK]" {
		return StatusOK(), nil
	}
	inner, ok := strings.CutPrefix(text, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	if !ok {
		return Status{}, fmt.Errorf("invalid status %q", text)
	}
	code, msg, ok := strings.Cut(inner, ", msg: ")
	if !ok || !StatusCode(code).Valid() || code == string(CodeOK) {
		return Status{}, fmt.Errorf("invalid status %q", text)
	}
	return Status{Code: StatusCode(code), Message: msg}, nil
}
