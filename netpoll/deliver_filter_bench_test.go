package netpoll

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/filter"
	"github.com/sluice/sluice/internal/testenv"
	"github.com/sluice/sluice/proto"
)

// Per-recipient filtering on the delivery path (§8) with realistic account
// data: every subscriber is its own account, with its relationship sets and
// custom filters loaded into an auth.RelationCache from a private
// PostgreSQL, as a filtered subscription would have them.

// Sizes of each subscriber's data (the "realistic lists").
const (
	benchBlocks   = 100 // half of them other subscribers, half the author range
	benchMutes    = 50  // in the author range
	benchFilters  = 5   // two keywords each, one whole-word
	benchKeywords = 2

	// Authors of the benchmark's remote statuses are 5,000,000 + [0, 4096);
	// subscribers are accounts 1..N, as newFanout numbers them.
	benchAuthorBase  = 5_000_000
	benchAuthorRange = 4096
	// Filter keywords are kw000..kw999: each subscriber has 10 of them.
	benchVocabulary = 1000
)

// seedFilterAccounts gives accounts 1..n their blocks, mutes, one domain
// block and custom filters with generate_series. Only the tables the
// RelationCache reads are filled: it needs no accounts, users or tokens.
func seedFilterAccounts(tb testing.TB, pg *testenv.Postgres, n int) {
	tb.Helper()
	for _, sql := range []string{
		// j < 50: other subscribers (so every account is also blocked by
		// about 50); j >= 50: the author range.
		fmt.Sprintf(`INSERT INTO blocks (account_id, target_account_id)
		 SELECT a, CASE WHEN j < %[2]d THEN 1 + (a + j * 197) %% %[1]d
		                ELSE %[3]d + (a * 101 + j * 37) %% %[4]d END
		   FROM generate_series(1, %[1]d) a, generate_series(0, %[5]d - 1) j
		 ON CONFLICT DO NOTHING`, n, benchBlocks/2, benchAuthorBase, benchAuthorRange, benchBlocks),
		fmt.Sprintf(`INSERT INTO mutes (account_id, target_account_id)
		 SELECT a, %[2]d + (a * 53 + j * 41 + 2048) %% %[3]d
		   FROM generate_series(1, %[1]d) a, generate_series(0, %[4]d - 1) j
		 ON CONFLICT DO NOTHING`, n, benchAuthorBase, benchAuthorRange, benchMutes),
		fmt.Sprintf(`INSERT INTO account_domain_blocks (account_id, domain)
		 SELECT a, 'd' || (a %% 50) || '.example' FROM generate_series(1, %d) a`, n),
		fmt.Sprintf(`INSERT INTO custom_filters (id, account_id, phrase, context, action, expires_at)
		 SELECT 1000 + (a - 1) * %[2]d + f, a, 'Filter ' || f, '{home,public}', f %% 3,
		        CASE WHEN f = %[2]d - 1 THEN (now() AT TIME ZONE 'UTC') + interval '30 days' END
		   FROM generate_series(1, %[1]d) a, generate_series(0, %[2]d - 1) f`, n, benchFilters),
		fmt.Sprintf(`INSERT INTO custom_filter_keywords (custom_filter_id, keyword, whole_word)
		 SELECT 1000 + (a - 1) * %[2]d + f, 'kw' || lpad(((a * 13 + f * 7 + k * 501) %% %[4]d)::text, 3, '0'), k = 0
		   FROM generate_series(1, %[1]d) a, generate_series(0, %[2]d - 1) f, generate_series(0, %[3]d - 1) k
		  ORDER BY 1, 3`, n, benchFilters, benchKeywords, benchVocabulary),
		`ANALYZE`,
	} {
		pg.Exec(tb, sql)
	}
}

// acquireAccounts acquires accounts 1..n in rc, as n filtered
// subscriptions would; entries[i] is account i+1.
func acquireAccounts(rc *auth.RelationCache, n int) []*auth.AccountEntry {
	entries := make([]*auth.AccountEntry, n)
	for i := range entries {
		entries[i] = rc.Acquire(int64(i + 1))
	}
	return entries
}

// ensureLoaded loads what entries lack, several at a time, as the gate's
// workers would.
func ensureLoaded(tb testing.TB, rc *auth.RelationCache, entries []*auth.AccountEntry) {
	tb.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan *auth.AccountEntry)
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range next {
				if err := rc.EnsureLoaded(context.Background(), e); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, e := range entries {
		next <- e
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		tb.Fatalf("loading relations: %v", firstErr)
	}
}

