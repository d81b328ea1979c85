package auth

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice/sluice/filter"
)

// Per-account filtering data (§8.2, §8.5) cached for all connections of an
// account (FLT-5, FLT-16).
//
// # Life of an entry
//
// The first filtered subscription of an account calls Acquire (any
// goroutine, never blocks), then EnsureLoaded on a worker before the stream
// starts. Every later subscription does the same; EnsureLoaded is then
// usually a no-op. Evaluation reads AccountEntry.Snapshot on the loop:
// lock-free, never blocking, with the immutable AccountData of the last
// successful load. Release ends a subscription; an entry nobody holds is
// dropped once it has been idle for the TTL, so a reconnecting client finds
// it warm.
//
// # Freshness
//
// Rails publishes nothing when blocks, mutes or domain blocks change, so
// the relationship sets are reloaded by age (FLT-5). An evaluation that finds
// them older than 3/4 of the TTL starts a reload in the background and keeps
// using them; one that finds them older than the full TTL (after a quiet
// spell, when no evaluation started the reload in time) gets Pending and
// holds the event until the reload is done. Data is therefore never older
// than the TTL when the database answers. When it does not, the last data
// keeps serving (and the failure is logged once), which the reference could
// not do: it dropped every event while its queries failed.
//
// Custom filters change only with a filters_changed message (SYS-4), which
// calls InvalidateFilters: from then on Snapshot answers Pending until a
// reload that started after the invalidation has finished, so the old set is
// never used again (FLT-16). If that reload fails, Snapshot answers
// Unavailable and the caller drops the event for that recipient, as the
// reference does when its filter query fails. A subscription that starts
// also reloads filters older than the TTL (FLT-16's SHOULD).
//
// # Goroutines and locks
//
// Every method may be called from any goroutine. Only EnsureLoaded (database
// I/O) and Close (waits for reloads) block; neither may run on a loop.
// Snapshot, Get, Acquire, Release and InvalidateFilters never wait for I/O.
// Background reloads run through RelationsConfig.Submit. The locks are
// leaves (none is taken while another is held):
//
//   - RelationCache.mu: the entry map's membership, reference counts and
//     idle queue; held for map operations only, never during I/O.
//   - AccountEntry.loadMu: one load per account at a time; held across the
//     load's queries, and only ever by workers (EnsureLoaded, background
//     reloads), so a loop never waits for it.

// Readiness tells the caller of Snapshot what to do with an event.
type Readiness uint8

const (
	// Ready: evaluate the event with the returned data.
	Ready Readiness = iota
	// Pending: a load is needed and started; hold the event for this
	// recipient and ask again after RelationsConfig.Notify reports the
	// account (or on a later tick, in case the reload could not be queued).
	Pending
	// Unavailable: the database failed and there is no usable data; drop
	// the event for this recipient (the reference drops on query errors).
	// Another load is tried after RelationsConfig.RetryDelay.
	Unavailable
)

func (r Readiness) String() string {
	switch r {
	case Ready:
		return "ready"
	case Pending:
		return "pending"
	case Unavailable:
		return "unavailable"
	}
	return fmt.Sprintf("Readiness(%d)", uint8(r))
}

// AccountData is one account's filtering data as of a load. It is immutable
// and shared by every connection of the account.
type AccountData struct {
	AccountID         int64
	Relations         *filter.Relations // blocks, mutes, domain blocks (FLT-3)
	Filters           *filter.FilterSet // custom filters (FLT-13)
	RelationsLoadedAt time.Time         // when the relationship queries started
	FiltersLoadedAt   time.Time         // when the filter query started
	filtersGen        uint64            // the entry's filtersGen the filters were loaded under
}

