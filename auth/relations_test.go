package auth

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice/sluice/filter"
	"github.com/sluice/sluice/internal/testenv"
	"github.com/sluice/sluice/proto"
)

// Seed accounts besides those of store_test.go.
const (
	carol   = 109000000000000003
	spammer = 109000000000000008
	troll   = 109000000000000009
	noisy   = 109000000000000010
	hater   = 109000000000000011
)

// testClock is the cache's clock in these tests; background reloads read
// it, hence the atomic.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// manualSubmit queues background reloads until the test runs them, so that
// the state between a trigger and its reload can be observed.
type manualSubmit struct {
	mu   sync.Mutex
	jobs []func()
}

func (m *manualSubmit) Submit(job func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.jobs = append(m.jobs, job)
	return true
}

func (m *manualSubmit) RunAll() int {
	m.mu.Lock()
	jobs := m.jobs
	m.jobs = nil
	m.mu.Unlock()
	for _, job := range jobs {
		job()
	}
	return len(jobs)
}

type relationsFixture struct {
	cache    *RelationCache
	clock    *testClock
	manual   *manualSubmit // nil when reloads run on goroutines
	notified chan int64
}

// newRelationCache returns a cache on pool with a test clock. With manual
// set, background reloads wait for f.manual.RunAll.
func newRelationCache(t *testing.T, pool *pgxpool.Pool, ttl time.Duration, manual bool) *relationsFixture {
	t.Helper()
	f := &relationsFixture{clock: newTestClock(), notified: make(chan int64, 256)}
	cfg := RelationsConfig{
		TTL:         ttl,
		LoadTimeout: 5 * time.Second,
		Notify: func(id int64) {
			select {
			case f.notified <- id:
			default:
			}
		},
	}
	if manual {
		f.manual = &manualSubmit{}
		cfg.Submit = f.manual.Submit
	}
	f.cache = NewRelationCache(pool, cfg)
	f.cache.now = f.clock.Now
	t.Cleanup(func() {
		if f.manual != nil {
			f.manual.RunAll()
		}
		f.cache.Close()
	})
	return f
}

// drainNotified forgets the load attempts reported so far.
func (f *relationsFixture) drainNotified() {
	for {
		select {
		case <-f.notified:
		default:
			return
		}
	}
}

// waitNotified waits for the end of a load attempt of account.
func (f *relationsFixture) waitNotified(t *testing.T, account int64) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case id := <-f.notified:
			if id == account {
				return
			}
		case <-timeout:
			t.Fatalf("no load attempt of account %d finished", account)
		}
	}
}

func (f *relationsFixture) ready(t *testing.T, e *AccountEntry) *AccountData {
	t.Helper()
	d, r := e.Snapshot(f.clock.Now())
	if r != Ready || d == nil {
		t.Fatalf("Snapshot = %v, %v; want ready data", d, r)
	}
	return d
}

// results renders the filtered key for a status with the given content.
func results(t *testing.T, d *AccountData, content string) string {
	t.Helper()
	v := `{"account":{"username":"bob","acct":"bob"},"content":` + fmt.Sprintf("%q", content) + `}`
	st := mustParse(t, v)
	ev, err := filter.NewEvent(st)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := d.Filters.AppendResults(nil, &ev.Text, time.Now())
	return string(out)
}

