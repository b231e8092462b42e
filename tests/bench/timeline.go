package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/pprof/profile"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/shared/pipeline"
)

// A timeline is where the wall time and the CPU of one srbackup job went
// (Config.Timeline): the API call, every state of the execution and of its
// Distributed Map's child executions, every Lambda invocation with its CPU,
// every file an upload worker wrote, and the CPU of each part of the local
// stack. It comes from an extra, untimed run under a CPU profile, so the
// measured runs are not disturbed.
type timeline struct {
	kind        string // "backup" or "restore"
	parallelism int

	t0, accepted, seen time.Time // request sent, answered, job seen ended
	polls              int
	wall, cpu          time.Duration // the run, this process's CPU
	nodeCPU, serverCPU time.Duration // Step Functions server, MariaDB server
	boxCPU, ioWait     time.Duration // every process on the machine, idle waiting for I/O (/proc/stat)
	execs              []execSpan    // the execution, then its children by start
	invocations        []localstack.Invocation
	pieces             []pieceRec
	cpuBy              map[string]time.Duration // by part of the stack (cpuPart)
	cpuOf              map[string]time.Duration // by invocation id
	profile            string                   // where the CPU profile was kept, "" if not
}

// execSpan is one execution and its states.
type execSpan struct {
	name        string
	start, stop time.Time
	states      []stateSpan
}

type stateSpan struct {
	name, typ       string
	entered, exited time.Time
}

// pieceRec is one file an upload worker wrote (pipeline.PieceWritten).
type pieceRec struct {
	batch, shard, piece   int
	table, partition      string
	rows, src, est, bytes int64
	began                 time.Time
	took                  time.Duration
}

// tracer collects a traced job's invocations and pieces while it is on.
type tracer struct {
	mu sync.Mutex
	tl *timeline // nil: off
}

func (t *tracer) active() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tl != nil
}

func (t *tracer) with(f func(*timeline)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tl != nil {
		f(t.tl)
	}
}

// begin, accept and poll mark the harness's side of a job (no-ops when off).
func (t *tracer) begin()  { t.with(func(tl *timeline) { tl.t0 = time.Now() }) }
func (t *tracer) accept() { t.with(func(tl *timeline) { tl.accepted = time.Now() }) }
func (t *tracer) poll()   { t.with(func(tl *timeline) { tl.polls++; tl.seen = time.Now() }) }

func (t *tracer) invoked(inv localstack.Invocation) {
	t.with(func(tl *timeline) { tl.invocations = append(tl.invocations, inv) })
}

// tapHandler passes records on as before and, while tracing, takes the
// upload workers' PieceWritten records (Debug) for the timeline.
type tapHandler struct {
	slog.Handler
	t *tracer
}

func (h tapHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, l) || l >= slog.LevelDebug && h.t.active()
}

func (h tapHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == pipeline.PieceWritten {
		p := pieceRec{}
		r.Attrs(func(a slog.Attr) bool {
			v := a.Value
			switch a.Key {
			case "batch":
				p.batch = int(v.Int64())
			case "shard":
				p.shard = int(v.Int64())
			case "piece":
				p.piece = int(v.Int64())
			case "table":
				p.table = v.String()
			case "partition":
				p.partition = v.String()
			case "rows":
				p.rows = v.Int64()
			case "sourceBytes":
				p.src = v.Int64()
			case "estBytes":
				p.est = v.Int64()
			case "fileBytes":
				p.bytes = v.Int64()
			case "began":
				p.began = v.Time()
			case "ms":
				p.took = time.Duration(v.Int64()) * time.Millisecond
			}
			return true
		})
		h.t.with(func(tl *timeline) { tl.pieces = append(tl.pieces, p) })
	}
	if h.Handler.Enabled(ctx, r.Level) {
		return h.Handler.Handle(ctx, r)
	}
	return nil
}

func (h tapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return tapHandler{h.Handler.WithAttrs(as), h.t}
}

func (h tapHandler) WithGroup(name string) slog.Handler {
	return tapHandler{h.Handler.WithGroup(name), h.t}
}

// harnessLabel marks the harness's own goroutine (requests, polling).
const harnessLabel = "harness"

