package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

const (
	alice  = 109000000000000001
	bob    = 109000000000000002
	frank  = 109000000000000006
	mod    = 109000000000000007
	grace  = 109000000000000012
	nobody = 109000000000000013

	everyonePerms = 65536
	modPerms      = 1<<20 | 16 | 65536
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Every token of fixtures/seed.sql with the outcome AUTH-3/AUTH-4/AUTH-7
// require.
func TestLookupToken_SeedTokens_AUTH3(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	valid := []struct {
		token   string
		want    Identity
		comment string
	}{
		{"alice-read-token", Identity{TokenID: 1, AccountID: alice, Scopes: ScopeRead}, "write follow push ignored"},
		{"alice-statuses-token", Identity{TokenID: 2, AccountID: alice, Scopes: ScopeReadStatuses}, ""},
		{"alice-write-token", Identity{TokenID: 3, AccountID: alice}, "valid token, no read scope: every stream gets 401 later (AUTH-9)"},
		{"bob-notifications-token", Identity{TokenID: 4, AccountID: bob, Scopes: ScopeReadNotifications,
			ChosenLanguages: []string{"en", "de"}, HasChosenLanguages: true}, ""},
		{"bob-profile-token", Identity{TokenID: 5, AccountID: bob,
			ChosenLanguages: []string{"en", "de"}, HasChosenLanguages: true}, ""},
		{"bob-read-token", Identity{TokenID: 6, AccountID: bob, Scopes: ScopeRead,
			ChosenLanguages: []string{"en", "de"}, HasChosenLanguages: true}, "FLT-9 languages"},
		{"frank-expired-token", Identity{TokenID: 10, AccountID: frank, Scopes: ScopeRead}, "AUTH-4: expiry not checked"},
		{"grace-unapproved-token", Identity{TokenID: 11, AccountID: grace, Scopes: ScopeRead}, "AUTH-4: approval, confirmation not checked"},
		{"mod-read-token", Identity{TokenID: 12, AccountID: mod, Scopes: ScopeRead, Permissions: modPerms}, "AUTH-13 view_feeds"},
		{"nobody-null-scopes-token", Identity{TokenID: 13, AccountID: nobody, Permissions: everyonePerms}, "AUTH-7: NULL scopes, empty set; role -99 by id"},
	}
	for _, tc := range valid {
		got, err := s.LookupToken(ctx, tc.token)
		if err != nil {
			t.Errorf("%s: %v; want a valid identity (%s)", tc.token, err, tc.comment)
			continue
		}
		tc.want.EveryonePermissions = everyonePerms
		if !equalIdentity(*got, tc.want) {
			t.Errorf("%s (%s):\n got %+v\nwant %+v", tc.token, tc.comment, *got, tc.want)
		}
	}
	for _, token := range []string{
		"dave-disabled-token",    // users.disabled
		"erin-suspended-token",   // accounts.suspended_at
		"frank-revoked-token",    // revoked_at
		"unknown-token",          // no row
		"",                       // empty
		"ALICE-READ-TOKEN",       // exact match only
		"alice-read-token ",      // no trimming
		"alice-read-token\x00",   // not valid text: still "invalid", not 500
		"alice-read-token\xff",   //
		"' OR '1'='1",            // a parameter, never SQL
		"alice-read-token, chat", // AUTH-1: Sec-WebSocket-Protocol is not split
	} {
		got, err := s.LookupToken(ctx, token)
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("LookupToken(%q) = %+v, %v; want ErrInvalidToken", token, got, err)
		}
	}
}

func equalIdentity(a, b Identity) bool {
	return a.TokenID == b.TokenID && a.AccountID == b.AccountID && a.Scopes == b.Scopes &&
		slices.Equal(a.ChosenLanguages, b.ChosenLanguages) && a.HasChosenLanguages == b.HasChosenLanguages &&
		a.Permissions == b.Permissions && a.EveryonePermissions == b.EveryonePermissions
}