// filterCache starts a private PostgreSQL with n seeded accounts and returns
// a RelationCache on it with every account loaded. The TTL is
// auth.DefaultRelationsTTL unless ttl is set.
func filterCache(tb testing.TB, n int, ttl time.Duration) (*auth.RelationCache, []*auth.AccountEntry) {
	tb.Helper()
	pg := testenv.StartPostgres(tb) // private: the shared seed stays as it is
	seedFilterAccounts(tb, pg, n)
	pool, err := pgxpool.New(context.Background(), pg.DSN+"&pool_max_conns=8")
	if err != nil {
		tb.Fatalf("pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	rc := auth.NewRelationCache(pool, auth.RelationsConfig{TTL: ttl})
	tb.Cleanup(rc.Close)
	entries := acquireAccounts(rc, n)
	ensureLoaded(tb, rc, entries)
	return rc, entries
}

// newFilteredFanout is newFanout whose subscriber i streams as account i+1
// with entries[i] as its relationships and filters, like a filtered
// subscription after the gate.
func newFilteredFanout(tb testing.TB, websocket bool, rc *auth.RelationCache, entries []*auth.AccountEntry) *fanout {
	f := newFanout(tb, len(entries), websocket)
	f.l.s.opts.Relations = rc
	for i, c := range f.l.conns {
		c.streams[0].rel = entries[i]
	}
	return f
}

// deliverFiltered ingests msg and drains it like the loop's drain task,
// which sets the evaluation time for filter expiry.
func (f *fanout) deliverFiltered(msg []byte) {
	f.hub.Ingest("timeline:public", msg)
	f.l.now = time.Now()
	f.l.reader.Drain(drainBudget)
	f.l.flush()
}

// writes is the number of writes all subscribers have received.
func (f *fanout) writes() int {
	n := 0
	for _, c := range f.conns {
		n += c.writes
	}
	return n
}

// benchStatuses returns n public statuses of the size Rails publishes, from
// varied authors: remote accounts in the author range (some blocked or
// muted by some subscribers, some on a blocked domain), and now and then a
// subscriber (whom about 1% of the others block or are blocked by). Every
// other status contains one filter keyword, which about 1% of the
// subscribers have.
func benchStatuses(n, subscribers int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		k := i * 613 % benchAuthorRange
		id, username, acct := fmt.Sprint(benchAuthorBase+k), fmt.Sprintf("user%d", k), ""
		switch i % 4 {
		case 0:
			acct = fmt.Sprintf("user%d@d%d.example", k, i%50)
		case 1, 2:
			acct = fmt.Sprintf("user%d@remote%d.example", k, i%7)
		case 3:
			a := 1 + i*37%subscribers
			id, username, acct = fmt.Sprint(a), fmt.Sprintf("local%d", a), fmt.Sprintf("local%d", a)
		}
		words := "what a lovely morning by the sea"
		if i%2 == 0 {
			words = fmt.Sprintf("what a lovely kw%03d morning by the sea", i*37%benchVocabulary)
		}
		spoiler, media := "", "[]"
		if i%5 == 0 {
			spoiler = "long read"
		}
		if i%3 == 0 {
			media = `[{"id":"` + fmt.Sprint(9000+i) + `","type":"image","url":"https://files.example/media/` + fmt.Sprint(i) +
				`.jpg","preview_url":"https://files.example/media/small/` + fmt.Sprint(i) + `.jpg","remote_url":null,` +
				`"meta":{"original":{"width":1280,"height":960,"size":"1280x960","aspect":1.3333333333333333},"small":{"width":480,"height":360,"size":"480x360","aspect":1.3333333333333333}},` +
				`"description":"A photo of the harbour at dawn with boats","blurhash":"UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"}]`
		}
		out[i] = []byte(`{"event":"update","payload":{"id":"11560000000` + fmt.Sprintf("%07d", i) +
			`","created_at":"2026-11-23T10:00:00.000Z","in_reply_to_id":null,"in_reply_to_account_id":null,"sensitive":` + fmt.Sprint(spoiler != "") +
			`,"spoiler_text":"` + spoiler + `","visibility":"public","language":"en","uri":"https://remote.example/statuses/` + fmt.Sprint(i) +
			`","url":"https://remote.example/@` + username + `/` + fmt.Sprint(i) + `","replies_count":0,"reblogs_count":3,"favourites_count":12,"edited_at":null,` +
			`"content":"<p>` + strings.ToUpper(words[:1]) + words[1:] + `! Off to <a href=\"https://remote.example/tags/photography\" class=\"mention hashtag\" rel=\"tag\">#<span>photography</span></a> ` +
			`with <span class=\"h-card\"><a href=\"https://local.test/@bob\" class=\"u-url mention\">@<span>bob</span></a></span>.</p><p>More at <a href=\"https://example.org/blog\" rel=\"nofollow noopener\" target=\"_blank\">example.org/blog</a></p>",` +
			`"reblog":null,"application":null,"account":{"id":"` + id + `","username":"` + username + `","acct":"` + acct + `","display_name":"User ` + username +
			`","locked":false,"bot":false,"discoverable":true,"group":false,"created_at":"2025-01-01T00:00:00.000Z","note":"<p>Photos and notes</p>","url":"https://remote.example/@` + username +
			`","avatar":"https://files.example/avatars/` + id + `.png","followers_count":120,"following_count":80,"statuses_count":900,"emojis":[],"fields":[]},` +
			`"media_attachments":` + media + `,"mentions":[{"id":"109000000000000002","username":"bob","url":"https://local.test/@bob","acct":"bob"}],` +
			`"tags":[{"name":"photography","url":"https://local.test/tags/photography"}],"emojis":[],"card":null,"poll":null}}`)
	}
	return out
}

// filterBench is the data BenchmarkDeliverFiltered shares among its
// sub-benchmarks: loaded once, since loading is most of the setup.
type filterBench struct {
	rc       *auth.RelationCache
	entries  []*auth.AccountEntry
	statuses [][]byte
	matched  []int // per status, recipients with a filter match
}

// BenchmarkDeliverFiltered measures public-timeline delivery to 10,000
// subscribers on one loop, each its own account with 100 blocks, 50 mutes,
// a domain block and 5 filters of 2 keywords, all loaded in the cache. It
// reports deliveries (recipients evaluated) per second, wall-clock ns and
// process CPU µs per delivery (the loop is one goroutine, so the two agree
// but for GC work on other threads), and the PostgreSQL queries issued per
// 1,000 events during the timed loop: none, however many subscribers.
// Setup (a private PostgreSQL, 1.5 million rows, 50,000 load queries) takes
// about 15 s on 2 cores; -short skips it.
func BenchmarkDeliverFiltered(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a private PostgreSQL with 10,000 seeded accounts")
	}
	const n = 10000
	start := time.Now()
	rc, entries := filterCache(b, n, auth.DefaultRelationsTTL)
	fb := &filterBench{rc: rc, entries: entries, statuses: benchStatuses(64, n)}
	b.Logf("setup: %d accounts seeded and loaded in %v", n, time.Since(start).Round(time.Millisecond))
	for _, websocket := range []bool{false, true} {
		name := fmt.Sprintf("sse/N=%d", n)
		if websocket {
			name = fmt.Sprintf("ws/N=%d", n)
		}
		b.Run(name, func(b *testing.B) { fb.run(b, websocket) })
	}
}

