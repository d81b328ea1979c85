package proto

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

const (
	KindNull Kind = iota
	KindFalse
	KindTrue
	KindNumber
	KindString
	KindArray
	KindObject
)

// MaxJSONDepth bounds the nesting of arrays and objects ParseJSON accepts.
// Mastodon payloads nest fewer than 10 levels; the cap keeps a hostile
// message from exhausting the goroutine stack.
const MaxJSONDepth = 512

const reasonTooDeep = "nesting deeper than MaxJSONDepth"

// Value is a parsed JSON value as JSON.parse in the reference sees it.
//
// Strings are JavaScript strings, that is UTF-16, stored in Str as
// generalized UTF-8 (WTF-8): well-formed text is plain UTF-8, and a lone
// surrogate from a \ud800-style escape is kept as its 3-byte encoding
// (ED A0..BF xx), which valid UTF-8 never contains, so that AppendCanonical
// can write it back as \udxxx (ENC-1). Such a Str is not valid UTF-8; write
// it to clients only through AppendQuoted or the SSE/WS appenders.
//
// Obj holds each key once, in first-appearance order, with the value of the
// last duplicate (JSON.parse semantics). AppendCanonical applies the
// ECMAScript rule that array-index keys come first.
type Value struct {
	Kind Kind
	Str  string  // KindString: the decoded string; KindNumber: the literal as written
	Num  float64 // KindNumber: the IEEE-754 value; ±Inf when the literal overflows, as in JavaScript
	Arr  []Value
	Obj  []Member
}

// Member is one key of a JSON object.
type Member struct {
	Key string
	Val Value
}

// JSONError reports why ParseJSON rejected its input. It never quotes the
// input: Redis messages may carry private statuses.
type JSONError struct {
	Offset int    // byte offset of the problem
	Reason string // what was wrong there
}

func (e *JSONError) Error() string {
	return "proto: invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Get returns the member key of an object. It returns false for absent keys
// and for values that are not objects.
func (v *Value) Get(key string) (*Value, bool) {
	if v.Kind != KindObject {
		return nil, false
	}
	for i := range v.Obj {
		if v.Obj[i].Key == key {
			return &v.Obj[i].Val, true
		}
	}
	return nil, false
}

// Truthy reports JavaScript truthiness (RED-6): null, false, 0, -0 and ""
// are falsy; every array, every object and every other string or number
// (including "0" and Infinity) is truthy.
func (v *Value) Truthy() bool {
	switch v.Kind {
	case KindTrue, KindArray, KindObject:
		return true
	case KindNumber:
		return v.Num != 0 && !math.IsNaN(v.Num)
	case KindString:
		return v.Str != ""
	}
	return false
}

// ParseJSON parses src as JSON.parse(Buffer.toString(src, 'utf8')) does in
// the reference (RED-4): strict RFC 8259 grammar, ill-formed UTF-8 inside
// strings repaired as RepairUTF8 does (outside strings it is a syntax error
// either way), duplicate keys keep their first position and last value.
// Nesting deeper than MaxJSONDepth is an error. ParseJSON does not retain
// src: it makes one string copy that every Str without escapes shares, and
// carves arrays and objects out of a few slabs.
func ParseJSON(src []byte) (Value, error) {
	p := newJSONParser(src, "")
	return p.parseDocument()
}

// Initial scratch capacities: a Mastodon status has about 70 members in its
// open objects at the deepest point (message, status, account).
const (
	openMembers = 64
	openValues  = 16
)

// Bytes of compact JSON per object member and per array element, used to
// size a slab from the input not yet parsed. Statuses average about 33 bytes
// per member; arrays are rarer than members.
const (
	memBytes = 32
	valBytes = 128
)

func newJSONParser(src []byte, track string) jsonParser {
	return jsonParser{
		s:     string(src),
		track: track,
		vals:  make([]Value, 0, openValues),
		mems:  make([]Member, 0, openMembers),
	}
}

// carve copies the children of a closed container from a scratch stack into
// an exactly sized window of a slab, so that a message costs a few slab
// allocations instead of one per container. A new slab holds at least
// estimate items.
func carve[T any](slab *[]T, children []T, estimate int) []T {
	n := len(children)
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, max(n, 16, estimate))
	}
	start := len(*slab)
	*slab = append(*slab, children...)
	return (*slab)[start : start+n : start+n]
}

