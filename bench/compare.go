package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Scenarios lists the scenario names Run accepts.
var Scenarios = []string{"hold", "fanout", "storm", "mixed"}

// Run runs one scenario by name.
func Run(ctx context.Context, scenario string, o Options) (*Report, error) {
	switch scenario {
	case "hold":
		return RunHold(ctx, o)
	case "fanout":
		return RunFanout(ctx, o)
	case "storm":
		return RunStorm(ctx, o)
	case "mixed":
		return RunMixed(ctx, o)
	}
	return nil, fmt.Errorf("bench: unknown scenario %q (want one of %v)", scenario, Scenarios)
}

// Compare runs the same scenario against a, then b, and returns both
// reports with a side-by-side table of every metric they share.
func Compare(ctx context.Context, scenario string, a, b Options, labelA, labelB string) ([]*Report, Table, error) {
	ra, err := Run(ctx, scenario, a)
	if err != nil {
		return nil, Table{}, fmt.Errorf("bench: %s against %s: %w", scenario, labelA, err)
	}
	// Let A's sockets and TIME_WAIT entries go before B's kernel figures.
	if err := sleepCtx(ctx, max(3*time.Second, b.Settle)); err != nil {
		return []*Report{ra}, Table{}, err
	}
	rb, err := Run(ctx, scenario, b)
	if err != nil {
		return []*Report{ra}, Table{}, fmt.Errorf("bench: %s against %s: %w", scenario, labelB, err)
	}
	ra.Title += " [" + labelA + "]"
	rb.Title += " [" + labelB + "]"
	return []*Report{ra, rb}, CompareTable(ra, rb, labelA, labelB), nil
}

// CompareTable lines up the metrics two reports share. The ratio is B/A;
// the last column says which side is better when the metric has a
// direction.
func CompareTable(a, b *Report, labelA, labelB string) Table {
	t := Table{Title: fmt.Sprintf("%s: %s vs %s", a.Scenario, labelA, labelB),
		Columns: []string{"Metric", labelA, labelB, labelB + "/" + labelA, "Better"}}
	for _, ma := range a.Metrics {
		mb, ok := b.Metric(ma.Key)
		if !ok {
			continue
		}
		ratio, better := "–", ""
		if ma.Value != 0 {
			ratio = strconv.FormatFloat(mb.Value/ma.Value, 'f', 2, 64) + "×"
		}
		if ma.Lower && mb.Value != ma.Value {
			better = labelA
			if mb.Value < ma.Value {
				better = labelB
			}
		}
		t.Rows = append(t.Rows, []string{ma.Label, fmtValue(ma.Value, ma.Unit), fmtValue(mb.Value, mb.Unit), ratio, better})
	}
	return t
}
