package localstack_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/shared/awsconf"
	"github.com/srbackup/srbackup/shared/repository"
)

// TestS3DirOutlivesTheStack: with Options.S3Dir the repository's objects,
// their SHA-256 checksums included, are plain files that a second stack on
// the same directory serves again (`srbackup local up --data-dir`).
func TestS3DirOutlivesTheStack(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	small := []byte("one small file")
	big := bytes.Repeat([]byte("0123456789abcdef"), 11<<16) // 11 MiB: a multipart upload
	var bigSum string
	run := func(write bool) {
		st, err := localstack.Start(ctx, localstack.Options{S3Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cfg, err := awsconf.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		client := s3.NewFromConfig(cfg)
		repo, err := repository.New(client, "r", repository.Location{Bucket: st.Bucket, Prefix: "p"})
		if err != nil {
			t.Fatal(err)
		}
		key := func(name string) string {
			k, err := repo.SnapshotKey("s", name)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		if write {
			if _, err := repo.PutFile(ctx, key("small"), small); err != nil {
				t.Fatal(err)
			}
			if _, bigSum, err = repo.PutStream(ctx, key("big"), bytes.NewReader(big)); err != nil {
				t.Fatal(err)
			}
			return
		}
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key("small")), ChecksumMode: s3types.ChecksumModeEnabled})
		want := sha256.Sum256(small)
		if err != nil || aws.ToString(head.ChecksumSHA256) != base64.StdEncoding.EncodeToString(want[:]) {
			t.Errorf("small file after a restart: %v, checksum %q", err, aws.ToString(head.ChecksumSHA256))
		}
		// Listing as S3 does: a common prefix after a partial name, and an
		// empty answer for a prefix with nothing under it.
		list := func(prefix, delim string) (keys, prefixes []string) {
			in := &s3.ListObjectsV2Input{Bucket: aws.String(st.Bucket), Prefix: aws.String(prefix)}
			if delim != "" {
				in.Delimiter = aws.String(delim)
			}
			out, err := client.ListObjectsV2(ctx, in)
			if err != nil {
				t.Fatalf("list %s: %v", prefix, err)
			}
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			return keys, prefixes
		}
		root := strings.TrimSuffix(key("small"), "small")
		if keys, prefixes := list(strings.TrimSuffix(root, "s/"), "/"); len(keys) != 0 || len(prefixes) != 1 || prefixes[0] != root {
			t.Errorf("partial-name prefix: %v %v, want the prefix %s", keys, prefixes, root)
		}
		if keys, prefixes := list(root+"nothing/", "/"); len(keys)+len(prefixes) != 0 {
			t.Errorf("empty prefix: %v %v", keys, prefixes)
		}
		if keys, _ := list(root, ""); len(keys) != 2 || keys[0] != key("big") {
			t.Errorf("keys under %s: %v", root, keys)
		}
		for name, body := range map[string][]byte{"small": small, "big": big} {
			obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key(name))})
			if err != nil {
				t.Fatalf("%s after a restart: %v", name, err)
			}
			got, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if !bytes.Equal(got, body) {
				t.Errorf("%s after a restart: %d bytes, want %d", name, len(got), len(body))
			}
		}
	}
	run(true)
	run(false)
	sum := sha256.Sum256(big)
	if bigSum == "" || bigSum != hex.EncodeToString(sum[:]) {
		t.Errorf("multipart SHA-256 %s", bigSum)
	}
	// The objects are plain files, readable without srbackup.
	if _, err := os.Stat(filepath.Join(dir, "buckets", "srbackup-repo", "p")); err != nil {
		t.Errorf("no plain files under the directory: %v", err)
	}
}
