// Package pgstore is the PostgreSQL backend of jwtkit's store contract,
// built on pgx v5. One [Store] serves every role: [store.Users],
// [store.UserWriter], [store.RefreshTokens], [store.Revocations] and
// [store.Sweeper].
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	st, err := pgstore.New(pool, pgstore.Config{Schema: "jwtkit"})
//	...
//	if err := st.Migrate(ctx); err != nil { ... }
//
// The pool belongs to the caller; the Store never closes it and starts no
// goroutines. Expired rows are removed only when the application calls
// [Store.Sweep] (for instance from a ticker).
//
// # Schema
//
// All tables live in one schema ([Config.Schema], default "jwtkit"):
// users, refresh_families (one row per login session, of a fixed size
// however often it rotates), revoked_tokens, subject_cutoffs, and
// schema_version, which records the applied steps.
// The steps are SQL files embedded in the binary (migrations/0001_init.sql,
// …). [Store.Migrate] applies the pending ones, each in a transaction
// under an advisory lock derived from the schema name, so instances that
// start together do not race.
//
// Times are stored as timestamptz, whose resolution is the microsecond;
// the Store truncates the times it is given to the microsecond (cut-offs
// are rounded up instead) and returns them that way.
//
// # Concurrency
//
// Every method is one statement or one READ COMMITTED transaction.
// [Store.Rotate] locks the family row (SELECT … FOR UPDATE) before it reads
// the presented token, so of any number of concurrent presentations of one
// refresh token exactly one rotates it; a rotation racing with
// [Store.RevokeFamily] or [Store.RevokeSubject] either completes before
// the revocation (whose effect then covers the new token) or observes it.
//
// # Security
//
//   - Every value reaches the server as a query parameter. The schema name
//     is the only text spliced into SQL; [New] accepts only lower-case
//     identifiers and quotes it anyway.
//   - Refresh tokens are stored under [store.TokenID] (SHA-256 of the jti)
//     and denylisted access tokens under the SHA-256 of their jti: a dump
//     of the database contains no usable token.
//   - Decisions use the times passed in (Rotation.Now, the token's iat),
//     never the database clock, so every instance judges with the
//     application's single clock. Only [Store.Sweep] compares stored
//     expiries with a time, and that time is the caller's too.
//   - Failures fail closed: any database or network error, and a cancelled
//     or expired context, is returned as an error wrapping
//     [store.ErrUnavailable] (with ctx.Err() for context errors).
//     [Store.IsRevoked] never answers "not revoked" on error.
//   - A unique violation (SQLSTATE 23505) is reported as [store.ErrExists];
//     a missing row as [store.ErrNotFound].
//   - Strings PostgreSQL cannot store (invalid UTF-8, NUL bytes) are
//     rejected on writes and never match on reads, instead of causing a
//     server error that a caller would see as an outage.
package pgstore
