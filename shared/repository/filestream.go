package repository

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// FileStream is one data file of a snapshot read as a stream: one GET of
// the whole object read front to back through a SHA-256, plus ranged GETs
// of its last bytes, pinned to the same object by its ETag (If-Match) and
// compared with the streamed bytes when the stream passes them. Finish
// checks size and SHA-256 against the manifest, so a reader that uses only
// bytes it got through Read or ReadTail and acts on them only after Finish
// returns nil uses only the bytes whose checksum matched. It implements
// parquetio.Stream; memory stays bounded whatever the file's size.
type FileStream struct {
	ctx     context.Context
	r       *Repo
	key     string
	ref     FileRef
	etag    string
	body    io.ReadCloser
	in      io.Reader // body, limited to one byte past the recorded size
	h       hashingReader
	tail    []byte // the longest tail served, checked as the stream passes it
	tailOff int64
	err     error // sticky
}

// OpenFileStream starts reading one data file of a snapshot. A missing file
// wraps ErrMissing, and one whose size differs from the manifest's
// ErrChecksum. The caller must Close it.
func (r *Repo) OpenFileStream(ctx context.Context, label string, f FileRef) (*FileStream, error) {
	key, err := r.SnapshotKey(label, f.Key)
	if err != nil {
		return nil, err
	}
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.loc.Bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return nil, fmt.Errorf("s3://%s/%s: %w", r.loc.Bucket, key, ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	d := &FileStream{ctx: ctx, r: r, key: key, ref: f, etag: aws.ToString(out.ETag), body: out.Body}
	if n := aws.ToInt64(out.ContentLength); out.ContentLength != nil && n != f.Bytes {
		out.Body.Close()
		return nil, fmt.Errorf("s3://%s/%s is %d bytes, the manifest says %d: %w", r.loc.Bucket, key, n, f.Bytes, ErrChecksum)
	}
	d.h = hashingReader{r: io.LimitReader(out.Body, f.Bytes+1), h: sha256.New()}
	return d, nil
}

// Size is the file's size in the manifest.
func (d *FileStream) Size() int64 { return d.ref.Bytes }

// Read reads the file front to back.
func (d *FileStream) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	off := d.h.size
	n, err := d.h.Read(p)
	if lo, hi := max(off, d.tailOff), min(off+int64(n), d.tailOff+int64(len(d.tail))); d.tail != nil && lo < hi &&
		!bytes.Equal(p[lo-off:hi-off], d.tail[lo-d.tailOff:hi-d.tailOff]) {
		d.err = fmt.Errorf("s3://%s/%s: bytes %d to %d differ between two reads: %w", d.r.loc.Bucket, d.key, lo, hi, ErrChecksum)
		return n, d.err
	}
	if err != nil && err != io.EOF {
		d.err = fmt.Errorf("read s3://%s/%s: %w", d.r.loc.Bucket, d.key, err)
		return n, d.err
	}
	return n, err
}

// ReadTail returns the file's last n bytes (a ranged GET pinned with
// If-Match to the object the stream reads). It must come before Read
// passes them.
func (d *FileStream) ReadTail(n int64) ([]byte, error) {
	size := d.ref.Bytes
	if n <= 0 || n > size || size-n < d.h.size {
		return nil, fmt.Errorf("s3://%s/%s: tail of %d bytes of %d, %d already read", d.r.loc.Bucket, d.key, n, size, d.h.size)
	}
	in := &s3.GetObjectInput{
		Bucket: aws.String(d.r.loc.Bucket),
		Key:    aws.String(d.key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", size-n, size-1)),
	}
	if d.etag != "" {
		in.IfMatch = aws.String(d.etag)
	}
	out, err := d.r.s3.GetObject(d.ctx, in)
	if err != nil {
		if isPreconditionFailed(err) {
			return nil, fmt.Errorf("s3://%s/%s changed while it was read: %w", d.r.loc.Bucket, d.key, ErrChecksum)
		}
		return nil, fmt.Errorf("get s3://%s/%s %s: %w", d.r.loc.Bucket, d.key, *in.Range, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, n+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s %s: %w", d.r.loc.Bucket, d.key, *in.Range, err)
	}
	if int64(len(b)) != n {
		return nil, fmt.Errorf("s3://%s/%s %s gave %d bytes: %w", d.r.loc.Bucket, d.key, *in.Range, len(b), ErrChecksum)
	}
	// A longer tail contains the shorter: they must agree, and the longer
	// one is checked against the stream.
	if d.tail != nil {
		short, long := d.tail, b
		if len(short) > len(long) {
			short, long = long, short
		}
		if !bytes.HasSuffix(long, short) {
			return nil, fmt.Errorf("s3://%s/%s: two reads of its end differ: %w", d.r.loc.Bucket, d.key, ErrChecksum)
		}
	}
	if int64(len(b)) > int64(len(d.tail)) {
		d.tail, d.tailOff = b, size-n
	}
	return b, nil
}

// Finish reads the rest of the stream and checks the file's size and
// SHA-256 against the manifest (ErrChecksum), and that the stream carried
// the tail ReadTail served.
func (d *FileStream) Finish() error {
	if d.err == nil {
		if _, err := io.Copy(io.Discard, d); err != nil {
			return err
		}
	}
	if d.err != nil {
		return d.err
	}
	if got := hex.EncodeToString(d.h.h.Sum(nil)); got != d.ref.SHA256 || d.h.size != d.ref.Bytes {
		d.err = fmt.Errorf("s3://%s/%s is %d bytes sha256 %s, the manifest says %d bytes %s: %w",
			d.r.loc.Bucket, d.key, d.h.size, got, d.ref.Bytes, d.ref.SHA256, ErrChecksum)
		return d.err
	}
	return nil
}

// Close ends the GET.
func (d *FileStream) Close() error { return d.body.Close() }
