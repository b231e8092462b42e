package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
)

// BatchEvent is the UploadBatch state's payload: one Map item.
type BatchEvent struct {
	Job     job.Spec `json:"job"`
	PlanKey string   `json:"planKey"`
	Batch   int      `json:"batch"`
	// Coordinate asks for the coordinator of a point-in-time job instead of
	// a batch (see Coordinate). The upload function plays it because it
	// already has exactly the access it needs: the source and the job store.
	Coordinate bool `json:"coordinate,omitempty"`
}

// BatchResult is what an UploadBatch returns (and the Map discards: the
// results live in the job store).
type BatchResult struct {
	Batch    int   `json:"batch"`
	Shards   int   `json:"shards"`
	Uploaded int   `json:"uploaded"` // shards not already recorded by an earlier attempt
	Rows     int64 `json:"rows"`
	Bytes    int64 `json:"bytes"`
}

// UploadBatch reads each shard of a batch from the source and writes it to
// the repository as one Parquet file. A shard already recorded by an earlier
// attempt is skipped, so a retried batch never duplicates a file. Before
// each shard it checks that the job is neither cancelled nor past its
// deadline, and the job's deadline bounds the whole call.
//
// In a point-in-time job a batch is one worker's share, read in one
// transaction opened inside the job's window (see uploadWorker).
func (p *Pipeline) UploadBatch(ctx context.Context, ev BatchEvent) (BatchResult, error) {
	if ev.Coordinate {
		return p.Coordinate(ctx, ev)
	}
	spec := ev.Job
	out := BatchResult{Batch: ev.Batch}
	ctx, cancel := context.WithDeadline(ctx, spec.Deadline)
	defer cancel()
	if _, err := p.Store.Active(ctx, spec.JobID); err != nil {
		return out, p.deadline(spec, err)
	}
	repo, err := p.JobRepository(ctx, spec, nil)
	if err != nil {
		return out, err
	}
	var plan Plan
	if err := p.readPlan(ctx, repo, spec, ev.PlanKey, &plan); err != nil {
		return out, err
	}
	if ev.Batch < 0 || ev.Batch >= len(plan.Batches) {
		return out, fmt.Errorf("batch %d is not in the plan of job %s (%d batches)", ev.Batch, spec.JobID, len(plan.Batches))
	}
	for _, n := range plan.Batches[ev.Batch] {
		if n < 0 || n >= len(plan.Shards) {
			return out, fmt.Errorf("shard %d is not in the plan of job %s", n, spec.JobID)
		}
	}
	if plan.PointInTime() {
		return p.uploadWorker(ctx, repo, spec, &plan, ev.Batch)
	}
	prog := p.newReadProgress(ctx, spec.JobID, ev.Batch)
	for _, n := range plan.Batches[ev.Batch] {
		if n < 0 || n >= len(plan.Shards) {
			return out, fmt.Errorf("shard %d is not in the plan of job %s", n, spec.JobID)
		}
		out.Shards++
		if _, err := p.Store.Active(ctx, spec.JobID); err != nil {
			return out, p.deadline(spec, err)
		}
		done, complete, err := p.recorded(ctx, spec.JobID, n)
		if err != nil {
			return out, err
		}
		if complete {
			rows, bytes := sums(done)
			out.Rows += rows
			out.Bytes += bytes
			continue
		}
		r, err := p.uploadShard(ctx, repo, spec, plan.Shards[n], p.Source, done, prog)
		if err != nil {
			err = p.deadline(spec, err)
			if _, domain := job.AsError(err); !domain {
				err = job.Transient(fmt.Sprintf("shard %d", n), err)
			}
			if rerr := p.Store.RecordTaskError(context.WithoutCancel(ctx), spec.JobID, n, err.Error()); rerr != nil {
				p.log().Warn("record task error", "jobId", spec.JobID, "shard", n, "error", rerr)
			}
			return out, err
		}
		out.Uploaded++
		out.Rows += r.Rows
		out.Bytes += r.Bytes
	}
	return out, nil
}

// shardRead is what uploading a shard added: its rows and file bytes.
type shardRead struct {
	Rows, Bytes int64
}

