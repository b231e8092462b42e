package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"golang.org/x/sync/errgroup"

	"github.com/srbackup/srbackup/localstack/mariadb"
	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/jobstore"
)

// ScalingConfig configures RunScaling.
type ScalingConfig struct {
	// Partitions is the number of tiny partitions (one row each). Zero
	// means 10,000. MariaDB allows 8,192 per table, so they are spread
	// over tables of at most 5,000.
	Partitions int
	// Tables is the number of one-row tables of the whole-database run;
	// zero means 10,000, negative leaves the run out.
	Tables int
	// OneRowRuns is how many 1-row backups are timed. Zero means 5.
	OneRowRuns int
	// Profile, when set, is where a CPU profile of this process (harness,
	// Lambdas, emulators) during the many-partition backup is written, and
	// Profile+".tables" that of the many-table backup.
	Profile string
	Logger  *slog.Logger
}

// Scaling is what RunScaling measured.
type Scaling struct {
	Partitions   int
	PlanTime     time.Duration // job created → snapshot finished (shard planning)
	TotalTime    time.Duration // BACKUP accepted → FINISHED
	CPU          time.Duration // this process's CPU during the backup (harness, Lambdas, emulators)
	ServerCPU    time.Duration // the MariaDB server's CPU during the backup
	MaxPayload   int           // largest state input/output in the execution history, bytes
	MaxPayloadAt string        // the event that carried it
	Events       int           // execution history events
	OneRow       []time.Duration
	// Tables is the whole-database run's (nil if left out), and
	// TablesRestore the RESTORE of its snapshot into a new database.
	Tables        *TablesRun
	TablesRestore *RestoreRun
	// MaxItem is the largest DynamoDB item after both runs, bytes, and
	// which item it is.
	MaxItem   int
	MaxItemAt string
}

// TablesRun is the whole-database backup of many one-row tables.
type TablesRun struct {
	Tables       int
	PlanTime     time.Duration
	TotalTime    time.Duration
	CPU          time.Duration
	ServerCPU    time.Duration
	MaxPayload   int
	MaxPayloadAt string
	Events       int
}

// RestoreRun is the RESTORE of the many-table snapshot into a new database.
type RestoreRun struct {
	Tables    int
	TotalTime time.Duration // RESTORE accepted → FINISHED and its execution ended
	// PrepareTime is job created → DOWNLOAD (shadow tables created, the
	// load planned); CommitTime is the last file loaded → FINISHED.
	PrepareTime, CommitTime time.Duration
	CPU, ServerCPU          time.Duration
	// MaxPayload is the largest state input or output of the execution and
	// of every child execution of its load Map.
	MaxPayload   int
	MaxPayloadAt string
	Children     int
	// MaxItem is the restore job's DynamoDB item, bytes.
	MaxItem int
}

// maxPartitionsPerTable keeps each table well under MariaDB's 8,192.
const maxPartitionsPerTable = 5000