// AUTH-7 / FLT-9: NULL chosen_languages is "no filter", an empty array is
// "filter everything". AUTH-8: ids above 2^53 survive exactly, up to the
// largest bigint.
func TestLookupToken_LanguagesAndLargeIDs_AUTH8(t *testing.T) {
	s, _ := newStore(t)
	pg := testenv.SharedPostgres(t)
	const maxID = 1<<63 - 1
	pg.Exec(t, `INSERT INTO accounts (id, username) VALUES ($1, 'maxid')`, int64(maxID))
	pg.Exec(t, `INSERT INTO users (id, account_id, email, chosen_languages, role_id) VALUES ($1, $2, 'maxid@local.test', '{}', 2)`, int64(maxID-1), int64(maxID))
	pg.Exec(t, `INSERT INTO oauth_access_tokens (id, token, scopes, resource_owner_id) VALUES ($1, 'maxid-token', 'read:notifications read:statuses', $2)`, int64(maxID-2), int64(maxID-1))
	t.Cleanup(func() {
		pg.Exec(t, `DELETE FROM oauth_access_tokens WHERE token = 'maxid-token'`)
		pg.Exec(t, `DELETE FROM users WHERE id = $1`, int64(maxID-1))
		pg.Exec(t, `DELETE FROM accounts WHERE id = $1`, int64(maxID))
	})

	got, err := s.LookupToken(ctxT(t), "maxid-token")
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{TokenID: maxID - 2, AccountID: maxID, Scopes: ScopeReadStatuses | ScopeReadNotifications,
		ChosenLanguages: []string{}, HasChosenLanguages: true, Permissions: 1, EveryonePermissions: everyonePerms}
	if !equalIdentity(*got, want) || got.ChosenLanguages == nil {
		t.Fatalf("got %+v, want %+v", *got, want)
	}
	// Role 2 "Owner" has only the administrator bit (AUTH-13).
	if got.CanViewFeeds(false) || !got.CanViewFeeds(true) {
		t.Errorf("owner role: CanViewFeeds(reference)=%v (want false), CanViewFeeds(rails)=%v (want true)",
			got.CanViewFeeds(false), got.CanViewFeeds(true))
	}

	alice, err := s.LookupToken(ctxT(t), "alice-read-token")
	if err != nil {
		t.Fatal(err)
	}
	// 109000000000000001 is not a float64: a float round trip would give
	// 109000000000000000, alice's neighbour in id space.
	if alice.AccountID != 109000000000000001 || int64(float64(alice.AccountID)) == alice.AccountID {
		t.Errorf("alice AccountID = %d, want 109000000000000001 exactly", alice.AccountID)
	}
	if alice.HasChosenLanguages || alice.ChosenLanguages != nil {
		t.Errorf("alice: NULL chosen_languages read as %v (has=%v)", alice.ChosenLanguages, alice.HasChosenLanguages)
	}
}

// AUTH-12 / AUTH-12a: the raw value goes to PostgreSQL; anything it rejects
// is "not owned", never an error, and the canonical id comes back.
func TestListOwned_AUTH12(t *testing.T) {
	s, _ := newStore(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		raw     string
		account int64
		wantID  int64
		wantOK  bool
	}{
		{"1", alice, 1, true},
		{"2", alice, 0, false}, // bob's list
		{"2", bob, 2, true},
		{"01", alice, 1, true}, // AUTH-12a: canonical id, channel timeline:list:1
		{"+1", alice, 1, true},
		{" 1 ", alice, 1, true}, // int8in trims spaces, as in the reference
		{"abc", alice, 0, false},
		{"1.5", alice, 0, false},
		{"true", alice, 0, false},
		{"", alice, 0, false},
		{"1e3", alice, 0, false},
		{"0x1", alice, 0, false},
		{"99999999999999999999", alice, 0, false}, // out of range
		{"9223372036854775807", alice, 0, false},  // in range, no such list
		{"-1", alice, 0, false},
		{"0", alice, 0, false},
		{"1\x00", alice, 0, false},
		{"1\xff", alice, 0, false},
		{"1; DROP TABLE lists", alice, 0, false},
		{"1", nobody, 0, false},
	} {
		id, ok, err := s.ListOwned(ctx, tc.raw, tc.account)
		if err != nil || ok != tc.wantOK || id != tc.wantID {
			t.Errorf("ListOwned(%q, %d) = %d, %v, %v; want %d, %v, nil", tc.raw, tc.account, id, ok, err, tc.wantID, tc.wantOK)
		}
	}
}

