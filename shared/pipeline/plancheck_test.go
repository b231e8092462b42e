package pipeline

import (
	"errors"
	"testing"

	"github.com/srbackup/srbackup/shared/job"
	"github.com/srbackup/srbackup/shared/source"
)

// TestCheckPlan: a plan must be the job's and read only the job's
// database and tables (issue 12 §2, plan integrity).
func TestCheckPlan(t *testing.T) {
	spec := job.Spec{JobID: "j", Database: "shop", Objects: []job.Object{{Kind: job.KindTable, Name: "orders"}, {Kind: job.KindView, Name: "v"}}}
	shard := func(db, table string) PlanShard {
		return PlanShard{Shard: source.Shard{Database: db, Table: table, Partition: table}}
	}
	good := Plan{JobID: "j", Database: "shop", Shards: []PlanShard{shard("shop", "orders")}}
	if err := checkPlan(spec, &good); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]Plan{
		"another job":      {JobID: "k", Database: "shop"},
		"another database": {JobID: "j", Database: "crm"},
		"a foreign shard":  {JobID: "j", Database: "shop", Shards: []PlanShard{shard("mysql", "user")}},
		"another table":    {JobID: "j", Database: "shop", Shards: []PlanShard{shard("shop", "secrets")}},
		"a view's shard":   {JobID: "j", Database: "shop", Shards: []PlanShard{shard("shop", "v")}},
	} {
		var ce *job.ConflictError
		if err := checkPlan(spec, &bad); !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a ConflictError", name, err)
		}
	}
}
