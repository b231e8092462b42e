// Package apiclient is a Go client of the srbackup API, generated from
// shared/api/openapi.yaml by oapi-codegen (apiclient.gen.go). It shows the
// document is usable by a client generator; tests drive the API with it.
// Only _test files import it: no shipped binary links it.
package apiclient

//go:generate go tool -modfile=../../../_tools/gotools/go.mod oapi-codegen -config oapi-codegen.yaml -o apiclient.gen.go ../openapi.yaml
