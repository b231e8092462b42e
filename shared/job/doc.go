// Package job is srbackup's job model: the spec a BACKUP statement becomes,
// the StarRocks job states and their transitions, the StarRocks Status
// strings, the record the job store keeps and its SHOW BACKUP row, and the
// typed errors the Lambda functions return.
//
// The package has no AWS dependency, so the parser, the API, the CLI and the
// pipeline all share it.
package job