// FLT-6: "--- disabled\n" exactly turns a side off; anything else, NULL or a
// missing row leaves it on.
func TestFeedAccess_Values_FLT6(t *testing.T) {
	s, _ := newStore(t, RelationsTTL(0))
	pg := testenv.SharedPostgres(t)
	t.Cleanup(func() { restoreSettings(t, pg) })
	ctx := ctxT(t)

	for _, kind := range []FeedKind{FeedLive, FeedTopic} {
		if local, remote, err := s.FeedAccess(ctx, kind); err != nil || !local || !remote {
			t.Fatalf("seed kind %d: %v, %v, %v; want open", kind, local, remote, err)
		}
	}
	for _, tc := range []struct {
		sql           string
		local, remote bool
	}{
		{`UPDATE settings SET value = E'--- disabled\n' WHERE var = 'local_live_feed_access'`, false, true},
		{`UPDATE settings SET value = E'--- disabled\n' WHERE var = 'remote_live_feed_access'`, false, false},
		{`UPDATE settings SET value = E'--- authenticated\n' WHERE var = 'local_live_feed_access'`, true, false},
		{`UPDATE settings SET value = NULL WHERE var = 'local_live_feed_access'`, true, false},
		{`UPDATE settings SET value = '--- disabled' WHERE var = 'remote_live_feed_access'`, true, true}, // no newline
		{`UPDATE settings SET value = E'--- Disabled\n' WHERE var = 'remote_live_feed_access'`, true, true},
		{`UPDATE settings SET value = E'disabled' WHERE var = 'remote_live_feed_access'`, true, true},
		{`UPDATE settings SET value = E'--- disabled\n' WHERE var = 'remote_live_feed_access'`, true, false},
		{`DELETE FROM settings WHERE var = 'remote_live_feed_access'`, true, true},
	} {
		pg.Exec(t, tc.sql)
		local, remote, err := s.FeedAccess(ctx, FeedLive)
		if err != nil || local != tc.local || remote != tc.remote {
			t.Errorf("after %s: local %v remote %v err %v; want %v %v", tc.sql, local, remote, err, tc.local, tc.remote)
		}
	}
	// The topic pair is separate.
	pg.Exec(t, `UPDATE settings SET value = E'--- disabled\n' WHERE var IN ('local_topic_feed_access', 'remote_topic_feed_access')`)
	if local, remote, err := s.FeedAccess(ctx, FeedTopic); err != nil || local || remote {
		t.Errorf("topic disabled: %v %v %v; want false false", local, remote, err)
	}
	if local, remote, _ := s.FeedAccess(ctx, FeedLive); !local || !remote {
		t.Errorf("live changed by topic settings: %v %v", local, remote)
	}
	if _, _, err := s.FeedAccess(ctx, FeedKind(7)); err == nil {
		t.Error("unknown FeedKind: want an error")
	}
}

// FLT-6 / §8.6: the instance-wide cache serves an answer for at most the
// RelationsTTL, per kind.
func TestFeedAccess_CacheTTL_FLT6(t *testing.T) {
	s, now := newStore(t) // default TTL, 30 s
	pg := testenv.SharedPostgres(t)
	t.Cleanup(func() { restoreSettings(t, pg) })
	ctx := ctxT(t)

	if local, _, err := s.FeedAccess(ctx, FeedLive); err != nil || !local {
		t.Fatalf("seed: %v %v", local, err)
	}
	pg.Exec(t, `UPDATE settings SET value = E'--- disabled\n' WHERE var IN ('local_live_feed_access', 'local_topic_feed_access')`)

	*now = now.Add(DefaultRelationsTTL - time.Nanosecond)
	if local, _, _ := s.FeedAccess(ctx, FeedLive); !local {
		t.Error("cached answer not used within the TTL")
	}
	if q := s.feedQueries.Load(); q != 1 {
		t.Errorf("%d settings queries within the TTL, want 1", q)
	}
	// The topic kind has its own entry: first use reads the new value.
	if local, _, _ := s.FeedAccess(ctx, FeedTopic); local {
		t.Error("topic: want the new (disabled) value")
	}
	*now = now.Add(time.Nanosecond)
	if local, _, _ := s.FeedAccess(ctx, FeedLive); local {
		t.Error("answer older than the TTL still served")
	}
	if q := s.feedQueries.Load(); q != 3 {
		t.Errorf("%d settings queries, want 3", q)
	}
}

func restoreSettings(t *testing.T, pg *testenv.Postgres) {
	pg.Exec(t, `DELETE FROM settings WHERE var LIKE '%feed_access'`)
	pg.Exec(t, `INSERT INTO settings (var, value, created_at, updated_at) VALUES
	    ('local_live_feed_access',   E'--- public\n', now(), now()),
	    ('remote_live_feed_access',  E'--- public\n', now(), now()),
	    ('local_topic_feed_access',  E'--- public\n', now(), now()),
	    ('remote_topic_feed_access', E'--- public\n', now(), now())`)
}

