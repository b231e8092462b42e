package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"
)

func testCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestSecretRequiresVerifiedTLS (issue 12 §2): a source that is not on
// loopback gets verified TLS unless its secret opts out with
// "insecureTLS": true.
func TestSecretRequiresVerifiedTLS(t *testing.T) {
	ca := testCA(t)
	for _, c := range []struct {
		secret map[string]any
		tls    string // the DSN's tls setting; "" none
		err    string
	}{
		{map[string]any{"host": "127.0.0.1"}, "", ""},
		{map[string]any{"host": "localhost", "tls": "skip-verify"}, "skip-verify", ""},
		{map[string]any{"host": "db.example.com"}, "true", ""},
		{map[string]any{"host": "db.example.com", "tls": "true"}, "true", ""},
		{map[string]any{"host": "db.example.com", "tls": "skip-verify"}, "", "requires verified TLS"},
		{map[string]any{"host": "db.example.com", "tls": "false"}, "", "requires verified TLS"},
		{map[string]any{"host": "db.example.com", "tls": "preferred"}, "", "requires verified TLS"},
		{map[string]any{"host": "db.example.com", "tls": "skip-verify", "insecureTLS": true}, "skip-verify", ""},
		{map[string]any{"host": "db.example.com", "tls": "sometimes"}, "", "is not one of"},
		{map[string]any{"host": "db.example.com", "tlsCA": ca}, "srbackup-source-db.example.com", ""},
		{map[string]any{"host": "db.example.com", "tlsCA": "not a certificate"}, "", "no PEM certificate"},
	} {
		c.secret["username"], c.secret["password"] = "u", "hunter2"
		b, _ := json.Marshal(c.secret)
		dsn, err := dsnFromSecret("arn:secret", string(b))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%v: %v, want an error with %q", c.secret, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", c.secret, err)
			continue
		}
		cfg, err := driver.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		got := cfg.TLSConfig
		if got == "" && cfg.TLS != nil {
			got = "?"
		}
		if got != c.tls {
			t.Errorf("%v: tls %q, want %q", c.secret["host"], got, c.tls)
		}
	}
}
