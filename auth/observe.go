package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice/sluice/metrics"
)

// pingEvery bounds how often the status endpoint pings PostgreSQL: it is
// reachable by anyone nginx forwards to, and must not become a way to load
// the database.
const pingEvery = time.Second

// Observer reports the database side of /metrics (MET-2's pg_pool_*
// families, X-11) and of the status endpoint. It implements
// netpoll.Observer. Any goroutine but an event loop: PostgresConnected may
// ping the database.
type Observer struct {
	pool  *pgxpool.Pool
	store *Store
	rel   *RelationCache // may be nil

	pinging sync.Mutex // held by the one caller pinging
	checked time.Time  // under pinging
	up      atomic.Bool
}

// NewObserver returns an Observer of pool and of the work store and rel do
// on it; rel may be nil.
func NewObserver(pool *pgxpool.Pool, store *Store, rel *RelationCache) *Observer {
	return &Observer{pool: pool, store: store, rel: rel}
}

// PostgresConnected pings the database, at most once per second; callers in
// between get the last answer.
//
// Only one caller pings; the others get the last answer at once, so a hung
// database cannot tie up the workers through the status endpoint.
func (o *Observer) PostgresConnected(ctx context.Context) bool {
	if !o.pinging.TryLock() {
		return o.up.Load()
	}
	defer o.pinging.Unlock()
	if time.Since(o.checked) < pingEvery {
		return o.up.Load()
	}
	o.up.Store(o.store.Ping(ctx) == nil)
	o.checked = time.Now()
	return o.up.Load()
}

// WriteMetrics appends the pg_pool_* families with the reference's HELP
// texts, then PostgreSQL queries by purpose and the relationship cache.
func (o *Observer) WriteMetrics(w *metrics.Writer) {
	st := o.pool.Stat()
	// pgxpool does not count waiters: a query in flight without a
	// connection is waiting for one.
	inflight := o.store.inflight.Load()
	if o.rel != nil {
		inflight += o.rel.inflight.Load()
	}
	waiting := max(inflight-int64(st.AcquiredConns()), 0)
	w.Family("pg_pool_total_connections", "gauge", "The total number of clients existing within the pool")
	w.Int("pg_pool_total_connections", int64(st.TotalConns()))
	w.Family("pg_pool_idle_connections", "gauge", "The number of clients which are not checked out but are currently idle in the pool")
	w.Int("pg_pool_idle_connections", int64(st.IdleConns()))
	w.Family("pg_pool_waiting_queries", "gauge", "The number of queued requests waiting on a client when all clients are checked out")
	w.Int("pg_pool_waiting_queries", waiting)

	w.Family("sluice_pg_queries_total", "counter", "PostgreSQL queries issued, by purpose")
	w.Uint("sluice_pg_queries_total", o.store.tokenQueries.Load(), "purpose", "token")
	w.Uint("sluice_pg_queries_total", o.store.listQueries.Load(), "purpose", "list")
	w.Uint("sluice_pg_queries_total", o.store.feedQueries.Load(), "purpose", "feed_access")
	if o.rel == nil {
		return
	}
	rs := o.rel.Stats()
	w.Uint("sluice_pg_queries_total", rs.BlockingQueries, "purpose", "blocks")
	w.Uint("sluice_pg_queries_total", rs.BlockedByQueries, "purpose", "blocked_by")
	w.Uint("sluice_pg_queries_total", rs.MutingQueries, "purpose", "mutes")
	w.Uint("sluice_pg_queries_total", rs.DomainBlockQueries, "purpose", "domain_blocks")
	w.Uint("sluice_pg_queries_total", rs.FilterQueries, "purpose", "filters")
	w.Family("sluice_relations_accounts", "gauge", "Accounts whose relationships and filters are cached for filtered streams")
	w.Int("sluice_relations_accounts", int64(rs.Accounts))
	w.Family("sluice_relations_loads_total", "counter", "Loads of an account's relationships or filters, by result")
	w.Uint("sluice_relations_loads_total", rs.Loads, "result", "ok")
	w.Uint("sluice_relations_loads_total", rs.Failures, "result", "error")
}
