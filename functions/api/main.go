// Command api is the srbackup HTTP API function (API Gateway HTTP API, payload format 2.0, IAM authorization).
// The handler is built from the environment by shared/app; the domain is in shared/.
package main

import "github.com/srbackup/srbackup/shared/app"

func main() { app.Main("api") }
