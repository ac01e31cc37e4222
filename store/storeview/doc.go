// Package storeview answers the per-request store questions from memory:
// "is this token revoked?" ([Revocations], a mirror of the few live
// revocation records) and "who is this user?" ([Users], a bounded cache).
// The backend keeps them current through a change feed: PostgreSQL
// LISTEN/NOTIFY (pgstore.Store.ChangeFeed) or Redis pub/sub
// (redisstore.Store.ChangeFeed).
//
// A [Revocations] implements [store.Revocations], so it plugs into
// middleware.WithRevocations unchanged, and a [Users] implements
// [store.Users], for middleware.WithUsers; writes pass through to the
// store, whose feed announces them to every view.
//
// # Staleness
//
// A view is trusted only while it is fresh: the feed proves, by a
// heartbeat sent through the backend on the feed's own connection, that
// every change committed before the heartbeat was sent has been applied.
// When the last such proof is older than MaxStaleness (default one
// second; heartbeats go four times as often) — the feed is down, slow,
// reconnecting or rebuilding — the view asks the store directly instead,
// so it is never silently stale: a change committed at time W is
// reflected in every answer given after W+MaxStaleness, and usually
// within a millisecond (see BENCHMARKS.md). On start and after every
// reconnect a [Revocations] is rebuilt from a full load of the live
// revocation records, and a [Users] starts empty, before they are trusted
// again. If the store cannot answer either, the error wraps
// [store.ErrUnavailable]: callers fail closed.
//
// # Memory
//
// [Revocations] mirrors only revocation records, never sessions: one
// entry per denylisted token, revoked family or subject cut-off, at most
// about 250 bytes each (measured with Go 1.26 on amd64, strings
// included), dropped once the record can no longer refuse a token. It
// holds at most RevocationsConfig.MaxEntries (default 1<<18 = 262,144,
// so at most about 64 MiB); beyond that it stops answering from memory and every check
// goes to the store until a rebuild finds fewer records. [Users] keeps at
// most UsersConfig.Size users (default 10,000; a user with a few scopes
// and profile fields takes roughly 0.5 KiB, so about 5 MiB).
//
// # What is still asked of the store
//
// A token of a subject with a cut-off C, naming a family, and issued less
// than a second before C or after it, is judged by the family's creation
// time, which the view does not mirror: such checks go to the store. They
// concern only the subjects revoked with RevokeSubject, during the
// cut-off's lifetime. [Users] asks the store for users it does not hold.
package storeview

import "errors"

// ErrConfig reports an invalid RevocationsConfig or UsersConfig.
var ErrConfig = errors.New("storeview: invalid configuration")
