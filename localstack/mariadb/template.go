package mariadb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// layoutArgs are the options that fix the on-disk layout of a data
// directory. mariadb-install-db and every mariadbd started from its
// template must agree on them.
var layoutArgs = []string{
	"--innodb-data-file-path=ibdata1:10M:autoextend",
	"--innodb-page-size=16k",
}

// installLogSize is the redo log the template is created with. It is kept
// small so that copying the template is cheap; mariadbd resizes the log to
// Options.RedoLogSize on start.
const installLogSize = "--innodb-log-file-size=16M"

// serverVersion returns the version mariadbd reports, e.g.
// "10.11.19-MariaDB-0+deb12u1".
func serverVersion(ctx context.Context, mariadbd string) (string, error) {
	out, err := exec.CommandContext(ctx, mariadbd, "--no-defaults", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", mariadbd, err)
	}
	m := regexp.MustCompile(`Ver\s+(\S+)`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: unexpected output %q", mariadbd, bytes.TrimSpace(out))
	}
	return string(m[1]), nil
}

// templateDir returns an initialized, empty data directory for this
// mariadbd version, creating it under cacheDir on first use. Concurrent
// callers (parallel test binaries) each build in a private folder and
// rename it into place; the loser of the race uses the winner's copy.
// The boolean reports whether the template already existed.
func templateDir(ctx context.Context, opts *Options, version string) (string, bool, error) {
	args := installArgs(opts)
	sum := sha256.Sum256([]byte(version + "\x00" + strings.Join(args, "\x00")))
	name := "mariadb-template-" + sanitizeVersion(version) + "-" + hex.EncodeToString(sum[:4])
	final := filepath.Join(opts.CacheDir, name)
	if _, err := os.Stat(filepath.Join(final, "mysql")); err == nil {
		return final, true, nil
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return "", false, fmt.Errorf("create template cache %s: %w", opts.CacheDir, err)
	}
	removeAbandonedBuilds(opts.CacheDir)
	work, err := os.MkdirTemp(opts.CacheDir, ".build-"+name+"-")
	if err != nil {
		return "", false, fmt.Errorf("create template build folder: %w", err)
	}
	defer os.RemoveAll(work)

	data := filepath.Join(work, "data")
	tmp := filepath.Join(work, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", false, fmt.Errorf("create template tmpdir: %w", err)
	}
	cmdArgs := append([]string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp}, args...)
	var out bytes.Buffer
	cmd := exec.Command(opts.InstallDB, cmdArgs...)
	cmd.Stdout, cmd.Stderr = &out, &out
	p, err := startProcess(cmd)
	if err != nil {
		return "", false, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.stop(0)
		return "", false, fmt.Errorf("mariadb-install-db: %w", ctx.Err())
	}
	if p.err != nil {
		return "", false, fmt.Errorf("mariadb-install-db: %w\n%s", p.err, tail(out.Bytes(), 4096))
	}
	if err := os.Rename(data, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "mysql")); statErr == nil {
			return final, false, nil // another process won the race
		}
		return "", false, fmt.Errorf("install template %s: %w", final, err)
	}
	return final, false, nil
}

// removeAbandonedBuilds removes build folders of processes killed while
// building a template. A build takes about a second; an hour-old one is
// abandoned.
func removeAbandonedBuilds(cacheDir string) {
	dirs, _ := filepath.Glob(filepath.Join(cacheDir, ".build-*"))
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

// installArgs are the options passed to mariadb-install-db after the
// folders: a passwordless root reachable over TCP, no test database.
func installArgs(opts *Options) []string {
	args := []string{
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
		"--skip-name-resolve",
		installLogSize,
		"--innodb-buffer-pool-size=32M",
	}
	args = append(args, layoutArgs...)
	if opts.runAsRoot {
		args = append(args, "--user=root")
	}
	return args
}

// copyTemplate copies the template data directory to dst. On Linux the
// copy goes through copy_file_range, so it stays in the kernel.
func copyTemplate(template, dst string) error {
	if err := os.CopyFS(dst, os.DirFS(template)); err != nil {
		return fmt.Errorf("copy template %s to %s: %w", template, dst, err)
	}
	return nil
}

func sanitizeVersion(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, v)
}

// tail returns at most the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