// traced runs job (a backup or restore returning its execution ARN) once
// under a CPU profile and returns its timeline.
func (e *srbackupEnv) traced(ctx context.Context, kind string, parallelism, serverPID int, job func(context.Context) (string, error)) (*timeline, error) {
	tl := &timeline{kind: kind, parallelism: parallelism}
	runtime.GC()
	nodeBefore, _ := procCPU(e.stack.StepFunctionsPID())
	serverBefore, _ := procCPU(serverPID)
	boxBefore, waitBefore := boxCPU()
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		return nil, err
	}
	e.trace.mu.Lock()
	e.trace.tl = tl
	e.trace.mu.Unlock()
	var arn string
	s, err := measureInProcess(func() (int64, error) {
		var err error
		pprof.Do(ctx, pprof.Labels(localstack.ServiceLabel, harnessLabel), func(ctx context.Context) { arn, err = job(ctx) })
		return 0, err
	})
	e.trace.mu.Lock()
	e.trace.tl = nil
	e.trace.mu.Unlock()
	pprof.StopCPUProfile()
	if err != nil {
		return nil, err
	}
	nodeAfter, _ := procCPU(e.stack.StepFunctionsPID())
	serverAfter, _ := procCPU(serverPID)
	boxAfter, waitAfter := boxCPU()
	tl.boxCPU, tl.ioWait = boxAfter-boxBefore, waitAfter-waitBefore
	tl.wall, tl.cpu, tl.nodeCPU, tl.serverCPU = s.Wall, s.CPU, nodeAfter-nodeBefore, serverAfter-serverBefore
	if tl.execs, err = e.executionTree(ctx, arn); err != nil {
		return nil, err
	}
	// Kept for `go tool pprof -tagfocus function=upload …`.
	f := filepath.Join(os.TempDir(), fmt.Sprintf("srbench-timeline-%s-p%d.pprof", kind, parallelism))
	if os.WriteFile(f, prof.Bytes(), 0o644) == nil {
		tl.profile = f
	}
	if tl.cpuBy, tl.cpuOf, err = cpuByPart(&prof); err != nil {
		return nil, fmt.Errorf("read the CPU profile: %w", err)
	}
	return tl, nil
}

// executionTree is the execution arn and its Map Runs' children, each
// with its states, the children by start.
func (e *srbackupEnv) executionTree(ctx context.Context, arn string) ([]execSpan, error) {
	parent, err := e.execution(ctx, arn, "execution")
	if err != nil {
		return nil, err
	}
	kids, err := children(ctx, e.sfn, arn)
	if err != nil {
		return nil, err
	}
	var spans []execSpan
	for _, k := range kids {
		ch, err := e.execution(ctx, k, "child")
		if err != nil {
			return nil, err
		}
		spans = append(spans, ch)
	}
	slices.SortFunc(spans, func(a, b execSpan) int { return a.start.Compare(b.start) })
	for i := range spans {
		spans[i].name = fmt.Sprintf("child %d of %d", i+1, len(spans))
	}
	return append([]execSpan{parent}, spans...), nil
}

// execution reads one execution's span and pairs its states' events.
func (e *srbackupEnv) execution(ctx context.Context, arn, name string) (execSpan, error) {
	d, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return execSpan{}, fmt.Errorf("describe %s: %w", arn, err)
	}
	out := execSpan{name: name, start: aws.ToTime(d.StartDate), stop: aws.ToTime(d.StopDate)}
	var open []int // indexes in out.states of states not exited yet
	p := sfn.NewGetExecutionHistoryPaginator(e.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return execSpan{}, fmt.Errorf("history of %s: %w", arn, err)
		}
		for _, ev := range page.Events {
			typ, at := string(ev.Type), aws.ToTime(ev.Timestamp)
			switch {
			case strings.HasSuffix(typ, "StateEntered") && ev.StateEnteredEventDetails != nil:
				open = append(open, len(out.states))
				out.states = append(out.states, stateSpan{name: aws.ToString(ev.StateEnteredEventDetails.Name), typ: strings.TrimSuffix(typ, "StateEntered"), entered: at})
			case strings.HasSuffix(typ, "StateExited") && ev.StateExitedEventDetails != nil:
				name := aws.ToString(ev.StateExitedEventDetails.Name)
				for i := len(open) - 1; i >= 0; i-- {
					if out.states[open[i]].name == name {
						out.states[open[i]].exited = at
						open = slices.Delete(open, i, i+1)
						break
					}
				}
			}
		}
	}
	return out, nil
}

