// Package repository reads and writes srbackup's S3 repositories: the key
// layout (README, "The S3 repository") with escaped names, the manifests (__repo_info,
// __meta, __info_<timestamp>), streaming uploads of data files with SHA-256
// checksums, listing for SHOW SNAPSHOT, and cleanup of partial snapshots.
//
// Every object carries an S3 additional checksum (SHA-256) and the manifest
// holds the SHA-256 of every data file and of __meta; readers verify both.
package repository

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3API is the part of the S3 client a repository uses; *s3.Client
// implements it.
type S3API interface {
	transfermanager.S3APIClient
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// Upload defaults: parts of 8 MiB, 4 in flight. An upload buffers at most
// (Concurrency+2) parts, ~48 MiB, whatever the file size; 10,000 parts
// allow files up to ~80 GiB.
const (
	DefaultPartSize    = 8 << 20
	DefaultConcurrency = 4
	minPartSize        = 5 << 20 // S3's minimum for all parts but the last
)

// maxManifestSize bounds what is read into memory from __meta, __info and
// __repo_info.
const maxManifestSize = 256 << 20

// Repo is one repository: a name and a location. It is safe for concurrent use.
type Repo struct {
	s3   S3API
	tm   *transfermanager.Client
	name string
	loc  Location
	root string
}

// Option configures a Repo.
type Option func(*options)

type options struct {
	partSize    int64
	concurrency int
}

// WithPartSize sets the multipart upload part size (at least 5 MiB).
func WithPartSize(n int64) Option { return func(o *options) { o.partSize = n } }

// WithConcurrency sets how many parts of one upload are in flight.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// New returns the repository named name at loc.
func New(client S3API, name string, loc Location, opts ...Option) (*Repo, error) {
	o := options{partSize: DefaultPartSize, concurrency: DefaultConcurrency}
	for _, fn := range opts {
		fn(&o)
	}
	if o.partSize < minPartSize || o.concurrency < 1 {
		return nil, fmt.Errorf("repository %s: part size must be at least 5 MiB and concurrency at least 1", name)
	}
	if err := checkBucket(loc.Bucket); err != nil {
		return nil, fmt.Errorf("repository %s: %w", name, err)
	}
	root, err := rootKey(loc, name)
	if err != nil {
		return nil, err
	}
	tm := transfermanager.New(client, func(to *transfermanager.Options) {
		to.PartSizeBytes = o.partSize
		to.MultipartUploadThreshold = o.partSize
		to.Concurrency = o.concurrency
		to.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmSha256
	})
	return &Repo{s3: client, tm: tm, name: name, loc: loc, root: root}, nil
}

// Name is the repository's name.
func (r *Repo) Name() string { return r.name }

// Location is the repository's location.
func (r *Repo) Location() Location { return r.loc }

// Bucket is the repository's bucket.
func (r *Repo) Bucket() string { return r.loc.Bucket }

// Root is the key prefix of the repository, ending with '/'.
func (r *Repo) Root() string { return r.root }

// SnapshotPrefix is the key prefix of a snapshot, ending with '/'.
func (r *Repo) SnapshotPrefix(label string) (string, error) {
	l, err := Escape(label)
	if err != nil {
		return "", fmt.Errorf("snapshot name: %w", err)
	}
	return r.root + snapPrefix + l + "/", nil
}

// SnapshotKey is the absolute key of rel (e.g. a ContentPath) inside a
// snapshot directory.
func (r *Repo) SnapshotKey(label, rel string) (string, error) {
	p, err := r.SnapshotPrefix(label)
	if err != nil {
		return "", err
	}
	if err := checkRel(rel); err != nil {
		return "", err
	}
	k := p + rel
	if len(k) > maxKeyLen {
		return "", fmt.Errorf("key of %q in snapshot %q is %d bytes, over S3's %d", rel, label, len(k), maxKeyLen)
	}
	return k, nil
}

func checkRel(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") || path.Clean(rel) != rel || rel == "." || strings.HasPrefix(rel, "../") || rel == ".." {
		return fmt.Errorf("unsafe relative key %q", rel)
	}
	return nil
}

// checkOwnKey refuses keys outside the repository.
func (r *Repo) checkOwnKey(key string) error {
	if !strings.HasPrefix(key, r.root) || len(key) == len(r.root) {
		return fmt.Errorf("key %q is outside repository %s (%s)", key, r.name, r.root)
	}
	return nil
}

// hashingReader counts and hashes what is read through it.
type hashingReader struct {
	r    io.Reader
	h    hash.Hash
	size int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.size += int64(n)
	_, _ = h.h.Write(p[:n])
	return n, err
}

