package repository_test

import (
	"context"
	"testing"
)

// TestCreateJSONWritesOnce: a job's shard plan is written only if absent
// (issue 12 §2), so a second writer can not replace the plan the upload
// batches read.
func TestCreateJSONWritesOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.repo(t, "repo", "once")
	ref, created, err := r.CreateJSON(ctx, "l", "__plan_j.json", map[string]int{"v": 1})
	if err != nil || !created || ref.SHA256 == "" {
		t.Fatalf("first CreateJSON = %+v %v %v", ref, created, err)
	}
	if _, created, err := r.CreateJSON(ctx, "l", "__plan_j.json", map[string]int{"v": 2}); err != nil || created {
		t.Fatalf("second CreateJSON = %v %v, want not created", created, err)
	}
	var got map[string]int
	if _, err := r.GetJSON(ctx, "l", "__plan_j.json", &got); err != nil || got["v"] != 1 {
		t.Fatalf("stored %v %v, want the first", got, err)
	}
	if _, _, err := r.CreateJSON(ctx, "l", "../../x", 1); err == nil {
		t.Error("CreateJSON outside the snapshot accepted")
	}
}
