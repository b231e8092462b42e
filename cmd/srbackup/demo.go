package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack/sandbox"
	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/target"
)

// runDemo runs one real BACKUP end to end on a local sandbox and prints
// SHOW BACKUP and SHOW SNAPSHOT, restores the snapshot into a second
// database and prints SHOW RESTORE and a per-table checksum comparison,
// then stops everything.
func runDemo(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(std.err)
	sizeMB := fs.Int64("size-mb", 16, "size of the sample database in MB")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	out := std.out
	say := func(format string, a ...any) { fmt.Fprintf(out, "==> "+format+"\n", a...) }

	say("starting a throwaway MariaDB with a %d MB sample database and the local AWS stack", *sizeMB)
	t0 := time.Now()
	sb, err := sandbox.Start(ctx, sandbox.Options{SizeBytes: *sizeMB << 20})
	if err != nil {
		fmt.Fprintln(std.err, "demo:", err)
		return 1
	}
	defer sb.Close()
	say("ready in %v: MariaDB %s at %s; database %q with %d tables, %d views, %d functions (%.1f MB)",
		time.Since(t0).Round(time.Millisecond), sb.DB.Version(), sb.DB.Addr(), sb.Database,
		len(sb.Sample.Tables), len(sb.Sample.Views), len(sb.Sample.Functions), float64(sb.Sample.TotalBytes())/1e6)
	say("S3 %s, DynamoDB %s, Lambda %s, Step Functions %s", sb.Stack.S3URL, sb.Stack.DynamoDBURL, sb.Stack.LambdaURL, sb.Stack.StepFunctionsURL)
	say("repository %q registered at s3://%s/backups", sb.Repository.Name(), sb.Stack.Bucket)

	label := "demo_" + time.Now().UTC().Format("20060102150405")
	stmt := fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT %s TO %s PROPERTIES (\"parallelism\" = \"4\")", sb.Database, label, sb.Repository.Name())
	input, _ := json.Marshal(pipeline.ExecutionInput{SQL: stmt})
	say("starting the backup state machine with the input a console user would paste:\n    %s", input)
	jobID, took, err := runExecution(ctx, sb, sb.StateMachineARN(), string(input), say)
	if err != nil {
		fmt.Fprintln(std.err, "demo: backup:", err)
		return 1
	}
	say("backup execution SUCCEEDED in %v", took.Round(time.Millisecond))
	rec, err := sb.Store.Get(ctx, jobID)
	if err != nil {
		fmt.Fprintln(std.err, "demo:", err)
		return 1
	}

	fmt.Fprintf(out, "\nmysql> SHOW BACKUP FROM %s\\G\n", sb.Database)
	printVertical(out, api.Result{Columns: job.ShowBackupColumns, Rows: [][]*string{rec.ShowBackupRow()}})

	fmt.Fprintf(out, "\nmysql> SHOW SNAPSHOT ON %s;\n", sb.Repository.Name())
	rows, err := sb.Repository.ListSnapshots(ctx, nil)
	if err != nil {
		fmt.Fprintln(std.err, "demo:", err)
		return 1
	}
	var table [][]*string
	for _, r := range rows {
		table = append(table, r.Row())
	}
	printTable(out, api.Result{Columns: repository.SnapshotColumns, Rows: table})

	ts, err := sb.Repository.Timestamps(ctx, label)
	if err != nil || len(ts) == 0 {
		fmt.Fprintln(std.err, "demo: no committed snapshot:", err)
		return 1
	}
	info, err := sb.Repository.VerifySnapshot(ctx, label, ts[0])
	if err != nil {
		fmt.Fprintln(std.err, "demo: verify snapshot:", err)
		return 1
	}
	var files, rowsTotal, bytes int64
	for _, f := range info.Files() {
		files++
		rowsTotal += f.Rows
		bytes += f.Bytes
	}
	fmt.Fprintln(out)
	say("snapshot %s (%s): %d Parquet files, %d rows, %.1f MB; every SHA-256 re-read and verified", label, ts[0], files, rowsTotal, float64(bytes)/1e6)

	restored := sb.Database + "_restored"
	stmt = fmt.Sprintf("RESTORE SNAPSHOT %s FROM %s DATABASE %s AS %s PROPERTIES (\"backup_timestamp\" = \"%s\", \"parallelism\" = \"4\")",
		label, sb.Repository.Name(), sb.Database, restored, ts[0])
	input, _ = json.Marshal(pipeline.ExecutionInput{SQL: stmt})
	fmt.Fprintln(out)
	say("starting the restore state machine with:\n    %s", input)
	jobID, took, err = runExecution(ctx, sb, sb.RestoreStateMachineARN(), string(input), say)
	if err != nil {
		fmt.Fprintln(std.err, "demo: restore:", err)
		return 1
	}
	say("restore execution SUCCEEDED in %v", took.Round(time.Millisecond))
	if rec, err = sb.Store.Get(ctx, jobID); err != nil {
		fmt.Fprintln(std.err, "demo:", err)
		return 1
	}
	fmt.Fprintf(out, "\nmysql> SHOW RESTORE FROM %s\\G\n", restored)
	printVertical(out, api.Result{Columns: job.ShowRestoreColumns, Rows: [][]*string{rec.ShowRestoreRow()}})
	if ok, err := compareChecksums(ctx, sb, out, sb.Database, restored); err != nil || !ok {
		fmt.Fprintln(std.err, "demo: the restored database differs from the source:", err)
		return 1
	}
	say("stopping everything")
	return 0
}

