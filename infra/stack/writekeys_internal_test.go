package stack

import (
	"slices"
	"testing"
)

// A function granted table writes names the item kinds it writes: with no
// writeKeys its conditioned statement would list no key pattern and deny
// every write; with writeKeys but no writes they would say nothing.
func TestWriteKeysGoWithWrites(t *testing.T) {
	for _, s := range functionSpecs(Config{UploadMemoryMB: DefaultUploadMemoryMB}) {
		writes := slices.ContainsFunc(s.tableActions, isTableWrite)
		if writes != (len(s.writeKeys) > 0) {
			t.Errorf("%s: table writes %v but writeKeys %v", s.name, writes, s.writeKeys)
		}
	}
}