// jsonParser is the recursive-descent parser behind ParseJSON and ParseEvent.
// Children of the open containers wait on the vals/mems stacks until their
// container closes and is carved.
type jsonParser struct {
	s     string
	pos   int
	depth int
	vals  []Value  // children of the open arrays
	mems  []Member // members of the open objects
	buf   []byte   // scratch for strings with escapes or repairs

	valSlab []Value // backing store that closed containers are carved from
	memSlab []Member
	err     *JSONError

	// canon stays true while everything parsed since it was last set is
	// already in canonical form (ENC-2); it is only checked by ParseEvent.
	canon bool
	// track names a member of the top-level object whose raw span and
	// canonical flag are recorded (last occurrence wins, like its value).
	track      string
	trackStart int
	trackEnd   int
	trackCanon bool
}

func (p *jsonParser) fail(reason string) {
	if p.err == nil {
		p.err = &JSONError{Offset: p.pos, Reason: reason}
	}
}

func (p *jsonParser) parseDocument() (Value, error) {
	p.skipWS()
	v := p.parseValue()
	if p.err == nil {
		p.skipWS()
		if p.pos < len(p.s) {
			p.fail("unexpected data after the top-level value")
		}
	}
	if p.err != nil {
		return Value{}, p.err
	}
	return v, nil
}

func (p *jsonParser) skipWS() {
	start := p.pos
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			continue
		}
		break
	}
	if p.pos != start {
		p.canon = false
	}
}

// parseValue parses the value at p.pos (whitespace already skipped) and
// leaves p.pos just after it.
func (p *jsonParser) parseValue() Value {
	if p.pos >= len(p.s) {
		p.fail("unexpected end of input")
		return Value{}
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.parseObject()
	case c == '[':
		return p.parseArray()
	case c == '"':
		return Value{Kind: KindString, Str: p.parseString()}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber()
	case c == 't':
		return p.parseLiteral("true", KindTrue)
	case c == 'f':
		return p.parseLiteral("false", KindFalse)
	case c == 'n':
		return p.parseLiteral("null", KindNull)
	}
	p.fail("unexpected character")
	return Value{}
}

func (p *jsonParser) parseLiteral(lit string, k Kind) Value {
	if len(p.s)-p.pos < len(lit) || p.s[p.pos:p.pos+len(lit)] != lit {
		p.fail("invalid literal")
		return Value{}
	}
	p.pos += len(lit)
	return Value{Kind: k}
}

func (p *jsonParser) enter() bool {
	p.depth++
	if p.depth > MaxJSONDepth {
		p.fail(reasonTooDeep)
		return false
	}
	return true
}

func (p *jsonParser) parseArray() Value {
	if !p.enter() {
		return Value{}
	}
	p.pos++ // '['
	mark := len(p.vals)
	p.skipWS()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		p.depth--
		return Value{Kind: KindArray, Arr: []Value{}}
	}
	for p.err == nil {
		p.skipWS()
		v := p.parseValue()
		if p.err != nil {
			break
		}
		p.vals = append(p.vals, v)
		p.skipWS()
		if p.pos >= len(p.s) {
			p.fail("unterminated array")
			break
		}
		c := p.s[p.pos]
		p.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			p.pos--
			p.fail("expected ',' or ']'")
		}
	}
	arr := carve(&p.valSlab, p.vals[mark:], (len(p.s)-p.pos)/valBytes)
	clear(p.vals[mark:]) // drop references held by the scratch stack
	p.vals = p.vals[:mark]
	p.depth--
	return Value{Kind: KindArray, Arr: arr}
}

// dupMapAt is the member count past which duplicate keys are found through
// a map instead of a linear scan, so a hostile object with many keys costs
// O(n) rather than O(n²).
const dupMapAt = 32

