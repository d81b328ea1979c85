package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Worker processes.
//
// When a run needs more sockets than one process may hold, the main
// process re-executes its own binary with the hidden "worker" subcommand
// (and WorkerEnv=1, which test binaries use to divert to RunWorker). The
// two talk JSON lines: the main process writes one start message with the
// Job, then commands; the worker writes a snapshot every 200 ms and one
// result per harvest or close. A worker stops by itself at the job's
// deadline or when its stdin closes (the main process died), so no worker
// outlives a run.

// WorkerEnv is set in a worker's environment.
const WorkerEnv = "SLUICE_BENCH_WORKER"

const (
	workerSnapEvery = 200 * time.Millisecond
	workerStartWait = 15 * time.Second
	workerReplyWait = 60 * time.Second
)

type workerCmd struct {
	Op   string  `json:"op"` // start, grow, rate, drop, churn, harvest, close
	Job  *Job    `json:"job,omitempty"`
	N    int     `json:"n,omitempty"`
	Rate float64 `json:"rate,omitempty"`
}

type workerReply struct {
	Snap   *Snapshot `json:"snap,omitempty"`
	Result *Result   `json:"result,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// RunWorker is the worker process's main loop over its stdin and stdout.
func RunWorker(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(in))
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	reply := func(r workerReply) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
	}
	var start workerCmd
	if err := dec.Decode(&start); err != nil || start.Op != "start" || start.Job == nil {
		return fmt.Errorf("bench: worker: expected a start message on stdin")
	}
	e, err := NewEngine(*start.Job)
	if err != nil {
		reply(workerReply{Error: err.Error()})
		return err
	}
	cmds := make(chan workerCmd)
	go func() {
		defer close(cmds)
		for {
			var c workerCmd
			if dec.Decode(&c) != nil {
				return
			}
			cmds <- c
		}
	}()
	tick := time.NewTicker(workerSnapEvery)
	defer tick.Stop()
	until := time.Until(start.Job.Deadline)
	if start.Job.Deadline.IsZero() {
		until = time.Hour // a job without a deadline still ends
	}
	deadline := time.NewTimer(until)
	defer deadline.Stop()
	for {
		s := e.Snapshot()
		reply(workerReply{Snap: &s})
		select {
		case <-tick.C:
		case <-deadline.C:
			e.Close()
			return errors.New("bench: worker: run deadline passed; closing")
		case c, ok := <-cmds:
			if !ok {
				e.Close()
				return nil // the main process is gone
			}
			if c.Op == "close" {
				r := e.Close()
				reply(workerReply{Result: &r})
				return nil
			}
			workerDo(e, c, reply)
		}
	}
}

func workerDo(e *Engine, c workerCmd, reply func(workerReply)) {
	switch c.Op {
	case "grow":
		e.Grow(c.N)
	case "rate":
		e.SetRate(c.Rate)
	case "drop":
		e.DropAll()
	case "churn":
		e.Churn(c.N)
	case "harvest":
		r := e.Harvest()
		reply(workerReply{Result: &r})
	}
}

// worker is the main process's handle on one worker process.
type worker struct {
	cmd     *exec.Cmd
	enc     *json.Encoder
	mu      sync.Mutex // guards last and err
	last    Snapshot
	err     error
	results chan Result
	exited  chan struct{}
}

// remoteFleet is a fleet of worker processes.
type remoteFleet struct {
	workers []*worker
	shares  []int
	closed  bool
}

func startWorkers(jobs []Job, plan []int) (*remoteFleet, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: cannot find own executable to start workers: %v", err)
	}
	f := &remoteFleet{shares: plan}
	for i := range jobs {
		w, err := spawnWorker(exe, &jobs[i])
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("bench: worker %d of %d: %v", i+1, len(jobs), err)
		}
		f.workers = append(f.workers, w)
	}
	return f, nil
}

func spawnWorker(exe string, job *Job) (*worker, error) {
	cmd := exec.Command(exe, "worker")
	cmd.Env = append(os.Environ(), WorkerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, enc: json.NewEncoder(stdin), results: make(chan Result, 4), exited: make(chan struct{})}
	first := make(chan error, 1)
	go w.read(stdout, first)
	if err := w.enc.Encode(workerCmd{Op: "start", Job: job}); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	select {
	case err := <-first:
		if err != nil {
			_ = cmd.Process.Kill()
			return nil, err
		}
	case <-time.After(workerStartWait):
		_ = cmd.Process.Kill()
		return nil, errors.New("no answer within 15 s")
	}
	return w, nil
}

// read consumes the worker's replies until it exits.
func (w *worker) read(r io.Reader, first chan<- error) {
	defer close(w.exited)
	dec := json.NewDecoder(bufio.NewReader(r))
	started := false
	for {
		var m workerReply
		if err := dec.Decode(&m); err != nil {
			w.fail(errors.New("worker exited"))
			if !started {
				first <- errors.New("worker exited before reporting")
			}
			_ = w.cmd.Wait()
			return
		}
		switch {
		case m.Error != "":
			w.fail(errors.New(m.Error))
			if !started {
				started = true
				first <- errors.New(m.Error)
			}
		case m.Snap != nil:
			w.mu.Lock()
			w.last = *m.Snap
			w.mu.Unlock()
			if !started {
				started = true
				first <- nil
			}
		case m.Result != nil:
			w.results <- *m.Result
		}
	}
}

func (w *worker) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *worker) send(c workerCmd) {
	_ = w.enc.Encode(c)
}

func (f *remoteFleet) Procs() int { return len(f.workers) }

func (f *remoteFleet) Grow(n int) {
	for i, k := range SplitProportional(n, f.shares) {
		f.workers[i].send(workerCmd{Op: "grow", N: k})
	}
}

func (f *remoteFleet) SetRate(r float64) {
	total := 0
	for _, s := range f.shares {
		total += s
	}
	for i, w := range f.workers {
		w.send(workerCmd{Op: "rate", Rate: r * float64(f.shares[i]) / float64(max(1, total))})
	}
}

func (f *remoteFleet) DropAll() {
	for _, w := range f.workers {
		w.send(workerCmd{Op: "drop"})
	}
}

func (f *remoteFleet) Churn(n int) {
	for i, k := range SplitProportional(n, f.shares) {
		if k > 0 {
			f.workers[i].send(workerCmd{Op: "churn", N: k})
		}
	}
}

func (f *remoteFleet) Snapshot() Snapshot {
	var s Snapshot
	for _, w := range f.workers {
		w.mu.Lock()
		s.Add(w.last)
		w.mu.Unlock()
	}
	return s
}

func (f *remoteFleet) Harvest() (Result, error) {
	if f.closed {
		return Result{}, errClosed
	}
	for _, w := range f.workers {
		w.send(workerCmd{Op: "harvest"})
	}
	return f.collect()
}

func (f *remoteFleet) Close() (Result, error) {
	if f.closed {
		return Result{}, errClosed
	}
	f.closed = true
	for _, w := range f.workers {
		w.send(workerCmd{Op: "close"})
	}
	r, err := f.collect()
	for _, w := range f.workers {
		select {
		case <-w.exited:
		case <-time.After(5 * time.Second):
			_ = w.cmd.Process.Kill()
		}
	}
	return r, err
}

// collect waits for one result from every worker and merges them.
func (f *remoteFleet) collect() (Result, error) {
	var total Result
	var errs []error
	timeout := time.After(workerReplyWait)
	for i, w := range f.workers {
		select {
		case r := <-w.results:
			total.Add(r)
		case <-w.exited:
			select {
			case r := <-w.results: // sent just before exiting
				total.Add(r)
			default:
				errs = append(errs, fmt.Errorf("bench: worker %d exited without a result", i+1))
			}
		case <-timeout:
			errs = append(errs, fmt.Errorf("bench: worker %d sent no result within %v", i+1, workerReplyWait))
		}
	}
	return total, errors.Join(errs...)
}
