package proto

import (
	"bytes"
	"encoding/base64"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// canonicalOf parses in and returns its canonical text, failing the test on
// a parse error.
func canonicalOf(t testing.TB, in string) string {
	t.Helper()
	v, err := ParseJSON([]byte(in))
	if err != nil {
		t.Fatalf("ParseJSON(%q): %v", in, err)
	}
	return string(AppendCanonical(nil, &v))
}

// ENC-1 numbers: the captured examples first, then ECMAScript
// Number::toString cases checked against V8.
func TestCanonicalNumbersENC1(t *testing.T) {
	tests := []struct{ in, want string }{
		// Captured from the reference (§9.1).
		{"1.0", "1"},
		{"1.50", "1.5"},
		{"1e21", "1e+21"},
		{"0.000001", "0.000001"},
		{"1e-7", "1e-7"},
		{"12345678901234567890", "12345678901234567000"},
		{"-0.0", "0"},
		{"-0", "0"},
		{"123e-20", "1.23e-18"},
		{"1e300", "1e+300"},
		{"5e-324", "5e-324"},
		// V8 Number.prototype.toString.
		{"0", "0"},
		{"100", "100"},
		{"1E2", "100"},
		{"-1.5", "-1.5"},
		{"0.1", "0.1"},
		{"0.30000000000000004", "0.30000000000000004"},
		{"0.3333333333333333", "0.3333333333333333"},
		{"1.7777777777777777", "1.7777777777777777"},
		{"9007199254740993", "9007199254740992"},
		{"123456789012345680000", "123456789012345680000"},
		{"1e20", "100000000000000000000"},
		{"1.2e20", "120000000000000000000"},
		{"999999999999999999999", "1e+21"},
		{"1e100", "1e+100"},
		{"1.7976931348623157e308", "1.7976931348623157e+308"},
		{"1.5e-6", "0.0000015"},
		{"1.5e-7", "1.5e-7"},
		{"0.000123", "0.000123"},
		{"12345.6789e-3", "12.3456789"},
		{"1234567890123456.7", "1234567890123456.8"},
		{"2e-324", "0"},   // underflows to 0, like JavaScript
		{"1e400", "null"}, // JSON.parse gives Infinity, JSON.stringify writes null
		{"-1e400", "null"},
	}
	for _, tt := range tests {
		if got := canonicalOf(t, tt.in); got != tt.want {
			t.Errorf("canonical(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// ENC-1 numbers over random doubles: the text must round-trip, use the
// shortest digits, and use exponent notation exactly outside [1e-6, 1e21).
func TestCanonicalNumbersRandomENC1(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		x := math.Float64frombits(r.Uint64())
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		got := string(appendNumber(nil, x))
		back, err := strconv.ParseFloat(got, 64)
		if err != nil || (back != x && x != 0) {
			t.Fatalf("appendNumber(%v) = %s does not round-trip", x, got)
		}
		mant, _, _ := strings.Cut(strconv.FormatFloat(math.Abs(x), 'e', -1, 64), "e")
		digits := strings.Trim(strings.ReplaceAll(mant, ".", ""), "0")
		ax := math.Abs(x)
		hasExp := strings.Contains(got, "e")
		if wantExp := ax != 0 && (ax < 1e-6 || ax >= 1e21); hasExp != wantExp {
			t.Fatalf("appendNumber(%v) = %s: exponent notation %v, want %v", x, got, hasExp, wantExp)
		}
		m, _, _ := strings.Cut(strings.TrimPrefix(got, "-"), "e")
		if gotDigits := strings.Trim(strings.ReplaceAll(m, ".", ""), "0"); gotDigits != digits {
			t.Fatalf("appendNumber(%v) = %s: digits %s, want shortest %s", x, got, gotDigits, digits)
		}
	}
}

// ENC-1 strings: only the JSON.stringify escapes survive; everything else,
// whatever escape Rails used, is written raw.
func TestCanonicalStringsENC1(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"lt_gt_amp_unescaped", `"\u003cp\u003e\u0026"`, `"<p>&"`},
		{"solidus_unescaped", `"a\/b"`, `"a/b"`},
		{"raw_solidus_kept", `"a/b"`, `"a/b"`},
		{"u2028_u2029_raw", `"\u2028\u2029"`, "\"\u2028\u2029\""},
		{"u2028_raw_input", "\"\u2028\"", "\"\u2028\""},
		{"short_escapes", `"\b\t\n\f\r"`, `"\b\t\n\f\r"`},
		{"short_escapes_from_u", `"\u0008\u0009\u000a\u000C\u000d"`, `"\b\t\n\f\r"`},
		{"other_c0_lowercase", `"\u0000\u001F\u000B"`, `"\u0000\u001f\u000b"`},
		{"del_raw", `"\u007f"`, "\"\x7f\""},
		{"quote_backslash", `"\"\\"`, `"\"\\"`},
		{"non_ascii_raw", `"\u00e9\u00C9"`, `"éÉ"`},
		{"surrogate_pair_joined", `"\ud83d\udc4d"`, `"👍"`},
		{"surrogate_pair_uppercase", `"\uD83D\uDC4D"`, `"👍"`},
		{"lone_high", `"\ud800"`, `"\ud800"`},
		{"lone_high_uppercase", `"\uDBFF!"`, `"\udbff!"`},
		{"lone_low", `"x\udc00"`, `"x\udc00"`},
		{"high_high_low", `"\ud800\ud83d\udc4d"`, `"\ud800👍"`},
		{"low_high", `"\udc00\ud800"`, `"\udc00\ud800"`},
		{"high_then_escape", `"\ud800\n"`, `"\ud800\n"`},
		{"emoji_raw", `"👍 café"`, `"👍 café"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := canonicalOf(t, tt.in)
			if got != tt.want {
				t.Errorf("canonical(%s) = %s, want %s", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("canonical(%s) is not valid UTF-8", tt.in)
			}
		})
	}
}

// ENC-1 structure: no whitespace, key order, duplicates (RED-4).
func TestCanonicalStructureENC1(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"whitespace_removed", " { \"a\" : [ 1 , true , null ] ,\r\n\t\"b\":{} } ", `{"a":[1,true,null],"b":{}}`},
		{"empty_containers", `[[],{},""]`, `[[],{},""]`},
		{"dup_first_position_last_value", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"dup_value_replaced_whole", `{"a":{"x":1},"a":{"y":2}}`, `{"a":{"y":2}}`},
		{"array_index_keys_first", `{"b":1,"10":2,"2":3,"a":4,"0":5}`, `{"0":5,"2":3,"10":2,"b":1,"a":4}`},
		{"non_index_numeric_keys", `{"01":1,"-1":2,"1.5":3,"4294967295":4,"4294967294":5}`, `{"4294967294":5,"01":1,"-1":2,"1.5":3,"4294967295":4}`},
		{"escaped_key", `{"\u0061":1,"a":2}`, `{"a":2}`},
		{"top_level_scalars", `"x"`, `"x"`},
		{"proto_key_is_plain", `{"__proto__":1}`, `{"__proto__":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonicalOf(t, tt.in); got != tt.want {
				t.Errorf("canonical(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// Objects with more than dupMapAt keys switch to map-based duplicate
// detection; the outcome must not change.
func TestCanonicalManyKeysJSON(t *testing.T) {
	var in, want strings.Builder
	in.WriteString("{")
	want.WriteString("{")
	for i := range 100 {
		in.WriteString(`"k` + strconv.Itoa(i) + `":0,`)
		if i > 0 {
			want.WriteString(",")
		}
		want.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	for i := range 100 {
		in.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
		if i < 99 {
			in.WriteString(",")
		}
	}
	in.WriteString("}")
	want.WriteString("}")
	if got := canonicalOf(t, in.String()); got != want.String() {
		t.Errorf("canonical = %s\nwant %s", got, want.String())
	}
}

// RED-4: everything RFC 8259 rejects is an error, and the error never
// quotes the input (private statuses must not reach logs).
func TestParseJSONRejectsRED4(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"whitespace_only", " \n"},
		{"not_json", "not json"},
		{"trailing_data", `{"a":1} x`},
		{"two_values", `1 2`},
		{"trailing_comma_array", `[1,]`},
		{"trailing_comma_object", `{"a":1,}`},
		{"missing_colon", `{"a" 1}`},
		{"unquoted_key", `{a:1}`},
		{"single_quotes", `{'a':1}`},
		{"leading_zero", `01`},
		{"plus_sign", `+1`},
		{"bare_dot", `.5`},
		{"dot_no_digits", `1.`},
		{"exp_no_digits", `1e`},
		{"exp_sign_no_digits", `1e+`},
		{"minus_alone", `-`},
		{"nan", `NaN`},
		{"infinity", `Infinity`},
		{"hex_number", `0x10`},
		{"raw_control_in_string", "\"a\x01b\""},
		{"raw_newline_in_string", "\"a\nb\""},
		{"raw_tab_in_string", "\"a\tb\""},
		{"bad_escape", `"\x41"`},
		{"short_u_escape", `"\u12"`},
		{"bad_hex", `"\u12g4"`},
		{"unterminated_string", `"abc`},
		{"unterminated_escape", `"abc\`},
		{"unterminated_array", `[1,2`},
		{"unterminated_object", `{"a":1`},
		{"truncated_true", `tru`},
		{"capital_true", `True`},
		{"comment", `/*x*/1`},
		{"bom", "\uFEFF{}"},
		{"nbsp_whitespace", "\u00a01"},
		{"invalid_utf8_outside_string", "\xff"},
		{"depth_over_limit", strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseJSON(%q) succeeded, want error", tt.in)
			}
			if !strings.HasPrefix(err.Error(), "proto: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(tt.in) > 2 && strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q echoes the input", err)
			}
		})
	}
	deep := strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth)
	if _, err := ParseJSON([]byte(deep)); err != nil {
		t.Errorf("nesting of exactly MaxJSONDepth rejected: %v", err)
	}
}

// RED-4: ill-formed UTF-8 inside strings is repaired exactly as decoding the
// whole message first would.
func TestParseJSONRepairsUTF8RED4(t *testing.T) {
	in := "\"a\xe2\x82b\xff\xed\xa0\x80c\""
	got := canonicalOf(t, in)
	want := "\"a\uFFFDb\uFFFD\uFFFD\uFFFD\uFFFDc\""
	if got != want {
		t.Errorf("canonical(%q) = %q, want %q", in, got, want)
	}
	repaired := RepairUTF8(nil, []byte(in))
	if again := canonicalOf(t, string(repaired)); again != want {
		t.Errorf("repair-then-parse = %q, want %q", again, want)
	}
}

// RED-6: JavaScript truthiness.
func TestTruthyJSONRED6(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`false`, false}, {`0`, false}, {`-0`, false}, {`0.0`, false}, {`0e10`, false},
		{`""`, false}, {`null`, false}, {`1e-400`, false},
		{`true`, true}, {`[]`, true}, {`{}`, true}, {`"0"`, true}, {`"false"`, true},
		{`1`, true}, {`-1`, true}, {`1e400`, true}, {`" "`, true},
	}
	for _, tt := range tests {
		v, err := ParseJSON([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Truthy(); got != tt.want {
			t.Errorf("Truthy(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestGetJSON(t *testing.T) {
	v, err := ParseJSON([]byte(`{"a":1,"b":{"c":"d"},"a":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := v.Get("a"); !ok || a.Num != 2 || a.Str != "2" {
		t.Errorf("Get(a) = %+v, %v; want the last duplicate, 2", a, ok)
	}
	b, _ := v.Get("b")
	if c, ok := b.Get("c"); !ok || c.Str != "d" {
		t.Errorf("Get(b).Get(c) = %+v, %v", c, ok)
	}
	if _, ok := v.Get("z"); ok {
		t.Error("Get(z) found an absent key")
	}
	arr := Value{Kind: KindArray}
	if _, ok := arr.Get("a"); ok {
		t.Error("Get on an array succeeded")
	}
}

// AppendQuoted must write the same text for strings ParseJSON produced and
// strings built in Go, and must turn bytes no JavaScript string can hold
// into U+FFFD so that the output stays valid UTF-8.
func TestAppendQuotedJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "abc", `"abc"`},
		{"html", "<a href=\"x\">&</a>", `"<a href=\"x\">&</a>"`},
		{"controls", "\x00\x1f\x7f", `"\u0000\u001f` + "\x7f\""},
		{"lone_surrogate_wtf8", "\xed\xa0\x80", `"\ud800"`},
		{"wtf8_pair_joined", "\xed\xa0\xbd\xed\xb1\x8d", `"👍"`},
		{"invalid_byte", "a\xffb", "\"a\uFFFDb\""},
		{"truncated_sequence", "\xe2\x82", "\"\uFFFD\""},
		{"u2028", "\u2028", "\"\u2028\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendQuoted([]byte("prefix"), tt.in))
			if got != "prefix"+tt.want {
				t.Errorf("AppendQuoted(%q) = %q, want %q", tt.in, got, "prefix"+tt.want)
			}
		})
	}
}

// RED-4: the WHATWG decoder replaces each maximal subpart with one U+FFFD.
// Vectors from the Unicode Standard §3.9 (Table 3-8) and the WHATWG tests.
func TestRepairUTF8RED4(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"valid", "abc é 👍", "abc é 👍"},
		{"unicode_table_3_8", "\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"},
		{"truncated_3byte_then_ascii", "\xe2\x82A", "\uFFFDA"},
		{"lone_continuations", "\x80\x80", "\uFFFD\uFFFD"},
		{"overlong_c0", "\xc0\xaf", "\uFFFD\uFFFD"},
		{"overlong_e0", "\xe0\x80\xaf", "\uFFFD\uFFFD\uFFFD"},
		{"surrogate_ed_a0", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"above_max_f4_90", "\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"f5", "\xf5\x80", "\uFFFD\uFFFD"},
		{"truncated_4byte_at_end", "x\xf0\x9f\x91", "x\uFFFD"},
		{"ff", "\xff", "\uFFFD"},
		{"mixed", "é\xffé", "é\uFFFDé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(RepairUTF8(nil, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("RepairUTF8(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if ref := string(repairUTF8Reference([]byte(tt.in))); ref != tt.want {
				t.Errorf("reference(%q) = %q, want %q (test bug)", tt.in, ref, tt.want)
			}
			if got := string(RepairUTF8([]byte("p:"), []byte(tt.in))); got != "p:"+tt.want {
				t.Errorf("RepairUTF8 with prefix = %q", got)
			}
		})
	}
}

func TestRepairUTF8FastPathAliases(t *testing.T) {
	src := []byte("valid ✓")
	if got := RepairUTF8(nil, src); &got[0] != &src[0] {
		t.Error("valid input with empty dst was copied; want src returned as is")
	}
	if got := RepairUTF8([]byte("x"), src); string(got) != "xvalid ✓" {
		t.Errorf("valid input with non-empty dst = %q, want appended", got)
	}
}

// utf8Prefixes is the set of all proper prefixes of the UTF-8 encodings of
// the non-ASCII scalar values.
var utf8Prefixes = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	var buf [4]byte
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		for l := 1; l < n; l++ {
			m[string(buf[:l])] = true
		}
	}
	return m
})

// repairUTF8Reference implements "maximal subpart" straight from its
// definition in Unicode §3.9 (the longest prefix of a well-formed sequence),
// independently of the state machine in utf8Seq.
func repairUTF8Reference(src []byte) []byte {
	prefixes := utf8Prefixes()
	var out []byte
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r != utf8.RuneError || n > 1 {
			out = append(out, src[i:i+n]...)
			i += n
			continue
		}
		l := 1
		for k := 3; k >= 1; k-- {
			if i+k <= len(src) && prefixes[string(src[i:i+k])] {
				l = k
				break
			}
		}
		out = append(out, "\uFFFD"...)
		i += l
	}
	return out
}

func TestRepairUTF8MatchesReferenceRED4(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{'a', 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff}
	buf := make([]byte, 12)
	for range 100000 {
		for i := range buf {
			buf[i] = alphabet[r.IntN(len(alphabet))]
		}
		got, want := RepairUTF8(nil, buf), repairUTF8Reference(buf)
		if !bytes.Equal(got, want) {
			t.Fatalf("RepairUTF8(%q) = %q, reference %q", buf, got, want)
		}
	}
}

// jsonGen writes random JSON text biased toward the places where canonical
// re-encoding is subtle: number layouts, escapes, surrogates, ill-formed
// UTF-8, whitespace, duplicate and array-index keys. With mutate, a few
// bytes are then damaged so that some documents are invalid.
func jsonGen(r *rand.Rand, dst []byte, depth int) []byte {
	ws := func() {
		if r.IntN(4) == 0 {
			dst = append(dst, " \t\r\n"[r.IntN(4)])
		}
	}
	ws()
	switch k := r.IntN(10); {
	case depth > 0 && k < 2:
		dst = append(dst, '[')
		for i := range r.IntN(4) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonGen(r, dst, depth-1)
		}
		dst = append(dst, ']')
	case depth > 0 && k < 4:
		dst = append(dst, '{')
		keys := []string{`"a"`, `"b"`, `"0"`, `"7"`, `"01"`, `"\u0061"`, `"4294967295"`, `"10"`, `"é"`}
		for i := range r.IntN(5) {
			if i > 0 {
				dst = append(dst, ',')
			}
			ws()
			dst = append(dst, keys[r.IntN(len(keys))]...)
			ws()
			dst = append(dst, ':')
			dst = jsonGen(r, dst, depth-1)
		}
		dst = append(dst, '}')
	case k < 7:
		nums := []string{"0", "-0", "1.0", "1.50", "1e21", "1e-7", "0.000001", "123e-20", "12345678901234567890",
			"5e-324", "1e400", "-1e-400", "1E+2", "0.1", "100", "-3.25e5", "9007199254740993", "1.7976931348623157e308"}
		if r.IntN(3) == 0 {
			dst = strconv.AppendFloat(dst, math.Float64frombits(r.Uint64()&^(0x7FF<<52)|uint64(r.IntN(0x7FF))<<52), 'g', -1, 64)
		} else {
			dst = append(dst, nums[r.IntN(len(nums))]...)
		}
	case k < 9:
		parts := []string{"a", `\"`, `\\`, `\/`, `\n`, `\u003c`, `\u00E9`, `\ud800`, `\udc00`, `\uD83D\uDC4D`, `\u2028`,
			"\u2028", "é", "👍", "\x7f", "\xff", "\xe2\x82", "\xed\xa0\x80", `\u0000`, `\u001F`, `\b`, "<>&"}
		dst = append(dst, '"')
		for range r.IntN(5) {
			dst = append(dst, parts[r.IntN(len(parts))]...)
		}
		dst = append(dst, '"')
	default:
		dst = append(dst, []string{"true", "false", "null"}[r.IntN(3)]...)
	}
	ws()
	return dst
}

// TestCanonicalMatchesNodeENC1 runs random documents through Node's own
// JSON.parse/JSON.stringify and Buffer decoding and compares byte for byte
// (ENC-1, RED-4, RED-6, WS-6). It needs node on PATH and is skipped without.
func TestCanonicalMatchesNodeENC1(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil || testing.Short() {
		t.Skip("node not on PATH")
	}
	const script = `
const rl = require('readline').createInterface({ input: process.stdin });
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
rl.on('line', (line) => {
  const text = Buffer.from(line, 'base64').toString('utf8');
  const out = [b64(text)];
  let json;
  try { json = JSON.parse(text); out.push(b64(JSON.stringify(json))); } catch (e) { out.push('ERR'); }
  const { event, payload } = (json && typeof json === 'object') ? json : {};
  if (!event || !payload || typeof event !== 'string' || /[\r\n]/.test(event)) {
    out.push('DROP');
  } else {
    const encoded = typeof payload === 'object' ? JSON.stringify(payload) : payload;
    out.push(b64(String(encoded)), b64(JSON.stringify({ stream: ['public'], event, payload: encoded })));
  }
  console.log(out.join(' '));
});`
	r := rand.New(rand.NewPCG(5, 6))
	var inputs [][]byte
	for i := range 3000 {
		doc := jsonGen(r, nil, 3)
		if i%3 == 0 {
			doc = append(append([]byte(`{"event":"x","payload":`), doc...), '}')
		}
		if i%10 == 0 && len(doc) > 0 {
			doc[r.IntN(len(doc))] = "{}[]\",:\\x"[r.IntN(9)]
		}
		inputs = append(inputs, doc)
	}
	var stdin bytes.Buffer
	for _, in := range inputs {
		stdin.WriteString(base64.StdEncoding.EncodeToString(in) + "\n")
	}
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("node answered %d lines for %d inputs", len(lines), len(inputs))
	}
	dec := func(s string) string {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("bad base64 from node: %v", err)
		}
		return string(b)
	}
	for i, in := range inputs {
		f := strings.Fields(lines[i])
		if got := string(RepairUTF8(nil, in)); got != dec(f[0]) {
			t.Errorf("RepairUTF8(%q) = %q, node %q", in, got, dec(f[0]))
		}
		v, err := ParseJSON(in)
		switch {
		case f[1] == "ERR" && err == nil:
			t.Errorf("ParseJSON(%q) accepted what JSON.parse rejects", in)
		case f[1] != "ERR" && err != nil:
			t.Errorf("ParseJSON(%q): %v; JSON.parse accepts it", in, err)
		case err == nil:
			if got := string(AppendCanonical(nil, &v)); got != dec(f[1]) {
				t.Errorf("canonical(%q) = %q, node %q", in, got, dec(f[1]))
			}
		}
		ev, ok, _ := ParseEvent(in)
		if ok != (f[2] != "DROP") {
			t.Errorf("ParseEvent(%q) ok = %v, node %s", in, ok, f[2])
			continue
		}
		if !ok {
			continue
		}
		if got := string(ev.Payload); got != dec(f[2]) {
			t.Errorf("ParseEvent(%q).Payload = %q, node %q", in, got, dec(f[2]))
		}
		if got := string(AppendWSEvent(nil, []byte(`["public"]`), &ev)); got != dec(f[3]) {
			t.Errorf("AppendWSEvent(%q) = %q, node %q", in, got, dec(f[3]))
		}
	}
}