// PutStream uploads body to key (inside the repository) as it is read, in
// parts with S3 SHA-256 checksums, and returns its size and hex SHA-256.
// Memory stays bounded whatever the size. A failed upload is aborted.
func (r *Repo) PutStream(ctx context.Context, key string, body io.Reader) (size int64, sha256hex string, err error) {
	if err := r.checkOwnKey(key); err != nil {
		return 0, "", err
	}
	hr := &hashingReader{r: body, h: sha256.New()}
	_, err = r.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket:      aws.String(r.loc.Bucket),
		Key:         aws.String(key),
		Body:        hr,
		ContentType: aws.String(contentType(key)),
	})
	if err != nil {
		return 0, "", fmt.Errorf("upload s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	return hr.size, hex.EncodeToString(hr.h.Sum(nil)), nil
}

// PutFile writes a small file in one PUT, with its SHA-256 as the S3
// additional checksum, and returns that SHA-256.
func (r *Repo) PutFile(ctx context.Context, key string, b []byte) (sha256hex string, err error) {
	if err := r.checkOwnKey(key); err != nil {
		return "", err
	}
	return r.putBytes(ctx, key, b, false)
}

func contentType(key string) string {
	switch path.Ext(key) {
	case ".parquet":
		return "application/vnd.apache.parquet"
	case ".json":
		return "application/json"
	}
	if base := path.Base(key); base == metaName || base == repoInfoName || strings.HasPrefix(base, infoPrefix) {
		return "application/json"
	}
	return "application/octet-stream"
}

// errExists is returned by putBytes when ifAbsent is set and the key exists.
var errExists = errors.New("object already exists")

// putBytes writes a small object in one PUT with its SHA-256 as the S3
// additional checksum, so S3 rejects a corrupted body. With ifAbsent the PUT
// is conditional (If-None-Match: *).
func (r *Repo) putBytes(ctx context.Context, key string, b []byte, ifAbsent bool) (sha256hex string, err error) {
	sum := sha256.Sum256(b)
	in := &s3.PutObjectInput{
		Bucket:            aws.String(r.loc.Bucket),
		Key:               aws.String(key),
		Body:              bytes.NewReader(b),
		ContentLength:     aws.Int64(int64(len(b))),
		ContentType:       aws.String(contentType(key)),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := r.s3.PutObject(ctx, in); err != nil {
		if ifAbsent && isPreconditionFailed(err) {
			return "", errExists
		}
		return "", fmt.Errorf("put s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	return hex.EncodeToString(sum[:]), nil
}

// ErrChecksum reports an object whose bytes do not match a checksum.
var ErrChecksum = errors.New("checksum mismatch")

// getVerified reads a small object and checks its bytes against the SHA-256
// S3 stored with it. Objects without a SHA-256 checksum are refused: every
// object srbackup writes has one.
func (r *Repo) getVerified(ctx context.Context, key string) ([]byte, string, error) {
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{
		Bucket:       aws.String(r.loc.Bucket),
		Key:          aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return nil, "", fmt.Errorf("get s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxManifestSize+1))
	if err != nil {
		// The SDK validates the body against the stored checksum while it is
		// read (ChecksumMode enabled); its error type is unexported.
		if strings.Contains(err.Error(), "checksum did not match") {
			return nil, "", fmt.Errorf("read s3://%s/%s: %w: %v", r.loc.Bucket, key, ErrChecksum, err)
		}
		return nil, "", fmt.Errorf("read s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	if len(b) > maxManifestSize {
		return nil, "", fmt.Errorf("s3://%s/%s is larger than %d bytes", r.loc.Bucket, key, maxManifestSize)
	}
	sum := sha256.Sum256(b)
	stored := aws.ToString(out.ChecksumSHA256)
	if stored == "" {
		return nil, "", fmt.Errorf("s3://%s/%s has no SHA-256 checksum: %w", r.loc.Bucket, key, ErrChecksum)
	}
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != stored {
		return nil, "", fmt.Errorf("s3://%s/%s: sha256 of the bytes %s, S3 checksum %s: %w", r.loc.Bucket, key, got, stored, ErrChecksum)
	}
	return b, hex.EncodeToString(sum[:]), nil
}

// PutJSON writes v as JSON to rel inside a snapshot and returns its reference.
func (r *Repo) PutJSON(ctx context.Context, label, rel string, v any) (FileRef, error) {
	key, err := r.SnapshotKey(label, rel)
	if err != nil {
		return FileRef{}, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return FileRef{}, fmt.Errorf("encode %s: %w", rel, err)
	}
	sum, err := r.putBytes(ctx, key, b, false)
	if err != nil {
		return FileRef{}, err
	}
	return FileRef{Key: rel, Bytes: int64(len(b)), SHA256: sum}, nil
}

// CreateJSON is PutJSON only if rel does not exist yet (If-None-Match: *):
// created is false, and nothing is written, if it does.
func (r *Repo) CreateJSON(ctx context.Context, label, rel string, v any) (ref FileRef, created bool, err error) {
	key, err := r.SnapshotKey(label, rel)
	if err != nil {
		return FileRef{}, false, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return FileRef{}, false, fmt.Errorf("encode %s: %w", rel, err)
	}
	sum, err := r.putBytes(ctx, key, b, true)
	if errors.Is(err, errExists) {
		return FileRef{}, false, nil
	}
	if err != nil {
		return FileRef{}, false, err
	}
	return FileRef{Key: rel, Bytes: int64(len(b)), SHA256: sum}, true, nil
}

// GetJSON reads rel inside a snapshot into v, verifying its S3 checksum.
func (r *Repo) GetJSON(ctx context.Context, label, rel string, v any) (FileRef, error) {
	key, err := r.SnapshotKey(label, rel)
	if err != nil {
		return FileRef{}, err
	}
	b, sum, err := r.getVerified(ctx, key)
	if err != nil {
		return FileRef{}, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return FileRef{}, fmt.Errorf("decode s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	return FileRef{Key: rel, Bytes: int64(len(b)), SHA256: sum}, nil
}

// WriteRepoInfo writes __repo_info unless it exists (conditional PUT);
// created reports whether this call wrote it. It doubles as CREATE
// REPOSITORY's check that the location is writable.
func (r *Repo) WriteRepoInfo(ctx context.Context, createTime time.Time) (created bool, err error) {
	return r.WriteRepoInfoOf(ctx, createTime, "")
}

// WriteRepoInfoOf is WriteRepoInfo recording the deployment that creates
// the repository.
func (r *Repo) WriteRepoInfoOf(ctx context.Context, createTime time.Time, deploymentID string) (created bool, err error) {
	b, err := json.Marshal(RepoInfo{Name: r.name, CreateTime: createTime.UTC(), Format: FormatVersion, DeploymentID: deploymentID})
	if err != nil {
		return false, err
	}
	_, err = r.putBytes(ctx, r.root+repoInfoName, b, true)
	if errors.Is(err, errExists) {
		return false, nil
	}
	return err == nil, err
}

// ReadRepoInfo reads __repo_info.
func (r *Repo) ReadRepoInfo(ctx context.Context) (RepoInfo, error) {
	b, _, err := r.getVerified(ctx, r.root+repoInfoName)
	if err != nil {
		return RepoInfo{}, err
	}
	var ri RepoInfo
	if err := json.Unmarshal(b, &ri); err != nil {
		return RepoInfo{}, fmt.Errorf("decode %s%s: %w", r.root, repoInfoName, err)
	}
	return ri, nil
}

// CheckReadable lists the repository root: CREATE READ ONLY REPOSITORY's
// check that the location is reachable.
func (r *Repo) CheckReadable(ctx context.Context) error {
	_, err := r.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(r.loc.Bucket), Prefix: aws.String(r.root), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", r.loc, err)
	}
	return nil
}

// WriteMeta writes a snapshot's __meta and returns the reference the info
// manifest records.
func (r *Repo) WriteMeta(ctx context.Context, label string, m Meta) (FileRef, error) {
	if m.FormatVersion == 0 {
		m.FormatVersion = FormatVersion
	}
	return r.PutJSON(ctx, label, metaName, m)
}

// ReadMeta reads a snapshot's __meta and checks it against the info
// manifest's reference.
func (r *Repo) ReadMeta(ctx context.Context, label string, ref FileRef) (Meta, error) {
	var m Meta
	got, err := r.GetJSON(ctx, label, metaName, &m)
	if err != nil {
		return Meta{}, err
	}
	if got.SHA256 != ref.SHA256 || got.Bytes != ref.Bytes {
		return Meta{}, fmt.Errorf("snapshot %s: __meta is %d bytes sha256 %s, the info file says %d bytes %s: %w",
			label, got.Bytes, got.SHA256, ref.Bytes, ref.SHA256, ErrChecksum)
	}
	if m.FormatVersion != FormatVersion {
		return Meta{}, fmt.Errorf("snapshot %s: __meta format version %d, want %d", label, m.FormatVersion, FormatVersion)
	}
	return m, nil
}

// WriteInfo writes the info manifest, the snapshot's commit marker, and
// returns its timestamp. The write is conditional, so a retried finalize
// with the same info (same backup_time, same content) is a no-op and a
// different one is an error, never a second commit.
func (r *Repo) WriteInfo(ctx context.Context, info Info) (timestamp string, err error) {
	if info.FormatVersion == 0 {
		info.FormatVersion = FormatVersion
	}
	if err := info.Validate(); err != nil {
		return "", err
	}
	ts := info.Timestamp()
	key, err := r.SnapshotKey(info.Name, infoPrefix+ts)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(info)
	if err != nil {
		return "", fmt.Errorf("encode info: %w", err)
	}
	_, err = r.putBytes(ctx, key, b, true)
	if errors.Is(err, errExists) {
		existing, _, gerr := r.getVerified(ctx, key)
		if gerr != nil {
			return "", gerr
		}
		if !bytes.Equal(existing, b) && !sameCommit(existing, info) {
			return "", fmt.Errorf("snapshot %s already has a different info file %s", info.Name, ts)
		}
		return ts, nil
	}
	if err != nil {
		return "", err
	}
	return ts, nil
}

// sameCommit reports whether existing is info written by an earlier try of
// the same commit: equal but for the finish and expire times, which a
// retried finalize computes again (the first commit's times stand).
func sameCommit(existing []byte, info Info) bool {
	var old Info
	if err := json.Unmarshal(existing, &old); err != nil {
		return false
	}
	info.FinishTime, info.ExpireTime = old.FinishTime, old.ExpireTime
	b, err := json.Marshal(info)
	return err == nil && bytes.Equal(existing, b)
}

// ReadInfo reads and validates the info manifest of one snapshot run.
func (r *Repo) ReadInfo(ctx context.Context, label, timestamp string) (Info, error) {
	if _, err := ParseTimestamp(timestamp); err != nil {
		return Info{}, err
	}
	var info Info
	if _, err := r.GetJSON(ctx, label, infoPrefix+timestamp, &info); err != nil {
		return Info{}, err
	}
	if err := info.Validate(); err != nil {
		return Info{}, fmt.Errorf("snapshot %s %s: %w", label, timestamp, err)
	}
	if info.Name != label || info.Timestamp() != timestamp {
		return Info{}, fmt.Errorf("snapshot %s %s: info names snapshot %s %s", label, timestamp, info.Name, info.Timestamp())
	}
	return info, nil
}

// SnapshotExists reports whether any object exists under __ss_<label>/,
// finished or not: StarRocks refuses a label whose folder exists.
func (r *Repo) SnapshotExists(ctx context.Context, label string) (bool, error) {
	p, err := r.SnapshotPrefix(label)
	if err != nil {
		return false, err
	}
	out, err := r.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(r.loc.Bucket), Prefix: aws.String(p), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return false, fmt.Errorf("list s3://%s/%s: %w", r.loc.Bucket, p, err)
	}
	return len(out.Contents) > 0, nil
}

// Timestamps lists the timestamps of a snapshot's info files, oldest first.
func (r *Repo) Timestamps(ctx context.Context, label string) ([]string, error) {
	p, err := r.SnapshotPrefix(label)
	if err != nil {
		return nil, err
	}
	var out []string
	pg := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{
		Bucket: aws.String(r.loc.Bucket), Prefix: aws.String(p + infoPrefix), Delimiter: aws.String("/"),
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s%s: %w", r.loc.Bucket, p, infoPrefix, err)
		}
		for _, o := range page.Contents {
			ts := strings.TrimPrefix(aws.ToString(o.Key), p+infoPrefix)
			if _, err := ParseTimestamp(ts); err == nil {
				out = append(out, ts)
			}
		}
	}
	return out, nil // S3 lists keys in order, and the timestamps sort as strings
}

// ErrCommitted is returned when asked to delete a snapshot that has an info
// file: it is a complete snapshot, not a partial one.
var ErrCommitted = errors.New("snapshot is committed")

// DeletePartialSnapshot removes what a failed or cancelled job left under
// __ss_<label>/: it aborts open multipart uploads and deletes every object.
// It refuses a snapshot that has an info file (ErrCommitted).
func (r *Repo) DeletePartialSnapshot(ctx context.Context, label string) (deleted int, err error) {
	p, err := r.SnapshotPrefix(label)
	if err != nil {
		return 0, err
	}
	ts, err := r.Timestamps(ctx, label)
	if err != nil {
		return 0, err
	}
	if len(ts) > 0 {
		return 0, fmt.Errorf("snapshot %s has info file %s: %w", label, ts[0], ErrCommitted)
	}
	if _, err := r.AbortMultipartUploads(ctx, p, nil); err != nil {
		return 0, err
	}
	return r.DeletePrefix(ctx, p)
}

// AbortMultipartUploads aborts the open multipart uploads under prefix
// (inside the repository) whose key match accepts (nil: all), and returns
// how many it aborted.
func (r *Repo) AbortMultipartUploads(ctx context.Context, prefix string, match func(key string) bool) (int, error) {
	if err := r.checkOwnKey(prefix); err != nil {
		return 0, err
	}
	n := 0
	pg := s3.NewListMultipartUploadsPaginator(r.s3, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(r.loc.Bucket), Prefix: aws.String(prefix),
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("list multipart uploads under s3://%s/%s: %w", r.loc.Bucket, prefix, err)
		}
		for _, u := range page.Uploads {
			if match != nil && !match(aws.ToString(u.Key)) {
				continue
			}
			_, err := r.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(r.loc.Bucket), Key: u.Key, UploadId: u.UploadId,
			})
			var nsu *types.NoSuchUpload
			if err != nil && !errors.As(err, &nsu) {
				return n, fmt.Errorf("abort upload of s3://%s/%s: %w", r.loc.Bucket, aws.ToString(u.Key), err)
			}
			n++
		}
	}
	return n, nil
}

// List returns the keys and sizes of the objects under prefix (inside the
// repository).
func (r *Repo) List(ctx context.Context, prefix string) (map[string]int64, error) {
	if !strings.HasPrefix(prefix, r.root) {
		return nil, fmt.Errorf("prefix %q is outside repository %s (%s)", prefix, r.name, r.root)
	}
	out := map[string]int64{}
	pg := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{
		Bucket: aws.String(r.loc.Bucket), Prefix: aws.String(prefix),
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", r.loc.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	return out, nil
}

// deleteBatch is DeleteObjects' maximum number of keys.
const deleteBatch = 1000

// DeleteKeys deletes the given keys (inside the repository); missing keys
// are not an error.
func (r *Repo) DeleteKeys(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if err := r.checkOwnKey(k); err != nil {
			return err
		}
	}
	for batch := range slices.Chunk(keys, deleteBatch) {
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := r.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(r.loc.Bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete objects in s3://%s/%s: %w", r.loc.Bucket, r.root, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete s3://%s/%s: %s: %s (%d errors)",
				r.loc.Bucket, aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors))
		}
	}
	return nil
}

// DeletePrefix deletes every object under prefix (inside the repository,
// ending with '/') and returns how many it deleted.
func (r *Repo) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if err := r.checkOwnKey(prefix); err != nil {
		return 0, err
	}
	if !strings.HasSuffix(prefix, "/") {
		return 0, fmt.Errorf("delete prefix %q: must end with '/'", prefix)
	}
	objs, err := r.List(ctx, prefix)
	if err != nil {
		return 0, err
	}
	keys := slices.Sorted(maps.Keys(objs))
	return len(keys), r.DeleteKeys(ctx, keys)
}

