package e2e

import (
	"fmt"
	"testing"
)

// BenchmarkOneTableBackup measures a whole BACKUP of one small table through
// the local stack — Parse, Lock, SnapshotShard, one UploadBatch, Finalize —
// which is srbackup's orchestration overhead.
func BenchmarkOneTableBackup(b *testing.B) {
	e := newEnv(b, envOptions{})
	b.ResetTimer()
	for i := range b.N {
		e.mustFinish(fmt.Sprintf("BACKUP DATABASE %s SNAPSHOT one_%d TO repo ON (TABLE customers)", e.db, i))
	}
}
