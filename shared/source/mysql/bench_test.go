package mysql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/srbackup/srbackup/localstack/fixture"
	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/parquetio/parquettest"
	"github.com/srbackup/srbackup/shared/source"
	"github.com/srbackup/srbackup/shared/source/mysql"
)

// The benchmarks read the fixture's sample shop database, generated once
// per test binary with SRBACKUP_BENCH_BYTES bytes (default 256 MiB; the
// numbers in the README use 1 GiB):
//
//	SRBACKUP_BENCH_BYTES=1073741824 go test ./shared/source/mysql -run '^$' -bench . -benchtime 1x -timeout 1h

const benchTable = "orders"

var bench struct {
	once sync.Once
	srv  string // DSN without a database
	db   string
	res  *fixture.Result
	err  error
}

// benchFixture generates (once) and returns the benchmark database.
func benchFixture(b *testing.B) (dsn, db string, res *fixture.Result) {
	b.Helper()
	srv := server.Server(b)
	bench.once.Do(func() {
		size := int64(256 << 20)
		if s := os.Getenv("SRBACKUP_BENCH_BYTES"); s != "" {
			if size, bench.err = strconv.ParseInt(s, 10, 64); bench.err != nil {
				return
			}
		}
		bench.db = fmt.Sprintf("bench_%d", size>>20)
		pool, err := srv.Open("")
		if err != nil {
			bench.err = err
			return
		}
		defer pool.Close()
		began := time.Now()
		bench.res, bench.err = fixture.Generate(context.Background(), pool, fixture.Options{
			Database: bench.db, SizeBytes: size, Seed: 1, DropExisting: true,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		})
		if bench.err == nil {
			b.Logf("fixture %s: %d MiB of data in %v", bench.db, bench.res.DataBytes>>20, time.Since(began).Round(time.Second))
		}
		bench.srv = srv.DSN("")
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.srv, bench.db, bench.res
}

// BenchmarkReadEncode measures one worker: read every shard of the
// fixture's largest table (orders, 60% of the data, 27 RANGE partitions)
// and encode Parquet into io.Discard. MB/s is source data as canonical
// text; disk-MB/s is InnoDB's data_length.
func BenchmarkReadEncode(b *testing.B) {
	dsn, db, res := benchFixture(b)
	ctx := context.Background()
	src, err := mysql.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	stats, ok := res.Table(benchTable)
	if !ok {
		b.Fatalf("fixture has no %s table", benchTable)
	}
	parts, err := src.Partitions(ctx, db, benchTable)
	if err != nil {
		b.Fatal(err)
	}
	var shards []source.Shard
	for _, p := range parts {
		s, err := src.PlanShards(ctx, db, benchTable, p.Name, 256<<20)
		if err != nil {
			b.Fatal(err)
		}
		shards = append(shards, s...)
	}
	pid := server.Server(b).Pid() // 0 for an existing server: no server CPU then
	for _, mode := range []string{"zstd", "snappy", "read-only"} {
		b.Run(mode, func(b *testing.B) {
			var total parquetio.Stats
			cpu, serverCPU := parquettest.CPUTime(), parquettest.ProcessCPUTime(pid)
			for b.Loop() {
				total = parquetio.Stats{}
				for _, sh := range shards {
					s, err := readShard(ctx, src, sh, mode)
					if err != nil {
						b.Fatal(err)
					}
					total.Rows += s.Rows
					total.SourceBytes += s.SourceBytes
					total.ParquetBytes += s.ParquetBytes
				}
			}
			b.SetBytes(total.SourceBytes)
			mb := float64(total.SourceBytes) * float64(b.N) / 1e6
			b.ReportMetric(mb/(parquettest.CPUTime()-cpu).Seconds(), "MB/cpu-s")
			if pid != 0 {
				b.ReportMetric(mb/(parquettest.ProcessCPUTime(pid)-serverCPU).Seconds(), "MB/server-cpu-s")
			}
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(stats.DataBytes)/(1<<20)/perOp, "disk-MB/s")
			b.ReportMetric(float64(total.SourceBytes)/(1<<20), "source-MiB")
			b.ReportMetric(float64(stats.DataBytes)/(1<<20), "data_length-MiB")
			if mode != "read-only" {
				b.ReportMetric(float64(total.ParquetBytes)/float64(total.SourceBytes), "parquet/source")
				b.ReportMetric(float64(total.ParquetBytes)/float64(stats.DataBytes), "parquet/data_length")
			}
		})
	}
}

// readShard reads one shard and encodes it (or only reads it).
func readShard(ctx context.Context, src *mysql.Source, sh source.Shard, mode string) (parquetio.Stats, error) {
	rows, err := src.OpenShard(ctx, sh)
	if err != nil {
		return parquetio.Stats{}, err
	}
	defer rows.Close()
	if mode == "read-only" {
		var s parquetio.Stats
		for rows.Next() {
			s.Rows++
			for _, v := range rows.Values() {
				s.SourceBytes += int64(len(v))
			}
		}
		return s, rows.Err()
	}
	_, s, err := parquetio.Copy(ctx, io.Discard, rows, parquetio.Options{Compression: mode})
	if err != nil {
		return s, err
	}
	return s, rows.Close()
}

// BenchmarkWorkerRSS measures the peak resident memory of a worker process
// that reads one big shard — the fixture's orders copied into one
// unpartitioned table — and encodes it into io.Discard.
func BenchmarkWorkerRSS(b *testing.B) {
	dsn, db, _ := benchFixture(b)
	ctx := context.Background()
	src, err := mysql.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	flat := benchTable + "_flat"
	if _, err := src.Partitions(ctx, db, flat); err != nil {
		pool, err := server.Server(b).Open(db)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		for _, s := range []string{
			"CREATE TABLE " + q(flat) + " LIKE " + q(benchTable),
			"ALTER TABLE " + q(flat) + " REMOVE PARTITIONING",
			"INSERT INTO " + q(flat) + " SELECT * FROM " + q(benchTable),
			"ANALYZE TABLE " + q(flat),
		} {
			if _, err := pool.ExecContext(ctx, s); err != nil {
				b.Fatalf("%s: %v", s, err)
			}
		}
	}
	shards, err := src.PlanShards(ctx, db, flat, flat, 1<<40) // one shard, however big
	if err != nil {
		b.Fatal(err)
	}
	var res childResult
	for b.Loop() {
		res = runChild(b, childJob{DSN: dsn, Shard: shards[0]})
	}
	b.SetBytes(res.SourceBytes)
	b.ReportMetric(float64(res.PeakRSS)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(res.SourceBytes)/(1<<20), "shard-MiB")
	b.ReportMetric(float64(res.ParquetBytes)/float64(res.SourceBytes), "parquet/source")
	b.ReportMetric(float64(res.SourceBytes)/1e6/time.Duration(res.CPU).Seconds(), "MB/cpu-s")
}

// childEnv marks the test binary re-run as a worker (see TestMain).
const childEnv = "SRBACKUP_BENCH_WORKER"

type childJob struct {
	DSN   string       `json:"dsn"`
	Shard source.Shard `json:"shard"`
}

type childResult struct {
	Rows         int64 `json:"rows"`
	SourceBytes  int64 `json:"source_bytes"`
	ParquetBytes int64 `json:"parquet_bytes"`
	PeakRSS      int64 `json:"peak_rss"`
	CPU          int64 `json:"cpu_ns"`
}

// runChild runs one shard in a fresh process, so that its peak RSS is the
// worker's alone. The job goes through stdin, not the environment.
func runChild(b *testing.B, job childJob) childResult {
	b.Helper()
	in, err := json.Marshal(job)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdin = bytes.NewReader(in)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("worker: %v\n%s", err, errOut.String())
	}
	var res childResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		b.Fatalf("worker output %q: %v", out.String(), err)
	}
	return res
}

// worker is the child process: it reads the job from stdin, reads and
// encodes the shard, and prints a childResult.
func worker() int {
	var job childJob
	if err := json.NewDecoder(os.Stdin).Decode(&job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	src, err := mysql.Open(ctx, job.DSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer src.Close()
	s, err := readShard(ctx, src, job.Shard, parquetio.CompressionZstd)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res := childResult{Rows: s.Rows, SourceBytes: s.SourceBytes, ParquetBytes: s.ParquetBytes,
		PeakRSS: parquettest.PeakRSS(), CPU: int64(parquettest.CPUTime())}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}
