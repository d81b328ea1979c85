package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The real binary, configured only through Mastodon's environment variables
// (plus a dotenv file, CFG-1/CFG-2), serves a stream, and on SIGTERM drains it
// with the terminating chunk and exits 0 (LIFE-5, X-5).
func TestBinaryServesAndDrains_LIFE5(t *testing.T) {
	pg, rs := testenv.SharedPostgres(t), testenv.SharedRedis(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port := testenv.FreePort(t)
	// PORT comes from .env; the environment's DATABASE_URL wins over the file's.
	env := fmt.Sprintf("PORT=%d\nDATABASE_URL=postgres://nobody@127.0.0.1:1/none\n", port)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DATABASE_URL="+pg.DSN, "REDIS_URL=redis://"+rs.Addr,
		"REDIS_NAMESPACE=binarytest", "SLUICE_DRAIN_SECONDS=1", "LOG_LEVEL=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var c net.Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice did not listen on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/v1/streaming/public?access_token=alice-read-token HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, err := r.ReadString('\n')
	if err != nil || status != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("status %q %v\n%s", status, err, logs.String())
	}
	for line := ""; line != "\r\n"; {
		if line, err = r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	// The wiring of §13 and §17.1: the stream shows in /metrics and in the
	// status endpoint, which reaches PostgreSQL and Redis.
	waitBody := func(path, want string) {
		t.Helper()
		var body []byte
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), want) {
				return
			}
		}
		t.Errorf("GET %s: %q does not contain %q", path, body, want)
	}
	waitBody("/metrics", "\nconnected_clients{type=\"eventsource\"} 1\n")
	waitBody("/api/v1/streaming/status", `"eventsource":1,"websocket":0,"subscriptions":1,"redis":{"connected":true,"channels":3},"postgres":{"connected":true}`)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if !strings.HasSuffix(string(rest), "0\r\n\r\n") {
		t.Errorf("stream did not end with the terminating chunk: %q", rest)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v (want status 0)\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("sluice did not exit within drain + 2 s\n%s", logs.String())
	}
}

// -h documents the environment variables and exits 0.
func TestHelp(t *testing.T) {
	if code := run([]string{"-h"}); code != 0 {
		t.Fatalf("-h exit %d", code)
	}
}
