package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack/sandbox"
	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/pipeline"
	"github.com/srbackup/srbackup/shared/repository"
)

// runDemo runs one real BACKUP end to end on a local sandbox and prints
// SHOW BACKUP and SHOW SNAPSHOT, then stops everything.
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
	t1 := time.Now()
	start, err := sb.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sb.StateMachineARN()), Input: aws.String(string(input))})
	if err != nil {
		fmt.Fprintln(std.err, "demo: start execution:", err)
		return 1
	}
	jobID := pipeline.ExecutionName(aws.ToString(start.ExecutionArn))
	var last job.State
	var rec job.Record
	for {
		d, err := sb.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
		if err != nil {
			fmt.Fprintln(std.err, "demo:", err)
			return 1
		}
		if r, err := sb.Store.Get(ctx, jobID); err == nil {
			rec = r
			if r.State != last {
				say("job %s: %-15s shards %d/%d", jobID, r.State, r.ShardsDone, r.ShardsTotal)
				last = r.State
			}
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			say("execution %s in %v", d.Status, time.Since(t1).Round(time.Millisecond))
			if d.Status != sfntypes.ExecutionStatusSucceeded {
				fmt.Fprintf(std.err, "demo: backup failed: %s: %s\n", aws.ToString(d.Error), aws.ToString(d.Cause))
				return 1
			}
			break
		}
		select {
		case <-ctx.Done():
			return 1
		case <-time.After(50 * time.Millisecond):
		}
	}
	if rec, err = sb.Store.Get(ctx, jobID); err != nil {
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
	say("stopping everything")
	return 0
}
