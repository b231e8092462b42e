package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	lambdaclient "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/privilege"
)

// APIHandler returns the handler of the api function: API Gateway HTTP API
// (payload 2.0) requests. Besides the common configuration it needs
// SRBACKUP_STATE_MACHINE_ARN (the backup state machine), the source database
// (SRBACKUP_SOURCE_SECRET_ARN or SRBACKUP_SOURCE_DSN), which BACKUP is checked
// against synchronously, and SRBACKUP_ADMINS (comma-separated principal ARNs
// that hold every privilege and may GRANT).
func APIHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (api.HandlerFunc, error) {
	srv, err := NewAPIServer(ctx, getenv, log)
	if err != nil {
		return nil, err
	}
	return srv.Handle, nil
}

// NewAPIServer builds the API server from the environment.
func NewAPIServer(ctx context.Context, getenv func(string) string, log *slog.Logger) (*api.Server, error) {
	d, err := NewDeps(ctx, "api", getenv, log)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	smARN := getenv("SRBACKUP_STATE_MACHINE_ARN")
	if smARN == "" {
		return nil, fmt.Errorf("api: SRBACKUP_STATE_MACHINE_ARN is not set")
	}
	if _, err := api.ExecutionARN(smARN, "x"); err != nil {
		return nil, fmt.Errorf("api: SRBACKUP_STATE_MACHINE_ARN: %w", err)
	}
	admins, err := privilege.ParseAdmins(getenv("SRBACKUP_ADMINS"))
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if len(admins) == 0 {
		// Still safe: nobody holds anything that was not granted before.
		d.Log.Warn("SRBACKUP_ADMINS is empty: no principal may GRANT, so only privileges already in the table apply")
	}
	privileges, err := privilege.NewAuthority(privilege.NewStore(dynamodb.NewFromConfig(d.AWS), d.Config.Table), admins)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return &api.Server{
		Pipeline:        d.Pipeline(),
		Executions:      sfn.NewFromConfig(d.AWS),
		StateMachineARN: smARN,
		// Optional: a deployment without it refuses RESTORE with a clear error.
		RestoreStateMachineARN: getenv("SRBACKUP_RESTORE_STATE_MACHINE_ARN"),
		Privileges:             privileges,
		Invoker:                lambdaclient.NewFromConfig(d.AWS),
		VerifyFunction:         getenv("SRBACKUP_VERIFY_FUNCTION"),
	}, nil
}
