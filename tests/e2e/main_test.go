// Package e2e runs srbackup end to end: the real functions, the real
// statemachine/backup.asl.json, real AWS SDK calls against the local AWS
// stack, and a real (throwaway) MariaDB.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/localstack/mariadb/mariadbtest"
)

// shared is the MariaDB server every test of the package uses; each test
// works in databases of its own.
var shared = &mariadbtest.Shared{}

func TestMain(m *testing.M) {
	code := shared.Run(m)
	// Once every scenario has run, every grant must have been used by one
	// of them or be justified in unusedGrants (iam_test.go).
	if code == 0 && wholeSuite() {
		if err := checkUnusedGrants(localtest.ObservedIAM()); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: unused IAM grants:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// wholeSuite reports whether this run ran every test (no -run, -skip or
// -short), so that an unused grant means no scenario needs it.
func wholeSuite() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}
