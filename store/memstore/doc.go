// Package memstore is an in-memory implementation of every jwtkit store
// role: [store.Users], [store.UserWriter], [store.RefreshTokens],
// [store.Revocations] and [store.Sweeper].
//
// It is the reference implementation of the store contract: the other
// backends must behave like it, and all of them pass the conformance suite
// in package storetest. Use it for tests, examples and single-instance
// services that accept losing every session on restart. State lives in one
// process; two instances of a service do not share it.
//
// # Concurrency
//
// A [Store] is safe for concurrent use. One mutex guards all state, so
// every method is atomic: concurrent calls behave as if run one after
// another, which is what makes "exactly one of several concurrent
// rotations of a token wins" hold.
//
// # Time
//
// Decisions use only the times passed in by the caller (the Now fields of
// requests, the until and at arguments); the store never reads the clock.
// Expired state stays until [Store.Sweep] removes it; call Sweep
// periodically (for example once a minute) to bound memory.
//
// # Security
//
// Refresh-token records are keyed by [store.TokenID] values, never by the
// tokens themselves. Values returned by the store are copies: mutating a
// returned [store.User] does not change the stored account.
package memstore
