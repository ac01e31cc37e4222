// Package throttle is an in-memory login guard for the token endpoint of
// package authserver: a lockout per account that grows with consecutive
// failures and resets on success, and a token bucket
// (golang.org/x/time/rate) per client address, per /64 for IPv6.
//
// Its state lives in one process. Services with several instances share
// a budget through authserver/redisthrottle, which applies the same
// [Policy].
package throttle

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/internal/loginpolicy"
)

// ErrInvalidPolicy reports a configuration that cannot be applied: a
// negative value, or a MaxLockout below BaseLockout. [New] and
// redisthrottle.New return errors wrapping it.
var ErrInvalidPolicy = loginpolicy.ErrInvalid

// Policy is the throttling policy shared by this package and
// authserver/redisthrottle. A zero field takes the default given in its
// comment; a negative one is refused with [ErrInvalidPolicy].
type Policy struct {
	// LockAfter is the number of consecutive failures that first locks
	// an account (1: the first failure does). Default: 6, so five
	// failures in a row are free.
	LockAfter int
	// BaseLockout is the first lockout; each further failure doubles it.
	// Default: 1 s.
	BaseLockout time.Duration
	// MaxLockout caps a lockout, so an attacker cannot lock the real user
	// out indefinitely; it may not be below BaseLockout. Default: 20 min.
	// With the defaults an account sees fewer than 100 failures in any 24
	// hours, the NIST SP 800-63B ceiling.
	MaxLockout time.Duration
	// ForgetAfter drops an account's failure count after this long
	// without failures. Default: 24 h.
	ForgetAfter time.Duration
	// AddrRate and AddrBurst limit login attempts per client address
	// (token bucket); rate.Inf turns the limit off. Defaults: one every
	// 3 s, burst 20.
	AddrRate  rate.Limit
	AddrBurst int
	// AttemptTimeout is how long an attempt keeps its place in the
	// account's budget when it is never ended (the process died
	// mid-login, or the guard could not be reached to record the
	// outcome). It should exceed the longest a login can take (the token
	// handler's StoreTimeout plus HashQueueWait plus two comparisons).
	// Default: 1 min.
	AttemptTimeout time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Config configures a [Throttle].
type Config struct {
	// Policy is the throttling policy.
	Policy Policy
	// MaxEntries bounds the remembered accounts and addresses; when full,
	// entries that no longer matter are dropped first. Default: 100,000.
	MaxEntries int
}

// DefaultMaxEntries is the MaxEntries of a zero [Config].
const DefaultMaxEntries = 100_000

// Throttle is an in-memory [authserver.LoginGuard]. Unknown usernames
// are throttled exactly like known ones, so throttling reveals nothing
// about which accounts exist.
//
// Every attempt Begin lets through holds a place in the account's budget
// until it is ended: Failure turns it into a failure, Success ends it
// and forgets the failures, Release (or, failing that, the
// AttemptTimeout) gives it back. So concurrent guesses, all begun before
// any has been hashed, get no more attempts than guesses made one after
// another.
//
// It is safe for concurrent use.
type Throttle struct {
	p          loginpolicy.Policy
	maxEntries int
	mu         sync.Mutex
	accounts   map[string]*accountState
	addrs      map[string]*rate.Limiter
}

var _ authserver.LoginGuard = (*Throttle)(nil)

type accountState struct {
	failures    int
	lockedUntil time.Time
	lastFailure time.Time
	// pending holds when each attempt in flight stops counting.
	pending []time.Time
}

// prune drops lapsed attempts and forgotten failures.
func (a *accountState) prune(now time.Time, forgetAfter time.Duration) {
	a.pending = slices.DeleteFunc(a.pending, func(end time.Time) bool { return !now.Before(end) })
	if now.Sub(a.lastFailure) > forgetAfter {
		a.failures = 0
	}
}

// settle ends the attempt in flight whose place lapses at end, if it has
// not lapsed yet. Attempts begun at the same instant are alike, so which
// of them goes does not matter.
func (a *accountState) settle(end time.Time) {
	if i := slices.IndexFunc(a.pending, end.Equal); i >= 0 {
		a.pending = slices.Delete(a.pending, i, i+1)
	}
}

// idle reports whether the entry holds nothing worth keeping. Call prune
// first.
func (a *accountState) idle(now time.Time) bool {
	return a.failures == 0 && len(a.pending) == 0 && !now.Before(a.lockedUntil)
}

// New returns a Throttle applying cfg, or an error wrapping
// [ErrInvalidPolicy].
func New(cfg Config) (*Throttle, error) {
	p, err := loginpolicy.Policy(cfg.Policy).Resolve()
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.MaxEntries < 0:
		return nil, fmt.Errorf("%w: negative MaxEntries", ErrInvalidPolicy)
	case cfg.MaxEntries == 0:
		cfg.MaxEntries = DefaultMaxEntries
	}
	return &Throttle{
		p:          p,
		maxEntries: cfg.MaxEntries,
		accounts:   make(map[string]*accountState),
		addrs:      make(map[string]*rate.Limiter),
	}, nil
}

