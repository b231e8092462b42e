package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/parquetio"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/source"
)

// A point-in-time worker reads its whole share, often thousands of tiny
// shards, on one connection in one transaction. Per shard it cannot avoid
// a SELECT and a file; everything else is batched or overlapped: a file of
// at most smallFileBytes is encoded in memory and uploaded by one of
// smallFileUploads goroutines while the next shard is read (larger files
// stream from the encoder as before), and the results are recorded up to
// jobstore.MaxShardsPerTransaction per transaction, each still written
// once. A result is recorded only after its file is stored, so a record
// never names a missing file. Every file holds one piece of one shard, so
// no file spans two partitions.
const (
	// smallFileBytes is the most of a file held in memory; a larger one
	// streams to a multipart upload. The memory of a worker's small files
	// stays below about 2 × smallFileUploads × smallFileBytes.
	smallFileBytes = 2 << 20
	// smallFileUploads is how many small files one worker uploads at once.
	smallFileUploads = 8
	// recordEvery is how long a result waits, at most, for others to be
	// recorded in the same transaction: progress stays fresh.
	recordEvery = time.Second
	// activeEvery is how often a worker checks, between shards, that its
	// job is neither cancelled nor past its deadline. Recording a result
	// also checks that the job is UPLOADING.
	activeEvery = time.Second
)

// shardError is an upload failure of one shard.
type shardError struct {
	n   int
	err error
}

func (e *shardError) Error() string { return fmt.Sprintf("shard %d: %v", e.n, e.err) }
func (e *shardError) Unwrap() error { return e.err }

// smallFile is an encoded file waiting for its upload.
type smallFile struct {
	key   string // the full S3 key
	data  []byte
	res   job.ShardResult
	began time.Time // when its encoding began
}

// shareWriter uploads and records the files of one worker's share.
type shareWriter struct {
	p    *Pipeline
	repo *repository.Repo
	spec job.Spec

	ctx     context.Context
	cancel  context.CancelCauseFunc
	files   chan smallFile
	results chan job.ShardResult
	uploads sync.WaitGroup
	records chan struct{} // closed when the recorder ends

	mu      sync.Mutex
	err     error
	out     BatchResult
	orphans []string  // stored files that will not be recorded
	check   time.Time // last check that the job is active
	// progress reports how far the piece in hand is read (nil: not).
	progress *readProgress
}

func (p *Pipeline) newShareWriter(ctx context.Context, repo *repository.Repo, spec job.Spec, out BatchResult) *shareWriter {
	w := &shareWriter{p: p, repo: repo, spec: spec, out: out,
		files: make(chan smallFile, smallFileUploads), results: make(chan job.ShardResult, 2*jobstore.MaxShardsPerTransaction),
		records: make(chan struct{}), check: time.Now()}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.progress = p.newReadProgress(w.ctx, spec.JobID, out.Batch)
	for range smallFileUploads {
		w.uploads.Add(1)
		go w.uploader()
	}
	go w.recorder()
	return w
}

// fail keeps the first error and stops the other goroutines.
func (w *shareWriter) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cancel(err)
}

// orphan notes files stored but not recorded, which close deletes: no
// record will ever name them, and cleanup may already have run.
func (w *shareWriter) orphan(rs ...job.ShardResult) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range rs {
		if key, err := w.repo.SnapshotKey(w.spec.Label, r.Key); err == nil {
			w.orphans = append(w.orphans, key)
		}
	}
}

func (w *shareWriter) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// active checks, at most every activeEvery, that the job still runs.
func (w *shareWriter) active() error {
	if time.Since(w.check) < activeEvery {
		return nil
	}
	w.check = time.Now()
	if _, err := w.p.Store.Active(w.ctx, w.spec.JobID); err != nil {
		return w.p.deadline(w.spec, err)
	}
	return nil
}

// shard reads one shard through src and hands its files on. It returns
// the first error of the share, its own or an earlier file's.
func (w *shareWriter) shard(ps PlanShard, src source.Reader) error {
	if err := w.firstErr(); err != nil {
		return err
	}
	if err := w.active(); err != nil {
		w.fail(err)
		return err
	}
	if err := w.readShard(ps, src); err != nil {
		err = &shardError{n: ps.N, err: err}
		w.fail(err)
		return err
	}
	return nil
}

