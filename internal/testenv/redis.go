package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// startTimeout bounds how long a server may take to answer after it starts.
const startTimeout = 30 * time.Second

// Redis is a private redis-server without persistence, listening on
// 127.0.0.1 only. Its methods may be called from any goroutine.
type Redis struct {
	Addr string // "127.0.0.1:<port>"
	Port int

	bin string
	dir string

	mu   sync.Mutex // guards proc; held while the server starts or stops
	proc *proc
}

// StartRedis starts a private redis-server for tb and stops it in
// tb.Cleanup. It skips tb when redis-server is not installed.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	r, err := startRedis()
	check(tb, err)
	tb.Cleanup(r.close)
	return r
}

func startRedis() (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, &errMissingTool{"testenv: redis-server not found on PATH; install it (Debian: apt-get install redis-server) to run this test"}
	}
	dir, err := makeTempDir("sluice-redis-")
	if err != nil {
		return nil, err
	}
	r := &Redis{bin: bin, dir: dir}
	// A free port can be taken by someone else before redis binds it: retry.
	for attempt := 0; ; attempt++ {
		if r.Port, err = freePort(); err != nil {
			break
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port))
		if err = r.start(); err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

// start runs the server on r.Port and waits until it answers PING.
func (r *Redis) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && r.proc.running() {
		return nil
	}
	logPath := filepath.Join(r.dir, "redis.log")
	argv := []string{r.bin,
		"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir,
		"--daemonize", "no", "--logfile", "",
	}
	p, err := startProc(argv, r.dir, logPath, syscall.SIGKILL, nil)
	if err != nil {
		return err
	}
	r.proc = p
	deadline := time.Now().Add(startTimeout)
	for {
		if err := ping(r.Addr); err == nil {
			return nil
		} else if !p.running() || time.Now().After(deadline) {
			p.stop(syscall.SIGKILL, time.Second)
			return fmt.Errorf("testenv: redis-server on %s did not answer PING (%v); log:\n%s", r.Addr, err, tail(logPath, 2000))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends one inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("unexpected reply " + strconv.Quote(line))
	}
	return nil
}

// Stop shuts the server down (SIGTERM, SIGKILL after 5 s) and keeps its
// port, so that Restart can bring it back for fault-injection tests.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		r.proc.stop(syscall.SIGTERM, 5*time.Second)
	}
}

// Restart stops the server if it runs and starts it again on the same port
// with an empty dataset. Clients see their connections drop.
func (r *Redis) Restart() error {
	r.Stop()
	return r.start()
}

// Client returns a rueidis client connected to r (client-side caching off),
// closed in tb.Cleanup.
func (r *Redis) Client(tb testing.TB) rueidis.Client {
	tb.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:  []string{r.Addr},
		DisableCache: true,
	})
	if err != nil {
		tb.Fatalf("testenv: redis client for %s: %v", r.Addr, err)
	}
	tb.Cleanup(c.Close)
	return c
}

func (r *Redis) close() {
	r.Stop()
	os.RemoveAll(r.dir)
}