func mustParse(t *testing.T, s string) *proto.Value {
	t.Helper()
	v, err := proto.ParseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

func relations(d *AccountData) string {
	r := d.Relations
	return fmt.Sprint(r.Blocking, r.BlockedBy, r.Muting, r.DomainBlocks)
}

// FLT-3 / §8.5: alice's data as the seed has it; bob has none. One query
// per set plus one for the filters, and nothing more while fresh.
func TestRelationCache_LoadsSeed_FLT3(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	f := newRelationCache(t, pg.Pool(t), time.Minute, true)
	ctx := ctxT(t)

	e := f.cache.Acquire(alice)
	if d, r := e.Snapshot(f.clock.Now()); d != nil || r != Pending {
		t.Fatalf("before loading: %v, %v; want nil, pending", d, r)
	}
	f.manual.RunAll() // the load Snapshot started
	d := f.ready(t, e)
	if got, want := relations(d), fmt.Sprint([]int64{troll}, []int64{hater}, []int64{noisy}, []string{"spam.example"}); got != want {
		t.Errorf("alice's relations %s, want %s", got, want)
	}
	if d.Filters.Len() != 2 {
		t.Errorf("%d filters loaded, want 2 (Old has expired)", d.Filters.Len())
	}
	// A.5: ids 1 then 2; Crypto expires in 30 days, rendered in UTC with
	// milliseconds.
	got := results(t, d, "<p>spoiler: bitcoin</p>")
	want := regexp.MustCompile(`^\[\{"filter":\{"id":"1","title":"Spoilers","context":\["home","public","thread"\],"expires_at":null,"filter_action":"warn"\},"keyword_matches":\["spoiler"\],"status_matches":null\},` +
		`\{"filter":\{"id":"2","title":"Crypto","context":\["public"\],"expires_at":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)","filter_action":"hide"\},"keyword_matches":\["bitcoin"\],"status_matches":null\}\]$`)
	m := want.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("results %s", got)
	}
	exp, err := time.Parse(time.RFC3339, m[1])
	if err != nil || exp.Sub(time.Now().Add(30*24*time.Hour)).Abs() > time.Hour {
		t.Errorf("Crypto expires_at %s, want about 30 days from now (%v)", m[1], err)
	}
	if got := results(t, d, "<p>expiredword</p>"); got != "[]" {
		t.Errorf("expired filter loaded: %s", got)
	}
	st := f.cache.Stats()
	if st.BlockingQueries != 1 || st.BlockedByQueries != 1 || st.MutingQueries != 1 || st.DomainBlockQueries != 1 ||
		st.FilterQueries != 1 || st.Loads != 1 || st.Accounts != 1 {
		t.Errorf("stats after one load: %+v", st)
	}

	// Fresh data: a second subscription and later evaluations query nothing.
	if err := f.cache.EnsureLoaded(ctx, f.cache.Acquire(alice)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Second)
	f.ready(t, e)
	if n := f.manual.RunAll(); n != 0 || f.cache.Stats() != st {
		t.Errorf("fresh data reloaded: %d jobs, stats %+v", n, f.cache.Stats())
	}

	b := f.cache.Acquire(bob)
	if err := f.cache.EnsureLoaded(ctx, b); err != nil {
		t.Fatal(err)
	}
	db := f.ready(t, b)
	if got := relations(db); got != "[] [] [] []" || db.Filters.Len() != 0 {
		t.Errorf("bob: %s, %d filters", got, db.Filters.Len())
	}
	if d, r := f.cache.Get(bob, f.clock.Now()); r != Ready || d != db {
		t.Errorf("Get(bob) = %v, %v", d, r)
	}
	if d, r := f.cache.Get(carol, f.clock.Now()); r != Unavailable || d != nil {
		t.Errorf("Get of an account never acquired = %v, %v; want unavailable", d, r)
	}
}

// §8.5, FLT-15: expires_at is a UTC wall-clock time, whatever the session's
// TimeZone, and context NULL or empty renders as null or [].
func TestRelationCache_FilterColumns_FLT15(t *testing.T) {
	pg := testenv.StartPostgres(t) // private: the schema is changed
	// Mastodon's schema has context NOT NULL; the reference renders a NULL
	// as null all the same.
	pg.Exec(t, `ALTER TABLE custom_filters ALTER COLUMN context DROP NOT NULL`)
	// UTC+14: a naive expires_at > now() would find a filter expiring in
	// two hours already expired.
	pool, err := pgxpool.New(context.Background(), pg.DSN+"&timezone=Pacific/Kiritimati")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	pg.Exec(t, `INSERT INTO custom_filters (id, account_id, phrase, context, action, expires_at) VALUES
	    (901, $1, 'soon "quoted"', '{}', 2, (now() AT TIME ZONE 'UTC') + interval '2 hours'),
	    (902, $1, 'fixed', '{home}', 0, timestamp '2999-01-02 03:04:05.678999'),
	    (903, $1, 'forever', '{home}', 1, 'infinity')`, int64(bob))
	pg.Exec(t, `UPDATE custom_filters SET context = NULL WHERE id = 903`)
	pg.Exec(t, `INSERT INTO custom_filter_keywords (id, custom_filter_id, keyword, whole_word) VALUES
	    (9012, 901, 'fir', false), (9011, 901, 'first', false),
	    (9021, 902, 'first', true), (9031, 903, 'first', true)`)
	f := newRelationCache(t, pool, time.Minute, false)
	e := f.cache.Acquire(bob)
	if err := f.cache.EnsureLoaded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	d := f.ready(t, e)
	got := results(t, d, "second first")
	// Keywords go in id order (FLT-13), not insertion order: at the same
	// position "first" (9011) beats "fir" (9012). Action 2 has no
	// filter_action.
	want := regexp.MustCompile(`^\[\{"filter":\{"id":"901","title":"soon \\"quoted\\"","context":\[\],"expires_at":"[^"]+"\},"keyword_matches":\["first"\],"status_matches":null\},` +
		regexp.QuoteMeta(`{"filter":{"id":"902","title":"fixed","context":["home"],"expires_at":"2999-01-02T03:04:05.678Z","filter_action":"warn"},"keyword_matches":["first"],"status_matches":null},`+
			`{"filter":{"id":"903","title":"forever","context":null,"expires_at":null,"filter_action":"hide"},"keyword_matches":["first"],"status_matches":null}]`) + `$`)
	if !want.MatchString(got) {
		t.Errorf("results %s", got)
	}
}