// AUTH-6: concurrent lookups of one token share one query, and the result is
// not reused once handed out (a revocation takes effect at the next lookup).
func TestLookupToken_SharedInFlight_AUTH6(t *testing.T) {
	s, _ := newStore(t)
	pg := testenv.SharedPostgres(t)
	ctx := ctxT(t)

	// Hold the lookup in the database until every caller has joined it.
	lock, err := pg.Pool(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, "LOCK TABLE oauth_access_tokens IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	const callers = 8
	type result struct {
		id  *Identity
		err error
	}
	results := make(chan result, callers)
	for range callers {
		go func() {
			id, err := s.LookupToken(ctx, "alice-read-token")
			results <- result{id, err}
		}()
	}
	for s.tokens.waiting("alice-read-token") != callers-1 {
		if ctx.Err() != nil {
			t.Fatal("callers did not join the lookup in flight")
		}
		time.Sleep(time.Millisecond)
	}
	if err := lock.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var first *Identity
	for range callers {
		r := <-results
		if r.err != nil || r.id.TokenID != 1 {
			t.Fatalf("shared lookup: %+v, %v", r.id, r.err)
		}
		if first == nil {
			first = r.id
		} else if r.id != first {
			t.Error("callers got different results: the lookup was not shared")
		}
	}
	if q := s.tokenQueries.Load(); q != 1 {
		t.Fatalf("%d queries for %d concurrent lookups, want 1", q, callers)
	}

	// Nothing is cached after completion.
	pg.Exec(t, `UPDATE oauth_access_tokens SET revoked_at = now() WHERE token = 'alice-read-token'`)
	t.Cleanup(func() {
		pg.Exec(t, `UPDATE oauth_access_tokens SET revoked_at = NULL WHERE token = 'alice-read-token'`)
	})
	if _, err := s.LookupToken(ctx, "alice-read-token"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("lookup after revocation: %v; want ErrInvalidToken", err)
	}
	if q := s.tokenQueries.Load(); q != 2 {
		t.Errorf("%d queries, want 2", q)
	}
}

// LIFE-2, AUTH-3, AUTH-12: with PostgreSQL down a lookup fails fast with an
// error that is not ErrInvalidToken (the caller answers 500), list ownership
// is "not owned" (401) with the cause in err, and feed access fails (500).
// Service resumes when the database is back.
func TestStore_DatabaseDown_LIFE2(t *testing.T) {
	pg := testenv.StartPostgres(t) // private: stopping it must not disturb other tests
	s := NewStore(pg.Pool(t), RelationsTTL(0))
	ctx := ctxT(t)
	if _, err := s.LookupToken(ctx, "alice-read-token"); err != nil {
		t.Fatal(err)
	}

	pg.Stop()
	down, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if id, err := s.LookupToken(down, "alice-read-token"); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Errorf("LookupToken with the database down = %+v, %v; want a database error", id, err)
	}
	if id, ok, err := s.ListOwned(down, "1", alice); ok || err == nil {
		t.Errorf("ListOwned with the database down = %d, %v, %v; want not owned with the cause", id, ok, err)
	}
	if _, _, err := s.FeedAccess(down, FeedLive); err == nil {
		t.Error("FeedAccess with the database down: want an error")
	}
	if err := s.Ping(down); err == nil {
		t.Error("Ping with the database down: want an error")
	}
	if down.Err() != nil {
		t.Fatal("calls with the database down waited for the context deadline instead of failing fast")
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if id, err := s.LookupToken(ctx, "alice-read-token"); err != nil || id.TokenID != 1 {
		t.Errorf("LookupToken after restart = %+v, %v", id, err)
	}
}

// The Runner carries Store calls off the loop.
func TestRunner_RunsLookups(t *testing.T) {
	s, _ := newStore(t)
	r := NewRunner(2, 16)
	defer r.Close()
	done := make(chan error, 4)
	for _, token := range []string{"alice-read-token", "bob-read-token", "mod-read-token", "nobody-null-scopes-token"} {
		if !r.Submit(func() {
			_, err := s.LookupToken(context.Background(), token)
			done <- err
		}) {
			t.Fatal("Submit refused with an empty queue")
		}
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