// runExecution starts an execution with input, reports each state the job
// passes through and waits for it to end; it fails unless it SUCCEEDED.
func runExecution(ctx context.Context, sb *sandbox.Sandbox, stateMachine, input string, say func(string, ...any)) (string, time.Duration, error) {
	t0 := time.Now()
	start, err := sb.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachine), Input: aws.String(input)})
	if err != nil {
		return "", 0, fmt.Errorf("start execution: %w", err)
	}
	jobID := pipeline.ExecutionName(aws.ToString(start.ExecutionArn))
	var last job.State
	for {
		d, err := sb.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
		if err != nil {
			return "", 0, err
		}
		if r, err := sb.Store.Get(ctx, jobID); err == nil && r.State != last {
			say("job %s: %-15s %d/%d", jobID, r.State, r.ShardsDone, r.ShardsTotal)
			last = r.State
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			if d.Status != sfntypes.ExecutionStatusSucceeded {
				return jobID, 0, fmt.Errorf("execution %s: %s: %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
			}
			return jobID, time.Since(t0), nil
		}
		select {
		case <-ctx.Done():
			return jobID, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// compareChecksums prints CHECKSUM TABLE of every table of two databases
// side by side and reports whether all are equal.
func compareChecksums(ctx context.Context, sb *sandbox.Sandbox, out io.Writer, a, b string) (bool, error) {
	pool, err := sb.DB.Open("")
	if err != nil {
		return false, err
	}
	defer pool.Close()
	rows, err := pool.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1", a)
	if err != nil {
		return false, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return false, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	sum := func(db, t string) (string, error) {
		var name string
		var v sql.NullString
		err := pool.QueryRowContext(ctx, "CHECKSUM TABLE "+target.Qualified(db, t)).Scan(&name, &v)
		return v.String, err
	}
	fmt.Fprintf(out, "\nmysql> CHECKSUM TABLE … -- %s and %s\n", a, b)
	res := api.Result{Columns: []string{"Table", a, b, "Equal"}}
	equal := true
	for _, t := range tables {
		x, err := sum(a, t)
		if err != nil {
			return false, err
		}
		y, err := sum(b, t)
		if err != nil {
			return false, err
		}
		same := "yes"
		if x != y {
			same, equal = "NO", false
		}
		res.Rows = append(res.Rows, []*string{&t, &x, &y, &same})
	}
	printTable(out, res)
	return equal, nil
}
