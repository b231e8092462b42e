package pipeline

import (
	"context"
	"time"

	"github.com/srbackup/srbackup/shared/jobstore"
)

// DefaultProgressEvery is how often, at most, an upload worker reports how
// far it has read the shard in hand (Pipeline.ProgressEvery): SHOW BACKUP's
// Progress and `srbackup wait` move while a large shard is read, for one
// small DynamoDB write per worker every few seconds.
const DefaultProgressEvery = 5 * time.Second

// progressTimeout bounds one report: a slow report must not hold the read.
const progressTimeout = 2 * time.Second

// The clock is looked at only every progressCheckRows rows or
// progressCheckBytes bytes, so counting rows stays cheap.
const (
	progressCheckRows  = 1024
	progressCheckBytes = 1 << 20
)

// readProgress reports, for one worker, the bytes and rows read so far of
// the shard piece in hand, at most once per every; a report that fails is
// only logged: progress is a display.
type readProgress struct {
	worker int
	every  time.Duration
	now    func() time.Time
	last   time.Time
	report func(shard, piece int, bytes, rows int64)

	// since the clock was last looked at
	rows, bytes int64
}

// newReadProgress is worker's reporter into the job store; nil when the
// pipeline has reporting off (ProgressEvery < 0).
func (p *Pipeline) newReadProgress(ctx context.Context, jobID string, worker int) *readProgress {
	every := p.ProgressEvery
	if every < 0 {
		return nil
	}
	if every == 0 {
		every = DefaultProgressEvery
	}
	return &readProgress{worker: worker, every: every, now: p.now, last: p.now(), report: func(shard, piece int, bytes, rows int64) {
		rctx, cancel := context.WithTimeout(ctx, progressTimeout)
		defer cancel()
		if _, err := p.Store.ReportReading(rctx, jobID, worker, shard, piece, bytes, rows); err != nil {
			p.log().Debug("report reading", "jobId", jobID, "shard", shard, "error", err.Error())
		}
	}}
}

// slot is the worker whose reading slot recording resets: none when
// nothing is reported.
func (rp *readProgress) slot() int {
	if rp == nil {
		return jobstore.NoWorker
	}
	return rp.worker
}

// read notes one row of a piece: its totals so far are bytes and rows.
func (rp *readProgress) read(shard, piece int, rowBytes, bytes, rows int64) {
	if rp == nil {
		return
	}
	rp.rows++
	rp.bytes += rowBytes
	if rp.rows < progressCheckRows && rp.bytes < progressCheckBytes {
		return
	}
	rp.rows, rp.bytes = 0, 0
	if now := rp.now(); now.Sub(rp.last) >= rp.every {
		rp.last = now
		rp.report(shard, piece, bytes, rows)
	}
}