// RelationsConfig configures a RelationCache. The zero value is usable.
type RelationsConfig struct {
	// TTL is SLUICE_RELATIONS_TTL: the most the relationship sets may lag
	// the database (FLT-5), the age past which a new subscription rereads
	// the filters (FLT-16), and how long an unused entry stays cached. Zero
	// or less means DefaultRelationsTTL: a cache that reloaded at every
	// event could never answer Ready.
	TTL time.Duration
	// Submit runs a background reload off the loops and reports whether it
	// accepted the job, without blocking: normally Runner.Submit. Nil runs
	// each reload on a new goroutine.
	Submit func(job func()) bool
	// Notify, if set, is called with the account id after every load
	// attempt (successful or not), on the loading goroutine, so that loops
	// holding Pending events can evaluate or drop them. It must not block,
	// nor call EnsureLoaded: it runs under the account's load lock.
	Notify func(accountID int64)
	// LoadTimeout bounds a background reload. Zero means 15 s, the
	// connect/acquire timeout of CFG-6.
	LoadTimeout time.Duration
	// RetryDelay is how long after a failed load no background reload of
	// that account starts. Zero means min(TTL, 1 s).
	RetryDelay time.Duration
	// Logger receives load failures and recoveries; nil means
	// slog.Default().
	Logger *slog.Logger
}

// RelationStats counts database work, for the status endpoint and for
// BENCHMARKS (queries per 1,000 events).
type RelationStats struct {
	Accounts           int    // entries cached, held or idle
	BlockingQueries    uint64 // blocks by the account
	BlockedByQueries   uint64 // blocks of the account
	MutingQueries      uint64
	DomainBlockQueries uint64
	FilterQueries      uint64
	Loads              uint64 // successful loads (a load is one to five queries)
	Failures           uint64 // failed loads
}

// RelationCache caches AccountData per account. The overview at the top of
// this file describes the life of an entry and the freshness rules.
type RelationCache struct {
	pool         *pgxpool.Pool
	ttl          time.Duration
	refreshAfter time.Duration // ttl*3/4: evaluations start a background reload
	retryDelay   time.Duration
	loadTimeout  time.Duration
	submit       func(func()) bool
	notify       func(int64)
	log          *slog.Logger
	now          func() time.Time // replaced in tests

	ctx    context.Context // canceled by Close: ends background loads
	cancel context.CancelFunc
	closed atomic.Bool
	jobs   sync.WaitGroup // background reloads submitted and not finished

	lookup sync.Map // int64 → *AccountEntry, for lock-free Get and InvalidateFilters

	mu       sync.Mutex
	entries  map[int64]*AccountEntry
	idle     []idleEntry // entries whose refs reached 0, oldest first
	idleHead int

	blockingQ, blockedByQ, mutingQ, domainQ, filterQ atomic.Uint64
	loads, failures                                  atomic.Uint64
	inflight                                         atomic.Int64 // loads started and not finished
}

type idleEntry struct {
	e     *AccountEntry
	since time.Time
}

// AccountEntry is the cache entry of one account, shared by its filtered
// subscriptions. Its methods are lock-free and never block.
type AccountEntry struct {
	id    int64
	cache *RelationCache
	data  atomic.Pointer[AccountData]

	filtersGen atomic.Uint64 // bumped by InvalidateFilters
	failed     atomic.Bool   // the last load attempt failed
	retryAt    atomic.Int64  // unix ns before which no background reload starts after a failure
	scheduled  atomic.Bool   // a background reload is queued and not yet started
	loadMu     sync.Mutex

	refs      atomic.Int32 // written under cache.mu
	idleSince time.Time    // under cache.mu
}

