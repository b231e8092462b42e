package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// jobIDPrefix is how much of a __meta or __info file JobIDOf reads: its
// job_id comes fourth, after the format version, the label and the
// database name.
const jobIDPrefix = 8 << 10

// JobIDOf returns the job_id of a snapshot's __meta or __info file (rel)
// reading only the start of it, so that a check of whose file it is does
// not read a manifest of hundreds of megabytes. A file whose job_id is not
// in its first 8 KiB is read whole.
func (r *Repo) JobIDOf(ctx context.Context, label, rel string) (string, error) {
	key, err := r.SnapshotKey(label, rel)
	if err != nil {
		return "", err
	}
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(r.loc.Bucket), Key: aws.String(key), Range: aws.String(fmt.Sprintf("bytes=0-%d", jobIDPrefix-1)),
	})
	if err != nil {
		return "", fmt.Errorf("get s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	head, err := io.ReadAll(io.LimitReader(out.Body, jobIDPrefix))
	out.Body.Close()
	if err != nil {
		return "", fmt.Errorf("read s3://%s/%s: %w", r.loc.Bucket, key, err)
	}
	if id, ok := leadingJobID(head); ok {
		return id, nil
	}
	var doc struct {
		JobID string `json:"job_id"`
	}
	if _, err := r.GetJSON(ctx, label, rel, &doc); err != nil {
		return "", err
	}
	return doc.JobID, nil
}

// leadingJobID finds the top-level "job_id" string of a JSON object in
// its first bytes b; ok is false if b ends first or is not such an object.
func leadingJobID(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		name, _ := t.(string)
		if name == "job_id" {
			var id string
			if err := dec.Decode(&id); err != nil {
				return "", false
			}
			return id, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}
