package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DBName is the database that holds the fixtures.
const DBName = "sluice_test"

// Postgres is a private PostgreSQL cluster on 127.0.0.1 with the fixture
// schema and seed loaded into DBName. Durability is off (fsync,
// full_page_writes, synchronous_commit). Its methods may be called from any
// goroutine.
type Postgres struct {
	Port int
	DSN  string // postgres://postgres@127.0.0.1:<port>/sluice_test?sslmode=disable

	bindir string
	base   string              // temporary directory: data/, server.log, socket
	cred   *syscall.Credential // the postgres user when we run as root, else nil

	mu   sync.Mutex // guards proc; held while the server starts or stops
	proc *proc
}

// StartPostgres starts a private PostgreSQL for tb, loads the fixtures and
// stops and removes it in tb.Cleanup. It skips tb when pg_config is not
// installed.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	p, err := startPostgres()
	check(tb, err)
	tb.Cleanup(p.close)
	return p
}

func startPostgres() (*Postgres, error) {
	bindir, err := pgBindir()
	if err != nil {
		return nil, err
	}
	fixtures, err := FixturesDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	base, err := makeTempDir("sluice-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{bindir: bindir, base: base, cred: cred}
	if err := p.init(); err != nil {
		p.close()
		return nil, err
	}
	// A free port can be taken by someone else before postgres binds it.
	for attempt := 0; ; attempt++ {
		if p.Port, err = freePort(); err != nil {
			break
		}
		p.DSN = p.dsn(DBName)
		if err = p.Start(); err == nil || attempt == 2 {
			break
		}
	}
	if err == nil {
		err = p.load(fixtures)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func pgBindir() (string, error) {
	pgConfig, err := exec.LookPath("pg_config")
	if err != nil {
		return "", &errMissingTool{"testenv: pg_config not found on PATH; install PostgreSQL (Debian: apt-get install postgresql) to run this test"}
	}
	out, err := exec.Command(pgConfig, "--bindir").Output()
	if err != nil {
		return "", fmt.Errorf("testenv: pg_config --bindir: %w", err)
	}
	bindir := strings.TrimSpace(string(out))
	for _, tool := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bindir, tool)); err != nil {
			return "", fmt.Errorf("testenv: %s missing from pg_config --bindir %s; install the PostgreSQL server package", tool, bindir)
		}
	}
	return bindir, nil
}

// serverCredential returns the postgres user when we run as root (initdb and
// postgres refuse root), otherwise nil: the servers run as ourselves.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("testenv: running as root, and PostgreSQL refuses to run as root: create a 'postgres' system user (%v)", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("testenv: user postgres has non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// init creates the cluster in base/data.
func (p *Postgres) init() error {
	if p.cred != nil {
		if err := os.Chown(p.base, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return fmt.Errorf("testenv: postgres: %w", err)
		}
	}
	return run([]string{filepath.Join(p.bindir, "initdb"),
		"-D", filepath.Join(p.base, "data"), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync",
	}, p.base, p.cred)
}

func (p *Postgres) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// Start starts the server on p.Port if it is not running, and waits until it
// accepts connections. Together with Stop it injects database outages.
func (p *Postgres) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && p.proc.running() {
		return nil
	}
	logPath := filepath.Join(p.base, "server.log")
	argv := []string{filepath.Join(p.bindir, "postgres"),
		"-D", filepath.Join(p.base, "data"),
		"-p", strconv.Itoa(p.Port),
		"-k", p.base,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "synchronous_commit=off",
	}
	// SIGQUIT is PostgreSQL's immediate shutdown: it also ends the backends.
	proc, err := startProc(argv, p.base, logPath, syscall.SIGQUIT, p.cred)
	if err != nil {
		return err
	}
	p.proc = proc
	deadline := time.Now().Add(startTimeout)
	for {
		err := p.ping()
		if err == nil {
			return nil
		}
		if !proc.running() || time.Now().After(deadline) {
			proc.stop(syscall.SIGQUIT, time.Second)
			return fmt.Errorf("testenv: postgres on port %d did not accept connections (%v); log:\n%s", p.Port, err, tail(logPath, 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *Postgres) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.dsn("postgres"))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// keeps its data and port for Start.
func (p *Postgres) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		p.proc.stop(syscall.SIGINT, 10*time.Second)
	}
}

// load creates DBName and runs schema.sql then seed.sql from fixtures.
func (p *Postgres) load(fixtures string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, p.dsn("postgres"))
	if err != nil {
		return fmt.Errorf("testenv: postgres: %w", err)
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+DBName)
	admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("testenv: create database %s: %w", DBName, err)
	}
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		return fmt.Errorf("testenv: postgres: %w", err)
	}
	defer conn.Close(ctx)
	for _, name := range []string{"schema.sql", "seed.sql"} {
		path := filepath.Join(fixtures, name)
		sql, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("testenv: fixtures: %w (set %s to the fixtures directory)", err, FixturesEnv)
		}
		// Without arguments pgx uses the simple protocol, which runs the
		// whole multi-statement file as psql -f would.
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("testenv: loading %s: %w", path, err)
		}
	}
	return nil
}

// Exec runs one statement on DBName over a fresh connection (so it works
// across Stop/Start) and fails tb on error.
func (p *Postgres) Exec(tb testing.TB, sql string, args ...any) pgconn.CommandTag {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		tb.Fatalf("testenv: connect %s: %v", p.DSN, err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		tb.Fatalf("testenv: exec %q: %v", sql, err)
	}
	return tag
}

// Pool returns a new pool on DBName, closed in tb.Cleanup. The pool
// reconnects by itself after Stop/Start.
func (p *Postgres) Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), p.DSN)
	if err != nil {
		tb.Fatalf("testenv: pool %s: %v", p.DSN, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func (p *Postgres) close() {
	p.Stop()
	os.RemoveAll(p.base)
}
