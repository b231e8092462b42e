package job

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The domain errors below are matched by Step Functions Retry/Catch on their
// type NAME: the Go Lambda runtime reports an error's type name, without
// package or pointer, as errorType. Renaming a type is therefore a change of
// the state machine contract (statemachine/backup.asl.json).
//
// A handler must return the domain error itself, not an error wrapping it
// (fmt.Errorf would report "wrapError"); ForLambda does that.

// Error is implemented by every srbackup domain error.
type Error interface {
	error
	// HTTPStatus is the status the HTTP API answers with.
	HTTPStatus() int
	// Code is a stable machine-readable code for API error bodies.
	Code() string
}

// AnalysisError is a statement StarRocks would reject while analyzing it
// (unknown table, bad property, missing repository…). Not retried.
type AnalysisError struct {
	// Detail is StarRocks' detail message, without the "Getting analyzing
	// error" wrapper that Error adds.
	Detail string
}

// Error formats the error as StarRocks does.
func (e *AnalysisError) Error() string {
	return "Getting analyzing error. Detail message: " + e.Detail + "."
}

// HTTPStatus is 400.
func (e *AnalysisError) HTTPStatus() int { return http.StatusBadRequest }

// Code is "ANALYSIS_ERROR".
func (e *AnalysisError) Code() string { return "ANALYSIS_ERROR" }

// ConflictError is a request that conflicts with the current state: the
// database lock is taken, the snapshot name or repository exists, the
// repository is read only, a finished job can't be cancelled. Not retried.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// HTTPStatus is 409.
func (e *ConflictError) HTTPStatus() int { return http.StatusConflict }

// Code is "CONFLICT".
func (e *ConflictError) Code() string { return "CONFLICT" }

// NotFoundError is a missing job or repository. Not retried.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return e.Message }

// HTTPStatus is 404.
func (e *NotFoundError) HTTPStatus() int { return http.StatusNotFound }

// Code is "NOT_FOUND".
func (e *NotFoundError) Code() string { return "NOT_FOUND" }

// CancelledError tells a step that its job was cancelled (by CANCEL BACKUP,
// by cleanup, or by another failure) and it must stop. Not retried.
type CancelledError struct {
	Message string
	// Status is the cancelled job's status, if known.
	Status Status
}

func (e *CancelledError) Error() string { return e.Message }

// HTTPStatus is 409.
func (e *CancelledError) HTTPStatus() int { return http.StatusConflict }

// Code is "CANCELLED".
func (e *CancelledError) Code() string { return "CANCELLED" }

// TimeoutError tells a step that its job ran past its deadline. Cleanup
// turns it into the status "[TIMEOUT, msg: ]". Not retried.
type TimeoutError struct{ Message string }

func (e *TimeoutError) Error() string { return e.Message }

// HTTPStatus is 409: the job, not the request, timed out.
func (e *TimeoutError) HTTPStatus() int { return http.StatusConflict }

// Code is "TIMEOUT".
func (e *TimeoutError) Code() string { return "TIMEOUT" }

// TransientError is a failure worth retrying (throttling, a dropped
// connection, a source database restarting). The state machine retries it
// with backoff.
type TransientError struct {
	Message string
	Err     error
}

func (e *TransientError) Error() string {
	switch {
	case e.Message == "" && e.Err != nil:
		return e.Err.Error()
	case e.Err != nil:
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *TransientError) Unwrap() error { return e.Err }

// HTTPStatus is 503.
func (e *TransientError) HTTPStatus() int { return http.StatusServiceUnavailable }

// Code is "TRANSIENT".
func (e *TransientError) Code() string { return "TRANSIENT" }

// PermissionError is a request AWS refused for lack of a permission (an
// IAM policy, a bucket policy, an SCP). Retrying cannot help, so it is not
// retried: the job is cancelled at once. The message names what was refused
// and the AWS error code, not AWS's text, which can carry role ARNs; the
// step logs the full error.
type PermissionError struct {
	Message string
	Err     error
}

func (e *PermissionError) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *PermissionError) Unwrap() error { return e.Err }

// HTTPStatus is 500: the deployment, not the caller, lacks the permission
// (a caller's missing StarRocks privilege is privilege.AccessDeniedError).
func (e *PermissionError) HTTPStatus() int { return http.StatusInternalServerError }

// Code is "INTERNAL".
func (e *PermissionError) Code() string { return "INTERNAL" }

// accessDeniedCodes are the AWS error codes of a refused permission: S3's,
// and DynamoDB's, Step Functions', Lambda's, KMS's and STS's.
var accessDeniedCodes = map[string]bool{
	"AccessDenied":          true,
	"AccessDeniedException": true,
	"AllAccessDisabled":     true,
}

// AccessDenied returns err as a PermissionError if AWS refused the
// request for lack of a permission (any error in the chain with an
// ErrorCode method, as smithy.APIError has, answering one of AWS's
// access-denied codes), or nil.
func AccessDenied(what string, err error) *PermissionError {
	var coded interface{ ErrorCode() string }
	if !errors.As(err, &coded) || !accessDeniedCodes[coded.ErrorCode()] {
		return nil
	}
	return &PermissionError{
		Message: fmt.Sprintf("%s: access denied by AWS (%s): the function's IAM role lacks a permission it needs", what, coded.ErrorCode()),
		Err:     err,
	}
}

// Transient classifies a failure of what: a domain error is returned as
// is, AWS refusing a permission becomes a PermissionError (not retried),
// and anything else a TransientError (retried).
func Transient(what string, err error) error {
	if _, ok := AsError(err); ok {
		return err
	}
	if ad := AccessDenied(what, err); ad != nil {
		return ad
	}
	return &TransientError{Message: what, Err: err}
}

// AsError returns the outermost domain error in err's chain.
func AsError(err error) (Error, bool) {
	for e := err; e != nil; {
		if d, ok := e.(Error); ok {
			return d, true
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if d, ok := AsError(inner); ok {
					return d, true
				}
			}
			return nil, false
		default:
			return nil, false
		}
	}
	return nil, false
}

// ForLambda returns the domain error inside err, so that the Lambda runtime
// reports its type name (AnalysisError, ConflictError, …) as errorType for
// the state machine to match. Other errors are returned unchanged.
func ForLambda(err error) error {
	if d, ok := AsError(err); ok {
		return d
	}
	return err
}

// StatusFor returns the Status a job cancelled because of a step failure
// gets: the Step Functions Error name (the Go error type name, or
// States.Timeout) and Cause (the error message) decide it. A RESTORE's
// in-job check (CheckError) carries its own code in the message.
func StatusFor(errorName, cause string) Status {
	switch errorName {
	case "TimeoutError", "States.Timeout":
		return StatusTimeout()
	case "CancelledError":
		return StatusUserCancelled()
	case "CheckError":
		if s, ok := ParseCheckError(cause); ok {
			return s
		}
	}
	return NewStatus(CodeCommonError, cause)
}

// StatusOf returns the Status a job cancelled because of err gets.
func StatusOf(err error) Status {
	var c *CancelledError
	if errors.As(err, &c) && !c.Status.OK() {
		return c.Status
	}
	var t *TimeoutError
	if errors.As(err, &t) {
		return StatusTimeout()
	}
	if errors.As(err, &c) {
		return StatusUserCancelled()
	}
	return NewStatus(CodeCommonError, err.Error())
}

// The StarRocks texts srbackup reproduces.

// ErrDatabaseBusy is returned when another backup or restore job holds the
// database.
func ErrDatabaseBusy() *ConflictError {
	return &ConflictError{Message: "Can only run one backup or restore job of a database at same time"}
}

// ErrSnapshotExists is returned when the snapshot name is taken in the
// repository.
func ErrSnapshotExists(label string) *ConflictError {
	return &ConflictError{Message: fmt.Sprintf("Snapshot with name '%s' already exist in repository", label)}
}

// ErrRepositoryNotFound is returned by BACKUP and SHOW SNAPSHOT naming an
// unknown repository.
func ErrRepositoryNotFound(repo string) *AnalysisError {
	return &AnalysisError{Detail: fmt.Sprintf("Repository [%s] does not exist", repo)}
}

// ErrDropUnknownRepository is returned by DROP REPOSITORY naming an unknown
// repository (StarRocks' RepositoryAnalyzer omits the name).
func ErrDropUnknownRepository() *AnalysisError {
	return &AnalysisError{Detail: "Repository does not exist"}
}

