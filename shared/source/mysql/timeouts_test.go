package mysql

import (
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"
)

// TestSourceTimeouts: the source connection has dial, read and write
// timeouts unless the DSN sets its own (issue 12 §2).
func TestSourceTimeouts(t *testing.T) {
	cfg, err := driver.ParseDSN("u:p@tcp(db.example.com:3306)/?readTimeout=30s")
	if err != nil {
		t.Fatal(err)
	}
	setTimeouts(cfg)
	if cfg.Timeout != dialTimeout || cfg.ReadTimeout != 30*time.Second || cfg.WriteTimeout != writeTimeout {
		t.Errorf("timeouts dial %v read %v write %v", cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout)
	}
	if readTimeout <= netWriteTimeout {
		t.Errorf("read timeout %v does not outlast the server's net_write_timeout %v", readTimeout, netWriteTimeout)
	}
}
