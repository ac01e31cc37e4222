package authserver

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ThrottleConfig configures a [LoginThrottle]. Zero fields take the
// defaults given in their comments.
type ThrottleConfig struct {
	// FreeFailures is how many consecutive failures an account may have
	// before each further failure locks it. Default: 5.
	FreeFailures int
	// BaseLockout is the first lockout; each further failure doubles it.
	// Default: 1 s.
	BaseLockout time.Duration
	// MaxLockout caps a lockout, so an attacker cannot lock the real user
	// out indefinitely. Default: 20 min. With the defaults an account
	// sees fewer than 100 failures in any 24 hours, the NIST SP 800-63B
	// ceiling.
	MaxLockout time.Duration
	// ForgetAfter drops an account's failure count after this long
	// without failures. Default: 24 h.
	ForgetAfter time.Duration
	// AddrRate and AddrBurst limit login attempts per client address
	// (token bucket). Defaults: one every 3 s, burst 20.
	AddrRate  rate.Limit
	AddrBurst int
	// AttemptTimeout is how long an attempt that passed Check keeps its
	// place in the account's budget when no Failure, Success or Release
	// follows (the process died mid-login, or the guard could not be
	// reached). It must exceed the longest a login can take (the token
	// handler's StoreTimeout plus HashQueueWait plus two comparisons):
	// an outcome that arrives after its own place lapsed ends another
	// attempt's. Default: 1 min.
	AttemptTimeout time.Duration
	// MaxEntries bounds the remembered accounts and addresses (used by
	// [LoginThrottle] only); when full, entries that no longer matter are
	// dropped first. Default: 100,000.
	MaxEntries int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// DefaultThrottleConfig returns the policy a zero ThrottleConfig means.
func DefaultThrottleConfig() ThrottleConfig { return ThrottleConfig{}.WithDefaults() }

// WithDefaults returns c with every zero (or negative) field replaced by
// its default, as documented on the field. Guards built on this policy,
// in this package or elsewhere, call it so that they all read a zero field
// the same way.
func (c ThrottleConfig) WithDefaults() ThrottleConfig {
	if c.FreeFailures <= 0 {
		c.FreeFailures = 5
	}
	if c.BaseLockout <= 0 {
		c.BaseLockout = time.Second
	}
	if c.MaxLockout <= 0 {
		c.MaxLockout = 20 * time.Minute
	}
	if c.ForgetAfter <= 0 {
		c.ForgetAfter = 24 * time.Hour
	}
	if c.AddrRate <= 0 {
		c.AddrRate = rate.Every(3 * time.Second)
	}
	if c.AddrBurst <= 0 {
		c.AddrBurst = 20
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = time.Minute
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 100_000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// LockoutAfter returns the lockout imposed after the given number of
// consecutive failures under this policy (0 while failures are free).
func (c ThrottleConfig) LockoutAfter(failures int) time.Duration {
	c = c.WithDefaults()
	extra := failures - c.FreeFailures
	if extra <= 0 {
		return 0
	}
	d := c.BaseLockout
	for i := 1; i < extra; i++ {
		d *= 2
		if d >= c.MaxLockout {
			return c.MaxLockout
		}
	}
	return min(d, c.MaxLockout)
}

// InFlightLimit returns how many attempts on an account with the given
// number of consecutive failures may be in flight (past Check, outcome
// not yet recorded) at once. Attempts made one after another pass
// FreeFailures+1 times before the first lockout and once after each
// lockout; concurrent attempts get no more, since each may be a failure.
func (c ThrottleConfig) InFlightLimit(failures int) int {
	c = c.WithDefaults()
	return max(c.FreeFailures+1-failures, 1)
}

// ThrottleAddrKey returns the key under which a client address is rate
// limited: an IPv4 address (also written as IPv4-mapped IPv6) as itself,
// an IPv6 address by its /64 prefix, because a subscriber is usually given
// a whole /64 and could otherwise take a fresh bucket for every attempt.
// Text that is not an IP address is returned unchanged.
func ThrottleAddrKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// LoginThrottle is an in-memory [LoginGuard]: a lockout per account that
// grows with consecutive failures and resets on success, and a token
// bucket (golang.org/x/time/rate) per client address (per /64 for IPv6,
// see [ThrottleAddrKey]). Unknown usernames are throttled exactly like
// known ones, so throttling reveals nothing about which accounts exist.
//
// Every attempt Check lets through holds a place in the account's budget
// until its outcome is recorded: Failure turns it into a failure, Success
// ends it and forgets the failures, Release (or, failing that, the
// AttemptTimeout) gives it back. So concurrent guesses, all checked before any has been
// hashed, get no more attempts than guesses made one after another (see
// [ThrottleConfig.InFlightLimit]).
//
// State is per process; services with several instances use a shared
// guard (see authserver/redisthrottle). It is safe for concurrent use.
type LoginThrottle struct {
	cfg      ThrottleConfig
	mu       sync.Mutex
	accounts map[string]*accountState
	addrs    map[string]*rate.Limiter
}

type accountState struct {
	failures    int
	lockedUntil time.Time
	lastFailure time.Time
	// pending holds when each attempt in flight stops counting, in the
	// order Check let them through.
	pending []time.Time
}

// prune drops lapsed attempts and forgotten failures.
func (a *accountState) prune(now time.Time, forgetAfter time.Duration) {
	a.pending = slices.DeleteFunc(a.pending, func(end time.Time) bool { return !now.Before(end) })
	if now.Sub(a.lastFailure) > forgetAfter {
		a.failures = 0
	}
}

// settle ends the oldest attempt in flight, if any: the outcome being
// recorded belongs to one of them, and which one does not matter.
func (a *accountState) settle() {
	if len(a.pending) > 0 {
		a.pending = slices.Delete(a.pending, 0, 1)
	}
}

// idle reports whether the entry holds nothing worth keeping. Call prune
// first.
func (a *accountState) idle(now time.Time) bool {
	return a.failures == 0 && len(a.pending) == 0 && !now.Before(a.lockedUntil)
}

// NewLoginThrottle returns a LoginThrottle with cfg's policy.
func NewLoginThrottle(cfg ThrottleConfig) *LoginThrottle {
	return &LoginThrottle{
		cfg:      cfg.WithDefaults(),
		accounts: make(map[string]*accountState),
		addrs:    make(map[string]*rate.Limiter),
	}
}

var _ LoginGuard = (*LoginThrottle)(nil)

// Check reports how long the attempt must wait (0: go ahead). An allowed
// attempt takes a token from the address's bucket and holds a place in
// the account's budget until Failure, Success or Release.
func (t *LoginThrottle) Check(_ context.Context, username, addr string) (time.Duration, error) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.accounts[username]; a != nil {
		if now.Before(a.lockedUntil) {
			return a.lockedUntil.Sub(now), nil
		}
		a.prune(now, t.cfg.ForgetAfter)
		if len(a.pending) >= t.cfg.InFlightLimit(a.failures) {
			// Retry when the attempts in flight would have locked the
			// account had they all failed, or when the first one lapses.
			wait := t.cfg.LockoutAfter(a.failures + len(a.pending))
			for _, end := range a.pending {
				wait = min(wait, end.Sub(now))
			}
			return wait, nil
		}
	}
	key := ThrottleAddrKey(addr)
	lim := t.addrs[key]
	if need := countTrue(lim == nil, t.accounts[username] == nil); need > 0 {
		// Room for both new entries at once: a second eviction could
		// drop the bucket this attempt is about to be charged to.
		t.makeRoom(now, need)
		lim = t.addrs[key]
	}
	if lim == nil {
		lim = rate.NewLimiter(t.cfg.AddrRate, t.cfg.AddrBurst)
		t.addrs[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, nil
	}
	// Looked up again: makeRoom may have dropped the entry seen above.
	a := t.accounts[username]
	if a == nil {
		a = &accountState{}
		t.accounts[username] = a
	}
	a.pending = append(a.pending, now.Add(t.cfg.AttemptTimeout))
	return 0, nil
}

// Failure records a failed attempt for username.
func (t *LoginThrottle) Failure(_ context.Context, username, _ string) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.accounts[username]
	if a == nil {
		t.makeRoom(now, 1)
		a = &accountState{}
		t.accounts[username] = a
	}
	a.prune(now, t.cfg.ForgetAfter)
	a.settle()
	a.failures++
	a.lastFailure = now
	if d := t.cfg.LockoutAfter(a.failures); d > 0 {
		a.lockedUntil = now.Add(d)
	}
}

// Success forgets username's failures. Other attempts still in flight keep
// their places: they may yet fail.
func (t *LoginThrottle) Success(_ context.Context, username, _ string) {
	t.endAttempt(username, true)
}

// Release gives back the place an attempt took in Check, for an attempt
// that ended before the password was compared (the user store failed, the
// request was cancelled, no hashing slot was free). It records neither a
// failure nor a success. Without it the place lapses after AttemptTimeout.
func (t *LoginThrottle) Release(_ context.Context, username, _ string) {
	t.endAttempt(username, false)
}

// endAttempt ends one of username's attempts in flight; reset also
// forgets the account's failures and lockout.
func (t *LoginThrottle) endAttempt(username string, reset bool) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.accounts[username]
	if a == nil {
		return
	}
	a.prune(now, t.cfg.ForgetAfter)
	a.settle()
	if reset {
		*a = accountState{pending: a.pending}
	}
	if a.idle(now) {
		delete(t.accounts, username)
	}
}

// makeRoom keeps the maps within MaxEntries with need entries about to be
// added. When they would overflow it frees an eighth of the capacity at
// once, so that its scans of the maps cost
// O(1) per insertion when amortised, even under a flood of new keys. It
// drops, in this order and only as far as needed: entries that no longer
// matter (full buckets; accounts without failures, lockout or attempts in
// flight), address buckets, accounts with attempts in flight only (what a
// spray of usernames leaves), unlocked accounts, any account. Called with
// t.mu held.
func (t *LoginThrottle) makeRoom(now time.Time, need int) {
	if t.size()+need <= t.cfg.MaxEntries {
		return
	}
	target := t.cfg.MaxEntries - max(t.cfg.MaxEntries/8, need)
	for k, a := range t.accounts {
		a.prune(now, t.cfg.ForgetAfter)
		if a.idle(now) {
			delete(t.accounts, k)
		}
	}
	for k, l := range t.addrs {
		if l.TokensAt(now) >= float64(t.cfg.AddrBurst) {
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

func (t *LoginThrottle) size() int { return len(t.accounts) + len(t.addrs) }

// countTrue counts its true arguments.
func countTrue(missing ...bool) int {
	n := 0
	for _, m := range missing {
		if m {
			n++
		}
	}
	return n
}
