package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/job"
)

// runWait is `srbackup wait <jobId>`: a progress bar until the job (a
// BACKUP or a RESTORE) ends.
// Exit code 0 only for FINISHED; 1 for CANCELLED or an error.
func runWait(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	fs.SetOutput(std.err)
	var ef endpointFlags
	fs.StringVar(&ef.endpoint, "endpoint", "", "API endpoint (default $SRBACKUP_ENDPOINT)")
	fs.BoolVar(&ef.local, "local", false, "talk to `srbackup local up`")
	interval := fs.Duration("interval", time.Second, "how often to poll")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: srbackup wait [flags] <jobId>\n\nShows a job's progress until it ends; exits 0 only when it FINISHED.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 || *interval <= 0 {
		fs.Usage()
		return 2
	}
	c, err := newClient(ctx, ef)
	if err != nil {
		fmt.Fprintln(std.err, "srbackup wait:", err)
		return 1
	}
	var meter rateMeter
	for {
		j, err := c.getJob(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintln(std.err, "\nsrbackup wait:", err)
			return 1
		}
		fmt.Fprint(std.err, "\r"+meter.line(j, time.Now())+"\x1b[K")
		if j.State.IsFinal() {
			fmt.Fprintln(std.err)
			fmt.Fprintf(std.out, "%s %s %s\n", j.JobID, j.State, j.Status)
			if j.State == job.Finished {
				return 0
			}
			return 1
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(std.err)
			return 130
		case <-time.After(*interval):
		}
	}
}

// rateMeter turns successive job readings into a rate and an ETA.
type rateMeter struct {
	start      time.Time
	startBytes int64
}

const barWidth = 30

// line formats one progress line: state, bar, shards, bytes and rows read
// (of totals corrected as shards are read), rate, ETA.
func (m *rateMeter) line(j api.Job, now time.Time) string {
	p := j.Progress
	if m.start.IsZero() {
		m.start, m.startBytes = now, p.BytesDone
	}
	frac := 0.0
	switch {
	case p.BytesTotal > 0:
		frac = float64(p.BytesDone) / float64(p.BytesTotal)
	case p.ShardsTotal > 0:
		frac = float64(p.ShardsDone) / float64(p.ShardsTotal)
	}
	if j.State == job.Finished {
		frac = 1
	}
	frac = min(max(frac, 0), 1)
	filled := int(frac * barWidth)
	bar := strings.Repeat("#", filled) + strings.Repeat("-", barWidth-filled)
	unit := "shards"
	if j.Restore {
		unit = "files"
	}
	s := fmt.Sprintf("%-15s [%s] %3.0f%%  %d/%d %s  %s/%s", j.State, bar, frac*100,
		p.ShardsDone, p.ShardsTotal, unit, humanBytes(p.BytesDone), humanBytes(p.BytesTotal))
	if !j.Restore {
		s += fmt.Sprintf("  %d/%d rows", p.RowsDone, p.RowsTotal)
	}
	if el := now.Sub(m.start).Seconds(); el >= 1 && p.BytesDone > m.startBytes {
		rate := float64(p.BytesDone-m.startBytes) / el
		s += fmt.Sprintf("  %s/s", humanBytes(int64(rate)))
		if left := p.BytesTotal - p.BytesDone; left > 0 && !j.State.IsFinal() {
			s += "  ETA " + time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second).String()
		}
	}
	return s
}

// humanBytes formats n with binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
