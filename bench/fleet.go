package bench

import (
	"net/netip"
	"time"
)

// fleet is the set of processes that hold a run's connections: this
// process alone when the run fits under its descriptor limit, otherwise
// worker processes (worker.go). Counts given to a fleet are fleet-wide; it
// splits them in proportion to each process's share. Methods are called
// from the scenario goroutine.
type fleet interface {
	// Grow asks for n connections in total to be (or have been) opened.
	Grow(n int)
	// SetRate sets the fleet-wide connect rate (per second, 0 = unlimited).
	SetRate(perSec float64)
	// DropAll closes every connection at once and reconnects all of them.
	DropAll()
	// Churn closes n open connections and reconnects them.
	Churn(n int)
	// Snapshot returns the latest counters (workers report every 200 ms).
	Snapshot() Snapshot
	// Harvest returns counters and the histograms since the last harvest.
	Harvest() (Result, error)
	// Close closes every connection and returns the final harvest.
	Close() (Result, error)
	// Procs is the number of client processes.
	Procs() int
}

// fleetOptions describe a fleet to open.
type fleetOptions struct {
	Target         Target
	Token          string
	Groups         []Group
	Rate           float64
	MaxInflight    int
	Sources        []netip.Addr
	Loops          int
	ConnectTimeout time.Duration
	SlowRate       int
	Run            uint32
	// Workers forces that many worker processes; 0 runs in this process
	// when the connections fit, in workers otherwise.
	Workers   int
	PerWorker int
	Deadline  time.Time
}

func (o fleetOptions) total() int {
	n := 0
	for _, g := range o.Groups {
		n += g.Count
	}
	return n
}

// openFleet starts the processes for o. No connection opens before Grow.
func openFleet(o fleetOptions) (fleet, error) {
	_, hard, err := RaiseNoFile()
	if err != nil {
		return nil, err
	}
	plan, err := PlanWorkers(o.total(), PerProcess(hard, o.PerWorker), o.Workers)
	if err != nil {
		return nil, err
	}
	jobs := splitJobs(o, plan)
	if len(plan) == 1 && o.Workers == 0 {
		e, err := NewEngine(jobs[0])
		if err != nil {
			return nil, err
		}
		return localFleet{e}, nil
	}
	// Each group is split on its own, so a process may hold one or two
	// connections more or less than its planned share: fleet-wide counts
	// are split by what the processes actually hold.
	shares := make([]int, len(jobs))
	for w, j := range jobs {
		for _, g := range j.Groups {
			shares[w] += g.Count
		}
	}
	return startWorkers(jobs, shares)
}

// splitJobs builds one Job per process: each group's count and the rate
// are split in proportion to plan, and each process starts its source
// round-robin where the previous one stopped.
func splitJobs(o fleetOptions, plan []int) []Job {
	total := max(1, o.total())
	perGroup := make([][]int, len(o.Groups))
	for gi, g := range o.Groups {
		perGroup[gi] = SplitProportional(g.Count, plan)
	}
	jobs := make([]Job, len(plan))
	offset := 0
	for w := range plan {
		share := float64(plan[w]) / float64(total)
		j := Job{
			Target: o.Target.String(), Token: o.Token, Rate: o.Rate * share,
			MaxInflight: max(16, int(float64(o.MaxInflight)*share)), Sources: sourceAddrs(o.Sources),
			SourceOffset: offset, Loops: o.Loops, ConnectTimeout: o.ConnectTimeout,
			SlowRate: o.SlowRate, Run: o.Run, Deadline: o.Deadline,
		}
		for gi, g := range o.Groups {
			g.Count = perGroup[gi][w]
			j.Groups = append(j.Groups, g)
		}
		jobs[w] = j
		offset += plan[w]
	}
	return jobs
}

// localFleet runs the connections in this process.
type localFleet struct{ e *Engine }

func (f localFleet) Grow(n int)               { f.e.Grow(n) }
func (f localFleet) SetRate(r float64)        { f.e.SetRate(r) }
func (f localFleet) DropAll()                 { f.e.DropAll() }
func (f localFleet) Churn(n int)              { f.e.Churn(n) }
func (f localFleet) Snapshot() Snapshot       { return f.e.Snapshot() }
func (f localFleet) Harvest() (Result, error) { return f.e.Harvest(), nil }
func (f localFleet) Close() (Result, error)   { return f.e.Close(), nil }
func (f localFleet) Procs() int               { return 1 }