// Begin lets the attempt through, or refuses it with an
// *authserver.ThrottledError. An attempt let through takes a token from
// the address's bucket and holds a place in the account's budget until
// it is ended.
func (t *Throttle) Begin(_ context.Context, username, addr string) (*authserver.Attempt, error) {
	now := t.p.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if wait := t.accountWait(now, username); wait > 0 {
		return nil, &authserver.ThrottledError{RetryAfter: wait}
	}
	key := loginpolicy.AddrKey(addr)
	lim := t.addrs[key]
	if need := countTrue(lim == nil, t.accounts[username] == nil); need > 0 {
		// Room for both new entries at once: a second eviction could
		// drop the bucket this attempt is about to be charged to.
		t.makeRoom(now, need)
		lim = t.addrs[key]
	}
	if lim == nil {
		lim = rate.NewLimiter(t.p.AddrRate, t.p.AddrBurst)
		t.addrs[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, &authserver.ThrottledError{RetryAfter: d}
	}
	// Looked up again: makeRoom may have dropped the entry seen above.
	a := t.accounts[username]
	if a == nil {
		a = &accountState{}
		t.accounts[username] = a
	}
	end := now.Add(t.p.AttemptTimeout)
	a.pending = append(a.pending, end)
	return authserver.NewAttempt(func(_ context.Context, o authserver.Outcome) {
		t.end(username, end, o)
	}), nil
}

// accountWait returns how long the account must wait before another
// attempt: while it is locked, or while its budget is taken by attempts
// in flight. Called with t.mu held.
func (t *Throttle) accountWait(now time.Time, username string) time.Duration {
	a := t.accounts[username]
	if a == nil {
		return 0
	}
	if now.Before(a.lockedUntil) {
		return a.lockedUntil.Sub(now)
	}
	a.prune(now, t.p.ForgetAfter)
	if len(a.pending) < t.p.InFlightLimit(a.failures) {
		return 0
	}
	// Retry when the attempts in flight would have locked the account had
	// they all failed, or when the first one lapses.
	wait := t.p.LockoutAfter(a.failures + len(a.pending))
	for _, end := range a.pending {
		wait = min(wait, end.Sub(now))
	}
	return wait
}

// end records the outcome of the attempt whose place lapses at end.
func (t *Throttle) end(username string, end time.Time, o authserver.Outcome) {
	now := t.p.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.accounts[username]
	if a == nil {
		if o != authserver.AttemptFailed {
			return
		}
		t.makeRoom(now, 1)
		a = &accountState{}
		t.accounts[username] = a
	}
	a.prune(now, t.p.ForgetAfter)
	a.settle(end)
	switch o {
	case authserver.AttemptFailed:
		a.failures++
		a.lastFailure = now
		if d := t.p.LockoutAfter(a.failures); d > 0 {
			a.lockedUntil = now.Add(d)
		}
	case authserver.AttemptSucceeded:
		// Other attempts in flight keep their places: they may yet fail.
		*a = accountState{pending: a.pending}
	}
	if a.idle(now) {
		delete(t.accounts, username)
	}
}

// makeRoom keeps the maps within maxEntries with need entries about to be
// added. When they would overflow it frees an eighth of the capacity at
// once, so that its scans of the maps cost O(1) per insertion when
// amortised, even under a flood of new keys. It drops, in this order and
// only as far as needed: entries that no longer matter (full buckets;
// accounts without failures, lockout or attempts in flight), address
// buckets, accounts with attempts in flight only (what a spray of
// usernames leaves), unlocked accounts, any account. Called with t.mu
// held.
func (t *Throttle) makeRoom(now time.Time, need int) {
	if t.size()+need <= t.maxEntries {
		return
	}
	target := t.maxEntries - max(t.maxEntries/8, need)
	for k, a := range t.accounts {
		a.prune(now, t.p.ForgetAfter)
		if a.idle(now) {
			delete(t.accounts, k)
		}
	}
	for k, l := range t.addrs {
		if l.TokensAt(now) >= float64(t.p.AddrBurst) {
			delete(t.addrs, k)
		}
	}
	// Still full: someone is spraying. Losing an address bucket hands an
	// address a fresh burst; losing an account's failures hands the
	// account's guesser a fresh budget, so accounts go last.
	for k := range t.addrs {
		if t.size() <= target {
			return
		}
		delete(t.addrs, k)
	}
	for _, drop := range []func(*accountState) bool{
		func(a *accountState) bool { return a.failures == 0 && !now.Before(a.lockedUntil) },
		func(a *accountState) bool { return !now.Before(a.lockedUntil) },
		func(*accountState) bool { return true },
	} {
		for k, a := range t.accounts {
			if t.size() <= target {
				return
			}
			if drop(a) {
				delete(t.accounts, k)
			}
		}
	}
}

func (t *Throttle) size() int { return len(t.accounts) + len(t.addrs) }

// countTrue counts its true arguments.
func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
