package bench

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The client's event loops.
//
// Each loop is one goroutine around one epoll instance (level-triggered).
// Slots are assigned to loops statically (slot i to loop i mod L). The
// dialer goroutine creates a socket, starts a non-blocking connect, stores
// the slot in the engine's fd table (an atomic pointer per descriptor:
// that store publishes the slot's fields to the loop) and registers the fd
// with the slot's loop. From then until the socket is closed, only the loop
// touches the slot. A closed slot that must reconnect goes back to the
// dialer through its queue, a channel, which again orders the hand-over.
//
// The read buffer is one per loop and lent to whichever connection is
// readable. Loops wake at least every loopTick to run commands (drop, churn,
// close), expire connect timeouts and refill slow readers' budgets.

const (
	loopTick    = 10 * time.Millisecond
	sweepPeriod = 100 * time.Millisecond
	readBufSize = 64 << 10
	epollBatch  = 256
)

type cmdKind uint8

const (
	cmdDropAll  cmdKind = iota // close every live socket and redial it (storm)
	cmdChurn                   // close n open sockets and redial them
	cmdCloseAll                // close everything and exit (end of run)
)

type command struct {
	kind cmdKind
	n    int
}

type handoff struct {
	s  *slot
	fd int32
}

type loop struct {
	eng  *Engine
	idx  int
	epfd int

	buf     []byte
	scratch []byte
	events  []syscall.EpollEvent
	live    []*slot // slots this loop owns (a socket is open)
	cursor  int     // churn position in live
	bytesIn atomic.Int64

	mu       sync.Mutex // guards cmds and incoming
	cmds     []command
	incoming []handoff
	wake     atomic.Bool
	done     chan struct{}
}

func newLoop(e *Engine, idx int) (*loop, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, errors.New("bench: epoll_create1: " + err.Error())
	}
	return &loop{
		eng: e, idx: idx, epfd: fd,
		buf:    make([]byte, readBufSize),
		events: make([]syscall.EpollEvent, epollBatch),
		done:   make(chan struct{}),
	}, nil
}

// post queues a command for the loop. Any goroutine.
func (l *loop) post(c command) {
	l.mu.Lock()
	l.cmds = append(l.cmds, c)
	l.mu.Unlock()
	l.wake.Store(true)
}

// adopt tells the loop that s now has socket fd (called by the dialer after
// registering it), so that connect timeouts apply. Any goroutine.
func (l *loop) adopt(s *slot, fd int32) {
	l.mu.Lock()
	l.incoming = append(l.incoming, handoff{s, fd})
	l.mu.Unlock()
	l.wake.Store(true)
}

func (l *loop) run() {
	defer close(l.done)
	defer syscall.Close(l.epfd)
	nextSweep := time.Now().Add(sweepPeriod)
	for {
		n, err := syscall.EpollWait(l.epfd, l.events, int(loopTick/time.Millisecond))
		if err != nil && err != syscall.EINTR {
			return
		}
		for i := 0; i < n; i++ {
			l.onEvent(l.events[i])
		}
		if l.wake.Load() && l.drainMailbox() {
			return
		}
		if now := time.Now(); now.After(nextSweep) {
			nextSweep = now.Add(sweepPeriod)
			l.sweep(now.UnixNano())
		}
	}
}

// own makes s part of the live list if the fd table says it is registered
// with fd, which is the only proof that the dialer has handed it over.
func (l *loop) own(s *slot, fd int32) bool {
	if l.eng.fds[fd].Load() != s {
		return false
	}
	if s.liveIdx < 0 {
		s.liveIdx = int32(len(l.live))
		l.live = append(l.live, s)
	}
	return true
}

func (l *loop) disown(s *slot) {
	i := s.liveIdx
	if i < 0 {
		return
	}
	last := l.live[len(l.live)-1]
	l.live[i] = last
	last.liveIdx = i
	l.live[len(l.live)-1] = nil
	l.live = l.live[:len(l.live)-1]
	s.liveIdx = -1
}

// drainMailbox runs queued commands; it reports whether the loop must exit.
func (l *loop) drainMailbox() bool {
	l.wake.Store(false)
	l.mu.Lock()
	cmds, inc := l.cmds, l.incoming
	l.cmds, l.incoming = nil, nil
	l.mu.Unlock()
	for _, h := range inc {
		l.own(h.s, h.fd)
	}
	for _, c := range cmds {
		switch c.kind {
		case cmdDropAll:
			for len(l.live) > 0 {
				l.closeSlot(l.live[len(l.live)-1], closeClient, "", true)
			}
		case cmdChurn:
			l.churn(c.n)
		case cmdCloseAll:
			for len(l.live) > 0 {
				l.closeSlot(l.live[len(l.live)-1], closeClient, "", false)
			}
			return true
		}
	}
	return false
}

// churn closes up to n open streams, walking the live list round-robin,
// and sends them back to be redialled.
func (l *loop) churn(n int) {
	for tries := len(l.live); n > 0 && tries > 0 && len(l.live) > 0; tries-- {
		l.cursor = (l.cursor + 1) % len(l.live)
		if s := l.live[l.cursor]; s.state == stOpen {
			l.closeSlot(s, closeClient, "", true)
			n--
		}
	}
}

// sweep expires attempts past their deadline and refills slow readers'
// read budgets (SlowRate bytes per second, granted per sweep period).
func (l *loop) sweep(now int64) {
	per := l.eng.slowBudget()
	for i := len(l.live) - 1; i >= 0; i-- {
		if i >= len(l.live) {
			continue
		}
		s := l.live[i]
		switch {
		case (s.state == stConnecting || s.state == stHandshake) && now > s.deadlineNS:
			l.closeSlot(s, closeFail, "timeout", false)
		case s.state == stOpen && l.eng.groups[s.group].spec.Slow:
			s.budget = per
			if s.throttled {
				s.throttled = false
				l.setEvents(s, syscall.EPOLLIN|syscall.EPOLLRDHUP)
			}
		}
	}
}

func (l *loop) setEvents(s *slot, ev uint32) {
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, int(s.fd), &syscall.EpollEvent{Events: ev, Fd: s.fd})
}

func (l *loop) onEvent(ev syscall.EpollEvent) {
	s := l.eng.fds[ev.Fd].Load()
	if s == nil || int(s.loop) != l.idx || !l.own(s, ev.Fd) {
		return
	}
	if s.state == stConnecting {
		l.onConnect(s)
		return
	}
	if ev.Events&syscall.EPOLLOUT != 0 && len(s.out) > 0 {
		if !l.flush(s) {
			return
		}
	}
	if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		l.onReadable(s)
	}
}

