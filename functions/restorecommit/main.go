// Command restorecommit is srbackup's restorecommit Lambda function (RESTORE job).
// The handler is built from the environment by shared/app; the domain is in shared/.
package main

import "github.com/srbackup/srbackup/shared/app"

func main() { app.Main("restorecommit") }