// ErrRepositoryExists is returned by CREATE REPOSITORY with a taken name.
// Text from StarRocks' BackupHandler and RepositoryMgr sources; not checked
// against a running StarRocks.
func ErrRepositoryExists(repo string) *ConflictError {
	return &ConflictError{Message: "Failed to create repository: repository with same name already exist: " + repo}
}

// ErrRepositoryReadOnly is returned by BACKUP to a read-only repository.
func ErrRepositoryReadOnly(repo string) *ConflictError {
	return &ConflictError{Message: fmt.Sprintf("Repository %s is read only", repo)}
}

// ErrNoRunningJob is returned by CANCEL BACKUP when the database has no
// backup job.
func ErrNoRunningJob() *NotFoundError {
	return &NotFoundError{Message: "No backup job is currently running"}
}

// ErrCannotCancel is returned by CANCEL BACKUP when the last job is final.
// (StarRocks' BackupHandler prefixes "Failed to cancel job: "; the
// reference semantics keep the inner text, which is what users search for.)
func ErrCannotCancel(label string, state State) *ConflictError {
	return &ConflictError{Message: fmt.Sprintf("Job with label %s can not be cancelled. state: %s", label, state)}
}

// ErrJobNotFound is returned for an unknown job id.
func ErrJobNotFound(id string) *NotFoundError {
	return &NotFoundError{Message: fmt.Sprintf("backup job %s does not exist", id)}
}

// ErrJobCancelled is what a step gets when it finds its job cancelled.
func ErrJobCancelled(rec Record) *CancelledError {
	return &CancelledError{
		Message: fmt.Sprintf("%s job %s (label %s) was cancelled: %s", strings.ToLower(rec.Spec.Kind()), rec.Spec.JobID, rec.Spec.Label, rec.Status),
		Status:  rec.Status,
	}
}

// ErrJobTimedOut is what a step gets when its job's deadline has passed.
func ErrJobTimedOut(spec Spec) *TimeoutError {
	return &TimeoutError{Message: fmt.Sprintf("%s job %s (label %s) passed its deadline %s (timeout %ds)",
		strings.ToLower(spec.Kind()), spec.JobID, spec.Label, spec.Deadline.UTC().Format(timeLayout), spec.Options.TimeoutSeconds)}
}

// ErrSnapshotNotFound is DROP SNAPSHOT's answer for a label with nothing
// under it in the repository.
func ErrSnapshotNotFound(label, repo string) *NotFoundError {
	return &NotFoundError{Message: fmt.Sprintf("Snapshot '%s' does not exist in repository %s", label, repo)}
}

// ErrSnapshotInUse refuses DROP SNAPSHOT while a job writes or reads the
// snapshot; kind is BACKUP or RESTORE.
func ErrSnapshotInUse(label, kind, jobID, state string) *ConflictError {
	verb := "writes"
	if kind == TypeRestore {
		verb = "reads"
	}
	return &ConflictError{Message: fmt.Sprintf("Snapshot '%s' can not be dropped: %s job %s %s it (state %s); wait for it to finish or cancel it",
		label, kind, jobID, verb, state)}
}

// ErrSnapshotDropping refuses a BACKUP or RESTORE of a snapshot that a DROP
// SNAPSHOT (or the expiry sweep) is deleting.
func ErrSnapshotDropping(label string) *ConflictError {
	return &ConflictError{Message: fmt.Sprintf("Snapshot '%s' is being dropped", label)}
}

// ErrForeignSnapshot refuses DROP SNAPSHOT without FORCE for a snapshot
// another deployment wrote (or one whose writer is unknown).
func ErrForeignSnapshot(label, owner string) *ConflictError {
	who := "another srbackup deployment (" + owner + ")"
	if owner == "" {
		who = "an unknown deployment (it records none and its job is not in this deployment's history)"
	}
	return &ConflictError{Message: fmt.Sprintf("Snapshot '%s' was written by %s; DROP SNAPSHOT %s ON … FORCE drops it anyway", label, who, label)}
}

// ErrRepositoryInUse refuses DROP REPOSITORY while a job uses the repository.
func ErrRepositoryInUse(repo, kind, jobID string) *ConflictError {
	return &ConflictError{Message: fmt.Sprintf("Repository %s is in use by %s job %s; wait for it to finish or cancel it", repo, kind, jobID)}
}