// uploadShard streams one shard, read through src (the source itself, or a
// point-in-time worker's snapshot): source rows → Parquet encoder → pipe →
// multipart upload, hashing on the way; memory stays bounded by the
// encoder's row group and the upload's part buffers, whatever the shard size.
// A shard much bigger than planned is split into pieces as it is read (see
// pieces.go); done are the pieces an earlier attempt recorded, after which
// it continues. prog reports how far each piece is read (nil: not).
func (p *Pipeline) uploadShard(ctx context.Context, repo *repository.Repo, spec job.Spec, ps PlanShard, src source.Reader, done []job.ShardResult, prog *readProgress) (shardRead, error) {
	var out shardRead
	sh := ps.Shard
	piece := 0
	limit := max(sh.EstBytes, spec.Options.ShardSize) * splitNum / splitDen
	if n := len(done); n > 0 {
		next := done[n-1].Next
		sh.Lo, piece, limit = &next, done[n-1].Piece+1, spec.Options.ShardSize
	}
	rows, err := src.OpenShard(ctx, sh)
	if err != nil {
		return out, fmt.Errorf("open shard %d (%s.%s %s): %w", ps.N, sh.Database, sh.Table, sh.Partition, err)
	}
	defer rows.Close()
	pr := newPieceRows(rows, sh, limit, prog, ps.N)
	pr.piece = piece
	for _, d := range done { // the pieces recorded took their share of the estimate
		pr.estBytes -= d.EstBytes
		pr.estRows -= d.EstRows
	}
	for ; ; piece++ {
		if piece > 0 {
			if _, err := p.Store.Active(ctx, spec.JobID); err != nil {
				return out, p.deadline(spec, err)
			}
		}
		began := time.Now()
		res, err := p.uploadPiece(ctx, repo, spec, ps, piece, pr)
		if err != nil {
			return out, err
		}
		pr.settle(&res)
		p.pieceWritten(ctx, spec.JobID, -1, res, began)
		if err := p.recordShard(ctx, repo, spec, res, prog.slot()); err != nil {
			return out, err
		}
		out.Rows += res.Rows
		out.Bytes += res.Bytes
		if !pr.cut {
			if piece > 0 {
				p.log().Info("shard split while read", "jobId", spec.JobID, "shard", ps.N, "pieces", piece+1, "estBytes", sh.EstBytes)
			}
			return out, nil
		}
		pr.next(spec.Options.ShardSize)
	}
}

// uploadPiece writes the next piece of a shard's rows (all of them for a
// shard that is not split) as one Parquet file.
func (p *Pipeline) uploadPiece(ctx context.Context, repo *repository.Repo, spec job.Spec, ps PlanShard, piece int, rows *pieceRows) (job.ShardResult, error) {
	sh := ps.Shard
	rel, err := repository.PieceContentPath(spec.Database, sh.Table, sh.Partition, ps.N, piece, spec.JobID)
	if err != nil {
		return job.ShardResult{}, err
	}
	key, err := repo.SnapshotKey(spec.Label, rel)
	if err != nil {
		return job.ShardResult{}, err
	}

	pr, pw := io.Pipe()
	type encoded struct {
		stats parquetio.Stats
		err   error
	}
	done := make(chan encoded, 1)
	go func() {
		_, stats, err := parquetio.Copy(ctx, pw, rows, parquetio.Options{Compression: spec.Options.Compression})
		pw.CloseWithError(err) // nil closes cleanly: the upload sees EOF
		done <- encoded{stats, err}
	}()
	size, sum, uerr := repo.PutStream(ctx, key, pr)
	pr.CloseWithError(errors.New("upload ended")) // unblock the encoder if the upload stopped early
	enc := <-done
	if enc.err != nil {
		return job.ShardResult{}, fmt.Errorf("encode shard %d: %w", ps.N, enc.err)
	}
	if uerr != nil {
		return job.ShardResult{}, fmt.Errorf("upload shard %d: %w", ps.N, uerr)
	}
	return job.ShardResult{
		Shard: ps.N, Piece: piece, Object: sh.Table, Partition: sh.Partition, Key: rel,
		Rows: enc.stats.Rows, Bytes: size, SHA256: sum, SourceBytes: enc.stats.SourceBytes,
	}, nil
}

// recordShard records a shard's (or piece's) result, read by worker.
func (p *Pipeline) recordShard(ctx context.Context, repo *repository.Repo, spec job.Spec, res job.ShardResult, worker int) error {
	if err := p.Store.RecordWorkerShards(ctx, spec.JobID, worker, []job.ShardResult{res}); err != nil {
		var c *job.CancelledError
		if errors.As(err, &c) {
			// Cleanup may already have run: don't leave this file behind.
			key, kerr := repo.SnapshotKey(spec.Label, res.Key)
			if kerr == nil {
				kerr = repo.DeleteKeys(context.WithoutCancel(ctx), []string{key})
			}
			if kerr != nil {
				p.log().Warn("delete file of cancelled job", "key", res.Key, "error", kerr)
			}
		}
		return err
	}
	return nil
}

// deadline turns a context deadline of the job into the job's TimeoutError.
func (p *Pipeline) deadline(spec job.Spec, err error) error {
	if spec.Expired(p.now()) {
		return job.ErrJobTimedOut(spec)
	}
	return err
}

// pieceWritten logs, at Debug, one file a worker wrote (batch -1: not a
// point-in-time worker): what it holds against its estimate and how long
// it took from the first row read to the file handed on (stored when it
// streamed, else waiting for its upload). `make bench BENCHFLAGS=-timeline`
// builds its per-shard timeline from these records.
func (p *Pipeline) pieceWritten(ctx context.Context, jobID string, batch int, r job.ShardResult, began time.Time) {
	p.log().DebugContext(ctx, PieceWritten, "jobId", jobID, "batch", batch, "shard", r.Shard, "piece", r.Piece,
		"table", r.Object, "partition", r.Partition, "rows", r.Rows, "sourceBytes", r.SourceBytes, "estBytes", r.EstBytes,
		"fileBytes", r.Bytes, "began", began, "ms", time.Since(began).Milliseconds())
}

// PieceWritten is the message of pieceWritten's log record.
const PieceWritten = "piece written"
