package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	driver "github.com/go-sql-driver/mysql"
)

// sourceSecret is the JSON of an RDS-style database secret.
type sourceSecret struct {
	Username string          `json:"username"`
	Password string          `json:"password"`
	Host     string          `json:"host"`
	Port     json.RawMessage `json:"port"` // a number or a string
	// TLS is the driver's tls setting; empty is verified TLS for every host
	// but a loopback one (see tlsSetting).
	TLS string `json:"tls,omitempty"`
	// TLSCA is a PEM bundle the server's certificate is verified against
	// instead of the system roots (RDS: the region's certificate bundle).
	TLSCA string `json:"tlsCA,omitempty"`
	// InsecureTLS is the opt-out: it lets TLS be "false", "preferred" or
	// "skip-verify" for a non-loopback host.
	InsecureTLS bool `json:"insecureTLS,omitempty"`
}

// sourceDSNFromSecret reads the source database's credentials from Secrets
// Manager at start-up, so they never sit in the function's environment.
func sourceDSNFromSecret(ctx context.Context, cfg aws.Config, arn string) (string, error) {
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("read the source database secret: %w", err)
	}
	return dsnFromSecret(arn, aws.ToString(out.SecretString))
}

// dsnFromSecret turns a secret's JSON into a DSN.
func dsnFromSecret(arn, text string) (string, error) {
	var s sourceSecret
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		// Never echo the secret's text.
		return "", fmt.Errorf("source database secret %s is not JSON with username, password, host and port", arn)
	}
	port := "3306"
	if len(s.Port) > 0 {
		var n int
		var str string
		switch {
		case json.Unmarshal(s.Port, &n) == nil:
			port = strconv.Itoa(n)
		case json.Unmarshal(s.Port, &str) == nil && str != "":
			port = str
		}
	}
	if s.Username == "" || s.Host == "" {
		return "", fmt.Errorf("source database secret %s lacks username or host", arn)
	}
	c := driver.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = s.Username, s.Password, "tcp", net.JoinHostPort(s.Host, port)
	tlsName, err := tlsSetting(s)
	if err != nil {
		return "", fmt.Errorf("source database secret %s: %w", arn, err)
	}
	c.TLSConfig = tlsName
	return c.FormatDSN(), nil
}

// tlsSetting is the driver's tls setting for a secret: verified TLS unless
// the host is loopback, or the secret opts out with "insecureTLS": true.
// With a tlsCA bundle the certificate is verified against it, for the
// secret's host name.
func tlsSetting(s sourceSecret) (string, error) {
	loopback := s.Host == "localhost"
	if ip := net.ParseIP(s.Host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	mode := s.TLS
	switch mode {
	case "":
		if loopback {
			return "", nil
		}
		mode = "true"
	case "true":
	case "false", "preferred", "skip-verify":
		if !loopback && !s.InsecureTLS {
			return "", fmt.Errorf("tls %q to %s is not verified TLS: srbackup requires verified TLS to a non-loopback source; "+
				"set \"tlsCA\" to the server's CA bundle, or \"insecureTLS\": true to opt out", mode, s.Host)
		}
		return mode, nil
	default:
		return "", fmt.Errorf("tls %q is not one of true, false, preferred, skip-verify", mode)
	}
	if s.TLSCA == "" {
		return mode, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(s.TLSCA)) {
		return "", fmt.Errorf("tlsCA holds no PEM certificate")
	}
	name := "srbackup-source-" + s.Host
	if err := driver.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, ServerName: s.Host, MinVersion: tls.VersionTLS12}); err != nil {
		return "", fmt.Errorf("tlsCA: %w", err)
	}
	return name, nil
}
