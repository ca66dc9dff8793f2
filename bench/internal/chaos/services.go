package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Service is one process of the private copy, as run.sh started it.
type Service struct {
	Name   string
	RunDir string
	// HealthURL answers 200 once the process is up again.
	HealthURL string
}

func (s Service) pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.RunDir, s.Name+".pid")) //nolint:gosec // G304: the copy's own run directory
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// KillAndRestart SIGKILLs the service and starts the same binary with the same
// environment again (read from /proc before the kill), as a supervisor would. It returns
// when the process is started; ready reports when it answers its health check.
func (s Service) KillAndRestart(ctx context.Context, pause time.Duration) error {
	pid, err := s.pid()
	if err != nil {
		return err
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return fmt.Errorf("%s: read environment: %w", s.Name, err)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return fmt.Errorf("%s: read binary: %w", s.Name, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: kill: %w", s.Name, err)
	}
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sleepCtx(ctx, pause)
	logf, err := os.OpenFile(filepath.Join(s.RunDir, s.Name+".log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644) //nolint:gosec // G302/G304: the copy's own log
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(strings.TrimSuffix(exe, " (deleted)"), "serve") //nolint:gosec // G204: the copy's own binary
	for _, kv := range bytes.Split(env, []byte{0}) {
		if len(kv) > 0 {
			cmd.Env = append(cmd.Env, string(kv))
		}
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Detached like run.sh's children, so run.sh stop (by pid file) ends it later.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: restart: %w", s.Name, err)
	}
	newPid := cmd.Process.Pid
	go func() { _ = cmd.Wait() }()
	return os.WriteFile(filepath.Join(s.RunDir, s.Name+".pid"), []byte(strconv.Itoa(newPid)+"\n"), 0o600)
}

// Ready reports whether the service answers its health check.
func (s Service) Ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.HealthURL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = res.Body.Close()
	return res.StatusCode == http.StatusOK
}
