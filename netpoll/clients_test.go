package netpoll_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
)

// Interoperability with real clients, each from its own ecosystem: a Go
// Mastodon library, the npm ws package under the machine's Node.js, and
// headless Chromium's own WebSocket and EventSource (which also proves
// CORS). Each receives a status published in Redis.
//
// Node packages live in testdata/clients (package.json and its lock); the
// tests run `npm ci` there once if node_modules is missing. Chromium is
// Debian's /usr/bin/chromium (`make deps-clients`); as root, the test
// installs it with apt-get unless SLUICE_INSTALL_BROWSER=0. A missing tool
// skips its test with a message saying what to install.

// clientStatus is the status the clients receive, and the content they
// must decode from it.
const (
	clientStatusID      = "115600000000000042"
	clientStatusContent = `<p>hello & "bye"</p>`
)

func clientUpdate() string {
	return `{"event":"update","payload":` + wsStatus(clientStatusID, "bob", "bob") + `}`
}

// TestClientGoMastodon: github.com/mattn/go-mastodon's streaming WebSocket
// API (gorilla/websocket underneath, token in the access_token parameter)
// decodes the update envelope (WS-6) and then a delete.
func TestClientGoMastodon(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	client := mastodon.NewClient(&mastodon.Config{Server: "http://" + s.Addr, AccessToken: "alice-read-token"})
	ctx, cancel := context.WithCancel(context.Background())
	q, err := client.NewWSClient().StreamingWSPublic(ctx, false)
	if err != nil {
		cancel()
		t.Fatalf("StreamingWSPublic: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		for range q { // the library's goroutine sends one last error, then closes q
		}
	})
	s.waitSubscribed("timeline:public") // the only subscriber of this server

	next := func() mastodon.Event {
		t.Helper()
		select {
		case e, ok := <-q:
			if !ok {
				t.Fatal("event channel closed")
			}
			if ee, isErr := e.(*mastodon.ErrorEvent); isErr {
				t.Fatalf("go-mastodon error event: %v", ee.Err)
			}
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("go-mastodon received nothing within 5 s")
		}
		return nil
	}
	s.publish("timeline:public", clientUpdate())
	e := next()
	u, ok := e.(*mastodon.UpdateEvent)
	if !ok {
		t.Fatalf("got %T, want *mastodon.UpdateEvent", e)
	}
	if u.Status.ID != clientStatusID || u.Status.Content != clientStatusContent || u.Status.Account.Username != "bob" {
		t.Errorf("status id %q content %q account %q; want %q %q bob", u.Status.ID, u.Status.Content, u.Status.Account.Username, clientStatusID, clientStatusContent)
	}
	if u.Status.Filtered == nil || len(u.Status.Filtered) != 0 {
		t.Errorf("filtered = %#v, want an empty list (FLT-11)", u.Status.Filtered)
	}
	s.publish("timeline:public", `{"event":"delete","payload":"`+clientStatusID+`"}`)
	e = next()
	if d, ok := e.(*mastodon.DeleteEvent); !ok || d.ID != clientStatusID {
		t.Fatalf("got %#v, want a DeleteEvent for %s", e, clientStatusID)
	}
}

// TestClientNodeWS: the npm ws package run by Node.js connects with the
// token as subprotocol (which it requires echoed, WS-3), subscribes to a
// hashtag with a message, receives the update byte for byte, and completes
// the close handshake (WS-16).
func TestClientNodeWS(t *testing.T) {
	t.Parallel()
	dir := requireNodeClients(t)
	s := startServer(t)
	p := startNode(t, dir, "ws_client.mjs", "ws://"+s.Addr+"/api/v1/streaming", "alice-read-token",
		`{"type":"subscribe","stream":"hashtag","tag":"Café"}`)

	var open struct {
		Open     bool   `json:"open"`
		Protocol string `json:"protocol"`
	}
	p.expect(&open)
	if !open.Open || open.Protocol != "alice-read-token" {
		t.Fatalf("open line %+v, want the token as the selected subprotocol", open)
	}
	type message struct {
		Message string `json:"message"`
		Binary  bool   `json:"binary"`
	}
	var m message
	p.expect(&m)
	if m.Message != syncReply {
		t.Fatalf("first message %q, want the sync reply %s", m.Message, syncReply)
	}
	s.waitSubscribed("timeline:hashtag:cafe")
	s.publish("timeline:hashtag:cafe", clientUpdate())
	p.expect(&m)
	want := wsEvent(`["hashtag","Café"]`, "update", wsQuote(wsFiltered(clientStatusID, "bob", "bob")))
	if m.Binary || m.Message != want {
		t.Fatalf("ws received (binary %v):\n%s\nwant\n%s", m.Binary, m.Message, want)
	}
	var closed struct {
		Close  *int   `json:"close"`
		Reason string `json:"reason"`
	}
	p.expect(&closed)
	if closed.Close == nil || *closed.Close != 1000 || closed.Reason != "done" {
		t.Fatalf("close line %+v, want the server's echo of 1000 \"done\"", closed)
	}
	p.wait()
}