// VerifySnapshot reads one snapshot run and checks everything against its
// checksums: the info file (S3 checksum), __meta (the info's checksum) and
// every data file (size and SHA-256 of the bytes, streamed). It returns the
// info manifest.
func (r *Repo) VerifySnapshot(ctx context.Context, label, timestamp string) (Info, error) {
	info, err := r.ReadInfo(ctx, label, timestamp)
	if err != nil {
		return Info{}, err
	}
	if _, err := r.ReadMeta(ctx, label, info.Meta); err != nil {
		return Info{}, err
	}
	for _, f := range info.Files() {
		if err := r.verifyFile(ctx, label, f.FileRef); err != nil {
			return Info{}, err
		}
	}
	return info, nil
}

func (r *Repo) verifyFile(ctx context.Context, label string, f FileRef) error {
	key, err := r.SnapshotKey(label, f.Key)
	if err != nil {
		return err
	}
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.loc.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 || n != f.Bytes {
		return fmt.Errorf("s3://%s/%s is %d bytes sha256 %s, the manifest says %d bytes %s: %w",
			r.loc.Bucket, key, n, got, f.Bytes, f.SHA256, ErrChecksum)
	}
	return nil
}

// isPreconditionFailed reports a failed If-None-Match (HTTP 412).
func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed"
}

// isNotFound reports a missing object.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}

// ErrMissing reports a snapshot file that is not in the repository.
var ErrMissing = errors.New("file is missing")
