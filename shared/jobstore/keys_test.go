package jobstore

import (
	"path"
	"testing"
)

// The key patterns match the keys the store writes, and nothing of another kind.
func TestKeyPatterns(t *testing.T) {
	keys := map[string]string{
		KeysJobs:          jobPK("j#1"),
		KeysLocks:         lockPK("db"),
		KeysSnapshotNames: snapPK("repo", "label"),
		KeysDatabases:     pkDBs,
		KeysRepositories:  pkRepos,
		KeysDeployment:    pkDeployment,
		KeysDrops:         pkDrops,
		KeysVerifications: verifyPK("v1"),
	}
	for pattern := range keys {
		for other, key := range keys {
			// IAM's StringLike * matches like path.Match's * on keys without '/'.
			got, err := path.Match(pattern, key)
			if err != nil {
				t.Fatal(err)
			}
			if want := other == pattern; got != want {
				t.Errorf("pattern %q matches %q = %v, want %v", pattern, key, got, want)
			}
		}
	}
}