// TestClientChromium: headless Chromium opens a page served from another
// origin (another port of 127.0.0.1), whose own WebSocket (token as
// subprotocol, ?stream=public) and cross-origin EventSource both receive the
// published update. The EventSource works only if the SSE response carries
// Access-Control-Allow-Origin (HTTP-5).
func TestClientChromium(t *testing.T) {
	t.Parallel()
	dir := requireNodeClients(t)
	requireChromium(t)
	s := startServer(t)
	page, err := os.ReadFile(filepath.Join(dir, "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	t.Cleanup(web.Close)
	if strings.HasSuffix(web.URL, s.Addr) {
		t.Fatal("page and Sluice share an origin")
	}
	pageURL := web.URL + "/?" + url.Values{"sluice": {s.Addr}, "token": {"alice-read-token"}}.Encode()
	p := startNode(t, dir, "browser.mjs", pageURL)

	type results struct {
		Origin     string   `json:"origin"`
		WS         []string `json:"ws"`
		SSE        []string `json:"sse"`
		Errors     []string `json:"errors"`
		WSProtocol string   `json:"wsProtocol"`
	}
	var ready struct {
		Ready *results `json:"ready"`
	}
	p.expect(&ready)
	if ready.Ready == nil {
		t.Fatal("no ready line")
	}
	if ready.Ready.Origin != web.URL || ready.Ready.WSProtocol != "alice-read-token" || len(ready.Ready.Errors) != 0 {
		t.Fatalf("page state %+v; want origin %s, the token as subprotocol, no errors", ready.Ready, web.URL)
	}
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", clientUpdate())
	var done struct {
		Results *results `json:"results"`
	}
	p.expect(&done)
	r := done.Results
	if r == nil || len(r.WS) != 1 || len(r.SSE) != 1 || len(r.Errors) != 0 {
		t.Fatalf("browser results %+v; want one WebSocket message, one SSE update, no errors", r)
	}
	payload := wsFiltered(clientStatusID, "bob", "bob")
	if want := wsEvent(`["public"]`, "update", wsQuote(payload)); r.WS[0] != want {
		t.Errorf("WebSocket message:\n got %s\nwant %s", r.WS[0], want)
	}
	if r.SSE[0] != payload {
		t.Errorf("EventSource data:\n got %s\nwant %s", r.SSE[0], payload)
	}
	p.wait()
}

var (
	npmOnce sync.Once
	npmErr  error
)

// requireNodeClients returns the absolute testdata/clients directory with
// its node_modules installed (npm ci once per test binary), or skips.
func requireNodeClients(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: install Node.js and npm (`make deps-clients`) to run the npm ws and Chromium client tests")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "clients"))
	if err != nil {
		t.Fatal(err)
	}
	npmOnce.Do(func() {
		installed := func() bool {
			for _, pkg := range []string{"ws", "playwright-core"} {
				if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
					return false
				}
			}
			return true
		}
		if installed() {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			npmErr = errors.New("npm not found")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var out []byte
		for _, args := range [][]string{
			{"ci", "--no-audit", "--no-fund", "--loglevel=error"},
			{"install", "--no-audit", "--no-fund", "--loglevel=error"},
		} {
			cmd := exec.CommandContext(ctx, npm, args...)
			cmd.Dir = dir
			if out, err = cmd.CombinedOutput(); err == nil && installed() {
				return
			}
		}
		npmErr = fmt.Errorf("npm install failed: %v\n%s", err, out)
	})
	if npmErr != nil {
		t.Skipf("%s: %v; run `make deps-clients`", dir, npmErr)
	}
	return dir
}

var chromiumOnce sync.Once

// chromiumPath is Debian's Chromium, or $SLUICE_CHROMIUM.
func chromiumPath() string {
	if p := os.Getenv("SLUICE_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// requireChromium skips unless Chromium is installed, installing Debian's
// package first when running as root (unless SLUICE_INSTALL_BROWSER=0).
func requireChromium(t *testing.T) {
	t.Helper()
	path := chromiumPath()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if os.Geteuid() == 0 && os.Getenv("SLUICE_INSTALL_BROWSER") != "0" && path == "/usr/bin/chromium" {
		chromiumOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			install := func() error {
				cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium")
				cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Logf("apt-get install chromium: %v\n%s", err, out)
				}
				return err
			}
			if install() != nil {
				_ = exec.CommandContext(ctx, "apt-get", "update", "-qq").Run()
				_ = install()
			}
		})
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Skipf("chromium not found at %s: install Debian's chromium (`make deps-clients`); as root this test installs it itself unless SLUICE_INSTALL_BROWSER=0", path)
}

// nodeProc is a running Node.js script whose stdout is one JSON object per
// line.
type nodeProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *logBuffer
}

// startNode runs `node script args…` in dir, killed when the test ends.
func startNode(t *testing.T, dir, script string, args ...string) *nodeProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	// SIGINT first: playwright then closes the browser it launched.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	p := &nodeProc{t: t, cmd: cmd, lines: make(chan string, 16), stderr: &logBuffer{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("node %s: %v", script, err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	return p
}

// expect decodes the next stdout line into v; a line with an "error" key
// fails the test.
func (p *nodeProc) expect(v any) {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("node exited early; stderr:\n%s", p.stderr.String())
		}
		var e struct {
			Error *string         `json:"error"`
			State json.RawMessage `json:"state"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Error != nil {
			p.t.Fatalf("node: %s (page state %s); stderr:\n%s", *e.Error, e.State, p.stderr.String())
		}
		if err := json.Unmarshal([]byte(line), v); err != nil {
			p.t.Fatalf("node printed %q: %v", line, err)
		}
	case <-time.After(20 * time.Second):
		p.t.Fatalf("node printed nothing within 20 s; stderr:\n%s", p.stderr.String())
	}
}

// wait asserts that the script exits 0 after its last line.
func (p *nodeProc) wait() {
	p.t.Helper()
	for line := range p.lines {
		p.t.Errorf("unexpected node output %q", line)
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Errorf("node: %v; stderr:\n%s", err, p.stderr.String())
	}
}
