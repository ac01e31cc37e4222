// Package storetest is the conformance suite every jwtkit store backend
// runs. It lives in ordinary (non-test) files so that backends outside this
// module can run it too:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Stores {
//			s := newIsolatedBackend(t) // fresh schema, key prefix, …
//			return storetest.Stores{Refresh: s, Revocations: s, Sweeper: s}
//		})
//	}
//
// A nil field in [Stores] skips the suites that need it. Benchmarks reuse
// [BenchmarkRotate] and [BenchmarkIsRevoked] the same way, and
// [Unavailable] checks, on handles to a server that is down, that every
// method fails closed.
//
// # Suites
//
// [Run] runs these groups as subtests; leaf subtests that cover a row of
// the security catalogue carry its ID (R01_…, S07_…), so one row can be run
// alone with -run, e.g. -run 'Conformance/Concurrency/R03'.
//
//   - Users: lookups by username and ID, ErrNotFound, ErrExists for a taken
//     ID or username, injection-style usernames (S-07), SetPasswordHash,
//     returned users are copies.
//   - Refresh: CreateFamily, rotation and its exact repeat, reuse
//     grace window edges, revoked families,
//     absolute lifetime, key injection (S-03), unknown families
//     fail closed, and a token its family does not hold (older than the
//     previous one, however many rotations ago) is reuse.
//   - Revocations: subject cut-offs and rotation, including families
//     stored after the cut-off but dated before it, the
//     same-second iat rule, the denylist.
//   - Logout: a revoked family alone ends the session (refresh and access
//     tokens), and a repeated logout completes without touching the
//     user's other sessions.
//   - Concurrency: one winner among many concurrent refreshes, with and
//     without grace window; reuse against rotation, revoke-all
//     against rotation, logout against refresh (SECURITY.md §3).
//   - Sweep: expired state goes, reuse-detection state stays, limits and
//     counts (a family counts once, with its tokens), and a sweeper
//     running under load.
//   - Durability: state survives Reopen; two clients share it.
//   - Cancellation: cancelled contexts and deadlines.
//
// # Semantics
//
// The rules beyond the interface comments in package store (the order of
// Rotate's checks, the grace window, the same-second rule of IsRevoked) are
// those of the reference implementation, package memstore; its method
// comments state them.
//
// # Time
//
// The suite reads no clock for decisions: it passes times in the Now fields
// of the requests, like production callers do. Those times are based on the
// real clock (truncated to milliseconds) and family expiries stay in the
// real future, so backends that expire keys by themselves (Redis TTLs) keep
// every record the suite still uses. Stored times are compared with a
// tolerance of one millisecond.
package storetest
