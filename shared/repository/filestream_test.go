package repository_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/srbackup/srbackup/shared/repository"
)

// TestFileStream reads a data file as a stream with a separately read
// tail, and refuses every way its bytes can differ from the manifest's.
func TestFileStream(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "repo", "")
	const rel = "__ss_content/db/t/p/000001.parquet"
	key, _ := r.SnapshotKey("s", rel)
	data := randomBytes(t, 3<<20+17)
	if _, _, err := r.PutStream(ctx, key, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	ref := repository.FileRef{Key: rel, Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}

	read := func(ref repository.FileRef, tail int64, between func()) ([]byte, []byte, error) {
		fs, err := r.OpenFileStream(ctx, "s", ref)
		if err != nil {
			return nil, nil, err
		}
		defer fs.Close()
		tb, err := fs.ReadTail(tail)
		if err != nil {
			return nil, nil, err
		}
		head := make([]byte, 1000)
		if _, err := io.ReadFull(fs, head); err != nil {
			return nil, nil, err
		}
		if between != nil {
			between()
		}
		return head, tb, fs.Finish()
	}
	head, tail, err := read(ref, 4096, nil)
	if err != nil || !bytes.Equal(head, data[:1000]) || !bytes.Equal(tail, data[len(data)-4096:]) {
		t.Fatalf("good file: %v", err)
	}
	// The whole file as its own tail, as for a small file.
	if _, tail, err := read(ref, ref.Bytes, nil); err != nil || !bytes.Equal(tail, data) {
		t.Fatalf("whole-file tail: %v", err)
	}
	// A tail that overlaps what was streamed already is refused.
	if fs, err := r.OpenFileStream(ctx, "s", ref); err == nil {
		_, _ = io.ReadFull(fs, make([]byte, 10))
		if _, err := fs.ReadTail(ref.Bytes - 5); err == nil {
			t.Error("a tail overlapping the streamed bytes was served")
		}
		fs.Close()
	}

	bad := ref
	bad.SHA256 = hex.EncodeToString(make([]byte, 32))
	if _, _, err := read(bad, 4096, nil); !errors.Is(err, repository.ErrChecksum) {
		t.Errorf("wrong SHA-256: %v", err)
	}
	bad = ref
	bad.Bytes--
	if _, err := r.OpenFileStream(ctx, "s", bad); !errors.Is(err, repository.ErrChecksum) {
		t.Errorf("wrong size: %v", err)
	}
	bad.Key = "__ss_content/db/t/p/missing.parquet"
	if _, err := r.OpenFileStream(ctx, "s", bad); !errors.Is(err, repository.ErrMissing) {
		t.Errorf("missing file: %v", err)
	}

	// The object replaced between the tail and the end of the stream: the
	// streamed bytes do not match the tail (or the SHA-256).
	other := bytes.Clone(data)
	other[len(other)-10] ^= 1
	_, _, err = read(ref, 4096, func() {
		if _, _, err := r.PutStream(ctx, key, bytes.NewReader(other)); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil && !errors.Is(err, repository.ErrChecksum) {
		t.Errorf("replaced object: %v", err)
	}
	// A tail read after the object changed is refused by If-Match, or by
	// the comparison with the stream.
	fs, err := r.OpenFileStream(ctx, "s", repository.FileRef{Key: rel, Bytes: ref.Bytes, SHA256: hex.EncodeToString(sha256.New().Sum(nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if _, _, err := r.PutStream(ctx, key, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.ReadTail(4096); err == nil {
		if err := fs.Finish(); !errors.Is(err, repository.ErrChecksum) {
			t.Errorf("tail of a replaced object: %v", err)
		}
	} else if !errors.Is(err, repository.ErrChecksum) {
		t.Errorf("tail of a replaced object: %v", err)
	}
}