// cpuByPart sums a CPU profile by part of the stack: each Lambda function
// ("fn <name>", and by invocation id), each in-process emulator ("s3",
// "dynamodb", …, from the server goroutines' labels), the harness, the
// garbage collector's background workers, and the rest.
func cpuByPart(prof *bytes.Buffer) (byPart, byInvocation map[string]time.Duration, err error) {
	p, err := profile.Parse(prof)
	if err != nil {
		return nil, nil, err
	}
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	byPart, byInvocation = map[string]time.Duration{}, map[string]time.Duration{}
	for _, s := range p.Sample {
		d := time.Duration(s.Value[vi])
		byPart[cpuPart(s)] += d
		if id := s.Label[localstack.InvocationLabel]; len(id) > 0 {
			byInvocation[id[0]] += d
		}
	}
	return byPart, byInvocation, nil
}

func cpuPart(s *profile.Sample) string {
	if f := s.Label[localstack.FunctionLabel]; len(f) > 0 {
		return "fn " + f[0]
	}
	if v := s.Label[localstack.ServiceLabel]; len(v) > 0 {
		return v[0]
	}
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function != nil && l.Function.Name == "runtime.gcBgMarkWorker" {
				return "gc"
			}
		}
	}
	return "other"
}

// String renders the timeline, times in seconds from the request.
func (tl *timeline) String() string {
	var b strings.Builder
	at := func(t time.Time) string {
		if t.IsZero() {
			return "      -"
		}
		return fmt.Sprintf("%7.3f", t.Sub(tl.t0).Seconds())
	}
	line := func(from, to time.Time, indent, what string) {
		took := "      -"
		if !from.IsZero() && !to.IsZero() {
			took = fmt.Sprintf("%7.3f", to.Sub(from).Seconds())
		}
		fmt.Fprintf(&b, "  %s %s %s  %s%s\n", at(from), at(to), took, indent, what)
	}
	cores := runtime.NumCPU()
	all := tl.cpu + tl.nodeCPU + tl.serverCPU
	avail := float64(cores) * tl.wall.Seconds()
	fmt.Fprintf(&b, "TIMELINE %s p=%d: wall %.3f s; CPU %.2f s = this process %.2f + Step Functions server (node) %.2f + MariaDB server %.2f; other processes %.2f; idle %.2f, of which waiting for I/O %.2f (%d cores × %.3f s = %.2f core-s)\n",
		tl.kind, tl.parallelism, tl.wall.Seconds(), all.Seconds(), tl.cpu.Seconds(), tl.nodeCPU.Seconds(), tl.serverCPU.Seconds(),
		max(tl.boxCPU-all, 0).Seconds(), max(avail-tl.boxCPU.Seconds(), 0), tl.ioWait.Seconds(), cores, tl.wall.Seconds(), avail)
	parts := slices.SortedFunc(maps.Keys(tl.cpuBy), func(a, c string) int { return cmp.Compare(tl.cpuBy[c], tl.cpuBy[a]) })
	var pb []string
	for _, k := range parts {
		pb = append(pb, fmt.Sprintf("%s %.2f", k, tl.cpuBy[k].Seconds()))
	}
	fmt.Fprintf(&b, "  this process by part (CPU profile %s): %s\n", tl.profile, strings.Join(pb, ", "))
	fmt.Fprintf(&b, "     from      to    took  what\n")
	line(tl.t0, tl.accepted, "", "POST /v1/sql answered (the API parses, prepares, locks and starts the execution)")
	inv := slices.Clone(tl.invocations)
	slices.SortFunc(inv, func(a, c localstack.Invocation) int { return a.Start.Compare(c.Start) })
	// The invocation a task state made: of those inside the state's span,
	// the first not taken by a shorter state (a Distributed Map shows as a
	// task around its children's).
	type ref struct{ x, s int }
	var tasks []ref
	for xi, x := range tl.execs {
		for si, s := range x.states {
			if s.typ == "Task" {
				tasks = append(tasks, ref{xi, si})
			}
		}
	}
	span := func(r ref) time.Duration {
		s := tl.execs[r.x].states[r.s]
		return s.exited.Sub(s.entered)
	}
	slices.SortStableFunc(tasks, func(a, c ref) int { return cmp.Compare(span(a), span(c)) })
	made := map[ref]int{}
	used := make([]bool, len(inv))
	for _, r := range tasks {
		s := tl.execs[r.x].states[r.s]
		for i, v := range inv {
			if !used[i] && !v.Start.Before(s.entered.Add(-time.Millisecond)) && (s.exited.IsZero() || !v.End.After(s.exited.Add(time.Millisecond))) {
				used[i], made[r] = true, i
				break
			}
		}
	}
	for xi, x := range tl.execs {
		line(x.start, x.stop, "", x.name)
		for si, s := range x.states {
			what := fmt.Sprintf("%s (%s)", s.name, s.typ)
			if i, ok := made[ref{xi, si}]; ok {
				v := inv[i]
				cpu := tl.cpuOf[v.RequestID]
				what += fmt.Sprintf(": %s invoked at %s, ran %.3f s, CPU %.2f s (%.0f%%)", v.Function, strings.TrimSpace(at(v.Start)),
					v.End.Sub(v.Start).Seconds(), cpu.Seconds(), 100*cpu.Seconds()/max(v.End.Sub(v.Start).Seconds(), 1e-9))
			}
			line(s.entered, s.exited, "  ", what)
		}
	}
	for i, v := range inv {
		if !used[i] && v.Function != "api" {
			line(v.Start, v.End, "", fmt.Sprintf("%s invoked outside the states above, CPU %.2f s", v.Function, tl.cpuOf[v.RequestID].Seconds()))
		}
	}
	line(tl.t0, tl.seen, "", fmt.Sprintf("the harness saw the job end (%d polls)", tl.polls))
	if len(tl.pieces) > 0 {
		fmt.Fprintf(&b, "  files written, by worker (batch), in order: est = the plan's estimate, src = bytes read, file = Parquet bytes\n")
		ps := slices.Clone(tl.pieces)
		slices.SortStableFunc(ps, func(a, c pieceRec) int { return cmp.Or(cmp.Compare(a.batch, c.batch), a.began.Compare(c.began)) })
		for _, p := range ps {
			line(p.began, p.began.Add(p.took), "", fmt.Sprintf("worker %d shard %d.%d %s %s: %d rows, est %.1f MB, src %.1f MB, file %.1f MB",
				p.batch, p.shard, p.piece, p.table, p.partition, p.rows, MB(p.est), MB(p.src), MB(p.bytes)))
		}
	}
	return b.String()
}

