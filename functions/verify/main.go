// Command verify is srbackup's ADMIN VERIFY SNAPSHOT Lambda function: the API
// invokes it asynchronously with a verification id; it checks the snapshot
// run against its manifest and records the rows.
// The handler is built from the environment by shared/app; the domain is in shared/.
package main

import "github.com/srbackup/srbackup/shared/app"

func main() { app.Main("verify") }