// FLT-5: a block added while cached takes effect once the sets are older
// than 3/4 of the TTL (background reload, old sets serving meanwhile), and
// sets older than the TTL are never used.
func TestRelationCache_TTL_FLT5(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	const ttl = time.Minute
	f := newRelationCache(t, pg.Pool(t), ttl, true)
	e := f.cache.Acquire(alice)
	if err := f.cache.EnsureLoaded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	pg.Exec(t, `INSERT INTO blocks (account_id, target_account_id) VALUES ($1, $2)`, int64(alice), int64(carol))
	t.Cleanup(func() {
		pg.Exec(t, `DELETE FROM blocks WHERE account_id = $1 AND target_account_id = $2`, int64(alice), int64(carol))
	})
	carolStatus, err := filter.NewEvent(mustParse(t, `{"account":{"id":"109000000000000003","username":"carol","acct":"carol@remote.example"}}`))
	if err != nil {
		t.Fatal(err)
	}

	f.clock.Advance(ttl*3/4 - time.Nanosecond)
	if f.ready(t, e).Relations.Drops(carolStatus) || f.manual.RunAll() != 0 {
		t.Fatal("new block seen, or reload started, before 3/4 of the TTL")
	}
	f.clock.Advance(time.Nanosecond)
	old := f.ready(t, e) // starts the reload, keeps serving
	if old.Relations.Drops(carolStatus) {
		t.Fatal("block seen before the reload ran")
	}
	if n := f.manual.RunAll(); n != 1 {
		t.Fatalf("%d reloads queued, want 1", n)
	}
	d := f.ready(t, e)
	if !d.Relations.Drops(carolStatus) {
		t.Fatal("block not applied after the reload")
	}
	if d.Filters != old.Filters {
		t.Error("filters reloaded by age in the background; only filters_changed and new subscriptions do")
	}
	st := f.cache.Stats()
	if st.BlockingQueries != 2 || st.FilterQueries != 1 {
		t.Errorf("stats %+v: want 2 loads of the sets and 1 of the filters", st)
	}

	// After a quiet spell the sets are older than the TTL: the event waits.
	pg.Exec(t, `DELETE FROM blocks WHERE account_id = $1 AND target_account_id = $2`, int64(alice), int64(carol))
	f.clock.Advance(ttl)
	if d, r := e.Snapshot(f.clock.Now()); r != Pending || d != nil {
		t.Fatalf("sets older than the TTL: %v, %v; want pending", d, r)
	}
	f.manual.RunAll()
	if f.ready(t, e).Relations.Drops(carolStatus) {
		t.Error("removed block still applied")
	}
}

