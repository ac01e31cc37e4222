// Package revview answers revocation checks from memory: a local view of
// a backend's revocations (denylisted access tokens, revoked families and
// subject cut-offs) that the backend keeps current through a change feed
// (PostgreSQL LISTEN/NOTIFY, see pgstore.Store.RevocationFeed).
//
// A [Revocations] implements [store.Revocations], so it plugs into
// middleware.WithRevocations unchanged; writes pass through to the store,
// whose own change feed announces them to every view.
//
// # Staleness
//
// The view is trusted only while it is fresh: the feed proves, by a
// heartbeat sent through the backend on the feed's own connection, that
// every change committed before the heartbeat was sent has been applied.
// When the last such proof is older than [Config.MaxStaleness] (default
// one second) — the feed is down, slow, reconnecting or rebuilding —
// IsRevoked asks the store directly instead, so it is never silently
// stale: a revocation committed at time W is reflected in every answer
// given after W+MaxStaleness. On start and after every reconnect the view
// is rebuilt from a full load of the live revocation records before it is
// trusted again.
//
// # Memory
//
// Only revocation records are mirrored, never sessions or users: one
// entry per denylisted token, revoked family or subject cut-off, about
// 150 bytes each, dropped once the record could no longer refuse a token.
// The view holds at most [Config.MaxEntries] (default 1<<20, about
// 150 MiB); beyond that it stops answering from memory and every check
// goes to the store until a rebuild finds fewer records.
//
// # What is asked of the store
//
// A token of a subject with a cut-off C, naming a family, and issued less
// than a second before C or after it, is judged by the family's creation
// time, which the view does not mirror: such checks go to the store. They
// concern only the subjects revoked with RevokeSubject, during the
// cut-off's lifetime.
package revview
