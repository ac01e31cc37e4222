// Package memthrottle is the in-memory login throttle behind
// authserver/throttle and the token endpoint's default guard: a lockout
// per failure budget that grows with consecutive failures and resets on
// success, and a token bucket (golang.org/x/time/rate) per client
// address, per /64 for IPv6.
//
// An account's attempts share one budget, except those of clients that
// logged in to it before (a device cookie, or an address that succeeded
// within TrustFor), which each have their own: an attacker guessing from
// elsewhere locks the shared budget, never the real user's.
package memthrottle

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/internal/loginpolicy"
)

// DefaultMaxEntries bounds a Throttle's entries unless configured.
const DefaultMaxEntries = 100_000

// Throttle is safe for concurrent use.
type Throttle struct {
	p          loginpolicy.Policy
	maxEntries int
	mu         sync.Mutex
	budgets    map[loginpolicy.Budget]*budgetState
	addrs      map[string]*rate.Limiter
	// trusted holds, per account and address key, when the address's
	// last successful login stops vouching for it.
	trusted map[trustKey]time.Time
}

type trustKey struct{ username, addr string }

type budgetState struct {
	failures    int
	lockedUntil time.Time
	lastFailure time.Time
	// pending holds when each attempt in flight stops counting.
	pending []time.Time
}

// prune drops lapsed attempts and forgotten failures.
func (a *budgetState) prune(now time.Time, forgetAfter time.Duration) {
	a.pending = slices.DeleteFunc(a.pending, func(end time.Time) bool { return !now.Before(end) })
	if now.Sub(a.lastFailure) > forgetAfter {
		a.failures = 0
	}
}

// settle ends the attempt in flight whose place lapses at end, if it has
// not lapsed yet. Attempts begun at the same instant are alike, so which
// of them goes does not matter.
func (a *budgetState) settle(end time.Time) {
	if i := slices.IndexFunc(a.pending, end.Equal); i >= 0 {
		a.pending = slices.Delete(a.pending, i, i+1)
	}
}

// idle reports whether the entry holds nothing worth keeping. Call prune
// first.
func (a *budgetState) idle(now time.Time) bool {
	return a.failures == 0 && len(a.pending) == 0 && !now.Before(a.lockedUntil)
}

// New returns a Throttle applying the resolved policy p and holding at
// most maxEntries budgets, address buckets and trusted addresses.
func New(p loginpolicy.Policy, maxEntries int) *Throttle {
	return &Throttle{
		p:          p,
		maxEntries: maxEntries,
		budgets:    make(map[loginpolicy.Budget]*budgetState),
		addrs:      make(map[string]*rate.Limiter),
		trusted:    make(map[trustKey]time.Time),
	}
}

// Begin lets an attempt on username through, from the client with the
// verified device ID device (or "") at addr, and returns the function
// that ends it with its outcome; or it refuses the attempt with how long
// to wait. An attempt let through takes a token from the address's bucket
// and holds a place in its budget until it is ended. A crossOrigin
// attempt (a browser request for another origin's page) neither uses nor
// earns the trust in its address.
func (t *Throttle) Begin(username, device, addr string, crossOrigin bool) (end func(loginpolicy.Outcome), wait time.Duration) {
	now := t.p.Now()
	key := loginpolicy.AddrKey(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	tk := trustKey{username, key}
	if until, ok := t.trusted[tk]; ok && !now.Before(until) {
		delete(t.trusted, tk)
	}
	_, trusted := t.trusted[tk]
	b := loginpolicy.BudgetFor(username, device, key, trusted && !crossOrigin)
	if wait := t.budgetWait(now, b); wait > 0 {
		return nil, wait
	}
	// A client with a device cookie is limited by its own budget only:
	// its address's bucket may be drained by others behind the same
	// address, or by a page making requests from the user's browser.
	byAddr := device == ""
	lim := t.addrs[key]
	if need := countTrue(byAddr && lim == nil, t.budgets[b] == nil); need > 0 {
		// Room for both new entries at once: a second eviction could
		// drop the bucket this attempt is about to be charged to.
		t.makeRoom(now, need)
		lim = t.addrs[key]
	}
	if byAddr {
		if lim == nil {
			lim = rate.NewLimiter(t.p.AddrRate, t.p.AddrBurst)
			t.addrs[key] = lim
		}
		r := lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			return nil, d
		}
	}
	// Looked up again: makeRoom may have dropped the entry seen above.
	a := t.budgets[b]
	if a == nil {
		a = &budgetState{}
		t.budgets[b] = a
	}
	lapse := now.Add(t.p.AttemptTimeout)
	a.pending = append(a.pending, lapse)
	return func(o loginpolicy.Outcome) { t.end(b, key, lapse, o, !crossOrigin) }, 0
}

