package bench

// Loss, duplicate and order accounting for one (connection, channel) pair.
//
// The publisher numbers each channel's messages 1, 2, 3, … A tracker keeps
// the highest sequence number seen and the list of gaps below it (as
// ranges). An arrival is
//
//   - fresh:     above the highest seen (gaps it skips are recorded);
//   - late:      inside a recorded gap: delivered, but after a later message,
//     so it counts once as out of order and the gap shrinks;
//   - duplicate: at or below the highest seen and not in a gap.
//
// Losses are not decided here: at the end, lost = expected − unique, where
// expected is (messages published on the channel) for every tracker that
// was active when publishing began. An in-order stream never allocates:
// gaps exist only after a loss or a reordering.

// maxGaps bounds the gap list. Past it the oldest gap is forgotten, and a
// late arrival inside it would be counted as a duplicate; a run that
// reorders this much has bigger problems than the split between the two.
const maxGaps = 4096

type seqRange struct{ lo, hi uint32 }

type tracker struct {
	ch   uint16 // channel index (marker.ch)
	hi   uint32
	gaps []seqRange
}

type arrival uint8

const (
	arrFresh arrival = iota
	arrLate
	arrDup
)

// observe classifies the arrival of seq (≥ 1).
func (t *tracker) observe(seq uint32) arrival {
	if seq > t.hi {
		if seq > t.hi+1 {
			if len(t.gaps) == maxGaps {
				t.gaps = append(t.gaps[:0], t.gaps[1:]...)
			}
			t.gaps = append(t.gaps, seqRange{t.hi + 1, seq - 1})
		}
		t.hi = seq
		return arrFresh
	}
	for i := range t.gaps {
		g := &t.gaps[i]
		if seq < g.lo || seq > g.hi {
			continue
		}
		switch {
		case g.lo == g.hi:
			t.gaps = append(t.gaps[:i], t.gaps[i+1:]...)
		case seq == g.lo:
			g.lo++
		case seq == g.hi:
			g.hi--
		default:
			rest := seqRange{seq + 1, g.hi}
			g.hi = seq - 1
			t.gaps = append(t.gaps, seqRange{})
			copy(t.gaps[i+2:], t.gaps[i+1:])
			t.gaps[i+1] = rest
		}
		if len(t.gaps) == 0 {
			t.gaps = nil
		}
		return arrLate
	}
	return arrDup
}
