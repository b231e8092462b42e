package main

import (
	"context"
	"strings"
	"testing"
)

// TestLocalAddrLoopbackOnly: `srbackup local up` refuses to serve its
// admin-for-everyone API beyond loopback unless asked (issue 12 §2).
func TestLocalAddrLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8650": true, "127.0.0.2:0": true, "[::1]:8650": true, "localhost:8650": true,
		":8650": false, "0.0.0.0:8650": false, "[::]:8650": false, "192.168.1.5:8650": false,
		"example.com:8650": false, "127.0.0.1": false,
	} {
		if err := checkLocalAddr(addr, false); (err == nil) != ok {
			t.Errorf("checkLocalAddr(%q) = %v, want ok %v", addr, err, ok)
		}
		if err := checkLocalAddr(addr, true); err != nil {
			t.Errorf("checkLocalAddr(%q, allowRemote) = %v", addr, err)
		}
	}
	// Refused before anything starts.
	var out, errb strings.Builder
	if code := runLocal(context.Background(), []string{"up", "-addr", "0.0.0.0:8650"}, stdio{out: &out, err: &errb}); code != 2 || !strings.Contains(errb.String(), "-allow-remote") {
		t.Errorf("local up -addr 0.0.0.0:8650 = %d, %q", code, errb.String())
	}
}