// NewRelationCache returns a cache reading from pool. Close it before the
// Runner its Submit uses.
func NewRelationCache(pool *pgxpool.Pool, cfg RelationsConfig) *RelationCache {
	c := &RelationCache{
		pool:        pool,
		ttl:         cfg.TTL,
		retryDelay:  cfg.RetryDelay,
		loadTimeout: cfg.LoadTimeout,
		submit:      cfg.Submit,
		notify:      cfg.Notify,
		log:         cfg.Logger,
		now:         time.Now,
		entries:     make(map[int64]*AccountEntry),
	}
	if c.ttl <= 0 {
		c.ttl = DefaultRelationsTTL
	}
	c.refreshAfter = c.ttl - c.ttl/4
	if c.retryDelay <= 0 {
		c.retryDelay = min(c.ttl, time.Second)
	}
	if c.loadTimeout <= 0 {
		c.loadTimeout = 15 * time.Second
	}
	if c.submit == nil {
		c.submit = func(job func()) bool { go job(); return true }
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// Close stops background reloads (those running are canceled) and waits for
// the submitted ones to finish. EnsureLoaded keeps working; nothing reloads
// by itself any more. Any goroutine but a reload job may call it.
func (c *RelationCache) Close() {
	c.closed.Store(true)
	c.cancel()
	c.jobs.Wait()
}

// Acquire returns the account's entry, creating it empty, and counts one
// more user of it: call it when a filtered subscription starts, and Release
// when it ends. It does no I/O. Any goroutine.
func (c *RelationCache) Acquire(accountID int64) *AccountEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked(c.now())
	e := c.entries[accountID]
	if e == nil {
		e = &AccountEntry{id: accountID, cache: c}
		c.entries[accountID] = e
		c.lookup.Store(accountID, e)
	}
	e.refs.Add(1)
	return e
}

// Release undoes one Acquire. The entry stays cached for the TTL after its
// last user is gone. Any goroutine.
func (c *RelationCache) Release(e *AccountEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if e.refs.Add(-1) == 0 {
		e.idleSince = now
		c.idle = append(c.idle, idleEntry{e, now})
	}
	c.sweepLocked(now)
}

// sweepLocked drops entries idle for the TTL, oldest first: the idle queue
// is in release order, so this costs O(1) per dropped entry.
func (c *RelationCache) sweepLocked(now time.Time) {
	for c.idleHead < len(c.idle) {
		ie := c.idle[c.idleHead]
		if now.Sub(ie.since) < c.ttl {
			break
		}
		c.idle[c.idleHead] = idleEntry{}
		c.idleHead++
		// Skip stale queue items: re-acquired, or released again later.
		if ie.e.refs.Load() == 0 && ie.e.idleSince.Equal(ie.since) && c.entries[ie.e.id] == ie.e {
			delete(c.entries, ie.e.id)
			c.lookup.Delete(ie.e.id)
		}
	}
	if c.idleHead > len(c.idle)/2 {
		n := copy(c.idle, c.idle[c.idleHead:])
		c.idle = c.idle[:n]
		c.idleHead = 0
	}
}

// Get returns the data of an acquired account, as AccountEntry.Snapshot
// does; an account nobody acquired is Unavailable. Any goroutine; it never
// blocks.
func (c *RelationCache) Get(accountID int64, now time.Time) (*AccountData, Readiness) {
	v, ok := c.lookup.Load(accountID)
	if !ok {
		return nil, Unavailable
	}
	return v.(*AccountEntry).Snapshot(now)
}

// InvalidateFilters makes every later Snapshot of the account ignore the
// filters loaded so far (SYS-4, FLT-16) and starts their reload. Any
// goroutine; it never blocks.
func (c *RelationCache) InvalidateFilters(accountID int64) {
	v, ok := c.lookup.Load(accountID)
	if !ok {
		return // nothing cached: the next load reads the new filters
	}
	e := v.(*AccountEntry)
	e.filtersGen.Add(1)
	if e.refs.Load() > 0 {
		c.kick(e, c.now())
	}
}

// Stats returns the counters. Any goroutine.
func (c *RelationCache) Stats() RelationStats {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	return RelationStats{
		Accounts:           n,
		BlockingQueries:    c.blockingQ.Load(),
		BlockedByQueries:   c.blockedByQ.Load(),
		MutingQueries:      c.mutingQ.Load(),
		DomainBlockQueries: c.domainQ.Load(),
		FilterQueries:      c.filterQ.Load(),
		Loads:              c.loads.Load(),
		Failures:           c.failures.Load(),
	}
}

// ID returns the account id.
func (e *AccountEntry) ID() int64 { return e.id }

// Snapshot returns the data to evaluate an event of time now with, and
// what to do with the event (see Readiness). It starts the reloads the data
// needs in the background. Any goroutine, including a loop: it does not
// block or allocate beyond queueing a reload.
func (e *AccountEntry) Snapshot(now time.Time) (*AccountData, Readiness) {
	c := e.cache
	d := e.data.Load()
	if d == nil || d.filtersGen != e.filtersGen.Load() {
		c.kick(e, now)
		if e.failed.Load() {
			return nil, Unavailable
		}
		return nil, Pending
	}
	age := now.Sub(d.RelationsLoadedAt)
	if age >= c.refreshAfter {
		c.kick(e, now)
	}
	if age >= c.ttl && !e.failed.Load() {
		return nil, Pending
	}
	return d, Ready
}

// EnsureLoaded loads what the account's entry lacks before a filtered
// stream starts: everything on first use, relationship sets older than 3/4
// of the TTL, filters invalidated or older than the TTL (FLT-16). Concurrent
// loads of one account share the work. It blocks for the queries: call it
// on a worker, never on a loop. An error means the database failed; the
// subscription may start anyway (Snapshot then reports what to do with
// each event), as the reference reads none of this data at subscribe time.
func (c *RelationCache) EnsureLoaded(ctx context.Context, e *AccountEntry) error {
	return c.refresh(ctx, e, true)
}

// kick queues a background reload of e unless one is queued already, the
// cache is closed, or a recent failure asks to wait.
func (c *RelationCache) kick(e *AccountEntry, now time.Time) {
	if c.closed.Load() || e.failed.Load() && now.UnixNano() < e.retryAt.Load() {
		return
	}
	if !e.scheduled.CompareAndSwap(false, true) {
		return
	}
	c.jobs.Add(1)
	job := func() {
		defer c.jobs.Done()
		e.scheduled.Store(false)
		if c.closed.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.loadTimeout)
		defer cancel()
		_ = c.refresh(ctx, e, false) // failures are logged and counted there
	}
	if !c.submit(job) {
		e.scheduled.Store(false)
		c.jobs.Done()
	}
}

