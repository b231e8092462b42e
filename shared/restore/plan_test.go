package restore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
)

func TestBatches(t *testing.T) {
	if b := batches(nil); b == nil || len(b) != 0 {
		t.Errorf("no files: %#v, want an empty list", b)
	}
	raw, _ := json.Marshal(batches(nil))
	if string(raw) != "[]" {
		t.Errorf("a plan without files has items %s: the Map needs a list", raw)
	}
	for _, tc := range []struct{ files, batches, most int }{
		{3, 3, 1},
		{2500, spreadBatches, 3},
		{200_000, 3125, maxBatchFiles},
	} {
		var files []FileTask
		for i := range tc.files {
			files = append(files, FileTask{Key: fmt.Sprint(i)})
		}
		b := batches(files)
		if len(b) != tc.batches {
			t.Fatalf("%d batches for %d files, want %d", len(b), len(files), tc.batches)
		}
		seen := map[string]bool{}
		most := 0
		for _, x := range b {
			most = max(most, len(x.Files))
			for _, f := range x.Files {
				if seen[f.Key] {
					t.Fatalf("file %s twice", f.Key)
				}
				seen[f.Key] = true
			}
		}
		if len(seen) != len(files) || most != tc.most {
			t.Errorf("%d files: %d planned, at most %d per batch; want all, %d", tc.files, len(seen), most, tc.most)
		}
	}
}

func TestJobTableNames(t *testing.T) {
	id := "01a230cd-740a-79bc-b6b6-d780653f6911"
	if got := shadowName(id, 3); got != "__srr_d780653f6911_3" {
		t.Errorf("shadow %s", got)
	}
	if got := oldName(id, 3); got != "__sro_d780653f6911_3" {
		t.Errorf("old %s", got)
	}
	for _, n := range []string{journalName(id), committedName(id)} {
		if !strings.HasPrefix(n, shadowPrefix(id)) || len(n) > 64 {
			t.Errorf("journal name %s: not under the job's prefix or too long", n)
		}
	}
}

func TestStatusForCheckError(t *testing.T) {
	err := job.NewCheckError(job.CodeBadReplace, "Table: v has existed and it is not a View")
	if s := job.StatusFor("CheckError", err.Error()); s.String() != "[BAD_REPLACE, msg: Table: v has existed and it is not a View]" {
		t.Errorf("status %s", s)
	}
	if s := job.StatusFor("Error", "boom"); s.String() != "[COMMON_ERROR, msg: boom]" {
		t.Errorf("status %s", s)
	}
}
