package bench

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"strconv"
)

// The client half of RFC 6455, just enough for Mastodon streams: read
// unmasked server frames, answer pings, echo a close, send masked
// subscribe messages. Written here rather than borrowed from the server's
// packages so that a bug on one side cannot hide the same bug on the other.
// Runs on the slot's loop goroutine.

const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// wsKey is the Sec-WebSocket-Key of every connection: the key is a nonce
// against caching proxies, not a secret, and one shared value lets every
// connection of a group share one request buffer.
const wsKey = "c2x1aWNlLWJlbmNoLWtleQ=="

// wsAccept computes Sec-WebSocket-Accept for key.
func wsAccept(key string) []byte {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return []byte(base64.StdEncoding.EncodeToString(h[:]))
}

// wsMask is the masking key of client frames. RFC 6455 wants it
// unpredictable to defeat cache poisoning through proxies; on loopback to a
// server under test a fixed key is enough, and it lets frames be encoded once.
var wsMask = [4]byte{0x5b, 0x1e, 0x9c, 0x37}

// appendClientFrame appends one masked, final frame.
func appendClientFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, wsMask[:]...)
	for i, c := range payload {
		dst = append(dst, c^wsMask[i&3])
	}
	return dst
}

// wsHeaderLen is the length of a frame header given its first n bytes
// (0 when n < 2: at least 2 are needed to know).
func wsHeaderLen(h []byte) int {
	if len(h) < 2 {
		return 2
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// onWS parses server frames and reports whether the slot is still open.
func (l *loop) onWS(s *slot, p []byte, now int64) bool {
	for len(p) > 0 {
		if s.ws == wsHeader {
			need := wsHeaderLen(s.hdr[:s.hdrN])
			k := copy(s.hdr[s.hdrN:need], p)
			s.hdrN += uint8(k)
			p = p[k:]
			if int(s.hdrN) < need || wsHeaderLen(s.hdr[:s.hdrN]) > int(s.hdrN) {
				continue
			}
			if !l.wsFrameStart(s) {
				return false
			}
			if s.wsRemain == 0 && !l.wsFrameEnd(s, now) {
				return false
			}
			continue
		}
		k := int(min(s.wsRemain, uint64(len(p))))
		l.wsPayload(s, p[:k])
		s.wsRemain -= uint64(k)
		p = p[k:]
		if s.wsRemain == 0 && !l.wsFrameEnd(s, now) {
			return false
		}
	}
	return true
}

// wsFrameStart decodes a complete frame header.
func (l *loop) wsFrameStart(s *slot) bool {
	h := s.hdr[:s.hdrN]
	s.hdrN = 0
	s.wsFin, s.wsOp = h[0]&0x80 != 0, h[0]&0x0f
	var n uint64
	switch ln := h[1] & 0x7f; ln {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		n = binary.BigEndian.Uint64(h[2:])
	default:
		n = uint64(ln)
	}
	control := s.wsOp&0x8 != 0
	if h[1]&0x80 != 0 || h[0]&0x70 != 0 || (control && (n > 125 || !s.wsFin)) || n > 1<<40 {
		l.closeSlot(s, closeDrop, "ws-protocol-error", false)
		return false
	}
	if s.wsOp == opText || s.wsOp == opBin {
		s.wsMsgOp = s.wsOp
		s.capN = 0
		s.mk.reset()
	}
	s.wsRemain = n
	s.ws = wsPayload
	return true
}

func (l *loop) wsPayload(s *slot, b []byte) {
	if s.wsOp&0x8 != 0 {
		if s.ctrl == nil {
			s.ctrl = make([]byte, 0, 125)
		}
		s.ctrl = append(s.ctrl, b...)
		return
	}
	if s.wsMsgOp != opText {
		return
	}
	s.capN += uint8(copy(s.capBuf[s.capN:], b))
	if !s.mk.done() {
		s.mk.feed(b)
	}
}

// wsFrameEnd acts on a complete frame and reports whether the slot is open.
func (l *loop) wsFrameEnd(s *slot, now int64) bool {
	s.ws = wsHeader
	st := &l.eng.groups[s.group].stats
	switch s.wsOp {
	case opCont, opText, opBin:
		if !s.wsFin || s.wsMsgOp != opText {
			return true
		}
		if string(s.capBuf[:min(int(s.capN), 9)]) == `{"error":` {
			st.subErrors.Add(1)
			s.mk.reset()
			return true
		}
		l.deliver(s, now)
	case opPing:
		st.heartbeats.Add(1)
		l.scratch = appendClientFrame(l.scratch[:0], opPong, s.ctrl)
		s.ctrl = nil
		return l.send(s, l.scratch)
	case opClose:
		code := 1005
		if len(s.ctrl) >= 2 {
			code = int(binary.BigEndian.Uint16(s.ctrl))
		}
		var echo []byte
		if code != 1005 {
			echo = s.ctrl[:2]
		}
		l.scratch = appendClientFrame(l.scratch[:0], opClose, echo)
		l.trySend(s, l.scratch)
		reason := "ws-close-" + strconv.Itoa(code)
		if code == 1013 {
			reason = "slow-consumer"
		}
		l.closeSlot(s, closeDrop, reason, false)
		return false
	}
	s.ctrl = nil
	return true
}
