// Package sandbox starts a complete local srbackup: a throwaway MariaDB with
// a sample database, and the local AWS stack running the real functions and
// the real statemachine/backup.asl.json. `make demo` and `srbackup local up`
// use it.
package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/localstack/mariadb"
	"github.com/srbackup/srbackup/shared/app"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/repository"
)

// Options configure a sandbox.
type Options struct {
	// Database is the sample database's name (default "shop") and
	// SizeBytes its size (default fixture.MinSizeBytes).
	Database  string
	SizeBytes int64
	// Repository is registered at s3://<bucket>/backups (default "demo_repo").
	Repository string
	Logger     *slog.Logger
}

// Sandbox is a running local srbackup.
type Sandbox struct {
	DB         *mariadb.Server
	Stack      *localstack.Stack
	Database   string
	Repository *repository.Repo
	Store      *jobstore.Store
	SFN        *sfn.Client
	Sample     *fixture.Result
}

// Start starts a sandbox; Close stops everything it started.
func Start(ctx context.Context, opts Options) (_ *Sandbox, err error) {
	if opts.Database == "" {
		opts.Database = "shop"
	}
	if opts.SizeBytes == 0 {
		opts.SizeBytes = fixture.MinSizeBytes
	}
	if opts.Repository == "" {
		opts.Repository = "demo_repo"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s := &Sandbox{Database: opts.Database}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.DB, err = mariadb.Start(ctx, mariadb.Options{Logger: log}); err != nil {
		return nil, fmt.Errorf("start MariaDB: %w", err)
	}
	pool, err := s.DB.Open("")
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if s.Sample, err = fixture.Generate(ctx, pool, fixture.Options{Database: opts.Database, SizeBytes: opts.SizeBytes, Seed: 1, DropExisting: true}); err != nil {
		return nil, fmt.Errorf("generate sample database: %w", err)
	}
	s.Stack, err = localstack.Start(ctx, StackOptions(map[string]string{"SRBACKUP_SOURCE_DSN": s.DB.DSN("")}, log))
	if err != nil {
		return nil, fmt.Errorf("start local AWS stack: %w", err)
	}
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return nil, err
	}
	s3c := s3.NewFromConfig(cfg)
	s.SFN = sfn.NewFromConfig(cfg)
	s.Store = jobstore.New(dynamodb.NewFromConfig(cfg), s.Stack.Table)
	loc := "s3://" + s.Stack.Bucket + "/backups"
	parsed, err := repository.ParseLocation(loc)
	if err != nil {
		return nil, err
	}
	if s.Repository, err = repository.New(s3c, opts.Repository, parsed); err != nil {
		return nil, err
	}
	if _, err := s.Repository.WriteRepoInfo(ctx, time.Now()); err != nil {
		return nil, fmt.Errorf("create repository: %w", err)
	}
	if _, err := s.Store.PutRepository(ctx, jobstore.Repository{Name: opts.Repository, Location: loc}); err != nil {
		return nil, fmt.Errorf("register repository: %w", err)
	}
	return s, nil
}

// StackOptions are the local stack options of a complete srbackup: every
// pipeline function served from shared/app under its own IAM role, the real
// backup and restore state machines, and cleanup on failed, aborted and
// timed-out executions, as deployed.
// env is the functions' extra environment (SRBACKUP_SOURCE_DSN, …).
func StackOptions(env map[string]string, log *slog.Logger) localstack.Options {
	full := map[string]string{"SRBACKUP_VERIFY_FUNCTION": "verify"} // the local Lambda serves it by name
	for k, v := range env {
		full[k] = v
	}
	env = full
	return localstack.Options{
		Handlers: func(ctx context.Context, envOf func(string) func(string) string) (map[string]any, error) {
			return app.Local(ctx, envOf, log)
		},
		// Every function and state machine acts with its own role's
		// policies, as deployed, so the tests and the demo prove them.
		IAM:                   true,
		StepFunctions:         true,
		StateMachines:         map[string]string{"backup": "statemachine/backup.asl.json", "restore": "statemachine/restore.asl.json"},
		StatusChangeFunctions: []string{"backup=cleanup", "restore=restorecleanup"},
		Env:                   env,
		Logger:                log,
	}
}

// StateMachineARN is the backup state machine's ARN.
func (s *Sandbox) StateMachineARN() string { return s.Stack.StateMachineARNs["backup"] }

// RestoreStateMachineARN is the restore state machine's ARN.
func (s *Sandbox) RestoreStateMachineARN() string { return s.Stack.StateMachineARNs["restore"] }

// Close stops the stack and the database.
func (s *Sandbox) Close() {
	if s.Stack != nil {
		s.Stack.Close()
	}
	if s.DB != nil {
		_ = s.DB.Close()
	}
}
