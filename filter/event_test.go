package filter

import (
	"errors"
	"slices"
	"testing"

	"github.com/sluice/sluice/proto"
)

// Fixture accounts (fixtures/seed.sql).
const (
	alice   = 109000000000000001
	bob     = 109000000000000002
	carol   = 109000000000000003
	spammer = 109000000000000008
	troll   = 109000000000000009
	noisy   = 109000000000000010
	hater   = 109000000000000011
)

func parse(t testing.TB, s string) *proto.Value {
	t.Helper()
	v, err := proto.ParseJSON([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return &v
}

func event(t testing.TB, s string) *Event {
	t.Helper()
	ev, err := NewEvent(parse(t, s))
	if err != nil {
		t.Fatalf("NewEvent(%s): %v", s, err)
	}
	return ev
}

// FLT-1: payloads that cannot be filtered are an error, never a panic.
func TestNewEvent_Malformed_FLT1(t *testing.T) {
	for _, s := range []string{
		`null`, `1`, `true`, `[]`, `[{"account":{"username":"a","acct":"a"}}]`,
		`"not json"`, `"[1]"`, `"\"x\""`,
		`{}`, `{"account":null}`, `{"account":"alice"}`, `{"account":[]}`,
		`{"account":{"username":"a"}}`, `{"account":{"acct":"a"}}`,
		`{"account":{"username":1,"acct":"a"}}`, `{"account":{"username":"a","acct":null}}`,
	} {
		if ev, err := NewEvent(parse(t, s)); !errors.Is(err, ErrMalformed) || ev != nil {
			t.Errorf("NewEvent(%s) = %+v, %v; want ErrMalformed", s, ev, err)
		}
	}
	// A string holding a status object is the legacy Rails format.
	ev := event(t, `"{\"account\":{\"id\":\"109000000000000009\",\"username\":\"troll\",\"acct\":\"troll@remote.example\"},\"content\":\"<p>hi</p>\"}"`)
	if !ev.HasAuthor || ev.AuthorID != troll || ev.Domain != "remote.example" || ev.Text.String() != "\n\nhi" {
		t.Errorf("legacy string status: %+v", ev)
	}
	// Missing mentions and media_attachments are empty; no language is
	// "absent"; odd types do not crash (the reference would throw).
	ev = event(t, `{"account":{"username":"a","acct":"a"},"mentions":{"id":"1"},"media_attachments":"x","poll":{"options":"x"},"language":5}`)
	if ev.HasAuthor || len(ev.Mentions) != 0 || ev.HasLanguage || ev.InvalidID || !ev.Local {
		t.Errorf("sparse status: %+v", ev)
	}
}

// FLT-2 and FLT-3 inputs: ids as the reference hands them to PostgreSQL.
func TestNewEvent_IDs_FLT2(t *testing.T) {
	for _, tc := range []struct {
		id      string // JSON value of account.id
		want    int64
		has     bool
		invalid bool
	}{
		{`"109000000000000009"`, troll, true, false},
		{`" 109000000000000009 "`, troll, true, false}, // int8in trims
		{`"+12"`, 12, true, false},
		{`"-12"`, -12, true, false},
		{`"007"`, 7, true, false},
		{`"9223372036854775807"`, 1<<63 - 1, true, false},
		{`"-9223372036854775808"`, -1 << 63, true, false},
		{`"9223372036854775808"`, 0, false, true}, // out of range
		{`""`, 0, false, true},
		{`" "`, 0, false, true},
		{`"1.5"`, 0, false, true},
		{`"1e3"`, 0, false, true},
		{`"0x10"`, 0, false, true},
		{`"1_000"`, 0, false, true},
		{`"12a"`, 0, false, true},
		{`"- 1"`, 0, false, true},
		{`12`, 12, true, false},
		{`1.0`, 1, true, false},
		{`-0`, 0, true, false},
		// The reference sends String(n): a snowflake id as a JSON number
		// has already lost its last digits.
		{`109000000000000009`, 109000000000000020, true, false},
		{`1e21`, 0, false, true}, // String(1e21) is "1e+21"
		{`1.5`, 0, false, true},
		{`1e300`, 0, false, true},
		{`true`, 0, false, true},
		{`{}`, 0, false, true},
		{`[]`, 0, false, true},
		{`null`, 0, false, false}, // SQL NULL: matches nothing
	} {
		ev := event(t, `{"account":{"id":`+tc.id+`,"username":"a","acct":"a"}}`)
		if ev.AuthorID != tc.want || ev.HasAuthor != tc.has || ev.InvalidID != tc.invalid {
			t.Errorf("account.id %s: got id %d has %v invalid %v; want %d %v %v",
				tc.id, ev.AuthorID, ev.HasAuthor, ev.InvalidID, tc.want, tc.has, tc.invalid)
		}
	}
	ev := event(t, `{"account":{"username":"a","acct":"a"},"mentions":[{"id":"1"},{},{"id":null},null,7,{"id":2},{"id":"x"}]}`)
	if !slices.Equal(ev.Mentions, []int64{1, 2}) || !ev.InvalidID || ev.HasAuthor {
		t.Errorf("mentions: %v invalid %v", ev.Mentions, ev.InvalidID)
	}
}

// FLT-3 domain, FLT-8 locality, FLT-9 language, FLT-10 filtered.
func TestNewEvent_Fields(t *testing.T) {
	for _, tc := range []struct {
		acct, username string
		domain         string
		local          bool
	}{
		{"alice", "alice", "", true},
		{"carol@remote.example", "carol", "remote.example", false},
		{"a@b@c", "a", "b", false},
		{"a@", "a", "", false}, // split('@')[1] is "": no domain query
		{"@x", "", "x", false},
		{"Spammer@Spam.Example", "Spammer", "Spam.Example", false},
	} {
		ev := event(t, `{"account":{"username":"`+tc.username+`","acct":"`+tc.acct+`"}}`)
		if ev.Domain != tc.domain || ev.Local != tc.local {
			t.Errorf("acct %q: domain %q local %v; want %q %v", tc.acct, ev.Domain, ev.Local, tc.domain, tc.local)
		}
	}
	ev := event(t, `{"account":{"username":"a","acct":"a"},"language":"en","filtered":null,"content":"x"}`)
	if !ev.HasLanguage || ev.Language != "en" || !ev.HasFiltered || ev.Text.String() != "" {
		t.Errorf("language/filtered: %+v", ev)
	}
	ev = event(t, `{"account":{"username":"a","acct":"a"},"language":null,"filtered":[]}`)
	if ev.HasLanguage || !ev.HasFiltered {
		t.Errorf("null language / empty filtered: %+v", ev)
	}
}

// FLT-12: which fields make up T and how they are joined.
func TestSearchText_Fields_FLT12(t *testing.T) {
	for _, tc := range []struct{ status, want string }{
		{`{"content":"<p>a</p>"}`, "\n\na"},
		{`{"spoiler_text":"cw","content":"<p>a</p><p>b</p>"}`, "cw\n\na\n\nb"},
		{`{"spoiler_text":"","content":null}`, "\n\n"},
		{`{"spoiler_text":0,"content":1.50}`, "\n\n1.5"},
		{`{"spoiler_text":1e400,"content":[1,null,[2,"x"],{}]}`, "Infinity\n\n1,,2,x,[object Object]"},
		{`{"content":"x","poll":{"options":[{"title":"yes"},{"title":null},{}]}}`, "\n\nx\n\nyes\n\n\n\n"},
		{`{"content":"x","poll":null,"media_attachments":[{"description":"A photo, spoiler free"},{"description":null},null]}`,
			"\n\nx\n\nA photo, spoiler free\n\n\n\n"},
		{`{"content":"a<br>b<br/>c<br />d<br\t/>e<BR>f"}`, "\n\na\nb\nc\nd\nef"},
		{`{"content":"<p>a &amp; b &lt;c&gt; &#39;d&#39; &quot;e&quot;&nbsp;f</p>"}`, "\n\na & b <c> 'd' \"e\"\u00a0f"},
		{`{"content":"<p><a href=\"https://local.test/tags/Spoiler\" class=\"mention hashtag\" rel=\"tag\">#<span>Spoiler</span></a></p>"}`, "\n\n#Spoiler"},
		{`{"content":"a<script>b</script><style>c</style><title>d</title><textarea>e</textarea>"}`, "\n\nabcde"},
		// "<b" opens a tag that never ends: it and the rest are dropped.
		{`{"spoiler_text":"1 < 2 and a<b"}`, "1 < 2 and a"},
	} {
		st := parse(t, tc.status)
		st.Obj = append(st.Obj, proto.Member{Key: "account", Val: *parse(t, `{"username":"a","acct":"a"}`)})
		if got := searchText(st); got != tc.want {
			t.Errorf("T of %s = %q, want %q", tc.status, got, tc.want)
		}
	}
}