// ForgetTrust ends the trust in every address that logged in to
// username: after a password change, whoever logged in with the old one
// must not keep a budget of their own.
func (t *Throttle) ForgetTrust(username string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.trusted {
		if k.username == username {
			delete(t.trusted, k)
		}
	}
}

// budgetWait returns how long the budget must wait before another
// attempt: while it is locked, or while it is taken by attempts in
// flight. Called with t.mu held.
func (t *Throttle) budgetWait(now time.Time, b loginpolicy.Budget) time.Duration {
	a := t.budgets[b]
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
	// Retry when the attempts in flight would have locked the budget had
	// they all failed, or when the first one lapses.
	wait := t.p.LockoutAfter(a.failures + len(a.pending))
	for _, end := range a.pending {
		wait = min(wait, end.Sub(now))
	}
	return wait
}

// end records the outcome of the attempt on b from addrKey whose place
// lapses at lapse; a success trusts the address when trust is set.
func (t *Throttle) end(b loginpolicy.Budget, addrKey string, lapse time.Time, o loginpolicy.Outcome, trust bool) {
	now := t.p.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if o == loginpolicy.Succeeded && trust {
		tk := trustKey{b.Username, addrKey}
		if _, ok := t.trusted[tk]; !ok {
			t.makeRoom(now, 1)
		}
		t.trusted[tk] = now.Add(t.p.TrustFor)
	}
	a := t.budgets[b]
	if a == nil {
		if o != loginpolicy.Failed {
			return
		}
		t.makeRoom(now, 1)
		a = &budgetState{}
		t.budgets[b] = a
	}
	a.prune(now, t.p.ForgetAfter)
	a.settle(lapse)
	switch o {
	case loginpolicy.Failed:
		a.failures++
		a.lastFailure = now
		if d := t.p.LockoutAfter(a.failures); d > 0 {
			a.lockedUntil = now.Add(d)
		}
	case loginpolicy.Succeeded:
		// Other attempts in flight keep their places: they may yet fail.
		*a = budgetState{pending: a.pending}
	}
	if a.idle(now) {
		delete(t.budgets, b)
	}
}

// makeRoom keeps the maps within maxEntries with need entries about to be
// added. When they would overflow it frees an eighth of the capacity at
// once, so that its scans of the maps cost O(1) per insertion when
// amortised, even under a flood of new keys. It drops, in this order and
// only as far as needed: entries that no longer matter (lapsed trust,
// full buckets, budgets without failures, lockout or attempts in flight),
// address buckets, budgets with attempts in flight only (what a spray of
// usernames leaves), unlocked budgets, any budget, trusted addresses.
// Called with t.mu held.
func (t *Throttle) makeRoom(now time.Time, need int) {
	if t.size()+need <= t.maxEntries {
		return
	}
	target := t.maxEntries - max(t.maxEntries/8, need)
	for k, until := range t.trusted {
		if !now.Before(until) {
			delete(t.trusted, k)
		}
	}
	for k, a := range t.budgets {
		a.prune(now, t.p.ForgetAfter)
		if a.idle(now) {
			delete(t.budgets, k)
		}
	}
	for k, l := range t.addrs {
		if l.TokensAt(now) >= float64(t.p.AddrBurst) {
			delete(t.addrs, k)
		}
	}
	// Still full: someone is spraying. Losing an address bucket hands an
	// address a fresh burst; losing a budget's failures hands its guesser
	// a fresh start; losing a trusted address sends a real user to the
	// shared budget. A spray of failures must not buy the last, so
	// trusted addresses go only when nothing else is left.
	for k := range t.addrs {
		if t.size() <= target {
			return
		}
		delete(t.addrs, k)
	}
	for _, drop := range []func(*budgetState) bool{
		func(a *budgetState) bool { return a.failures == 0 && !now.Before(a.lockedUntil) },
		func(a *budgetState) bool { return !now.Before(a.lockedUntil) },
		func(*budgetState) bool { return true },
	} {
		for k, a := range t.budgets {
			if t.size() <= target {
				return
			}
			if drop(a) {
				delete(t.budgets, k)
			}
		}
	}
	for k := range t.trusted {
		if t.size() <= target {
			return
		}
		delete(t.trusted, k)
	}
}

func (t *Throttle) size() int { return len(t.budgets) + len(t.addrs) + len(t.trusted) }

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
