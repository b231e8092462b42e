package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	driver "github.com/go-sql-driver/mysql"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/iam"
)

// Environment of `srbackup local up` for a user's own database.
const (
	envLocalSource   = "SRBACKUP_LOCAL_SOURCE"    // the DSN, without its password
	envSourcePass    = "SRBACKUP_SOURCE_PASSWORD" // the password
	envLocalDataDir  = "SRBACKUP_LOCAL_DATA_DIR"  // where the repository is kept
	localRepository  = "repo"
	localRepoPrefix  = "backups"
	maxPasswordBytes = 4 << 10
)

// ownSource is the user's own server: a go-sql-driver configuration with
// its password filled in, never printed.
type ownSource struct {
	cfg *driver.Config
}

// parseOwnSource reads the DSN (which must not hold the password: a DSN is
// shown by ps and kept in shell history) and takes the password from the
// environment or from passwordFile. No error quotes the DSN or the password.
func parseOwnSource(dsn, passwordFile string, getenv func(string) string) (*ownSource, error) {
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		return nil, errors.New("-source: not a go-sql-driver DSN, e.g. backup@tcp(db.example.com:3306)/")
	}
	if cfg.Passwd != "" {
		return nil, fmt.Errorf("-source: leave the password out of the DSN (ps and shell history show it): put it in %s or in a file given with -source-password-file", envSourcePass)
	}
	switch pw := getenv(envSourcePass); {
	case passwordFile != "":
		f, err := os.Open(passwordFile)
		if err != nil {
			return nil, fmt.Errorf("-source-password-file: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxPasswordBytes+1))
		f.Close()
		if err != nil || len(b) > maxPasswordBytes {
			return nil, fmt.Errorf("-source-password-file %s: not a readable password of at most %d bytes", passwordFile, maxPasswordBytes)
		}
		cfg.Passwd = strings.TrimRight(string(b), "\r\n")
	case pw != "":
		cfg.Passwd = pw
	}
	return &ownSource{cfg: cfg}, nil
}

// String names the server without its password.
func (o *ownSource) String() string { return o.cfg.User + "@" + o.cfg.Addr }

// check connects once and lists the databases a BACKUP could name.
func (o *ownSource) check(ctx context.Context) ([]string, error) {
	conn, err := driver.NewConnector(o.cfg)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", o, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", o, scrub(err, o.cfg.Passwd))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if !slices.Contains([]string{"information_schema", "mysql", "performance_schema", "sys"}, name) {
			out = append(out, name)
		}
	}
	return out, rows.Err()
}

// scrub keeps a password out of an error's text, whatever the driver puts in it.
func scrub(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "***"))
}

// printS3Commands prints where the local repository's S3 is and commands that
// list and query its snapshots with the stack's operator key (local only).
func printS3Commands(w io.Writer, st *localstack.Stack, dataDir string) {
	host := strings.TrimPrefix(st.S3URL, "http://")
	root := fmt.Sprintf("s3://%s/%s/__srbackup_repository_%s/", st.Bucket, localRepoPrefix, localRepository)
	fmt.Fprintf(w, "S3:    %s (bucket %s; key %s, secret %s, region %s)\n", st.S3URL, st.Bucket, iam.AdminAccessKey, iam.Secret, localstack.Region)
	fmt.Fprintf(w, "list:  %s\n", awsCLIList(st.S3URL, root))
	fmt.Fprintf(w, "query: duckdb -c \"CREATE SECRET (TYPE s3, KEY_ID '%s', SECRET '%s', REGION '%s', ENDPOINT '%s', URL_STYLE 'path', USE_SSL false); "+
		"SELECT filename, count(*) AS row_count FROM read_parquet('%s__ss_*/__ss_content/*/*/*/*.parquet', filename = true, union_by_name = true) GROUP BY ALL ORDER BY 1\"\n",
		iam.AdminAccessKey, iam.Secret, localstack.Region, host, root)
	if dataDir != "" {
		fmt.Fprintf(w, "files: %s (plain Parquet, readable while local up is stopped)\n", repositoryDir(dataDir, st.Bucket))
	}
}

// awsCLIList is the AWS CLI command that lists every snapshot file.
func awsCLIList(endpoint, root string) string {
	return fmt.Sprintf("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws --region %s --endpoint-url %s s3 ls --recursive %s",
		iam.AdminAccessKey, iam.Secret, localstack.Region, endpoint, root)
}

// s3Dir is where local up keeps the S3 stand-in's files under -data-dir.
func s3Dir(dataDir string) string { return dataDir + string(os.PathSeparator) + "s3" }

// repositoryDir is the directory of the local repository's files.
func repositoryDir(dataDir, bucket string) string {
	return strings.Join([]string{s3Dir(dataDir), "buckets", bucket, localRepoPrefix, "__srbackup_repository_" + localRepository}, string(os.PathSeparator))
}
