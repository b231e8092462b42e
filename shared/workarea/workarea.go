// Package workarea is the deployment's own scratch space in S3: files a job
// needs only while it runs (a RESTORE's Distributed Map items), under one
// prefix of the deployment's bucket. They are kept out of the repositories
// on purpose: a repository may be registered READ ONLY or live in a bucket
// the deployment may only read (a snapshot another deployment wrote), and a
// restore must never write into the snapshot it reads. The job deletes its
// files when it ends (FINISHED or CANCELLED); the bucket's lifecycle rule
// on Prefix expires any a crash left behind.
package workarea

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/srbackup/srbackup/shared/repository"
)

// Prefix is where every work file lives in the deployment's bucket; no
// repository's keys start with it (theirs hold __srbackup_repository_).
const Prefix = "__srbackup_work/"

// RestoreItemsPattern matches the key of every RESTORE job's Map items file
// (RestoreItemsKey): what the restore functions and the restore state
// machine are granted, and nothing else of the bucket.
const RestoreItemsPattern = Prefix + "restore/*/items.json"

// RestoreItemsKey is the key of RESTORE job jobID's Map items file.
func RestoreItemsKey(jobID string) (string, error) {
	seg, err := repository.Escape(jobID)
	if err != nil {
		return "", fmt.Errorf("work file of job %q: %w", jobID, err)
	}
	return Prefix + "restore/" + seg + "/items.json", nil
}

// S3API is the part of the S3 client the work area uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Area is the work area in one bucket.
type Area struct {
	S3     S3API
	Bucket string
}

// ErrNotConfigured is returned by a nil Area's methods: the function was
// started without SRBACKUP_WORK_BUCKET.
var ErrNotConfigured = errors.New("no work bucket is configured (SRBACKUP_WORK_BUCKET)")

// PutJSON writes v as JSON at key in one PUT, with its SHA-256 as the S3
// additional checksum so a corrupted body is refused. It overwrites: a
// retried step writes the same file again.
func (a *Area) PutJSON(ctx context.Context, key string, v any) error {
	if a == nil || a.Bucket == "" {
		return ErrNotConfigured
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode s3://%s/%s: %w", a.Bucket, key, err)
	}
	sum := sha256.Sum256(b)
	_, err = a.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:            aws.String(a.Bucket),
		Key:               aws.String(key),
		Body:              bytes.NewReader(b),
		ContentLength:     aws.Int64(int64(len(b))),
		ContentType:       aws.String("application/json"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", a.Bucket, key, err)
	}
	return nil
}

// Delete deletes key; a key that is already gone is no error (S3's
// DeleteObject succeeds), so a retried step deletes idempotently.
func (a *Area) Delete(ctx context.Context, key string) error {
	if a == nil || a.Bucket == "" {
		return ErrNotConfigured
	}
	if _, err := a.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", a.Bucket, key, err)
	}
	return nil
}
