package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/repository"
)

// TestSpillWriter: a file within the limit stays in memory and is not
// uploaded; a larger one streams to S3 with its size and SHA-256; an
// encoder error aborts the stream and leaves no object.
func TestSpillWriter(t *testing.T) {
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg)
	repo, err := repository.New(client, "r", repository.Location{Bucket: st.Bucket, Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := func(name string) string {
		k, err := repo.SnapshotKey("s", "__ss_content/db/t/t/"+name)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	exists := func(k string) bool {
		_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(k)})
		return err == nil
	}

	small := &spillWriter{ctx: ctx, repo: repo, key: key("small.parquet"), limit: 100}
	for range 10 {
		if _, err := small.Write(bytes.Repeat([]byte("a"), 10)); err != nil {
			t.Fatal(err)
		}
	}
	if streamed, size, _, err := small.finish(nil); err != nil || streamed || size != 100 || small.buf.Len() != 100 {
		t.Fatalf("small: streamed %t size %d err %v", streamed, size, err)
	}
	if exists(small.key) {
		t.Error("small file uploaded by the writer")
	}

	big := &spillWriter{ctx: ctx, repo: repo, key: key("big.parquet"), limit: 100}
	var want bytes.Buffer
	for i := range 50 {
		b := bytes.Repeat([]byte{byte(i)}, 7)
		want.Write(b)
		if _, err := big.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	streamed, size, sum, err := big.finish(nil)
	wantSum := sha256.Sum256(want.Bytes())
	if err != nil || !streamed || size != int64(want.Len()) || sum != hex.EncodeToString(wantSum[:]) {
		t.Fatalf("big: streamed %t size %d sum %s err %v", streamed, size, sum, err)
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(big.key)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("big: stored %d bytes, want %d", len(got), want.Len())
	}

	broken := &spillWriter{ctx: ctx, repo: repo, key: key("broken.parquet"), limit: 100}
	if _, err := broken.Write(bytes.Repeat([]byte("b"), 300)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := broken.finish(errors.New("encoder failed")); err == nil {
		t.Fatal("broken: no error")
	}
	if exists(broken.key) {
		t.Error("broken: object stored")
	}
}