func (w *shareWriter) readShard(ps PlanShard, src source.Reader) error {
	ctx, spec, sh := w.ctx, w.spec, ps.Shard
	limit := max(sh.EstBytes, spec.Options.ShardSize) * splitNum / splitDen
	rows, err := src.OpenShard(ctx, sh)
	if err != nil {
		return fmt.Errorf("open shard %d (%s.%s %s): %w", ps.N, sh.Database, sh.Table, sh.Partition, err)
	}
	defer rows.Close()
	pr := newPieceRows(rows, sh, limit, w.progress, ps.N)
	for piece := 0; ; piece++ {
		if piece > 0 {
			if _, err := w.p.Store.Active(ctx, spec.JobID); err != nil {
				return w.p.deadline(spec, err)
			}
		}
		f, streamed, err := w.encodePiece(ps, piece, pr)
		if err != nil {
			return err
		}
		pr.settle(&f.res)
		if err := w.handOn(f, streamed); err != nil {
			return err
		}
		if !pr.cut {
			if piece > 0 {
				w.p.log().Info("shard split while read", "jobId", spec.JobID, "shard", ps.N, "pieces", piece+1, "estBytes", sh.EstBytes)
			}
			return nil
		}
		pr.next(spec.Options.ShardSize)
	}
}

// handOn passes an encoded file to the uploaders, or the result of one
// already streamed to S3 to the recorder.
func (w *shareWriter) handOn(f smallFile, streamed bool) error {
	w.p.pieceWritten(w.ctx, w.spec.JobID, w.out.Batch, f.res, f.began)
	if !streamed {
		return send(w.ctx, w.files, f)
	}
	if err := send(w.ctx, w.results, f.res); err != nil {
		w.orphan(f.res)
		return err
	}
	return nil
}

// send hands v on unless the share has failed.
func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// encodePiece encodes the next piece of a shard as one Parquet file: kept
// in memory if it is small (streamed false: it still has to be uploaded),
// else streamed to a multipart upload as it is encoded.
func (w *shareWriter) encodePiece(ps PlanShard, piece int, rows source.Rows) (smallFile, bool, error) {
	sh := ps.Shard
	rel, err := repository.PieceContentPath(w.spec.Database, sh.Table, sh.Partition, ps.N, piece, w.spec.JobID)
	if err != nil {
		return smallFile{}, false, err
	}
	key, err := w.repo.SnapshotKey(w.spec.Label, rel)
	if err != nil {
		return smallFile{}, false, err
	}
	began := time.Now()
	sw := &spillWriter{ctx: w.ctx, repo: w.repo, key: key, limit: smallFileBytes}
	_, stats, encErr := parquetio.Copy(w.ctx, sw, rows, parquetio.Options{Compression: w.spec.Options.Compression})
	streamed, size, sum, err := sw.finish(encErr)
	if encErr != nil && (err == nil || errors.Is(err, errUploadEnded)) {
		return smallFile{}, false, fmt.Errorf("encode shard %d: %w", ps.N, encErr)
	}
	if err != nil {
		return smallFile{}, false, fmt.Errorf("upload shard %d: %w", ps.N, err)
	}
	f := smallFile{key: key, began: began, res: job.ShardResult{
		Shard: ps.N, Piece: piece, Object: sh.Table, Partition: sh.Partition, Key: rel,
		Rows: stats.Rows, Bytes: size, SHA256: sum, SourceBytes: stats.SourceBytes,
	}}
	if !streamed {
		f.data = sw.buf.Bytes()
		f.res.Bytes = int64(len(f.data))
	}
	return f, streamed, nil
}

// uploader stores small files, then passes their results on.
func (w *shareWriter) uploader() {
	defer w.uploads.Done()
	for f := range w.files {
		if w.ctx.Err() != nil {
			continue // drain: the share has failed
		}
		sum, err := w.repo.PutFile(w.ctx, f.key, f.data)
		if err != nil {
			w.fail(&shardError{n: f.res.Shard, err: fmt.Errorf("upload shard %d: %w", f.res.Shard, err)})
			continue
		}
		f.res.SHA256 = sum
		if send(w.ctx, w.results, f.res) != nil {
			w.orphan(f.res) // the share has failed
		}
	}
}

