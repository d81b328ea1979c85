package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// dotenvCases are CFG-3 syntax cases. Every expectation was checked against
// the parse function of the dotenv npm package run by Node.
func dotenvCases() []struct {
	name, in string
	want     map[string]string
} {
	type m = map[string]string
	return []struct {
		name, in string
		want     map[string]string
	}{
		{"plain", "A=1\nB=two words\n", m{"A": "1", "B": "two words"}},
		{"trimmed", "  A =  spaced out  \n", m{"A": "spaced out"}},
		{"empty value", "A=\nB=2", m{"A": "", "B": "2"}},
		{"key characters", "a.b-c_D9=x", m{"a.b-c_D9": "x"}},
		{"export prefix", "export A=1\nexport  B=2", m{"A": "1", "B": "2"}},
		{"export as key", "export=1", m{"export": "1"}},
		{"colon separator", "A: 1\nB:2", m{"A": "1"}},
		{"comment lines", "# A=1\n  # B=2\nC=3", m{"C": "3"}},
		{"comment after value", "A=1 # one", m{"A": "1"}},
		{"hash ends unquoted value", "A=abc#def", m{"A": "abc"}},
		{"hash only", "A=#", m{"A": ""}},
		{"hash in quotes", "A=\"a#b\" # c\nB='x#y'", m{"A": "a#b", "B": "x#y"}},
		{"single quotes", "A='it is'", m{"A": "it is"}},
		{"back quotes", "A=`b'q\"`", m{"A": "b'q\""}},
		{"double quotes expand \\n", `A="l1\nl2\rx"`, m{"A": "l1\nl2\rx"}},
		{"single quotes keep \\n", `A='l1\nl2'`, m{"A": `l1\nl2`}},
		{"unquoted keeps \\n", `A=l1\nl2`, m{"A": `l1\nl2`}},
		{"escaped quote stays", `A="say \"hi\""`, m{"A": `say \"hi\"`}},
		{"multi-line double", "A=\"line1\nline2\"\nB=3", m{"A": "line1\nline2", "B": "3"}},
		{"multi-line single", "KEY='-----BEGIN-----\nabc\n-----END-----'", m{"KEY": "-----BEGIN-----\nabc\n-----END-----"}},
		{"unterminated quote", "A=\"abc\nB=1", m{"A": "\"abc", "B": "1"}},
		{"quote then text", `A="abc"xyz`, m{"A": `"abc"xyz`}},
		{"quotes inside", "A=a'b'c", m{"A": "a'b'c"}},
		{"no expansion", "A=1\nB=${A}\nC=$A", m{"A": "1", "B": "${A}", "C": "$A"}},
		{"later wins", "A=1\nA=2", m{"A": "2"}},
		{"CRLF", "A=1\r\nB=\"x\r\ny\"\r\n", m{"A": "1", "B": "x\ny"}},
		{"CR", "A=1\rB=2", m{"A": "1", "B": "2"}},
		{"garbage lines", "not a line\n=1\nA B=1\nOK=1", m{"OK": "1"}},
		{"empty value takes no next line", "A=\nB=1", m{"A": "", "B": "1"}},
		{"empty value takes a quoted next line", "A=\n\"q\"", m{"A": "q"}},
		{"equals in value", "URL=postgres://u:p@h/db?a=b", m{"URL": "postgres://u:p@h/db?a=b"}},
		{"BOM", "\ufeffA=1", m{"A": "1"}},
		{"no-break space trimmed", "A=\u00a0x\u00a0", m{"A": "x"}},
		{"invalid UTF-8", "A=\xe2\x80x\xff", m{"A": "\ufffdx\ufffd"}},
		{"line separator", "A='x'\u2028B=2", m{"A": "x", "B": "2"}},
		{"empty file", "", m{}},
	}
}

func TestParseDotenv(t *testing.T) { // CFG-3
	for _, tc := range dotenvCases() {
		got, err := ParseDotenv([]byte(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ParseDotenv(%q) = %q, %v; want %q", tc.name, tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseDotenv(make([]byte, maxDotenvBytes+1)); err == nil {
		t.Errorf("no error for a file over 1 MiB")
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDotenv(t *testing.T) { // CFG-1, CFG-2
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".env"), "DB_NAME=from_dotenv\nREDIS_NAMESPACE=dev\nNODE_ENV=production\n")
	write(t, filepath.Join(dir, ".env.production"), "DB_NAME=from_production\nREDIS_NAMESPACE=prod # comment\nDB_POOL=\"7\"\n")
	write(t, filepath.Join(dir, "custom.env"), "DB_NAME=from_custom\n")

	c, _, err := Load([]string{"USER=x"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	// NODE_ENV from the file does not choose the environment: Node reads it
	// before loading the file.
	if !c.DotenvLoaded || c.DotenvPath != filepath.Join(dir, ".env") || c.DBName != "from_dotenv" || c.RedisNamespace != "dev" || c.Production {
		t.Errorf(".env: %+v", c)
	}

	c, _, err = Load([]string{"NODE_ENV=production"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.DBName != "from_production" || c.RedisNamespace != "prod" || c.DBPool != 7 || !c.Production {
		t.Errorf(".env.production: %+v", c)
	}

	c, _, err = Load([]string{"NODE_ENV=production", "DB_NAME=from_env", "REDIS_NAMESPACE="}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.DBName != "from_env" || c.RedisNamespace != "" || c.DBPool != 7 {
		t.Errorf("the process environment must win, even when empty: %+v", c)
	}

	for _, path := range []string{"custom.env", filepath.Join(dir, "custom.env")} {
		c, _, err = Load([]string{"NODE_ENV=production", "SLUICE_DOTENV=" + path}, dir)
		if err != nil {
			t.Fatal(err)
		}
		if c.DBName != "from_custom" || c.DotenvPath != filepath.Join(dir, "custom.env") {
			t.Errorf("SLUICE_DOTENV=%s: %+v", path, c)
		}
	}

	c, _, err = Load([]string{"SLUICE_DOTENV=missing.env", "USER=x"}, dir)
	if err != nil {
		t.Fatalf("a missing file is not an error: %v", err)
	}
	if c.DotenvLoaded || c.DBName != "mastodon_development" {
		t.Errorf("missing file: %+v", c)
	}
}

func FuzzParseDotenv(f *testing.F) {
	for _, tc := range dotenvCases() {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseDotenv(data)
		if err != nil {
			t.Fatal(err)
		}
		for k := range got {
			if k == "" {
				t.Fatalf("empty key from %q", data)
			}
		}
	})
}