func (p *jsonParser) parseObject() Value {
	if !p.enter() {
		return Value{}
	}
	p.pos++ // '{'
	mark := len(p.mems)
	var index map[string]int // see addMember
	p.skipWS()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		p.depth--
		return Value{Kind: KindObject, Obj: []Member{}}
	}
	for p.err == nil {
		p.skipWS()
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			p.fail("expected string key")
			break
		}
		key := p.parseString()
		p.skipWS()
		if p.err == nil && (p.pos >= len(p.s) || p.s[p.pos] != ':') {
			p.fail("expected ':'")
		}
		if p.err != nil {
			break
		}
		p.pos++
		p.skipWS()
		v := p.parseMemberValue(key)
		if p.err != nil {
			break
		}
		index = p.addMember(mark, index, key, v)
		p.skipWS()
		if p.pos >= len(p.s) {
			p.fail("unterminated object")
			break
		}
		c := p.s[p.pos]
		p.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			p.pos--
			p.fail("expected ',' or '}'")
		}
	}
	obj := carve(&p.memSlab, p.mems[mark:], (len(p.s)-p.pos)/memBytes)
	clear(p.mems[mark:])
	p.mems = p.mems[:mark]
	p.depth--
	return Value{Kind: KindObject, Obj: obj}
}

// addMember adds key to the open object whose members start at p.mems[mark],
// or gives an earlier duplicate the new value in place. Past dupMapAt
// members duplicates are found through index (key → position in p.mems),
// which addMember creates and returns.
func (p *jsonParser) addMember(mark int, index map[string]int, key string, v Value) map[string]int {
	if isArrayIndex(key) {
		p.canon = false // conservative: the canonical order may differ
	}
	dup, found := -1, false
	if index != nil {
		dup, found = index[key]
	} else {
		for i := mark; i < len(p.mems) && !found; i++ {
			dup, found = i, p.mems[i].Key == key
		}
	}
	if found {
		p.mems[dup].Val = v
		p.canon = false
		return index
	}
	p.mems = append(p.mems, Member{Key: key, Val: v})
	if index != nil {
		index[key] = len(p.mems) - 1
	} else if len(p.mems)-mark >= dupMapAt {
		index = make(map[string]int, 2*dupMapAt)
		for i := mark; i < len(p.mems); i++ {
			index[p.mems[i].Key] = i
		}
	}
	return index
}

// parseMemberValue parses an object member's value, recording its raw span
// and canonical flag when it is the tracked member of the top-level object.
func (p *jsonParser) parseMemberValue(key string) Value {
	if p.depth != 1 || p.track == "" || key != p.track {
		return p.parseValue()
	}
	outer := p.canon
	p.canon = true
	start := p.pos
	v := p.parseValue()
	p.trackStart, p.trackEnd, p.trackCanon = start, p.pos, p.canon
	p.canon = outer && p.canon
	return v
}

// isArrayIndex reports whether key is a canonical ECMAScript array index
// ("0" … "4294967294", no leading zeros), which objects list first.
func isArrayIndex(key string) bool {
	if key == "" || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return false
	}
	n := uint64(0)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	return n <= 4294967294
}

// parseNumber parses the RFC 8259 number at p.pos.
func (p *jsonParser) parseNumber() Value {
	start := p.pos
	s := p.s
	i := p.pos
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		p.pos = i
		p.fail("invalid number")
		return Value{}
	}
	integer := true
	if i < len(s) && s[i] == '.' {
		integer = false
		j := skipDigits(s, i+1)
		if j == i+1 {
			p.pos = j
			p.fail("invalid number: no digits after '.'")
			return Value{}
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			p.pos = j
			p.fail("invalid number: no digits in exponent")
			return Value{}
		}
		i = j
	}
	lit := s[start:i]
	p.pos = i
	// Syntax is already checked, so the only possible error is ErrRange, and
	// the ±Inf or 0 it comes with is what JavaScript produces too.
	f, _ := strconv.ParseFloat(lit, 64)
	if p.canon && !(integer && len(lit) <= 15 && lit != "-0") {
		var buf [32]byte
		p.canon = string(appendNumber(buf[:0], f)) == lit
	}
	return Value{Kind: KindNumber, Str: lit, Num: f}
}

