package bench

import "testing"

func TestPerProcess(t *testing.T) {
	for _, c := range []struct {
		limit     uint64
		perWorker int
		want      int
	}{
		{20_000, 0, 19_000},      // the default cap
		{20_000, 50_000, 19_700}, // capped by the limit minus the reserve
		{1_024, 0, 724},
		{1_048_576, 500_000, 500_000},
		{100, 0, 1},
	} {
		if got := PerProcess(c.limit, c.perWorker); got != c.want {
			t.Errorf("PerProcess(%d, %d) = %d, want %d", c.limit, c.perWorker, got, c.want)
		}
	}
}

func TestPlanWorkers(t *testing.T) {
	for _, c := range []struct{ n, per, minProcs, procs int }{
		{1000, 19000, 0, 1},
		{19000, 19000, 0, 1},
		{19001, 19000, 0, 2},
		{1_000_000, 19000, 0, 53},
		{1_000_000, 19700, 0, 51},
		{40, 20, 3, 3},
		{2, 19000, 5, 2}, // never more processes than connections
		{0, 19000, 0, 1},
	} {
		plan, err := PlanWorkers(c.n, c.per, c.minProcs)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != c.procs {
			t.Errorf("PlanWorkers(%d, %d, %d): %d processes, want %d", c.n, c.per, c.minProcs, len(plan), c.procs)
		}
		total := 0
		for _, k := range plan {
			total += k
			if k > c.per || k < plan[len(plan)-1] || k > plan[0] {
				t.Errorf("PlanWorkers(%d, %d): uneven or oversized share %d in %v", c.n, c.per, k, plan)
			}
		}
		if total != c.n {
			t.Errorf("PlanWorkers(%d, …) sums to %d", c.n, total)
		}
	}
	if _, err := PlanWorkers(MaxConnections+1, 19000, 0); err == nil {
		t.Errorf("more than MaxConnections accepted")
	}
}

func TestSplitProportional(t *testing.T) {
	for _, c := range []struct {
		total   int
		weights []int
		want    []int
	}{
		{10, []int{1, 1}, []int{5, 5}},
		{7, []int{1, 1, 1}, []int{3, 2, 2}},
		{100, []int{19000, 19000, 2000}, []int{48, 47, 5}},
		{0, []int{1, 2}, []int{0, 0}},
		{5, []int{0, 0}, []int{0, 0}},
	} {
		got := SplitProportional(c.total, c.weights)
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("SplitProportional(%d, %v) = %v, want %v", c.total, c.weights, got, c.want)
				break
			}
		}
	}
	// Splitting every group of a mixed run over the worker plan keeps each
	// worker within one connection per group of its share.
	plan := []int{19000, 19000, 18999}
	groups := []int{20001, 15000, 12000, 9998}
	per := make([]int, len(plan))
	for _, g := range groups {
		for w, k := range SplitProportional(g, plan) {
			per[w] += k
		}
	}
	for w := range plan {
		if d := per[w] - plan[w]; d > len(groups) || d < -len(groups) {
			t.Errorf("worker %d gets %d for a share of %d", w, per[w], plan[w])
		}
	}
}

func TestRaiseNoFile(t *testing.T) {
	soft, hard, err := RaiseNoFile()
	if err != nil {
		t.Fatal(err)
	}
	if soft != hard {
		t.Errorf("soft limit %d not raised to hard %d", soft, hard)
	}
}
