// Package e2e runs srbackup end to end: the real functions, the real
// statemachine/backup.asl.json, real AWS SDK calls against the local AWS
// stack, and a real (throwaway) MariaDB.
package e2e

import (
	"os"
	"testing"

	"github.com/srbackup/srbackup/localstack/mariadb/mariadbtest"
)

// shared is the MariaDB server every test of the package uses; each test
// works in databases of its own.
var shared = &mariadbtest.Shared{}

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }
