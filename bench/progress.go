package bench

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress redraws one status line on a terminal twice a second:
//
//	[ 12.5s] hold/ramp  open 12,000/20,000  fail 3  2,001 conn/s  0 deliv/s  hb 40  drops 0  client 41.2 MiB
//
// It runs on its own goroutine; a nil writer disables it.
type progress struct {
	w  io.Writer
	r  *runner
	mu sync.Mutex // guards phase, shown and the writer

	phase   string
	shown   bool
	quit    chan struct{}
	done    chan struct{}
	running bool
}

const progressEvery = 500 * time.Millisecond

func newProgress(w io.Writer, r *runner) *progress {
	return &progress{w: w, r: r}
}

func (p *progress) setPhase(s string) {
	p.mu.Lock()
	p.phase = s
	p.mu.Unlock()
}

func (p *progress) start() {
	if p.w == nil || p.running {
		return
	}
	p.running = true
	p.quit, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
}

func (p *progress) stop() {
	if !p.running {
		return
	}
	close(p.quit)
	<-p.done
	p.running = false
	p.clear()
}

// clear erases the line so a log message can be printed in its place.
func (p *progress) clear() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	var prev Snapshot
	prevAt := time.Now()
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			s := p.r.snapshot()
			line := progressLine(p.r, s, prev, now.Sub(prevAt))
			prev, prevAt = s, now
			p.mu.Lock()
			fmt.Fprintf(p.w, "\r\x1b[K[%6.1fs] %s %s", time.Since(p.r.start).Seconds(), p.phase, line)
			p.shown = true
			p.mu.Unlock()
		}
	}
}

func progressLine(r *runner, s, prev Snapshot, dt time.Duration) string {
	t, pt := s.Total(), prev.Total()
	sec := max(dt.Seconds(), 0.001)
	line := fmt.Sprintf(" open %s/%s  fail %s  %s conn/s  %s deliv/s  hb %s  drops %s",
		fmtInt(t.Open), fmtInt(t.Slots), fmtInt(t.Failed),
		fmtInt(int64(float64(t.Established-pt.Established)/sec)),
		fmtInt(int64(float64(t.Unique-pt.Unique)/sec)),
		fmtInt(t.Heartbeats), fmtInt(t.Drops))
	if n := r.pubbed.Load(); n > 0 {
		line += "  pub " + fmtInt(n)
	}
	if s.ClientRSS > 0 {
		line += "  client " + fmtBytes(float64(s.ClientRSS))
	}
	return line
}
