package bench

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Group describes a set of identical client connections.
type Group struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	WS    bool   `json:"ws,omitempty"`
	// Path is the request path with query: an SSE stream path
	// (/api/v1/streaming/user) or the WebSocket upgrade path
	// (/api/v1/streaming?stream=user).
	Path string `json:"path"`
	// Subscribe holds WebSocket messages sent right after the upgrade,
	// e.g. {"type":"subscribe","stream":"hashtag","tag":"bench"}.
	Subscribe []string `json:"subscribe,omitempty"`
	// Channels are the indices, in the run's channel table, of the
	// channels whose messages every connection of the group should get.
	Channels []int `json:"channels,omitempty"`
	// Slow readers shrink their receive buffer and read at most
	// Job.SlowRate bytes per second.
	Slow bool `json:"slow,omitempty"`
}

// Job is everything one process needs to run its share of a fleet.
type Job struct {
	Target string  `json:"target"`
	Token  string  `json:"token"`
	Groups []Group `json:"groups"`
	// Rate is the connect rate of this process, per second; 0 means as fast
	// as MaxInflight allows.
	Rate        float64 `json:"rate"`
	MaxInflight int     `json:"max_inflight"`
	// Sources are the local addresses to bind, used round-robin starting
	// at SourceOffset (the connections of earlier processes).
	Sources        []string      `json:"sources,omitempty"`
	SourceOffset   int           `json:"source_offset"`
	Loops          int           `json:"loops"`
	ConnectTimeout time.Duration `json:"connect_timeout"`
	SlowRate       int           `json:"slow_rate"`
	Run            uint32        `json:"run"`
	// Deadline is when a worker process stops by itself, whatever happens.
	Deadline time.Time `json:"deadline"`
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux ≥ 4.2): bind() to
// a source address defers the port choice to connect(), where the kernel
// can reuse a port for a different destination.
const ipBindAddressNoPort = 0x18

// slowRcvBuf is SO_RCVBUF for slow readers (the kernel doubles it).
const slowRcvBuf = 4096

type engineGroup struct {
	spec      Group
	request   []byte // the whole request, shared by every connection
	subscribe []byte // masked subscribe frames sent after the upgrade
	accept    []byte // expected Sec-WebSocket-Accept
	stats     groupStats
}

// Engine holds one process's connections: the slots, the dialer goroutine
// and the event loops. Its exported methods may be called from any
// goroutine.
type Engine struct {
	job      Job
	target   Target
	sa       syscall.Sockaddr
	srcSA    []*syscall.SockaddrInet4
	run      uint32
	groups   []engineGroup
	slots    []slot
	order    []*slot // dial order: groups interleaved in proportion
	fds      []atomic.Pointer[slot]
	loops    []*loop
	queue    chan *slot
	stop     chan struct{}
	dialed   sync.WaitGroup
	rate     atomic.Uint64 // float64 bits
	inflight atomic.Int64
	est      atomic.Pointer[Hist]

	failures, drops               reasonCounts
	lastEstablished, lastResolved atomic.Int64

	mu     sync.Mutex // guards grown and closed
	grown  int
	closed bool
	final  *Result
}

// NewEngine validates job, creates the slots and starts the loops and the
// dialer. No connection is opened before Grow.
func NewEngine(job Job) (*Engine, error) {
	t, err := ParseTarget(job.Target)
	if err != nil {
		return nil, err
	}
	if err := checkHeaderValue("token", job.Token); err != nil {
		return nil, err
	}
	e := &Engine{job: job, target: t, sa: t.sockaddr(), run: job.Run, stop: make(chan struct{})}
	if e.job.ConnectTimeout <= 0 {
		e.job.ConnectTimeout = 10 * time.Second
	}
	if e.job.MaxInflight <= 0 {
		e.job.MaxInflight = 1024
	}
	e.setRate(job.Rate)
	for _, a := range job.Sources {
		ip, err := parseSource(a)
		if err != nil {
			return nil, err
		}
		e.srcSA = append(e.srcSA, &syscall.SockaddrInet4{Addr: ip.As4()})
	}
	if err := e.buildGroups(); err != nil {
		return nil, err
	}
	soft, _, err := RaiseNoFile()
	if err != nil {
		return nil, err
	}
	e.fds = make([]atomic.Pointer[slot], min(soft, 1<<24))
	e.est.Store(NewHist())
	e.buildSlots()
	if err := e.startLoops(); err != nil {
		return nil, err
	}
	e.dialed.Add(1)
	go e.dialer()
	return e, nil
}

func checkHeaderValue(what, v string) error {
	if strings.ContainsAny(v, "\r\n \t,") {
		return fmt.Errorf("bench: %s %q may not contain spaces, commas or line breaks", what, v)
	}
	return nil
}