// FLT-16 / SYS-4: after InvalidateFilters the old filters are never used;
// the reload reads the new ones and nothing else.
func TestRelationCache_InvalidateFilters_FLT16(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	f := newRelationCache(t, pg.Pool(t), time.Minute, true)
	e := f.cache.Acquire(alice)
	if err := f.cache.EnsureLoaded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	before := f.ready(t, e)
	pg.Exec(t, `INSERT INTO custom_filter_keywords (id, custom_filter_id, keyword, whole_word) VALUES (9101, 1, 'dragons', true)`)
	t.Cleanup(func() { pg.Exec(t, `DELETE FROM custom_filter_keywords WHERE id = 9101`) })
	if got := results(t, before, "here be dragons"); got != "[]" {
		t.Fatalf("old set matched the new keyword: %s", got)
	}

	f.cache.InvalidateFilters(alice)
	if d, r := e.Snapshot(f.clock.Now()); r != Pending || d != nil {
		t.Fatalf("after filters_changed: %v, %v; want pending until reloaded", d, r)
	}
	if n := f.manual.RunAll(); n != 1 {
		t.Fatalf("%d reloads queued, want 1", n)
	}
	after := f.ready(t, e)
	if got := results(t, after, "here be dragons"); !strings.Contains(got, `"keyword_matches":["dragons"]`) {
		t.Errorf("reloaded filters miss the new keyword: %s", got)
	}
	if after.Relations != before.Relations {
		t.Error("fresh relationship sets were reloaded too")
	}
	if st := f.cache.Stats(); st.FilterQueries != 2 || st.BlockingQueries != 1 {
		t.Errorf("stats %+v", st)
	}

	// An invalidation that arrives during a load (here: while it reports)
	// makes the same refresh load again before it returns.
	q := f.cache.Stats().FilterQueries
	var once sync.Once
	f.cache.notify = func(int64) { once.Do(func() { f.cache.InvalidateFilters(alice) }) }
	f.cache.InvalidateFilters(alice)
	f.manual.RunAll()
	f.cache.notify = nil
	f.ready(t, e)
	if got := f.cache.Stats().FilterQueries; got != q+2 {
		t.Errorf("%d filter queries for an invalidation during a load, want 2", got-q)
	}
	f.manual.RunAll() // the reload that invalidation queued finds nothing to do

	// Accounts with no live subscription are not reloaded; their next
	// subscription is.
	idle := f.cache.Acquire(bob)
	if err := f.cache.EnsureLoaded(ctxT(t), idle); err != nil {
		t.Fatal(err)
	}
	f.cache.Release(idle)
	f.cache.InvalidateFilters(bob)
	f.cache.InvalidateFilters(carol) // never cached: nothing to do
	if n := f.manual.RunAll(); n != 0 {
		t.Errorf("%d reloads for idle or unknown accounts", n)
	}
	again := f.cache.Acquire(bob)
	q = f.cache.Stats().FilterQueries
	if err := f.cache.EnsureLoaded(ctxT(t), again); err != nil {
		t.Fatal(err)
	}
	if f.cache.Stats().FilterQueries != q+1 {
		t.Error("invalidated filters of an idle entry not reloaded by the next subscription")
	}
}

// FLT-16's SHOULD: a new subscription renews filters older than the TTL.
func TestRelationCache_NewStreamRenewsOldFilters_FLT16(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	f := newRelationCache(t, pg.Pool(t), time.Minute, false)
	e := f.cache.Acquire(alice)
	if err := f.cache.EnsureLoaded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if err := f.cache.EnsureLoaded(ctxT(t), f.cache.Acquire(alice)); err != nil {
		t.Fatal(err)
	}
	if st := f.cache.Stats(); st.FilterQueries != 2 || st.BlockingQueries != 2 || st.Loads != 2 {
		t.Errorf("stats %+v: want everything read twice", st)
	}
}