// onConnect finishes a non-blocking connect and sends the request.
func (l *loop) onConnect(s *slot) {
	errno, err := syscall.GetsockoptInt(int(s.fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err == nil && errno != 0 {
		err = syscall.Errno(errno)
	}
	if err != nil {
		l.closeSlot(s, closeFail, errReason(err), false)
		return
	}
	s.state = stHandshake
	l.setEvents(s, syscall.EPOLLIN|syscall.EPOLLRDHUP)
	l.send(s, l.eng.groups[s.group].request)
}

func (l *loop) onReadable(s *slot) {
	limit := len(l.buf)
	slow := l.eng.groups[s.group].spec.Slow && s.state == stOpen
	if slow {
		if s.budget <= 0 {
			// Stop listening until the next sweep grants more bytes.
			s.throttled = true
			l.setEvents(s, 0)
			return
		}
		limit = min(limit, int(s.budget))
	}
	n, err := syscall.Read(int(s.fd), l.buf[:limit])
	now := time.Now().UnixNano()
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err != nil:
		l.closeLost(s, errReason(err))
		return
	case n == 0:
		l.closeLost(s, l.endReason(s, "eof"))
		return
	}
	l.bytesIn.Add(int64(n))
	if slow {
		s.budget -= int32(n)
	}
	if s.state == stHandshake {
		l.onHead(s, l.buf[:n], now)
		return
	}
	l.onBody(s, l.buf[:n], now)
}

// closeLost closes a socket the server closed or reset.
func (l *loop) closeLost(s *slot, reason string) {
	if s.state == stOpen {
		l.closeSlot(s, closeDrop, reason, false)
		return
	}
	if reason == "eof" {
		reason = "closed-before-response"
	}
	l.closeSlot(s, closeFail, reason, false)
}

// send writes b (which the loop may reuse afterwards) and reports whether
// the slot is still open. What the socket does not take is copied and
// written when it becomes writable.
func (l *loop) send(s *slot, b []byte) bool {
	if len(s.out) > 0 {
		s.out = append(s.out, b...)
		return true
	}
	n, err := syscall.Write(int(s.fd), b)
	if err == syscall.EAGAIN {
		n, err = 0, nil
	}
	if err != nil {
		l.closeLost(s, errReason(err))
		return false
	}
	if n < len(b) {
		s.out = append([]byte(nil), b[n:]...)
		l.setEvents(s, syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLOUT)
	}
	return true
}

// trySend writes what the socket takes now and forgets the rest.
func (l *loop) trySend(s *slot, b []byte) {
	_, _ = syscall.Write(int(s.fd), b)
}

func (l *loop) flush(s *slot) bool {
	n, err := syscall.Write(int(s.fd), s.out)
	if err == syscall.EAGAIN {
		return true
	}
	if err != nil {
		l.closeLost(s, errReason(err))
		return false
	}
	s.out = s.out[n:]
	if len(s.out) == 0 {
		s.out = nil
		l.setEvents(s, syscall.EPOLLIN|syscall.EPOLLRDHUP)
	}
	return true
}

type closeKind uint8

const (
	closeFail   closeKind = iota // the attempt never became a stream
	closeDrop                    // the server ended an open stream
	closeClient                  // we closed it (storm, churn, end of run)
)

// closeSlot closes the slot's socket, counts why, and optionally queues the
// slot to be dialled again.
func (l *loop) closeSlot(s *slot, kind closeKind, reason string, redial bool) {
	e := l.eng
	st := &e.groups[s.group].stats
	fd := s.fd
	l.disown(s)
	e.fds[fd].Store(nil)
	_ = syscall.Close(int(fd))
	if s.state == stConnecting || s.state == stHandshake {
		e.inflight.Add(-1)
	}
	if s.state == stOpen {
		st.open.Add(-1)
	}
	s.state, s.fd, s.throttled = stIdle, -1, false
	s.resetParser()
	switch kind {
	case closeFail:
		st.failed.Add(1)
		e.failures.add(reason)
		e.lastResolved.Store(time.Now().UnixNano())
	case closeDrop:
		st.drops.Add(1)
		e.drops.add(reason)
	}
	if redial {
		st.redials.Add(1)
		e.queue <- s
	}
}

// established turns a handshaking slot into a stream.
func (l *loop) established(s *slot, now int64) {
	e := l.eng
	g := &e.groups[s.group]
	s.state = stOpen
	s.budget = e.slowBudget()
	e.inflight.Add(-1)
	e.est.Load().Record(now - s.startNS)
	g.stats.established.Add(1)
	g.stats.open.Add(1)
	e.lastEstablished.Store(now)
	e.lastResolved.Store(now)
	if !s.activated {
		s.activated = true
		for i := range s.trk {
			g.stats.active[i].Add(1)
		}
	}
}

// errReason names a socket error for the failure and drop tables.
func errReason(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "error"
	}
	switch errno {
	case syscall.ECONNREFUSED:
		return "refused"
	case syscall.ECONNRESET, syscall.EPIPE:
		return "reset"
	case syscall.ETIMEDOUT:
		return "timeout"
	case syscall.EADDRNOTAVAIL, syscall.EADDRINUSE:
		return "no-source-port"
	case syscall.EMFILE, syscall.ENFILE:
		return "fd-limit"
	case syscall.EAGAIN:
		return "backlog-full"
	case syscall.ENOENT:
		return "no-socket-file"
	}
	return "errno-" + errno.Error()
}
