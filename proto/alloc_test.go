//go:build !race

package proto

import "testing"

// Deterministic allocation counts (STYLE 6), kept out of -race builds: -race
// turns on checkptr, which may move values to the heap. FuzzParseRequest
// repeats the parse check for every input it accepts.

func TestParseRequestAllocs(t *testing.T) {
	for _, tc := range requestCases {
		buf := tc.input()
		var r Request
		if allocs := testing.AllocsPerRun(100, func() {
			if _, err := ParseRequest(buf, &r); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%s: ParseRequest allocates %v times", tc.name, allocs)
		}
	}
	// Refusals allocate nothing either: garbage floods cost no GC.
	for _, tc := range hostileCases {
		buf := []byte(tc.raw)
		var r Request
		if allocs := testing.AllocsPerRun(10, func() { ParseRequest(buf, &r) }); allocs != 0 {
			t.Errorf("%s: refusal allocates %v times", tc.name, allocs)
		}
	}
}

func TestQueryValueAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	for _, tc := range queryCases {
		query := []byte(tc.query)
		if allocs := testing.AllocsPerRun(100, func() {
			dst, _ = QueryValue(dst[:0], query, tc.key)
		}); allocs != 0 {
			t.Errorf("%s: QueryValue allocates %v times", tc.name, allocs)
		}
	}
}

func TestHasTokenAllocs(t *testing.T) {
	list := []byte("keep-alive, Upgrade")
	if allocs := testing.AllocsPerRun(100, func() { HasToken(list, "upgrade") }); allocs != 0 {
		t.Errorf("HasToken allocates %v times", allocs)
	}
}