// recorder records results in batches, after their files are stored.
func (w *shareWriter) recorder() {
	defer close(w.records)
	var batch []job.ShardResult
	t := time.NewTimer(recordEvery)
	defer t.Stop()
	flush := func() {
		if len(batch) > 0 && w.ctx.Err() != nil {
			w.orphan(batch...) // the share has failed
		}
		if len(batch) == 0 || w.ctx.Err() != nil {
			batch = batch[:0]
			return
		}
		if err := w.record(batch); err != nil {
			w.fail(&shardError{n: batch[0].Shard, err: err})
		}
		batch = batch[:0]
	}
	for {
		select {
		case r, ok := <-w.results:
			if !ok {
				flush()
				return
			}
			if len(batch) == 0 {
				t.Reset(recordEvery)
			}
			batch = append(batch, r)
			if len(batch) >= jobstore.MaxShardsPerTransaction {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}

// record records a batch of results. If that fails (the job was cancelled
// meanwhile, say) their files are orphans: the job cannot finish. A write
// cut off by the worker's context may still have committed (the batch is
// one transaction, so its first record answers for all): then the files
// are recorded and kept, or Finalize would find them missing.
func (w *shareWriter) record(batch []job.ShardResult) error {
	err := w.p.Store.RecordWorkerShards(w.ctx, w.spec.JobID, w.progress.slot(), batch)
	if err != nil && w.ctx.Err() != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), recordCheckTimeout)
		if ok, cerr := w.p.Store.Recorded(ctx, w.spec.JobID, batch[0]); cerr == nil && ok {
			err = nil
		}
		cancel()
	}
	if err == nil {
		w.mu.Lock()
		for _, r := range batch {
			w.out.Rows += r.Rows
			w.out.Bytes += r.Bytes
			if !r.More {
				w.out.Uploaded++
			}
		}
		w.mu.Unlock()
		return nil
	}
	w.orphan(batch...)
	return err
}

// close waits for every file to be stored and recorded and returns what
// the share added, or its first error.
func (w *shareWriter) close() (BatchResult, error) {
	close(w.files)
	w.uploads.Wait()
	close(w.results)
	<-w.records
	w.cancel(nil)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.orphans) > 0 {
		if err := w.repo.DeleteKeys(context.WithoutCancel(w.ctx), w.orphans); err != nil {
			w.p.log().Warn("delete files not recorded", "jobId", w.spec.JobID, "files", len(w.orphans), "error", err)
		}
	}
	return w.out, w.err
}

// recordCheckTimeout bounds the look at whether a cut-off record committed.
const recordCheckTimeout = 10 * time.Second

// errUploadEnded is what the encoder sees when the upload it streams to
// stopped first; the upload's own error says why.
var errUploadEnded = errors.New("upload ended")

// spillWriter holds a file in memory up to limit bytes; past that it starts
// a streaming upload with what it holds and passes the rest on.
type spillWriter struct {
	ctx   context.Context
	repo  *repository.Repo
	key   string
	limit int
	buf   bytes.Buffer

	pw   *io.PipeWriter
	done chan spillUpload
}

type spillUpload struct {
	size int64
	sum  string
	err  error
}

func (w *spillWriter) Write(b []byte) (int, error) {
	if w.pw == nil {
		if w.buf.Len()+len(b) <= w.limit {
			return w.buf.Write(b)
		}
		pr, pw := io.Pipe()
		w.pw, w.done = pw, make(chan spillUpload, 1)
		go func() {
			size, sum, err := w.repo.PutStream(w.ctx, w.key, pr)
			pr.CloseWithError(errUploadEnded) // unblock the encoder if the upload stopped early
			w.done <- spillUpload{size, sum, err}
		}()
		held := w.buf.Bytes()
		w.buf = bytes.Buffer{}
		if _, err := pw.Write(held); err != nil {
			return 0, err
		}
	}
	return w.pw.Write(b)
}

// finish ends the file after the encoder returned encErr. A file that
// never left memory is not uploaded (streamed false).
func (w *spillWriter) finish(encErr error) (streamed bool, size int64, sum string, err error) {
	if w.pw == nil {
		return false, int64(w.buf.Len()), "", nil
	}
	w.pw.CloseWithError(encErr) // nil closes cleanly: the upload sees EOF
	up := <-w.done
	return true, up.size, up.sum, up.err
}
