package repository

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLeadingJobID(t *testing.T) {
	b, _ := json.Marshal(Meta{FormatVersion: 1, Name: "l", Database: "shop", JobID: "j", Objects: make([]ObjectMeta, 500)})
	if len(b) <= jobIDPrefix {
		t.Fatalf("test manifest of %d bytes is not bigger than the prefix", len(b))
	}
	if id, ok := leadingJobID(b[:jobIDPrefix]); !ok || id != "j" {
		t.Errorf("leadingJobID of the prefix = %q, %v", id, ok)
	}
	for _, bad := range []string{"", "[]", `{"a": "` + strings.Repeat("x", 100), `{"job_id": 7}`} {
		if id, ok := leadingJobID([]byte(bad)); ok {
			t.Errorf("leadingJobID(%.20q) = %q, want not found", bad, id)
		}
	}
}
