package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGConnectTimeout bounds opening a PostgreSQL connection and, by CFG-6, also
// waiting for one from the pool: callers bound Acquire with it.
const PGConnectTimeout = 15 * time.Second

// postgres resolves §2.2's database variables. Like Node it always parses
// DB_PORT and DB_POOL, and uses DATABASE_URL when it is non-empty.
func (r *resolver) postgres(c *Config) {
	c.DBPort = r.jsInt("DB_PORT", 5432, 1, 65535)
	c.DBHost = cmp(r.get("DB_HOST"), "localhost")
	c.DBPass = r.get("DB_PASS")
	c.DBSSLMode = r.get("DB_SSLMODE")
	if c.Production {
		c.DBName = cmp(r.get("DB_NAME"), "mastodon_production")
		c.DBUser = cmp(r.get("DB_USER"), "mastodon")
	} else {
		c.DBName = cmp(r.get("DB_NAME"), "mastodon_development")
		c.DBUser = r.get("DB_USER")
		if c.DBUser == "" && r.in.osUser != nil {
			c.DBUser = r.in.osUser()
		}
	}
	c.DatabaseURL = r.get("DATABASE_URL")
	if c.DatabaseURL != "" {
		c.pgSource = "DATABASE_URL"
		c.pgConnString = r.databaseURL(c.DatabaseURL, c.DBPass)
	} else {
		c.pgSource = "DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS/DB_SSLMODE"
		mode, err := libpqSSLMode(c.DBSSLMode)
		r.fail(err)
		kv := []string{
			"host=" + dsnQuote(c.DBHost),
			"port=" + strconv.Itoa(c.DBPort),
			"dbname=" + dsnQuote(c.DBName),
			"sslmode=" + mode,
			"connect_timeout=" + strconv.Itoa(int(PGConnectTimeout/time.Second)),
		}
		if c.DBUser != "" {
			kv = append(kv, "user="+dsnQuote(c.DBUser))
		}
		if c.DBPass != "" { // an empty password is none, as in node-postgres
			kv = append(kv, "password="+dsnQuote(c.DBPass))
		}
		c.pgConnString = strings.Join(kv, " ")
	}
	c.DBPool = r.jsInt("DB_POOL", 10, 1, math.MaxInt32)
}

func dsnQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// libpqSSLMode maps DB_SSLMODE to the sslmode pgx understands (§2.2 table).
func libpqSSLMode(v string) (string, error) {
	switch v {
	case "", "disable":
		return "disable", nil
	case "allow", "prefer", "require", "verify-full":
		return v, nil
	case "no-verify":
		return "require", nil
	case "verify-ca":
		return "", errors.New("config: DB_SSLMODE: verify-ca needs a CA certificate, which only DATABASE_URL can name (set DATABASE_URL=postgres://…?sslmode=verify-ca&sslrootcert=/path/to/ca.pem, or use DB_SSLMODE=verify-full)")
	}
	return "", fmt.Errorf("config: DB_SSLMODE: unknown mode %q (expected disable, prefer, require, no-verify or verify-full)", v)
}

// databaseURL checks DATABASE_URL and rewrites it for pgx: DB_PASS fills a
// missing password, sslmode=no-verify becomes require, and query parameters
// that are not libpq connection options (Rails' pool=, prepared_statements=
// …) are dropped, since pgx would send them to the server as settings and
// the server would refuse the connection. Errors never quote the URL: it
// holds a password.
func (r *resolver) databaseURL(raw, dbPass string) string {
	if strings.HasPrefix(raw, "/") { // pg-connection-string: "/socket/dir dbname"
		dir, db, _ := strings.Cut(raw, " ")
		kv := []string{"host=" + dsnQuote(dir), "connect_timeout=" + strconv.Itoa(int(PGConnectTimeout/time.Second))}
		if db != "" {
			kv = append(kv, "dbname="+dsnQuote(db))
		}
		if dbPass != "" {
			kv = append(kv, "password="+dsnQuote(dbPass))
		}
		return strings.Join(kv, " ")
	}
	u, err := url.Parse(raw)
	if err != nil {
		r.failf("DATABASE_URL: %s (expected postgres://user:password@host:port/database; percent-encode @, :, / and %% in the password)", urlProblem(err))
		return ""
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		r.failf("DATABASE_URL: scheme %q is not supported (expected postgres:// or postgresql://)", u.Scheme)
		return ""
	}
	if p := u.Port(); p != "" && !strings.Contains(u.Host, ",") {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			r.failf("DATABASE_URL: invalid port %q (expected 1-65535)", p)
			return ""
		}
	}
	q := u.Query()
	var dropped []string
	for k := range q {
		switch k {
		case "host", "port", "dbname", "user", "password", "passfile", "sslmode", "sslkey", "sslcert",
			"sslcertmode", "sslrootcert", "sslpassword", "sslsni", "sslnegotiation", "krbsrvname", "krbspn",
			"target_session_attrs", "service", "servicefile", "channel_binding", "require_auth",
			"min_protocol_version", "max_protocol_version", "options",
			"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout":
		case "application_name", "fallback_application_name", "connect_timeout": // CFG-6 decides
			q.Del(k)
		case "ssl": // node-postgres' spelling
			if q.Get("sslmode") == "" {
				switch q.Get("ssl") {
				case "true", "1":
					q.Set("sslmode", "verify-full")
				case "false", "0":
					q.Set("sslmode", "disable")
				}
			}
			q.Del(k)
		default:
			dropped = append(dropped, k)
			q.Del(k)
		}
	}
	if len(dropped) > 0 {
		slices.Sort(dropped)
		r.warnf("DATABASE_URL: ignoring query parameters %s (not PostgreSQL connection options)", strings.Join(dropped, ", "))
	}
	if q.Get("sslmode") == "no-verify" {
		q.Set("sslmode", "require")
	}
	q.Set("connect_timeout", strconv.Itoa(int(PGConnectTimeout/time.Second)))
	if pw, _ := u.User.Password(); pw == "" && q.Get("password") == "" && dbPass != "" {
		u.User = url.UserPassword(u.User.Username(), dbPass)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// urlProblem is the reason of a url.Parse error without the URL itself,
// which may hold a password.
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if msg := ue.Err.Error(); strings.HasPrefix(msg, "invalid port") {
			return msg
		}
	}
	return "not a valid URL"
}

// PGConfig returns the pgxpool configuration of §2.2 and CFG-6: empty
// application_name, 15 s connect timeout, at most DB_POOL connections and
// none kept open idle. Queries use QueryExecModeExec (unnamed statements,
// one round trip, text format) like node-postgres, so PgBouncer in
// transaction mode and schema migrations are safe. pgx reads PG* variables
// of the real process environment and ~/.pgpass for anything the
// configuration leaves open (notably a missing password), as libpq and
// node-postgres do.
func (c *Config) PGConfig() (*pgxpool.Config, error) {
	if c.pgConnString == "" {
		return nil, errors.New("config: PGConfig on a Config that Load did not return")
	}
	pc, err := pgxpool.ParseConfig(c.pgConnString)
	if err != nil {
		msg := err.Error()
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) { // drop the quoted connection string
			if _, rest, ok := strings.Cut(msg, "`: "); ok {
				msg = rest
			}
		}
		return nil, fmt.Errorf("config: %s: %s", c.pgSource, msg)
	}
	pc.ConnConfig.RuntimeParams["application_name"] = ""
	pc.ConnConfig.ConnectTimeout = PGConnectTimeout
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pc.MaxConns = int32(c.DBPool)
	pc.MinConns = 0
	pc.MinIdleConns = 0
	return pc, nil
}
