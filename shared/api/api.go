// Package api is srbackup's HTTP API: API Gateway HTTP API (payload format
// 2.0, IAM authorization) requests in, StarRocks statements executed over the
// job store, the S3 repositories and the backup state machine.
//
//	POST   /v1/sql                           one or more statements, a result per statement
//	GET    /v1/backups?db=&limit=            job history of a database, newest first (last job of every database without db)
//	GET    /v1/backups/{jobId}               one job
//	DELETE /v1/backups/{jobId}               cancel a job
//	GET    /v1/restores?db=&limit=           RESTORE job history (last RESTORE of every database without db)
//	GET    /v1/restores/{jobId}              one RESTORE job
//	DELETE /v1/restores/{jobId}              CANCEL RESTORE of that job
//	GET    /v1/repositories                  SHOW REPOSITORIES
//	GET    /v1/repositories/{repo}/snapshots SHOW SNAPSHOT ON repo
//	GET    /v1/verifications/{id}            an ADMIN VERIFY SNAPSHOT job and its rows
//	GET    /v1/openapi.yaml                  the OpenAPI 3 document
//
// BACKUP is parsed, validated and locked synchronously, so its errors come
// back at once; the job then runs in the state machine and the API answers
// 202 with the job's SHOW BACKUP row.
package api

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/privilege"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// MaxStatements is the most statements one request may run: each can start
// an execution or scan a repository within the API's 30 seconds.
const MaxStatements = 100

// OpenAPI is the API's OpenAPI 3 document, served at GET /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Executions is the part of the Step Functions client the API uses;
// *sfn.Client implements it.
type Executions interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	StopExecution(context.Context, *sfn.StopExecutionInput, ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
}

// Server executes API requests. Its zero value is not usable: set every
// field but the optional ones.
type Server struct {
	// Pipeline prepares and locks BACKUP jobs synchronously, as the state
	// machine's Parse and Lock states do, and submits RESTORE jobs over the
	// same job store and repositories. Its Source is the catalog BACKUP
	// (and RESTORE's privilege checks) look at; its clock, log and metrics
	// are the API's.
	Pipeline *pipeline.Pipeline
	// Executions starts and stops backup executions of StateMachineARN.
	Executions      Executions
	StateMachineARN string
	// RestoreStateMachineARN runs RESTORE jobs; empty refuses RESTORE.
	RestoreStateMachineARN string
	// Privileges enforces StarRocks' privilege model (REPOSITORY on SYSTEM,
	// EXPORT on tables, admin-only GRANT/REVOKE/roles), and runs GRANT,
	// REVOKE, CREATE ROLE and DROP ROLE. Nil leaves every authenticated
	// principal every statement, and those four unsupported.
	Privileges *privilege.Authority
	// Invoker and VerifyFunction start ADMIN VERIFY SNAPSHOT's verify
	// function asynchronously; without them the statement is refused.
	Invoker        Invoker
	VerifyFunction string
}

func (s *Server) now() time.Time { return s.Pipeline.Time() }

func (s *Server) log() *slog.Logger { return s.Pipeline.Logger() }

// ExecutionARN is the ARN the execution named name of the state machine
// stateMachineARN gets, known before the execution starts: the API records it
// with the job's lock.
func ExecutionARN(stateMachineARN, name string) (string, error) {
	parts := strings.Split(stateMachineARN, ":")
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
		return "", fmt.Errorf("invalid state machine ARN %q", stateMachineARN)
	}
	parts[5] = "execution"
	return strings.Join(parts, ":") + ":" + name, nil
}