// refresh loads what e needs, looping while invalidations arrive during
// the load. A new stream also renews filters older than the TTL.
func (c *RelationCache) refresh(ctx context.Context, e *AccountEntry, newStream bool) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	for {
		cur := e.data.Load()
		started := c.now()
		gen := e.filtersGen.Load()
		needRelations := cur == nil || started.Sub(cur.RelationsLoadedAt) >= c.refreshAfter
		needFilters := cur == nil || cur.filtersGen != gen || newStream && started.Sub(cur.FiltersLoadedAt) >= c.ttl
		if !needRelations && !needFilters {
			return nil
		}
		next, err := c.load(ctx, e.id, cur, needRelations, needFilters)
		if err != nil {
			c.failures.Add(1)
			e.retryAt.Store(c.now().Add(c.retryDelay).UnixNano())
			if !e.failed.Swap(true) {
				c.log.Warn("auth: loading blocks, mutes and filters failed; the account's previous data keeps serving, events needing new data are dropped",
					"account_id", e.id, "error", err)
			}
			c.notifyLoad(e.id)
			return err
		}
		if needRelations {
			next.RelationsLoadedAt = started
		}
		if needFilters {
			next.FiltersLoadedAt, next.filtersGen = started, gen
		}
		e.data.Store(next)
		c.loads.Add(1)
		if e.failed.Swap(false) {
			c.log.Info("auth: loading blocks, mutes and filters works again", "account_id", e.id)
		}
		c.notifyLoad(e.id)
		newStream = false
	}
}

func (c *RelationCache) notifyLoad(accountID int64) {
	if c.notify != nil {
		c.notify(accountID)
	}
}