// Concurrent subscriptions of one account share one load.
func TestRelationCache_SharedLoad(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	f := newRelationCache(t, pg.Pool(t), time.Minute, false)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- f.cache.EnsureLoaded(ctxT(t), f.cache.Acquire(alice)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := f.cache.Stats(); st.Loads != 1 || st.BlockingQueries != 1 || st.FilterQueries != 1 || st.Accounts != 1 {
		t.Errorf("stats %+v: want one load for %d subscriptions", st, n)
	}
}

// Entries outlive their last subscription by the TTL, then go.
func TestRelationCache_Eviction(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	const ttl = time.Minute
	f := newRelationCache(t, pg.Pool(t), ttl, false)
	a1, a2 := f.cache.Acquire(alice), f.cache.Acquire(alice)
	if a1 != a2 {
		t.Fatal("two entries for one account")
	}
	if err := f.cache.EnsureLoaded(ctxT(t), a1); err != nil {
		t.Fatal(err)
	}
	f.cache.Release(a1)
	f.cache.Release(a2)
	f.clock.Advance(ttl / 2)
	back := f.cache.Acquire(alice) // reconnect: warm entry
	if back != a1 {
		t.Fatal("entry dropped before the TTL")
	}
	f.cache.Release(back)
	f.clock.Advance(ttl - time.Nanosecond)
	f.cache.Release(f.cache.Acquire(bob)) // sweeps; alice's first release is stale
	if _, ok := f.cache.lookup.Load(int64(alice)); !ok {
		t.Fatal("entry dropped before the TTL after its last release")
	}
	f.clock.Advance(time.Nanosecond)
	f.cache.Release(f.cache.Acquire(bob))
	if d, r := f.cache.Get(alice, f.clock.Now()); d != nil || r != Unavailable {
		t.Errorf("idle entry still cached after the TTL: %v, %v", d, r)
	}
	if st := f.cache.Stats(); st.Accounts != 1 {
		t.Errorf("%d entries, want only bob's", st.Accounts)
	}
	if f.cache.Acquire(alice) == a1 {
		t.Error("evicted entry reused")
	}
}

// With the database down the last data keeps serving; events that need a
// load are dropped (Unavailable) until it answers again.
func TestRelationCache_DatabaseDown(t *testing.T) {
	pg := testenv.StartPostgres(t) // private: stopping it must not disturb other tests
	const ttl = time.Minute
	f := newRelationCache(t, pg.Pool(t), ttl, false)
	e := f.cache.Acquire(alice)
	if err := f.cache.EnsureLoaded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	loaded := f.ready(t, e)

	pg.Stop()
	f.drainNotified()
	f.clock.Advance(ttl) // too old: the event waits for a reload …
	if _, r := e.Snapshot(f.clock.Now()); r != Pending {
		t.Fatalf("old sets: %v, want pending", r)
	}
	f.waitNotified(t, alice) // … which fails …
	if d := f.ready(t, e); d != loaded {
		t.Error("old data not served while the database is down") // … so the old data serves
	}
	if st := f.cache.Stats(); st.Failures != 1 {
		t.Errorf("stats %+v, want one failure", st)
	}
	if err := f.cache.EnsureLoaded(ctxT(t), f.cache.Acquire(alice)); err == nil {
		t.Error("EnsureLoaded with the database down: no error")
	}

	// Invalidated filters must not be used: with no way to reload them,
	// events for alice are dropped.
	f.cache.InvalidateFilters(alice)
	if d, r := e.Snapshot(f.clock.Now()); r != Unavailable || d != nil {
		t.Fatalf("invalidated filters, database down: %v, %v; want unavailable", d, r)
	}
	// A new account cannot load at all.
	b := f.cache.Acquire(bob)
	if err := f.cache.EnsureLoaded(ctxT(t), b); err == nil {
		t.Fatal("first load with the database down: no error")
	}
	if _, r := b.Snapshot(f.clock.Now()); r != Unavailable {
		t.Errorf("never loaded, database down: %v, want unavailable", r)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second) // past the retry delay
	if _, r := e.Snapshot(f.clock.Now()); r != Unavailable {
		t.Errorf("until reloaded: %v, want unavailable", r)
	}
	waitFor(t, "alice reloaded", func() bool { _, r := e.Snapshot(f.clock.Now()); return r == Ready })
	waitFor(t, "bob loaded", func() bool { _, r := b.Snapshot(f.clock.Now()); return r == Ready })
	if d := f.ready(t, e); d == loaded || d.Filters.Len() != 2 {
		t.Errorf("after recovery: same snapshot %v, %d filters", d == loaded, d.Filters.Len())
	}
}

// Snapshot races with reloads and invalidations without locks (-race).
func TestRelationCache_ConcurrentSnapshots(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	f := newRelationCache(t, pg.Pool(t), time.Minute, false)
	e := f.cache.Acquire(alice)
	if err := f.cache.EnsureLoaded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if d, r := e.Snapshot(f.clock.Now()); r == Ready && (d.Relations == nil || d.Filters == nil) {
					t.Error("ready snapshot without data")
					return
				}
			}
		})
	}
	for range 20 {
		f.cache.InvalidateFilters(alice)
		f.clock.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	waitFor(t, "final reload", func() bool { _, r := e.Snapshot(f.clock.Now()); return r == Ready })
}

func TestReadinessString(t *testing.T) {
	got := []string{Ready.String(), Pending.String(), Unavailable.String(), Readiness(9).String()}
	if !slices.Equal(got, []string{"ready", "pending", "unavailable", "Readiness(9)"}) {
		t.Errorf("got %v", got)
	}
}

// Snapshot runs per recipient on the loops: the ready path allocates
// nothing (STYLE 6).
func TestRelationCache_SnapshotAllocs(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	f := newRelationCache(t, pg.Pool(t), time.Minute, true)
	e := f.cache.Acquire(alice)
	if err := f.cache.EnsureLoaded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	if a := testing.AllocsPerRun(100, func() {
		if _, r := e.Snapshot(now); r != Ready {
			t.Fatal(r)
		}
		if _, r := f.cache.Get(alice, now); r != Ready {
			t.Fatal(r)
		}
	}); a != 0 {
		t.Errorf("Snapshot allocates %v times", a)
	}
}