// traceBackup is one traced, untimed backup at parallelism p.
func (e *srbackupEnv) traceBackup(ctx context.Context, database string, p, serverPID int) (*timeline, error) {
	label := fmt.Sprintf("bench_trace_p%d", p)
	q := fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT %s TO bench PROPERTIES (\"parallelism\" = \"%d\")", quoteIdent(database), label, p)
	tl, err := e.traced(ctx, "backup", p, serverPID, func(ctx context.Context) (string, error) {
		j, err := e.runBackup(ctx, q, time.Hour)
		if err != nil {
			return "", err
		}
		return j.ExecutionARN, nil
	})
	if err != nil {
		return nil, err
	}
	prefix, err := e.repo.SnapshotPrefix(label)
	if err != nil {
		return nil, err
	}
	_, err = e.deletePrefix(ctx, prefix)
	return tl, err
}

// traceRestore is one traced, untimed restore at parallelism p into into,
// which must not exist.
func (e *srbackupEnv) traceRestore(ctx context.Context, label, ts, database, into string, p, serverPID int) (*timeline, error) {
	q := fmt.Sprintf(`RESTORE SNAPSHOT %s FROM bench DATABASE %s AS %s PROPERTIES ("backup_timestamp" = "%s", "parallelism" = "%d")`,
		label, quoteIdent(database), quoteIdent(into), ts, p)
	return e.traced(ctx, "restore", p, serverPID, func(ctx context.Context) (string, error) {
		j, err := e.runRestore(ctx, q, time.Hour)
		if err != nil {
			return "", err
		}
		return j.ExecutionARN, nil
	})
}

// boxCPU is the CPU time every process on the machine has used since boot
// and the time CPUs sat idle waiting for I/O (/proc/stat), zero where it
// cannot be read.
func boxCPU() (busy, iowait time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	var ticks, wait int64
	// user nice system idle iowait irq softirq steal: the hypervisor's steal counts as
	// other processes' (guest time is already in user).
	for i, v := range f[1:9] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3:
		case 4:
			wait = n
		default:
			ticks += n
		}
	}
	const ticksPerSecond = 100 // USER_HZ
	return time.Duration(ticks) * time.Second / ticksPerSecond, time.Duration(wait) * time.Second / ticksPerSecond
}
