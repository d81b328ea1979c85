package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrInvalidToken means the token matched no usable row: unknown, revoked,
// its user disabled or its account suspended (AUTH-3, AUTH-4). The caller
// answers 401 "Invalid access token"; any other LookupToken error is a
// database failure and gets 500 (LIFE-2).
var ErrInvalidToken = errors.New("auth: invalid access token")

// DefaultRelationsTTL is the default of SLUICE_RELATIONS_TTL (§17.8): how old
// cached database answers may grow before they are read again.
const DefaultRelationsTTL = 30 * time.Second

// queryMode makes every statement an unnamed prepared statement whose result
// description pgx caches per connection: one round trip per query, and safe
// behind PgBouncer in transaction mode, where named statements are not.
const queryMode = pgx.QueryExecModeCacheDescribe

// lookupTokenSQL is AUTH-3's query plus one column: the "everyone" role's
// permissions (a primary-key lookup), which only SLUICE_RAILS_PERMISSIONS
// uses (AUTH-13). Fetching it always keeps the Store free of that setting.
const lookupTokenSQL = `SELECT t.id, u.account_id, u.chosen_languages, t.scopes,
       COALESCE(r.permissions, 0) AS permissions,
       COALESCE((SELECT e.permissions FROM user_roles e WHERE e.id = -99), 0) AS everyone_permissions
  FROM oauth_access_tokens t
  JOIN users u    ON u.id = t.resource_owner_id
  JOIN accounts a ON a.id = u.account_id
  LEFT JOIN user_roles r ON r.id = u.role_id
 WHERE t.token = $1
   AND t.revoked_at IS NULL
   AND u.disabled IS FALSE
   AND a.suspended_at IS NULL
 LIMIT 1`

// listOwnedSQL lets PostgreSQL parse the raw list value, as the reference
// does by passing it untyped: whatever int8in accepts (" 1", "+1", "01") is an
// id, anything else is a data exception (AUTH-12).
const listOwnedSQL = `SELECT id FROM lists WHERE id = $1::text::bigint AND account_id = $2 LIMIT 1`

const feedAccessSQL = `SELECT var, value FROM settings WHERE var IN ($1, $2)`

// feedDisabled is how Rails (rails-settings-cached, YAML) stores "disabled".
const feedDisabled = "--- disabled\n"

// FeedKind names a pair of feed-access settings (FLT-6).
type FeedKind uint8

const (
	FeedLive  FeedKind = iota // public, public:local, public:remote, public:media …
	FeedTopic                 // hashtag, hashtag:local
	feedKinds
)

// settingVars are the settings rows of each kind: local, then remote.
var settingVars = [feedKinds][2]string{
	FeedLive:  {"local_live_feed_access", "remote_live_feed_access"},
	FeedTopic: {"local_topic_feed_access", "remote_topic_feed_access"},
}

type feedAccess struct{ local, remote bool }

type feedEntry struct {
	feedAccess
	loadedAt time.Time
	valid    bool
}

// Store answers the database questions of §5 and §8.3 from a pgx pool.
//
// All methods may be called from any goroutine, never from an event loop:
// they block for as long as their context allows.
type Store struct {
	pool *pgxpool.Pool
	ttl  time.Duration
	now  func() time.Time // replaced in tests

	tokens       flightGroup[string, *Identity]
	tokenQueries atomic.Uint64 // lookups that reached the database

	feeds       flightGroup[FeedKind, feedAccess]
	feedQueries atomic.Uint64
	listQueries atomic.Uint64
	inflight    atomic.Int64 // queries started and not finished, for pg_pool_waiting_queries
	feedMu      sync.Mutex   // guards feed
	feed        [feedKinds]feedEntry
}

// Option configures a Store.
type Option func(*Store)

// RelationsTTL sets how long a feed-access answer is reused instance-wide
// (SLUICE_RELATIONS_TTL, default DefaultRelationsTTL). Zero or less reads the
// settings at every call.
func RelationsTTL(d time.Duration) Option {
	return func(s *Store) { s.ttl = max(d, 0) }
}