// load runs the queries that are needed on one connection and returns the
// next snapshot, sharing what was not reloaded with cur.
func (c *RelationCache) load(ctx context.Context, id int64, cur *AccountData, relations, filters bool) (*AccountData, error) {
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: relations of account %d: %w", id, err)
	}
	defer conn.Release()
	next := &AccountData{AccountID: id}
	if cur != nil {
		*next = *cur
	}
	if relations {
		if next.Relations, err = c.queryRelations(ctx, conn.Conn(), id); err != nil {
			return nil, fmt.Errorf("auth: relations of account %d: %w", id, err)
		}
	}
	if filters {
		if next.Filters, err = c.queryFilters(ctx, conn.Conn(), id); err != nil {
			return nil, fmt.Errorf("auth: custom filters of account %d: %w", id, err)
		}
	}
	return next, nil
}

// The relationship queries of FLT-3, one per set (FLT-5).
const (
	blockingSQL     = `SELECT target_account_id FROM blocks WHERE account_id = $1`
	blockedBySQL    = `SELECT account_id FROM blocks WHERE target_account_id = $1`
	mutingSQL       = `SELECT target_account_id FROM mutes WHERE account_id = $1`
	domainBlocksSQL = `SELECT domain FROM account_domain_blocks WHERE account_id = $1`
)

// filtersSQL is §8.5's query with the keyword order of FLT-13. expires_at is
// a UTC timestamp without time zone; comparing it with now() would convert
// it with the session's TimeZone, so the comparison is made in UTC.
const filtersSQL = `SELECT f.id, f.phrase, f.context, f.expires_at, f.action, k.keyword, k.whole_word
  FROM custom_filter_keywords k
  JOIN custom_filters f ON f.id = k.custom_filter_id
 WHERE f.account_id = $1
   AND (f.expires_at IS NULL OR f.expires_at > (now() AT TIME ZONE 'UTC'))
 ORDER BY f.id, k.id`

func (c *RelationCache) queryRelations(ctx context.Context, conn *pgx.Conn, id int64) (*filter.Relations, error) {
	c.blockingQ.Add(1)
	blocking, err := queryIDs(ctx, conn, blockingSQL, id)
	if err != nil {
		return nil, err
	}
	c.blockedByQ.Add(1)
	blockedBy, err := queryIDs(ctx, conn, blockedBySQL, id)
	if err != nil {
		return nil, err
	}
	c.mutingQ.Add(1)
	muting, err := queryIDs(ctx, conn, mutingSQL, id)
	if err != nil {
		return nil, err
	}
	c.domainQ.Add(1)
	rows, err := conn.Query(ctx, domainBlocksSQL, queryMode, id)
	if err != nil {
		return nil, err
	}
	domains, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	return filter.NewRelations(blocking, blockedBy, muting, domains), nil
}

func queryIDs(ctx context.Context, conn *pgx.Conn, sql string, id int64) ([]int64, error) {
	rows, err := conn.Query(ctx, sql, queryMode, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (c *RelationCache) queryFilters(ctx context.Context, conn *pgx.Conn, id int64) (*filter.FilterSet, error) {
	c.filterQ.Add(1)
	rows, err := conn.Query(ctx, filtersSQL, queryMode, id)
	if err != nil {
		return nil, err
	}
	var (
		filters  []filter.Filter
		fid      int64
		title    string
		contexts *[]string
		expires  pgtype.Timestamp
		action   int32
		keyword  string
		whole    bool
	)
	_, err = pgx.ForEachRow(rows, []any{&fid, &title, &contexts, &expires, &action, &keyword, &whole}, func() error {
		if n := len(filters); n == 0 || filters[n-1].ID != fid {
			f := filter.Filter{ID: fid, Title: title, Action: int(action)}
			if contexts != nil {
				f.Context = append([]string{}, *contexts...) // non-nil even when empty: [] not null
			}
			if expires.Valid && expires.InfinityModifier == pgtype.Finite {
				t := expires.Time.UTC()
				f.ExpiresAt = &t
			}
			// 'infinity' never expires and, as a JavaScript Infinity in
			// the reference, renders as null: ExpiresAt stays nil.
			filters = append(filters, f)
		}
		f := &filters[len(filters)-1]
		f.Keywords = append(f.Keywords, filter.Keyword{Text: keyword, WholeWord: whole})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return filter.NewFilterSet(filters), nil
}