func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// parseString parses the string at p.pos (which holds the opening quote).
// Without escapes or ill-formed UTF-8 the result is a substring of p.s.
func (p *jsonParser) parseString() string {
	p.pos++
	start := p.pos
	s := p.s
	i := p.pos
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return s[start:i]
		case c == '\\':
			return p.parseStringSlow(start, i)
		case c < 0x20:
			p.pos = i
			p.fail("control character in string")
			return ""
		case c < utf8.RuneSelf:
			i++
		default:
			n, ok := utf8Seq(s, i)
			if !ok {
				return p.parseStringSlow(start, i)
			}
			i += n
		}
	}
	p.pos = i
	p.fail("unterminated string")
	return ""
}

// parseStringSlow continues parseString at i, the first escape or
// ill-formed byte, decoding into the scratch buffer.
func (p *jsonParser) parseStringSlow(start, i int) string {
	s := p.s
	b := append(p.buf[:0], s[start:i]...)
	defer func() { p.buf = b }()
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(b)
		case c == '\\':
			var ok bool
			b, i, ok = p.unescape(b, i)
			if !ok {
				return ""
			}
		case c < 0x20:
			p.pos = i
			p.fail("control character in string")
			return ""
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			n, ok := utf8Seq(s, i)
			if ok {
				b = append(b, s[i:i+n]...)
			} else {
				b = append(b, "\uFFFD"...)
				p.canon = false
			}
			i += n
		}
	}
	p.pos = i
	p.fail("unterminated string")
	return ""
}

// unescape decodes the escape at s[i] == '\\' onto b. It clears p.canon
// unless the escape is the one AppendQuoted would write.
func (p *jsonParser) unescape(b []byte, i int) ([]byte, int, bool) {
	s := p.s
	if i+1 >= len(s) {
		p.pos = i
		p.fail("unterminated string")
		return b, i, false
	}
	var c byte
	switch s[i+1] {
	case '"', '\\':
		c = s[i+1]
	case '/':
		c = '/'
		p.canon = false
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		return p.unescapeU(b, i)
	default:
		p.pos = i
		p.fail("invalid escape")
		return b, i, false
	}
	return append(b, c), i + 2, true
}

// unescapeU decodes \uXXXX at s[i], joining a high and a low surrogate
// escape into one code point and keeping a lone surrogate as generalized
// UTF-8 (see Value).
func (p *jsonParser) unescapeU(b []byte, i int) ([]byte, int, bool) {
	u, lower, ok := hex4(p.s, i+2)
	if !ok {
		p.pos = i
		p.fail("invalid \\u escape")
		return b, i, false
	}
	i += 6
	if u >= 0xD800 && u <= 0xDBFF && i+1 < len(p.s) && p.s[i] == '\\' && p.s[i+1] == 'u' {
		if lo, _, ok := hex4(p.s, i+2); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			p.canon = false // the canonical form of a pair is raw UTF-8
			return utf8.AppendRune(b, 0x10000+(u-0xD800)<<10+(lo-0xDC00)), i + 6, true
		}
	}
	if u >= 0xD800 && u <= 0xDFFF {
		p.canon = p.canon && lower
		return append(b, 0xE0|byte(u>>12), 0x80|byte(u>>6)&0x3F, 0x80|byte(u)&0x3F), i, true
	}
	if !lower || u >= 0x20 || u == '\b' || u == '\t' || u == '\n' || u == '\f' || u == '\r' {
		p.canon = false
	}
	return utf8.AppendRune(b, u), i, true
}

// hex4 decodes four hex digits at s[i:]; lower is false if any is A-F.
func hex4(s string, i int) (u rune, lower, ok bool) {
	if i+4 > len(s) {
		return 0, false, false
	}
	lower = true
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			u = u<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			u = u<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			u = u<<4 | rune(c-'A'+10)
			lower = false
		default:
			return 0, false, false
		}
	}
	return u, lower, true
}
