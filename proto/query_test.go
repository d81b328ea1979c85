package proto

import (
	"net/url"
	"testing"
)

var queryCases = []struct {
	name, query, key string
	want             string
	found            bool
}{
	{"str5_token", "access_token=alice-read-token", "access_token", "alice-read-token", true},
	{"str5_plus_is_space", "tag=caf%C3%A9+bar", "tag", "café bar", true},
	{"str5_encoded_plus", "tag=a%2Bb", "tag", "a+b", true},
	{"str5_malformed_kept", "tag=%zz%4", "tag", "%zz%4", true},
	{"str5_lone_percent", "tag=100%", "tag", "100%", true},
	{"str5_lower_hex", "stream=public%3alocal", "stream", "public:local", true},
	{"str5_encoded_key", "acc%65ss_token=tok", "access_token", "tok", true},
	{"str5_plus_in_key", "a+b=1", "a b", "1", true},
	{"str5_encoded_equals_and_amp", "list=1%3D2%262", "list", "1=2&2", true},
	{"str6_first_wins", "tag=one&tag=two", "tag", "one", true},
	{"str6_first_even_if_empty", "tag=&tag=two", "tag", "", true},
	{"empty_value", "only_media=&x=1", "only_media", "", true},
	{"key_without_equals", "x=1&only_media", "only_media", "", true},
	{"value_with_equals", "list=a=b", "list", "a=b", true},
	{"absent", "tag=x", "list", "", false},
	{"prefix_is_not_key", "tagx=1&xtag=2", "tag", "", false},
	{"key_prefix_of_name", "ta=1", "tag", "", false},
	{"empty_pairs_skipped", "&&tag=x&", "tag", "x", true},
	{"semicolon_is_data", "tag=a;b&list=1", "tag", "a;b", true},
	{"empty_query", "", "tag", "", false},
	{"non_utf8_kept", "tag=%FF", "tag", "\xff", true},
	{"empty_key", "=v", "", "v", true},
}

func TestQueryValue(t *testing.T) {
	for _, tc := range queryCases {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("dst:")
			got, found := QueryValue(dst, []byte(tc.query), tc.key)
			if found != tc.found || string(got) != "dst:"+tc.want {
				t.Errorf("QueryValue(%q, %q) = %q, %v; want %q, %v", tc.query, tc.key, got, found, "dst:"+tc.want, tc.found)
			}
		})
	}
}

// FuzzQueryValue compares with net/url.ParseQuery wherever it succeeds; it
// fails on malformed escapes, which STR-5 keeps literally, and on ';'.
func FuzzQueryValue(f *testing.F) {
	for _, tc := range queryCases {
		f.Add(tc.query, tc.key)
	}
	f.Fuzz(func(t *testing.T, query, key string) {
		got, found := QueryValue(nil, []byte(query), key)
		values, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		want, ok := values[key]
		if found != ok || ok && string(got) != want[0] {
			t.Fatalf("QueryValue(%q, %q) = %q, %v; url.ParseQuery has %q", query, key, got, found, want)
		}
	})
}
