// Package parquettest checks Parquet files written by parquetio with an
// independent reader, DuckDB (the npm package @duckdb/node-api, pinned in
// _tools/package.json), against the source values they were written from.
package parquettest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

//go:embed read_parquet.cjs
var readScript []byte

// modulePath is where `npm ci` in _tools installs DuckDB, relative to the
// repository root.
const modulePath = "_tools/node_modules"

// DuckDB runs DuckDB through node.
type DuckDB struct {
	node     string
	nodePath string // the node_modules folder holding @duckdb/node-api
	script   string
}

// NewDuckDB finds node and @duckdb/node-api. When either is missing it
// skips the test with a message, or fails it when CI=true.
func NewDuckDB(tb testing.TB) *DuckDB {
	tb.Helper()
	d, err := findDuckDB()
	if err != nil {
		msg := fmt.Sprintf("no DuckDB for this test: %v (install it with `cd _tools && npm ci`)", err)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	d.script = filepath.Join(tb.TempDir(), "read_parquet.cjs")
	if err := os.WriteFile(d.script, readScript, 0o644); err != nil {
		tb.Fatal(err)
	}
	return d
}

func findDuckDB() (*DuckDB, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not installed")
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		mods := filepath.Join(dir, modulePath)
		if _, err := os.Stat(filepath.Join(mods, "@duckdb", "node-api", "package.json")); err == nil {
			return &DuckDB{node: node, nodePath: mods}, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return nil, fmt.Errorf("%s has no @duckdb/node-api", filepath.Join(dir, modulePath))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, errors.New("repository root not found")
		}
		dir = parent
	}
}

// Table is one Parquet file as DuckDB reads it.
type Table struct {
	File    string   `json:"file"`
	Columns []Column `json:"columns"`
	// Rows hold every value as text (see read_parquet.cjs); nil is NULL.
	Rows [][]*string `json:"rows"`
}

// Column is a column and its DuckDB type.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Index returns the position of the named column, or -1.
func (t *Table) Index(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Read reads Parquet files with DuckDB.
func (d *DuckDB) Read(tb testing.TB, files ...string) []Table {
	tb.Helper()
	cmd := exec.Command(d.node, append([]string{d.script}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+d.nodePath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("DuckDB could not read %v: %v\n%s", files, err, stderr.String())
	}
	var tables []Table
	if err := json.Unmarshal(stdout.Bytes(), &tables); err != nil {
		tb.Fatalf("DuckDB output: %v", err)
	}
	return tables
}
