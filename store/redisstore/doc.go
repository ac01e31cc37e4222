// Package redisstore is the Redis backend for jwtkit's refresh-token
// families and revocations, built on go-redis v9. A [Store] implements
// [store.RefreshTokens] and [store.Revocations] only; accounts
// ([store.Users]) belong in a SQL or memory store.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	st, err := redisstore.New(rdb, redisstore.Config{Prefix: "myapp"})
//
// The client belongs to the caller; the Store never closes it and starts
// no goroutines. Records expire through Redis TTLs, so there is no sweeper.
//
// # Key layout
//
// Every key starts with [Config.Prefix]. The records of one subject share
// a hash tag made of the first 22 base64url characters of the SHA-256 of
// the subject, so that every script touches a single Redis Cluster slot:
//
//	<prefix>:{<tag>}:fam:<h(familyID)>   hash: created, exp, revoked, cur, curIat, curExp, prev, rot
//	<prefix>:{<tag>}:cut                 string: the subject's cut-off
//	<prefix>:{<tag>}:horizon             marker living as long as the subject's longest family
//	<prefix>:jti:{<h(jti)>}              marker: a denylisted access token
//	<prefix>:{revlog}                    sorted set: the live revocations, for views (see [Store.RevocationFeed])
//
// h is the unpadded base64url SHA-256. Times are stored as integer
// microseconds since the Unix epoch. The denylist is keyed by the jti
// alone (a revoked jti is revoked whoever presents it), under its own tag.
// A login session is one hash of a fixed size, however often it rotates:
// the current token and the previous token's ID are all that reuse
// detection needs (see [store.RefreshTokens]). Earlier releases also kept
// a key per token (<prefix>:{<tag>}:tok:<h(tokenID)>); sessions stored
// that way keep rotating, and those keys expire with their families.
//
// # Atomicity
//
// Each write is one Lua script (EVALSHA, falling back to EVAL) whose keys
// are all passed in KEYS. [Store.Rotate] reads the family and the cut-off and writes the outcome in one script, so of many concurrent
// presentations of a token exactly one succeeds, and a rotation racing
// with [Store.RevokeFamily] or [Store.RevokeSubject] either completes
// before the revocation (which then covers its new token) or sees it.
// [Store.IsRevoked] is one pipeline of plain reads.
//
// # Expiry
//
// Every key lives for its record's lifetime plus a margin of six minutes:
// [jwt.MaxLeeway], because a verifier still accepts an access token that
// long after its exp and the records revoking it must outlive it, plus
// one minute of clock skew. So family keys expire six minutes
// after the family does; the denylist entry six minutes after its until;
// the cut-off six minutes after at+maxAge, and never before the subject's
// longest-lived family (the cut-off is what revokes families created
// before it). Each TTL is the
// longer of the span given by the caller's times (for example the
// family's expiry minus its creation) and the time left by the local
// clock, so neither an injected clock nor a skew between the application
// and the server shortens a record's life.
//
// # Security
//
//   - No byte of a subject, family ID, token ID or jti reaches a key: all
//     are hashed, so ':', '*', '{', '}', spaces or CRLF can neither collide
//     (subject "a:b" with family "c" versus subject "a" with family "b:c")
//     nor escape the hash tag, and the jti of a revoked token is not
//     stored. [New] restricts the prefix to characters without meaning to
//     Redis.
//   - Decisions use the times passed in (Rotation.Now, the token's iat),
//     never the Redis clock, which only runs TTLs.
//   - Failures fail closed: every error of the client (network, closed
//     client, timeout, script error) is returned wrapping
//     [store.ErrUnavailable], with ctx.Err() when the context ended; a
//     missing key is an ordinary answer of a script or a per-command nil
//     reply, never confused with an I/O error. [Store.IsRevoked] never
//     answers "not revoked" on error.
//   - Deadlines: go-redis applies context deadlines to socket reads and
//     writes only when the client has Options.ContextTimeoutEnabled set;
//     otherwise a call to a hung server returns after the client's
//     ReadTimeout (3 s by default). Set it, so that a blocked revocation
//     check ends at the caller's deadline.
//   - Durability: Redis acknowledges a write before it reaches the disk.
//     Without persistence a restart forgets revocations and consumed
//     tokens, re-enabling revoked tokens. Run Redis with AOF (appendonly
//     yes with appendfsync always, or everysec accepting up to a second of
//     loss) and, to have each write confirmed on disk before it is
//     reported as done, set [Config.WaitAOF] (Redis 7.2 or later).
//   - A rotation retried by the client after a network error returns the
//     same successor instead of reporting reuse (see [Store.Rotate]).
package redisstore