func (e *Engine) buildGroups() error {
	e.groups = make([]engineGroup, len(e.job.Groups))
	for i, g := range e.job.Groups {
		if !strings.HasPrefix(g.Path, "/") || strings.ContainsAny(g.Path, " \r\n\t") {
			return fmt.Errorf("bench: group %q: path %q must start with / and contain no spaces", g.Name, g.Path)
		}
		eg := &e.groups[i]
		eg.spec = g
		eg.request = buildRequest(g, e.target.HostHeader(), e.job.Token)
		if g.WS {
			eg.accept = wsAccept(wsKey)
			for _, m := range g.Subscribe {
				eg.subscribe = appendClientFrame(eg.subscribe, opText, []byte(m))
			}
		}
		eg.stats.slots.Store(int64(g.Count))
		eg.stats.active = make([]atomic.Int64, len(g.Channels))
		eg.stats.lat.Store(NewHist())
	}
	return nil
}

// buildRequest renders the request every connection of g sends. The token
// travels as a bearer header (SSE) or as the subprotocol (WebSocket), the
// way Mastodon's web client sends it.
func buildRequest(g Group, host, token string) []byte {
	var b strings.Builder
	b.WriteString("GET " + g.Path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: sluice-bench\r\n")
	if g.WS {
		b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + wsKey + "\r\n")
		if token != "" {
			b.WriteString("Sec-WebSocket-Protocol: " + token + "\r\n")
		}
	} else {
		b.WriteString("Accept: text/event-stream\r\n")
		if token != "" {
			b.WriteString("Authorization: Bearer " + token + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// buildSlots creates every slot and orders them so that any prefix of the
// dial order holds the groups in proportion (smooth weighted round-robin):
// growing a mixed fleet to 10 % gives 10 % of each group.
func (e *Engine) buildSlots() {
	total := 0
	for _, g := range e.job.Groups {
		total += g.Count
	}
	nloops := max(1, e.job.Loops)
	e.slots = make([]slot, total)
	e.order = make([]*slot, 0, total)
	e.queue = make(chan *slot, total)
	left := make([]int, len(e.job.Groups))
	credit := make([]int, len(e.job.Groups))
	for i, g := range e.job.Groups {
		left[i] = g.Count
	}
	for i := range e.slots {
		best := -1
		for gi := range left {
			if left[gi] == 0 {
				continue
			}
			credit[gi] += e.job.Groups[gi].Count
			if best < 0 || credit[gi] > credit[best] {
				best = gi
			}
		}
		credit[best] -= total
		left[best]--
		s := &e.slots[i]
		*s = slot{id: int32(i), fd: -1, liveIdx: -1, group: uint16(best), loop: uint16(i % nloops)}
		for _, ch := range e.job.Groups[best].Channels {
			s.trk = append(s.trk, tracker{ch: uint16(ch)})
		}
		e.order = append(e.order, s)
	}
}

func (e *Engine) startLoops() error {
	n := max(1, e.job.Loops)
	for i := 0; i < n; i++ {
		l, err := newLoop(e, i)
		if err != nil {
			for _, l := range e.loops {
				l.post(command{kind: cmdCloseAll})
			}
			return err
		}
		e.loops = append(e.loops, l)
		go l.run()
	}
	return nil
}

func (e *Engine) setRate(r float64) { e.rate.Store(math.Float64bits(max(0, r))) }

// SetRate changes the connect rate (per second; 0 = unlimited).
func (e *Engine) SetRate(r float64) { e.setRate(r) }

func (e *Engine) slowBudget() int32 {
	return int32(max(1, e.job.SlowRate*int(sweepPeriod/time.Millisecond)/1000))
}

// Grow queues connections until n slots (of this process) have been asked
// to connect. Growing below the current size does nothing.
func (e *Engine) Grow(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	for n = min(n, len(e.order)); e.grown < n; e.grown++ {
		e.queue <- e.order[e.grown]
	}
}

// DropAll closes every socket at once and queues all of them to reconnect.
func (e *Engine) DropAll() {
	for _, l := range e.loops {
		l.post(command{kind: cmdDropAll})
	}
}

// Churn closes n open streams (spread over the loops) and reconnects them.
func (e *Engine) Churn(n int) {
	per := SplitProportional(n, onesOf(len(e.loops)))
	for i, l := range e.loops {
		if per[i] > 0 {
			l.post(command{kind: cmdChurn, n: per[i]})
		}
	}
}

func onesOf(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

// dialer takes slots from the queue and starts their connects, paced by
// the rate (token bucket, 10 ms of burst) and by MaxInflight.
func (e *Engine) dialer() {
	defer e.dialed.Done()
	var tokens float64
	last := time.Now()
	for {
		var s *slot
		select {
		case <-e.stop:
			return
		case s = <-e.queue:
		}
		for !e.mayDial(&tokens, &last) {
			select {
			case <-e.stop:
				return
			default:
				time.Sleep(200 * time.Microsecond)
			}
		}
		e.dial(s)
	}
}

func (e *Engine) mayDial(tokens *float64, last *time.Time) bool {
	if e.inflight.Load() >= int64(e.job.MaxInflight) {
		return false
	}
	rate := math.Float64frombits(e.rate.Load())
	if rate <= 0 {
		return true
	}
	now := time.Now()
	*tokens = min(max(1, rate/100), *tokens+rate*now.Sub(*last).Seconds())
	*last = now
	if *tokens >= 1 {
		*tokens--
		return true
	}
	return false
}

// dial starts one connect and hands the socket to the slot's loop.
func (e *Engine) dial(s *slot) {
	st := &e.groups[s.group].stats
	st.attempts.Add(1)
	now := time.Now().UnixNano()
	fd, err := e.connect(s)
	if err != nil {
		st.failed.Add(1)
		e.failures.add(errReason(err))
		e.lastResolved.Store(now)
		return
	}
	s.fd, s.state, s.startNS = int32(fd), stConnecting, now
	s.deadlineNS = now + int64(e.job.ConnectTimeout)
	s.resetParser()
	e.inflight.Add(1)
	e.fds[fd].Store(s)
	l := e.loops[s.loop]
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		e.fds[fd].Store(nil)
		_ = syscall.Close(fd)
		s.state, s.fd = stIdle, -1
		e.inflight.Add(-1)
		st.failed.Add(1)
		e.failures.add(errReason(err))
		return
	}
	l.adopt(s, int32(fd))
}

// connect creates a non-blocking socket bound to the slot's source address
// and starts connecting it.
func (e *Engine) connect(s *slot) (int, error) {
	fd, err := syscall.Socket(e.target.family(), syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if e.groups[s.group].spec.Slow {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, slowRcvBuf)
	}
	if len(e.srcSA) > 0 && e.target.Network == "tcp4" {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
		src := e.srcSA[sourceIndex(e.job.SourceOffset, int(s.id), len(e.srcSA))]
		if err := syscall.Bind(fd, src); err != nil {
			_ = syscall.Close(fd)
			return -1, err
		}
	}
	deadline := time.Now().Add(e.job.ConnectTimeout)
	for {
		err = syscall.Connect(fd, e.sa)
		switch {
		case err == nil, err == syscall.EINPROGRESS, err == syscall.EINTR:
			return fd, nil
		case err == syscall.EAGAIN && e.target.Network == "unix" && time.Now().Before(deadline):
			// A unix listener's backlog is full: wait like a TCP SYN would.
			time.Sleep(time.Millisecond)
			continue
		}
		_ = syscall.Close(fd)
		return -1, err
	}
}

// Snapshot returns the counters now.
func (e *Engine) Snapshot() Snapshot {
	s := Snapshot{
		At: time.Now().UnixNano(), Procs: 1, Inflight: e.inflight.Load(),
		Failures: e.failures.snapshot(), Drops: e.drops.snapshot(), ClientRSS: selfRSS(),
		LastEstablished: e.lastEstablished.Load(), LastResolved: e.lastResolved.Load(),
	}
	for _, l := range e.loops {
		s.BytesIn += l.bytesIn.Load()
	}
	for i := range e.groups {
		s.Groups = append(s.Groups, e.groups[i].stats.snap(e.groups[i].spec.Name))
	}
	return s
}

// Harvest returns the counters and the histograms recorded since the last
// harvest, and starts new histograms. A value being recorded during the
// swap may land in either one.
func (e *Engine) Harvest() Result {
	r := Result{Snapshot: e.Snapshot(), Establish: e.est.Swap(NewHist())}
	for i := range e.groups {
		r.Latency = append(r.Latency, e.groups[i].stats.lat.Swap(NewHist()))
	}
	return r
}

// Close stops dialing, closes every socket, stops the loops and returns
// the final harvest. Later calls return the same result.
func (e *Engine) Close() Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.final != nil {
		return *e.final
	}
	e.closed = true
	close(e.stop)
	e.dialed.Wait()
	for _, l := range e.loops {
		l.post(command{kind: cmdCloseAll})
	}
	for _, l := range e.loops {
		<-l.done
	}
	r := e.Harvest()
	e.final = &r
	return r
}

// errClosed is returned by fleets used after Close.
var errClosed = errors.New("bench: fleet already closed")

// sourceAddrs converts addresses for a Job.
func sourceAddrs(a []netip.Addr) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = x.String()
	}
	return out
}
