package proto

import "testing"

// BenchmarkParseRequest parses the typical Mastodon request (an SSE stream
// with a browser's headers) and, as "table", every request of the table.
func BenchmarkParseRequest(b *testing.B) {
	var typical []byte
	for _, tc := range requestCases {
		if tc.name == "mastodon_sse_browser" {
			typical = tc.input()
		}
	}
	b.Run("mastodon_sse_browser", func(b *testing.B) {
		var r Request
		b.ReportAllocs()
		b.SetBytes(int64(len(typical)))
		for b.Loop() {
			if _, err := ParseRequest(typical, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("table", func(b *testing.B) {
		inputs := make([][]byte, len(requestCases))
		size := 0
		for i, tc := range requestCases {
			inputs[i] = tc.input()
			size += len(inputs[i])
		}
		var r Request
		b.ReportAllocs()
		b.SetBytes(int64(size))
		for b.Loop() {
			for _, in := range inputs {
				if _, err := ParseRequest(in, &r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkQueryValue extracts the token and an encoded tag the way the
// stream gate does, into a reused buffer.
func BenchmarkQueryValue(b *testing.B) {
	query := []byte("stream=hashtag&tag=caf%C3%A9+bar&access_token=ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0")
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		var ok bool
		if dst, ok = QueryValue(dst[:0], query, "access_token"); !ok {
			b.Fatal("access_token not found")
		}
		dst, _ = QueryValue(dst[:0], query, "tag")
	}
}
