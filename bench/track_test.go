package bench

import "testing"

func TestTrackerClassifiesArrivals(t *testing.T) {
	var tr tracker
	seqs := []uint32{1, 2, 4, 3, 3, 7, 5, 6, 6, 10, 9, 8, 2, 11}
	want := []arrival{arrFresh, arrFresh, arrFresh, arrLate, arrDup, arrFresh, arrLate, arrLate, arrDup, arrFresh, arrLate, arrLate, arrDup, arrFresh}
	for i, s := range seqs {
		if got := tr.observe(s); got != want[i] {
			t.Errorf("arrival %d (seq %d) = %v, want %v", i, s, got, want[i])
		}
	}
	if tr.gaps != nil {
		t.Errorf("gaps left: %v", tr.gaps)
	}
}

func TestTrackerSplitsGapsAndCountsLosses(t *testing.T) {
	var tr tracker
	tr.observe(1)
	tr.observe(100) // gap 2..99
	for _, s := range []uint32{50, 2, 99, 51} {
		if tr.observe(s) != arrLate {
			t.Fatalf("seq %d not late", s)
		}
	}
	missing := 0
	for _, g := range tr.gaps {
		missing += int(g.hi - g.lo + 1)
	}
	if missing != 98-4 {
		t.Errorf("missing = %d, want 94 (gaps %v)", missing, tr.gaps)
	}
	if tr.observe(50) != arrDup {
		t.Errorf("second 50 not a duplicate")
	}
}

func TestTrackerBoundsItsGapList(t *testing.T) {
	var tr tracker
	for s := uint32(1); s < 3*maxGaps; s += 2 { // every other message lost
		tr.observe(s)
	}
	if len(tr.gaps) != maxGaps {
		t.Errorf("gaps = %d, want the cap %d", len(tr.gaps), maxGaps)
	}
}
