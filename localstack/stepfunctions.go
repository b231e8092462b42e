package localstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stepFunctions is the Node child process serving the Step Functions API
// (localstack/sfn/server.js over the npm package aws-local-stepfunctions).
type stepFunctions struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser // closing it makes the server exit
	url   string
	done  chan struct{}
}

// startStepFunctions starts the server on an ephemeral port and waits until it
// listens. The child runs in its own process group, so Close can kill
// everything it started, and it exits by itself when our end of its stdin
// closes, so a crashed parent never leaves it behind.
func startStepFunctions(ctx context.Context, root string, env []string, log *slog.Logger) (*stepFunctions, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("step functions server: node not found in PATH: install Node.js 20 or newer")
	}
	modules := filepath.Join(root, "_tools", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "aws-local-stepfunctions")); err != nil {
		return nil, fmt.Errorf("step functions server: %s/aws-local-stepfunctions is missing: run `make tools`", modules)
	}
	cmd := exec.Command(node, filepath.Join(root, "localstack", "sfn", "server.js"))
	// NODE_NO_WARNINGS: the AWS SDK for JavaScript warns on every start that
	// Node 20 support ends in 2027; the server works on Node 20 with the polyfill.
	cmd.Env = append(env, "NODE_PATH="+modules, "PORT=0", "HOST=127.0.0.1", "NODE_NO_WARNINGS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("step functions server: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("step functions server: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("step functions server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("step functions server: start node: %w", err)
	}
	s := &stepFunctions{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	go logLines(stderr, log, "sfn stderr")

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, "sfn listening on "); ok {
				ready <- addr
				continue
			}
			log.Info("sfn", "line", line)
		}
	}()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case addr := <-ready:
		s.url = "http://" + addr
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("step functions server exited during startup: %v", cmd.ProcessState)
	case <-timer.C:
		s.close()
		return nil, errors.New("step functions server did not start within 15s")
	case <-ctx.Done():
		s.close()
		return nil, ctx.Err()
	}
}

// close stops the server and everything in its process group.
func (s *stepFunctions) close() {
	_ = s.stdin.Close()
	pgid := -s.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-s.done
	}
}

func logLines(r io.Reader, log *slog.Logger, msg string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		log.Warn(msg, "line", sc.Text())
	}
}

// SetExecutionTimeout times the execution named name out d from now if it
// is running, else d after it starts, instead of at its state machine's
// TimeoutSeconds: it ends TIMED_OUT (States.Timeout) as AWS ends an
// execution past its timeout. Test-only: it needs Options.Faults.
func (s *Stack) SetExecutionTimeout(ctx context.Context, name string, d time.Duration) error {
	if s.sfn == nil || s.proxies == nil {
		return errors.New("SetExecutionTimeout needs Options.StepFunctions and Options.Faults")
	}
	body, _ := json.Marshal(map[string]any{"name": name, "timeoutSeconds": d.Seconds()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.sfn.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.TestSetExecutionTimeout")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("set execution timeout: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("set execution timeout: %s: %s", resp.Status, b)
	}
	return nil
}