func (fb *filterBench) run(b *testing.B, websocket bool) {
	n := len(fb.entries)
	// Reload anything past 3/4 of the TTL first (untimed), as the
	// subscriptions' evaluations would have done in the background.
	ensureLoaded(b, fb.rc, fb.entries)
	f := newFilteredFanout(b, websocket, fb.rc, fb.entries)
	for _, msg := range fb.statuses {
		f.deliverFiltered(msg) // warm queues and scratch buffers
	}
	before, writes := fb.rc.Stats(), f.writes()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.deliverFiltered(fb.statuses[i%len(fb.statuses)])
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	after := fb.rc.Stats()

	deliveries := float64(b.N) * float64(n)
	cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
	queries := after.BlockingQueries + after.BlockedByQueries + after.MutingQueries + after.DomainBlockQueries + after.FilterQueries -
		(before.BlockingQueries + before.BlockedByQueries + before.MutingQueries + before.DomainBlockQueries + before.FilterQueries)
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(cpu.Microseconds())/deliveries, "cpu-µs/delivery")
	b.ReportMetric(100*float64(f.writes()-writes)/deliveries, "delivered-%")
	b.ReportMetric(fb.filteredPercent(b, b.N), "filtered-%")
	b.ReportMetric(float64(queries)*1000/float64(b.N), "pg-queries/1000-events")
}

// filteredPercent is the share of the timed loop's deliveries that carried
// a non-empty "filtered" (a variant rendered for the recipient), evaluated
// again outside the timed loop, once per status.
func (fb *filterBench) filteredPercent(tb testing.TB, events int) float64 {
	if fb.matched == nil {
		fb.matched = make([]int, len(fb.statuses))
		now := time.Now()
		var scratch []byte
		for i, msg := range fb.statuses {
			pe, _, err := proto.ParseEvent(msg)
			if err != nil {
				tb.Fatal(err)
			}
			ev, err := filter.NewEvent(&pe.Value)
			if err != nil {
				tb.Fatal(err)
			}
			for _, e := range fb.entries {
				data, ready := e.Snapshot(now)
				if ready != auth.Ready || data.Relations.Drops(ev) {
					continue
				}
				var ok bool
				if scratch, ok = data.Filters.AppendResults(scratch[:0], &ev.Text, now); ok {
					fb.matched[i]++
				}
			}
		}
	}
	matched := 0
	for i := range events {
		matched += fb.matched[i%len(fb.statuses)]
	}
	return 100 * float64(matched) / (float64(events) * float64(len(fb.entries)))
}
