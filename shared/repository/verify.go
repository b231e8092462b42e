package repository

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// Verification outcomes of one file.
const (
	VerifyOK       = "OK"
	VerifyMissing  = "MISSING"
	VerifyMismatch = "MISMATCH"
)

// VerifyColumns are the columns of a verification's rows.
var VerifyColumns = []string{"File", "Expected", "Actual", "Status"}

// VerifyRow is one file of a verification: what the manifest expects, what
// the repository holds, and the outcome.
type VerifyRow struct {
	File     string `json:"file"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	Status   string `json:"status"`
}

// Row returns the row aligned with VerifyColumns.
func (v VerifyRow) Row() []*string { return []*string{&v.File, &v.Expected, &v.Actual, &v.Status} }

// verifyConcurrency bounds the files checked at once.
const verifyConcurrency = 8

// VerifyRun checks one committed run of a snapshot against its manifest
// and returns one row per file (__meta, then the data files in manifest
// order). An unreadable info file is an error: there is nothing to check
// against.
//
// The cheap check (deep false) downloads nothing: it compares each file's
// size, and the SHA-256 S3 stored with it (HEAD with checksum mode) when S3
// holds a whole-object one, with the manifest; a multipart upload's
// checksum is composite (a checksum of its parts' checksums, "…-N"), which
// the manifest does not record, so such a file is checked by size only and
// its Actual says so. The deep check re-reads and re-hashes every byte.
func (r *Repo) VerifyRun(ctx context.Context, label, timestamp string, deep bool) ([]VerifyRow, error) {
	info, err := r.ReadInfo(ctx, label, timestamp)
	if err != nil {
		return nil, err
	}
	refs := []FileRef{info.Meta}
	for _, f := range info.Files() {
		refs = append(refs, f.FileRef)
	}
	rows := make([]VerifyRow, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(verifyConcurrency)
	for i, ref := range refs {
		g.Go(func() error {
			row, err := r.verifyOne(gctx, label, ref, deep)
			rows[i] = row
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return rows, nil
}

func describeRef(bytes int64, sha string) string {
	return strconv.FormatInt(bytes, 10) + " bytes sha256 " + sha
}

// verifyOne checks one file; only a failed context or an S3 error other
// than a missing object is an error.
func (r *Repo) verifyOne(ctx context.Context, label string, ref FileRef, deep bool) (VerifyRow, error) {
	row := VerifyRow{File: ref.Key, Expected: describeRef(ref.Bytes, ref.SHA256)}
	key, err := r.SnapshotKey(label, ref.Key)
	if err != nil {
		return row, err
	}
	if deep {
		out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.loc.Bucket), Key: aws.String(key)})
		if isNotFound(err) {
			row.Status = VerifyMissing
			return row, nil
		}
		if err != nil {
			return row, fmt.Errorf("get s3://%s/%s: %w", r.loc.Bucket, key, err)
		}
		defer out.Body.Close()
		h := sha256.New()
		n, err := io.Copy(h, out.Body)
		if err != nil {
			return row, fmt.Errorf("read s3://%s/%s: %w", r.loc.Bucket, key, err)
		}
		row.Actual = describeRef(n, hex.EncodeToString(h.Sum(nil)))
		row.Status = VerifyOK
		if row.Actual != row.Expected {
			row.Status = VerifyMismatch
		}
		return row, nil
	}
	head, err := r.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(r.loc.Bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if isNotFound(err) {
		row.Status = VerifyMissing
		return row, nil
	}
	if err != nil {
		return row, fmt.Errorf("head s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	size := aws.ToInt64(head.ContentLength)
	stored := aws.ToString(head.ChecksumSHA256)
	whole := stored != "" && !strings.Contains(stored, "-") && head.ChecksumType != types.ChecksumTypeComposite
	row.Status = VerifyOK
	switch {
	case whole:
		raw, err := base64.StdEncoding.DecodeString(stored)
		sha := hex.EncodeToString(raw)
		if err != nil {
			sha = "unreadable S3 checksum " + stored
		}
		row.Actual = describeRef(size, sha)
		if row.Actual != row.Expected {
			row.Status = VerifyMismatch
		}
	default:
		row.Actual = strconv.FormatInt(size, 10) + " bytes (size only: S3 holds no whole-object SHA-256"
		if stored != "" {
			row.Actual += ", its checksum " + stored + " is composite"
		}
		row.Actual += `; "deep" = "true" re-hashes it)`
		if size != ref.Bytes {
			row.Status = VerifyMismatch
		}
	}
	return row, nil
}