// NewStore returns a Store on pool. The pool's size bounds the concurrent
// queries (DB_POOL, CFG-6); the caller owns the pool and closes it.
func NewStore(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: pool, ttl: DefaultRelationsTTL, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// LookupToken returns the identity behind token (AUTH-3), or ErrInvalidToken.
// Concurrent lookups of the same token share one query; its result is never
// reused after it has been handed out (AUTH-6). The returned Identity is
// shared with those concurrent callers and must not be modified.
//
// A token that is not valid UTF-8 text (invalid bytes, NUL) cannot match any
// row and is ErrInvalidToken without a query; the reference answers 500 for
// NUL, but client bytes must not look like a database failure.
func (s *Store) LookupToken(ctx context.Context, token string) (*Identity, error) {
	if !utf8.ValidString(token) || strings.IndexByte(token, 0) >= 0 {
		return nil, ErrInvalidToken
	}
	return s.tokens.do(ctx, token, func(ctx context.Context) (*Identity, error) {
		s.tokenQueries.Add(1)
		return s.queryToken(ctx, token)
	})
}

func (s *Store) queryToken(ctx context.Context, token string) (*Identity, error) {
	var (
		id     Identity
		langs  *[]string
		scopes pgtype.Text
	)
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	err := s.pool.QueryRow(ctx, lookupTokenSQL, queryMode, token).Scan(
		&id.TokenID, &id.AccountID, &langs, &scopes, &id.Permissions, &id.EveryonePermissions)
	if errors.Is(err, pgx.ErrNoRows) || isDataException(err) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: token lookup: %w", err)
	}
	if langs != nil {
		id.ChosenLanguages, id.HasChosenLanguages = *langs, true
	}
	// A NULL scopes column is an empty set (AUTH-7): every scope check fails.
	id.Scopes = ParseScopes(scopes.String)
	return &id, nil
}

// ListOwned reports whether accountID owns the list named by rawListID, the
// list parameter exactly as the client sent it, and returns the list's
// canonical id for the channel name (AUTH-12, AUTH-12a: "01" is list 1).
//
// Per AUTH-12 any database failure means "not authorized", so the caller
// answers 401 "Not authorized to stream this list" whenever ok is false. err
// is nil when the value is simply not a valid bigint ("abc", "1.5", "true",
// out of range: PostgreSQL rejects it as a data exception); it is non-nil
// only for a database that could not answer (down, timeout), so that the
// caller can log and count the outage.
func (s *Store) ListOwned(ctx context.Context, rawListID string, accountID int64) (listID int64, ok bool, err error) {
	s.listQueries.Add(1)
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	err = s.pool.QueryRow(ctx, listOwnedSQL, queryMode, rawListID, accountID).Scan(&listID)
	switch {
	case err == nil:
		return listID, true, nil
	case errors.Is(err, pgx.ErrNoRows), isDataException(err):
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("auth: list ownership: %w", err)
	}
}

// FeedAccess reports whether local and remote statuses may be streamed on
// feeds of kind, from the feed-access settings (FLT-6). Answers are cached
// instance-wide for the RelationsTTL; concurrent misses share one query. A
// database error is returned as is (the caller answers 500) and not cached.
//
// The caller skips this for users whose role grants view_feeds
// (Identity.CanViewFeeds) and keeps the answer for the life of the
// subscription (FLT-7).
func (s *Store) FeedAccess(ctx context.Context, kind FeedKind) (local, remote bool, err error) {
	if kind >= feedKinds {
		return false, false, fmt.Errorf("auth: unknown feed kind %d", kind)
	}
	s.feedMu.Lock()
	e := s.feed[kind]
	s.feedMu.Unlock()
	if e.valid && s.now().Sub(e.loadedAt) < s.ttl {
		return e.local, e.remote, nil
	}
	a, err := s.feeds.do(ctx, kind, func(ctx context.Context) (feedAccess, error) {
		return s.loadFeedAccess(ctx, kind)
	})
	return a.local, a.remote, err
}

func (s *Store) loadFeedAccess(ctx context.Context, kind FeedKind) (feedAccess, error) {
	s.feedQueries.Add(1)
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	// The answer's age counts from before the query: it may already be
	// older than its arrival suggests.
	started := s.now()
	vars := settingVars[kind]
	rows, err := s.pool.Query(ctx, feedAccessSQL, queryMode, vars[0], vars[1])
	if err != nil {
		return feedAccess{}, fmt.Errorf("auth: feed access settings: %w", err)
	}
	a := feedAccess{local: true, remote: true}
	var name string
	var value pgtype.Text
	_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error {
		disabled := value.Valid && value.String == feedDisabled
		switch name {
		case vars[0]:
			a.local = !disabled
		case vars[1]:
			a.remote = !disabled
		}
		return nil
	})
	if err != nil {
		return feedAccess{}, fmt.Errorf("auth: feed access settings: %w", err)
	}
	s.feedMu.Lock()
	s.feed[kind] = feedEntry{feedAccess: a, loadedAt: started, valid: true}
	s.feedMu.Unlock()
	return a, nil
}

// isDataException reports whether PostgreSQL rejected a parameter's value:
// SQLSTATE class 22 (invalid_text_representation, numeric_value_out_of_range,
// character_not_in_repertoire …). Such errors come from client bytes, not
// from a failing database.
func isDataException(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}

// Ping checks that the database answers, for the status endpoint.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("auth: database ping: %w", err)
	}
	return nil
}
