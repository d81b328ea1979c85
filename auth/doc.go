// Package auth answers the database questions of the streaming server: who a
// token belongs to and what it may read (§5), whether an account owns a list
// (AUTH-12), whether the feed-access settings close a public or hashtag
// feed (FLT-6), and, per account, the blocks, mutes, domain blocks and custom
// filters of per-recipient filtering (§8, RelationCache).
//
// Every Store method does network I/O and may block for as long as its
// context allows, so none may run on an event loop (STYLE 11). A loop hands
// the call to a Runner with Submit, which never blocks, and the job posts the
// result back to the loop (gnet's Execute), where it is applied.
//
// # Goroutines and locks
//
// Store and Runner methods may be called from any goroutine. The package's
// locks, all leaves (no lock is taken while another is held, and none is held
// during I/O or while calling a job):
//
//   - flightGroup.mu: the in-flight token lookups (AUTH-6) and feed-access
//     loads, one group each.
//   - Store.feedMu: the instance-wide feed-access cache (FLT-6).
//   - Runner.mu: closed flag versus Submit; held only to enqueue without
//     blocking or to close the queue.
//   - RelationCache.mu: the account map and the idle list; never held during
//     a load. AccountEntry.loadMu serialises one account's loads and is held
//     across its queries (on a worker, never on a loop); Notify runs under
//     it, so Notify must not block or call back into the cache. Loops read
//     an account's data through an atomic pointer, without either lock.
package auth