// RunScaling measures a backup of many tiny partitions (planning time,
// largest Step Functions payload, history size), a whole-database backup
// of many tables, the largest DynamoDB item, and the end-to-end time of a
// 1-row backup, which is orchestration overhead.
func RunScaling(ctx context.Context, cfg ScalingConfig, w io.Writer) (*Scaling, error) {
	if cfg.Partitions == 0 {
		cfg.Partitions = 10_000
	}
	if cfg.Tables == 0 {
		cfg.Tables = 10_000
	}
	if cfg.OneRowRuns == 0 {
		cfg.OneRowRuns = 5
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv, err := mariadb.Start(ctx, mariadb.Options{
		BufferPoolSize: 1 << 30,
		ExtraArgs:      []string{"--open-files-limit=65535", "--table-open-cache=20000", "--innodb-open-files=15000", "--table-definition-cache=12000"},
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("start MariaDB: %w", err)
	}
	defer srv.Close()
	db, err := srv.Open("")
	if err != nil {
		return nil, err
	}
	defer db.Close()

	began := time.Now()
	stmts := []string{"CREATE DATABASE many", "CREATE DATABASE onerow", "CREATE DATABASE wide",
		"CREATE TABLE onerow.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO onerow.t VALUES (1, 'one')"}
	for i, left := 0, cfg.Partitions; left > 0; i++ {
		n := min(left, maxPartitionsPerTable)
		left -= n
		stmts = append(stmts,
			fmt.Sprintf("CREATE TABLE many.p%d (id INT PRIMARY KEY, v INT) PARTITION BY HASH(id) PARTITIONS %d", i, n),
			fmt.Sprintf("INSERT INTO many.p%d SELECT seq, seq FROM many.seq_1_to_%d", i, n))
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	if cfg.Tables > 0 {
		if err := createTables(ctx, db, cfg.Tables); err != nil {
			return nil, err
		}
	}
	log.Info("scaling databases ready", "partitions", cfg.Partitions, "tables", cfg.Tables, "took", time.Since(began))

	srb, err := startSrbackup(ctx, srv, log)
	if err != nil {
		return nil, err
	}
	defer srb.Close()

	res := &Scaling{Partitions: cfg.Partitions}
	stopProfile := func() {}
	if cfg.Profile != "" {
		f, err := os.Create(cfg.Profile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		stopProfile = pprof.StopCPUProfile
	}
	m, err := srb.measureBackup(ctx, srv, `BACKUP DATABASE many SNAPSHOT many1 TO bench PROPERTIES ("parallelism" = "4")`)
	stopProfile()
	if err != nil {
		return nil, fmt.Errorf("backup of %d partitions: %w", cfg.Partitions, err)
	}
	res.PlanTime, res.TotalTime, res.CPU, res.ServerCPU = m.PlanTime, m.TotalTime, m.CPU, m.ServerCPU
	res.Events, res.MaxPayload, res.MaxPayloadAt = m.Events, m.MaxPayload, m.MaxPayloadAt
	if cfg.Tables > 0 {
		if cfg.Profile != "" {
			f, err := os.Create(cfg.Profile + ".tables")
			if err != nil {
				return nil, err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return nil, err
			}
		}
		m, err := srb.measureBackup(ctx, srv, `BACKUP DATABASE wide SNAPSHOT wide1 TO bench PROPERTIES ("parallelism" = "4")`)
		stopProfile()
		if err != nil {
			return nil, fmt.Errorf("backup of %d tables: %w", cfg.Tables, err)
		}
		m.Tables = cfg.Tables
		res.Tables = m
		if res.TablesRestore, err = srb.measureRestore(ctx, srv, "wide1", "wide", "wide_r"); err != nil {
			return nil, fmt.Errorf("restore of %d tables: %w", cfg.Tables, err)
		}
		res.TablesRestore.Tables = cfg.Tables
	}
	if res.MaxItem, res.MaxItemAt, err = srb.largestItem(ctx, ""); err != nil {
		return nil, err
	}
	for i := range cfg.OneRowRuns {
		start := time.Now()
		if _, err := srb.runBackup(ctx, fmt.Sprintf("BACKUP DATABASE onerow SNAPSHOT one%d TO bench", i), 10*time.Minute); err != nil {
			return nil, fmt.Errorf("1-row backup: %w", err)
		}
		res.OneRow = append(res.OneRow, time.Since(start))
	}
	res.Write(w)
	return res, nil
}

// createTables creates n one-row tables wide.t00000 … over 4 connections,
// in the system tablespace: a file per table would take the server past
// this machine's limit of open files, beside the partitions' files.
func createTables(ctx context.Context, db *sql.DB, n int) error {
	if _, err := db.ExecContext(ctx, "SET GLOBAL innodb_file_per_table = OFF"); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	const conns = 4
	for c := range conns {
		g.Go(func() error {
			for i := c; i < n; i += conns {
				for _, q := range []string{
					fmt.Sprintf("CREATE TABLE wide.t%05d (id INT PRIMARY KEY, v INT)", i),
					fmt.Sprintf("INSERT INTO wide.t%05d VALUES (%d, %d)", i, i, i),
				} {
					if _, err := db.ExecContext(ctx, q); err != nil {
						return fmt.Errorf("%s: %w", q, err)
					}
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// measureBackup runs one BACKUP and measures it: times, this process's and
// the server's CPU, and its execution history.
func (e *srbackupEnv) measureBackup(ctx context.Context, srv *mariadb.Server, text string) (*TablesRun, error) {
	var j *api.Job
	m := &TablesRun{}
	err := measureCPU(srv, &m.TotalTime, &m.CPU, &m.ServerCPU, func() (err error) {
		j, err = e.runBackup(ctx, text, time.Hour)
		return err
	})
	if err != nil {
		return nil, err
	}
	if j.SnapshotFinishedTime != nil {
		m.PlanTime = j.SnapshotFinishedTime.Sub(j.CreateTime)
	}
	if m.Events, m.MaxPayload, m.MaxPayloadAt, err = history(ctx, e.sfn, j.ExecutionARN); err != nil {
		return nil, err
	}
	return m, nil
}

// measureCPU runs fn and sets how long it took, this process's CPU (user
// and system) and the MariaDB server's CPU meanwhile.
func measureCPU(srv *mariadb.Server, elapsed, cpu, serverCPU *time.Duration, fn func() error) error {
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	serverBefore, _ := procCPU(srv.Pid())
	start := time.Now()
	if err := fn(); err != nil {
		return err
	}
	*elapsed = time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	serverAfter, _ := procCPU(srv.Pid())
	*cpu = time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	*serverCPU = serverAfter - serverBefore
	return nil
}

// measureRestore restores snapshot label of database into a new database
// into at parallelism 4 and measures it: times, CPU, the largest payload of
// the execution and of its Map's children, and the job's item.
func (e *srbackupEnv) measureRestore(ctx context.Context, srv *mariadb.Server, label, database, into string) (*RestoreRun, error) {
	ts, err := e.snapshotTimestamp(ctx, label)
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf(`RESTORE SNAPSHOT %s FROM bench DATABASE %s AS %s PROPERTIES ("backup_timestamp" = "%s", "parallelism" = "4")`, label, database, into, ts)
	var j *api.RestoreJob
	m := &RestoreRun{}
	err = measureCPU(srv, &m.TotalTime, &m.CPU, &m.ServerCPU, func() (err error) {
		j, err = e.runRestoreEvery(ctx, q, 2*time.Hour, time.Second)
		return err
	})
	if err != nil {
		return nil, err
	}
	if j.SnapshotFinishedTime != nil {
		m.PrepareTime = j.SnapshotFinishedTime.Sub(j.CreateTime)
	}
	if j.DownloadFinishedTime != nil && j.FinishedTime != nil {
		m.CommitTime = j.FinishedTime.Sub(*j.DownloadFinishedTime)
	}
	kids, err := children(ctx, e.sfn, j.ExecutionARN)
	if err != nil {
		return nil, err
	}
	arns := append([]string{j.ExecutionARN}, kids...)
	m.Children = len(arns) - 1
	for _, arn := range arns {
		// A read of a history may meet a connection the local server just
		// closed (its keep-alive timeout): read it again.
		var n int
		var at string
		for try := 0; ; try++ {
			if _, n, at, err = history(ctx, e.sfn, arn); err == nil || try == 2 {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		if n > m.MaxPayload {
			m.MaxPayload, m.MaxPayloadAt = n, at
		}
	}
	if m.MaxItem, _, err = e.largestItem(ctx, "JOB#"+j.JobID); err != nil {
		return nil, err
	}
	return m, nil
}

// largestItem scans the job table for its largest item, as DynamoDB counts
// item sizes.
func (e *srbackupEnv) largestItem(ctx context.Context, pk string) (int, string, error) {
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return 0, "", err
	}
	most, at := 0, ""
	p := dynamodb.NewScanPaginator(dynamodb.NewFromConfig(cfg), &dynamodb.ScanInput{TableName: aws.String(e.stack.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, "", fmt.Errorf("scan job table: %w", err)
		}
		for _, it := range page.Items {
			if p, _ := it[jobstore.AttrPK].(*ddbtypes.AttributeValueMemberS); pk != "" && (p == nil || p.Value != pk) {
				continue
			}
			if n := jobstore.ItemSize(it); n > most {
				most = n
				pk, _ := it[jobstore.AttrPK].(*ddbtypes.AttributeValueMemberS)
				sk, _ := it[jobstore.AttrSK].(*ddbtypes.AttributeValueMemberS)
				if pk != nil && sk != nil {
					at = pk.Value + " " + sk.Value
				}
			}
		}
	}
	return most, at, nil
}

// Write prints the scaling results and their summary lines.
func (s *Scaling) Write(w io.Writer) {
	sorted := slices.Sorted(slices.Values(s.OneRow))
	med := sorted[(len(sorted)-1)/2]
	fmt.Fprintf(w, "scaling: %d one-row partitions: shard planning %.2f s (job created → snapshot finished), backup %.2f s end to end (CPU: this process %.1f s, MariaDB %.1f s); %d history events; largest state payload %d bytes (%s)\n",
		s.Partitions, s.PlanTime.Seconds(), s.TotalTime.Seconds(), s.CPU.Seconds(), s.ServerCPU.Seconds(), s.Events, s.MaxPayload, s.MaxPayloadAt)
	maxPayload := s.MaxPayload
	tables, tablesS, tablesPlanS := 0, 0.0, 0.0
	if t := s.Tables; t != nil {
		fmt.Fprintf(w, "scaling: whole database of %d one-row tables: planning %.2f s, backup %.2f s end to end (CPU: this process %.1f s, MariaDB %.1f s); %d history events; largest state payload %d bytes (%s)\n",
			t.Tables, t.PlanTime.Seconds(), t.TotalTime.Seconds(), t.CPU.Seconds(), t.ServerCPU.Seconds(), t.Events, t.MaxPayload, t.MaxPayloadAt)
		maxPayload = max(maxPayload, t.MaxPayload)
		tables, tablesS, tablesPlanS = t.Tables, t.TotalTime.Seconds(), t.PlanTime.Seconds()
	}
	restoreS, restorePayload, restoreItem := 0.0, 0, 0
	if r := s.TablesRestore; r != nil {
		fmt.Fprintf(w, "scaling: RESTORE of the %d-table snapshot into a new database: prepare %.2f s (job created → DOWNLOAD), commit %.2f s, %.2f s end to end (CPU: this process %.1f s, MariaDB %.1f s); %d child executions; largest state payload %d bytes (%s); job item %d bytes\n",
			r.Tables, r.PrepareTime.Seconds(), r.CommitTime.Seconds(), r.TotalTime.Seconds(), r.CPU.Seconds(), r.ServerCPU.Seconds(), r.Children, r.MaxPayload, r.MaxPayloadAt, r.MaxItem)
		restoreS, restorePayload, restoreItem = r.TotalTime.Seconds(), r.MaxPayload, r.MaxItem
	}
	fmt.Fprintf(w, "scaling: largest DynamoDB item %d bytes (%s)\n", s.MaxItem, s.MaxItemAt)
	fmt.Fprintf(w, "scaling: 1-row backup end to end: median %.3f s over %d runs %v\n", med.Seconds(), len(s.OneRow), s.OneRow)
	fmt.Fprintf(w, "BENCH_SCALING partitions=%d plan_s=%.3f backup_s=%.3f history_events=%d max_payload_bytes=%d one_row_s=%.3f\n",
		s.Partitions, s.PlanTime.Seconds(), s.TotalTime.Seconds(), s.Events, s.MaxPayload, med.Seconds())
	fmt.Fprintf(w, "SCALING partitions=%d backup_s=%.3f plan_s=%.3f max_payload_bytes=%d max_item_bytes=%d tables=%d tables_backup_s=%.3f tables_plan_s=%.3f backup_cpu_s=%.1f server_cpu_s=%.1f tables_restore_s=%.3f restore_max_payload_bytes=%d restore_max_item_bytes=%d\n",
		s.Partitions, s.TotalTime.Seconds(), s.PlanTime.Seconds(), maxPayload, s.MaxItem, tables, tablesS, tablesPlanS, s.CPU.Seconds(), s.ServerCPU.Seconds(), restoreS, restorePayload, restoreItem)
}

// history counts an execution's events and finds its largest state
// input, output or task parameters.
func history(ctx context.Context, c *sfn.Client, arn string) (events, maxLen int, maxAt string, err error) {
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, "", fmt.Errorf("execution history: %w", err)
		}
		for _, ev := range page.Events {
			events++
			for _, s := range payloads(ev) {
				if len(s) > maxLen {
					maxLen, maxAt = len(s), string(ev.Type)
					if ev.StateEnteredEventDetails != nil {
						maxAt += " " + aws.ToString(ev.StateEnteredEventDetails.Name)
					}
					if ev.StateExitedEventDetails != nil {
						maxAt += " " + aws.ToString(ev.StateExitedEventDetails.Name)
					}
				}
			}
		}
	}
	return events, maxLen, maxAt, nil
}

func payloads(ev sfntypes.HistoryEvent) []string {
	var out []string
	if d := ev.ExecutionStartedEventDetails; d != nil {
		out = append(out, aws.ToString(d.Input))
	}
	if d := ev.ExecutionSucceededEventDetails; d != nil {
		out = append(out, aws.ToString(d.Output))
	}
	if d := ev.StateEnteredEventDetails; d != nil {
		out = append(out, aws.ToString(d.Input))
	}
	if d := ev.StateExitedEventDetails; d != nil {
		out = append(out, aws.ToString(d.Output))
	}
	if d := ev.TaskScheduledEventDetails; d != nil {
		out = append(out, aws.ToString(d.Parameters))
	}
	if d := ev.TaskSucceededEventDetails; d != nil {
		out = append(out, aws.ToString(d.Output))
	}
	if d := ev.LambdaFunctionScheduledEventDetails; d != nil {
		out = append(out, aws.ToString(d.Input))
	}
	if d := ev.LambdaFunctionSucceededEventDetails; d != nil {
		out = append(out, aws.ToString(d.Output))
	}
	return out
}
