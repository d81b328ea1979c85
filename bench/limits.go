package bench

import (
	"fmt"
	"syscall"
)

// File-descriptor limits and the split of connections over processes.
//
// Every client socket is a file descriptor, and RLIMIT_NOFILE caps them per
// process. On the project's machines the hard limit is 20,000 and cannot be
// raised, so a run larger than one process can hold re-executes
// sluice-bench as worker processes (see worker.go), each holding its share.

// FDReserve is the number of descriptors a process keeps for things other
// than client sockets: stdio, epoll instances, pipes to workers, the Redis
// client, /proc reads and the Go runtime.
const FDReserve = 300

// DefaultPerWorker is the default ceiling of connections per process: below
// the 19,700 a 20,000-descriptor process can hold, leaving slack for a
// storm's sockets that are closing while their replacements connect.
const DefaultPerWorker = 19000

// MaxConnections bounds any single run, so a typo in -n cannot start
// thousands of worker processes.
const MaxConnections = 2_000_000

// RaiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit and returns
// the limits now in force.
func RaiseNoFile() (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, fmt.Errorf("bench: getrlimit(RLIMIT_NOFILE): %v", err)
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			rl = want
		}
	}
	return rl.Cur, rl.Max, nil
}

// PerProcess is how many client sockets one process may hold: the
// descriptor limit minus FDReserve, and at most perWorker (the -per-worker
// flag; 0 means DefaultPerWorker).
func PerProcess(limit uint64, perWorker int) int {
	if perWorker <= 0 {
		perWorker = DefaultPerWorker
	}
	usable := int64(limit) - FDReserve
	if limit > 1<<31 {
		usable = 1 << 31
	}
	if usable < 1 {
		usable = 1
	}
	return int(min(int64(perWorker), usable))
}

// PlanWorkers splits n connections into the fewest processes of at most
// perProc each (at least minProcs when that is larger), as evenly as
// possible: the counts differ by at most one. n = 0 gives one empty process.
func PlanWorkers(n, perProc, minProcs int) ([]int, error) {
	if n < 0 || n > MaxConnections {
		return nil, fmt.Errorf("bench: %d connections is outside 0..%d", n, MaxConnections)
	}
	if perProc < 1 {
		return nil, fmt.Errorf("bench: per-process capacity %d must be positive", perProc)
	}
	procs := max(1, (n+perProc-1)/perProc, minProcs)
	procs = min(procs, max(1, n))
	out := make([]int, procs)
	for i := range out {
		out[i] = n / procs
		if i < n%procs {
			out[i]++
		}
	}
	return out, nil
}

// SplitProportional divides total into parts proportional to weights with
// the largest-remainder method: the parts sum to total exactly, and no part
// exceeds its weight when total ≤ sum(weights).
func SplitProportional(total int, weights []int) []int {
	out := make([]int, len(weights))
	sum := 0
	for _, w := range weights {
		sum += max(0, w)
	}
	if sum == 0 || total <= 0 {
		return out
	}
	type rem struct{ i, r int }
	rems := make([]rem, 0, len(weights))
	given := 0
	for i, w := range weights {
		w = max(0, w)
		q := total * w
		out[i] = q / sum
		given += out[i]
		rems = append(rems, rem{i, q % sum})
	}
	// Hand out what is left, largest remainder first (stable by index).
	for left := total - given; left > 0; left-- {
		best := -1
		for j, r := range rems {
			if r.r >= 0 && (best < 0 || r.r > rems[best].r) {
				best = j
			}
		}
		out[rems[best].i]++
		rems[best].r = -1
	}
	return out
}
