package api

import (
	"errors"
	"net/http"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/sql"
)

// Error codes of API error bodies, besides the domain errors' own
// (ANALYSIS_ERROR, CONFLICT, NOT_FOUND, CANCELLED, …).
const (
	CodeBadRequest      = "BAD_REQUEST"
	CodeSyntaxError     = "SYNTAX_ERROR"
	CodeTooLarge        = "PAYLOAD_TOO_LARGE"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotImplemented  = "NOT_IMPLEMENTED"
	CodeNoRoute         = "NO_SUCH_RESOURCE"
	CodeMethod          = "METHOD_NOT_ALLOWED"
	CodeUnavailable     = "UNAVAILABLE"
	CodeInternal        = "INTERNAL"
)

// Error is an API error: the HTTP status, a stable code and a message safe
// to show to the caller.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

func apiError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// errNotSupported answers statements srbackup parses but does not run yet.
func errNotSupported(kind string) *Error {
	return apiError(http.StatusNotImplemented, CodeNotImplemented, kind+" is not yet supported by srbackup")
}

// publicError turns err into what the caller sees. Domain and parse errors
// keep their StarRocks text; anything else is an internal error whose detail
// stays in the log (internal reports whether it was one).
func publicError(err error) (e *Error, internal bool) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae, false
	}
	var se *sql.Error
	if errors.As(err, &se) {
		code := CodeSyntaxError
		if se.Kind == sql.AnalysisError {
			code = (&job.AnalysisError{}).Code()
		}
		return apiError(http.StatusBadRequest, code, se.Message), false
	}
	if de, ok := job.AsError(err); ok {
		var pe *job.PermissionError
		if errors.As(err, &pe) {
			// The deployment's role lacks a permission: not the caller's
			// fault (403) and not worth retrying (503). The message names
			// what was refused and AWS's code, never AWS's text.
			return apiError(http.StatusInternalServerError, pe.Code(), pe.Error()), true
		}
		if de.HTTPStatus() >= 500 {
			// Transient and internal domain errors may carry AWS or driver
			// details: the caller gets a generic text.
			return apiError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable; retry later"), true
		}
		return apiError(de.HTTPStatus(), de.Code(), de.Error()), false
	}
	return apiError(http.StatusInternalServerError, CodeInternal, "internal error"), true
}
