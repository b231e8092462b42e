package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/srbackup/srbackup/localstack/mariadb"
)

// ScalingConfig configures RunScaling.
type ScalingConfig struct {
	// Partitions is the number of tiny partitions (one row each). Zero
	// means 10,000. MariaDB allows 8,192 per table, so they are spread
	// over tables of at most 5,000.
	Partitions int
	// OneRowRuns is how many 1-row backups are timed. Zero means 5.
	OneRowRuns int
	// Profile, when set, is where a CPU profile of this process (harness,
	// Lambdas, emulators) during the many-partition backup is written.
	Profile string
	Logger  *slog.Logger
}

// Scaling is what RunScaling measured.
type Scaling struct {
	Partitions   int
	PlanTime     time.Duration // job created → snapshot finished (shard planning)
	TotalTime    time.Duration // BACKUP accepted → FINISHED
	MaxPayload   int           // largest state input/output in the execution history, bytes
	MaxPayloadAt string        // the event that carried it
	Events       int           // execution history events
	OneRow       []time.Duration
}

// maxPartitionsPerTable keeps each table well under MariaDB's 8,192.
const maxPartitionsPerTable = 5000

// RunScaling measures a backup of many tiny partitions (planning time,
// largest Step Functions payload, history size) and the end-to-end time
// of a 1-row backup, which is orchestration overhead.
func RunScaling(ctx context.Context, cfg ScalingConfig, w io.Writer) (*Scaling, error) {
	if cfg.Partitions == 0 {
		cfg.Partitions = 10_000
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
		ExtraArgs:      []string{"--open-files-limit=65535", "--table-open-cache=20000", "--innodb-open-files=20000"},
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
	stmts := []string{"CREATE DATABASE many", "CREATE DATABASE onerow",
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
	log.Info("scaling databases ready", "partitions", cfg.Partitions, "took", time.Since(began))

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
	start := time.Now()
	j, err := srb.runBackup(ctx, `BACKUP DATABASE many SNAPSHOT many1 TO bench PROPERTIES ("parallelism" = "4")`, time.Hour)
	stopProfile()
	if err != nil {
		return nil, fmt.Errorf("backup of %d partitions: %w", cfg.Partitions, err)
	}
	res.TotalTime = time.Since(start)
	if j.SnapshotFinishedTime != nil {
		res.PlanTime = j.SnapshotFinishedTime.Sub(j.CreateTime)
	}
	if res.Events, res.MaxPayload, res.MaxPayloadAt, err = history(ctx, srb.sfn, j.ExecutionARN); err != nil {
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

// Write prints the scaling results and their summary line.
func (s *Scaling) Write(w io.Writer) {
	sorted := slices.Sorted(slices.Values(s.OneRow))
	med := sorted[(len(sorted)-1)/2]
	fmt.Fprintf(w, "scaling: %d one-row partitions: shard planning %.2f s (job created → snapshot finished), backup %.2f s end to end; %d history events; largest state payload %d bytes (%s)\n",
		s.Partitions, s.PlanTime.Seconds(), s.TotalTime.Seconds(), s.Events, s.MaxPayload, s.MaxPayloadAt)
	fmt.Fprintf(w, "scaling: 1-row backup end to end: median %.3f s over %d runs %v\n", med.Seconds(), len(s.OneRow), s.OneRow)
	fmt.Fprintf(w, "BENCH_SCALING partitions=%d plan_s=%.3f backup_s=%.3f history_events=%d max_payload_bytes=%d one_row_s=%.3f\n",
		s.Partitions, s.PlanTime.Seconds(), s.TotalTime.Seconds(), s.Events, s.MaxPayload, med.Seconds())
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
