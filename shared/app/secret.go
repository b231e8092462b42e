package app

import (
	"context"
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
	TLS      string          `json:"tls,omitempty"`
}

// sourceDSNFromSecret reads the source database's credentials from Secrets
// Manager at start-up, so they never sit in the function's environment.
func sourceDSNFromSecret(ctx context.Context, cfg aws.Config, arn string) (string, error) {
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("read the source database secret: %w", err)
	}
	var s sourceSecret
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &s); err != nil {
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
	c.TLSConfig = s.TLS // e.g. "true" or "skip-verify"; empty means none
	return c.FormatDSN(), nil
}
