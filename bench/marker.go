package bench

import (
	"bytes"
	"strconv"
)

// The delivery marker.
//
// Every published payload carries a string member
//
//	"sluice_bench":"<run>.<channel>.<seq>.<publish unix ns>"
//
// placed second in the object, right after "id". It is a string because a
// server may re-encode payloads (Sluice and Node re-print numbers; key order
// is kept), and it sits near the start so the receiver finds it in the first
// few hundred bytes and can skip the rest of the event without buffering it.
// On SSE the member arrives as written; on WebSocket the payload is itself a
// JSON string, so the quotes arrive escaped (\"sluice_bench\":\"…\"): the
// scanner skips quotes, backslashes, colons and spaces between key and value.

// markerKey is the JSON member name that carries the marker.
const markerKey = "sluice_bench"

// marker identifies one publication.
type marker struct {
	run uint32 // random per fleet, so stray events from other runs are ignored
	ch  uint16 // index into the run's channel table
	seq uint32 // 1, 2, … per channel
	ns  int64  // publish time, Unix nanoseconds (CLOCK_REALTIME, shared by all processes)
}

// appendMarker appends the marker value (without quotes).
func appendMarker(dst []byte, m marker) []byte {
	dst = strconv.AppendUint(dst, uint64(m.run), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(m.ch), 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(m.seq), 10)
	dst = append(dst, '.')
	return strconv.AppendInt(dst, m.ns, 10)
}

// Scanner states after the key has matched.
const (
	mkSkip  uint8 = uint8(len(markerKey)) // between key and value
	mkValue uint8 = mkSkip + 1            // reading digits and dots
	mkDone  uint8 = mkSkip + 2            // a full marker was read
	mkFail  uint8 = mkSkip + 3            // the key was followed by something else
)

// markerScanner finds the marker in one event's bytes, fed in any number of
// pieces. It keeps 40 bytes of state and never buffers input. States below
// mkSkip are the number of key bytes matched so far; the key has no
// repeated prefix, so a mismatch restarts at 0 (or 1 on an 's').
type markerScanner struct {
	state uint8
	field uint8
	vals  [4]uint64
}

func (s *markerScanner) reset() { *s = markerScanner{} }

// done reports whether the scanner has finished with this event (found a
// marker, or found the key followed by garbage).
func (s *markerScanner) done() bool { return s.state >= mkDone }

// result returns the marker when one was read completely.
func (s *markerScanner) result() (marker, bool) {
	if s.state != mkDone && !(s.state == mkValue && s.field == 3) {
		return marker{}, false
	}
	if s.vals[0] > 0xffffffff || s.vals[1] > 0xffff || s.vals[2] > 0xffffffff || s.vals[3] > 1<<62 {
		return marker{}, false
	}
	return marker{run: uint32(s.vals[0]), ch: uint16(s.vals[1]), seq: uint32(s.vals[2]), ns: int64(s.vals[3])}, true
}

// feed consumes p.
func (s *markerScanner) feed(p []byte) {
	for len(p) > 0 && s.state < mkDone {
		switch {
		case s.state == 0:
			i := bytes.IndexByte(p, markerKey[0])
			if i < 0 {
				return
			}
			s.state = 1
			p = p[i+1:]
		case s.state < mkSkip:
			c := p[0]
			p = p[1:]
			switch {
			case c == markerKey[s.state]:
				s.state++
			case c == markerKey[0]:
				s.state = 1
			default:
				s.state = 0
			}
		case s.state == mkSkip:
			c := p[0]
			switch {
			case c == '"' || c == '\\' || c == ':' || c == ' ':
				p = p[1:]
			case c >= '0' && c <= '9':
				s.state = mkValue
			default:
				s.state = mkFail
			}
		default: // mkValue
			p = s.value(p)
		}
	}
}

// value parses "<run>.<ch>.<seq>.<ns>" digits from p and returns the rest.
func (s *markerScanner) value(p []byte) []byte {
	for len(p) > 0 {
		c := p[0]
		switch {
		case c >= '0' && c <= '9':
			v := s.vals[s.field]
			if v > (1<<63)/10 {
				s.state = mkFail
				return p
			}
			s.vals[s.field] = v*10 + uint64(c-'0')
		case c == '.' && s.field < 3:
			s.field++
		default:
			if s.field == 3 {
				s.state = mkDone
			} else {
				s.state = mkFail
			}
			return p
		}
		p = p[1:]
	}
	return p
}
