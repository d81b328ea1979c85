package bench

import "testing"

func TestParseTargetAcceptsOnlyLoopback(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:4000":                         "127.0.0.1:4000",
		"localhost:4000":                         "127.0.0.1:4000",
		"http://127.0.0.1:4000/api/v1/streaming": "127.0.0.1:4000",
		"ws://127.9.8.7:80":                      "127.9.8.7:80",
		"[::1]:4000":                             "[::1]:4000",
		"unix:/run/sluice.sock":                  "unix:/run/sluice.sock",
		"/run/sluice.sock":                       "unix:/run/sluice.sock",
	} {
		got, err := ParseTarget(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{
		"10.0.0.1:4000", "192.168.1.1:4000", "example.com:4000", "[::2]:4000", "[fe80::1%lo]:4000",
		"0.0.0.0:4000", "[::ffff:8.8.8.8]:4000", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999",
		"unix:relative.sock", "",
	} {
		if got, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) accepted as %v", in, got)
		}
	}
	if got, err := ParseTarget("[::ffff:127.0.0.1]:4000"); err != nil || got.Network != "tcp4" {
		t.Errorf("IPv4-mapped loopback: %v %v", got, err)
	}
}

func TestCheckLoopbackForRedis(t *testing.T) {
	if got, err := CheckLoopback("redis://localhost:6379/0"); err != nil || got != "127.0.0.1:6379" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := CheckLoopback("redis.internal:6379"); err == nil {
		t.Errorf("non-loopback Redis accepted")
	}
}
