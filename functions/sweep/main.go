// Command sweep is srbackup's expiry sweep Lambda function: it drops this
// deployment's snapshots past their ExpireTime and finishes interrupted
// DROP SNAPSHOTs, on an EventBridge Scheduler schedule.
// The handler is built from the environment by shared/app; the domain is in shared/.
package main

import "github.com/srbackup/srbackup/shared/app"

func main() { app.Main("sweep") }
