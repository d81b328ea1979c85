package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerFile names the file in each temporary directory that holds the pid of
// the test binary that made it.
const ownerFile = "owner.pid"

// makeTempDir creates a 0755 directory under /tmp (not t.TempDir, whose
// parents may be closed to the postgres user) and records our pid in it.
// Directories left by test binaries that died without cleanup (SIGKILL, a
// go test timeout) are removed first; their servers died with them
// (Pdeathsig).
func makeTempDir(prefix string) (string, error) {
	reapStale(prefix)
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("testenv: temporary directory: %w", err)
	}
	return dir, nil
}

// reapStale removes /tmp/<prefix>* directories whose owner process is gone.
// A directory without an owner file is being created and is left alone.
func reapStale(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join("/tmp", prefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// proc is one server process run in the foreground as our child. Servers are
// not daemonized (no pg_ctl start, no --daemonize) so that Pdeathsig ends them
// when the test binary dies without running its cleanups (a go test timeout,
// a panic, os.Exit): a daemon would outlive it and keep its port and files.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait has returned
	err    error         // cmd.Wait's result, valid after exited is closed
}

// startProc starts argv with its output appended to logPath. deathSig is the
// signal the kernel sends the process when the test binary dies. cred, when
// non-nil, runs the process as another user (PostgreSQL refuses root); the
// kernel clears the death signal on a credential change, but Go sets it after
// switching users, so it survives.
func startProc(argv []string, dir, logPath string, deathSig syscall.Signal, cred *syscall.Credential) (*proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	if cred != nil {
		if err := os.Chown(logPath, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("testenv: %w", err)
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig:  deathSig,
		Setpgid:    true, // a ^C in the terminal goes to the test binary only
		Credential: cred,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testenv: start %s: %w", argv[0], err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// running reports whether the process has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends sig and waits up to grace for the exit, then kills.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// run runs argv to completion and returns its combined output in the error.
func run(argv []string, dir string, cred *syscall.Credential) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testenv: %s: %w\n%s", strings.Join(argv, " "), err, out.Bytes())
	}
	return nil
}

// tail returns the last n bytes of the file at path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
