package middleware

import (
	"context"
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
	// MaxEntries bounds the remembered accounts and addresses; when full,
	// entries whose lockout has ended are dropped first. Default: 100,000.
	MaxEntries int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// DefaultThrottleConfig returns the policy a zero ThrottleConfig means.
func DefaultThrottleConfig() ThrottleConfig { return ThrottleConfig{}.withDefaults() }

func (c ThrottleConfig) withDefaults() ThrottleConfig {
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
	c = c.withDefaults()
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

// LoginThrottle is an in-memory [LoginGuard]: a lockout per account that
// grows with consecutive failures and resets on success, and a token
// bucket (golang.org/x/time/rate) per client address. Unknown usernames
// are throttled exactly like known ones, so throttling reveals nothing
// about which accounts exist. State is per process; services with several
// instances use a shared guard (see store/redisstore). It is safe for
// concurrent use.
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
}

// NewLoginThrottle returns a LoginThrottle with cfg's policy.
func NewLoginThrottle(cfg ThrottleConfig) *LoginThrottle {
	return &LoginThrottle{
		cfg:      cfg.withDefaults(),
		accounts: make(map[string]*accountState),
		addrs:    make(map[string]*rate.Limiter),
	}
}

var _ LoginGuard = (*LoginThrottle)(nil)

// Check reports how long the attempt must wait (0: go ahead). Every
// allowed attempt takes a token from the address's bucket.
func (t *LoginThrottle) Check(_ context.Context, username, addr string) (time.Duration, error) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.accounts[username]; a != nil && now.Before(a.lockedUntil) {
		return a.lockedUntil.Sub(now), nil
	}
	lim := t.addrs[addr]
	if lim == nil {
		t.makeRoom(now)
		lim = rate.NewLimiter(t.cfg.AddrRate, t.cfg.AddrBurst)
		t.addrs[addr] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, nil
	}
	return 0, nil
}

// Failure records a failed attempt for username.
func (t *LoginThrottle) Failure(_ context.Context, username, _ string) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.accounts[username]
	if a == nil {
		t.makeRoom(now)
		a = &accountState{}
		t.accounts[username] = a
	}
	if now.Sub(a.lastFailure) > t.cfg.ForgetAfter {
		a.failures = 0
	}
	a.failures++
	a.lastFailure = now
	if d := t.cfg.LockoutAfter(a.failures); d > 0 {
		a.lockedUntil = now.Add(d)
	}
}

// Success forgets username's failures.
func (t *LoginThrottle) Success(_ context.Context, username, _ string) {
	t.mu.Lock()
	delete(t.accounts, username)
	t.mu.Unlock()
}

// makeRoom keeps the maps within MaxEntries: first it drops entries that no
// longer matter (lockout over and failures forgotten; full buckets), then,
// if still full, arbitrary ones. Called with t.mu held.
func (t *LoginThrottle) makeRoom(now time.Time) {
	if len(t.accounts)+len(t.addrs) < t.cfg.MaxEntries {
		return
	}
	for k, a := range t.accounts {
		if !now.Before(a.lockedUntil) && now.Sub(a.lastFailure) > t.cfg.ForgetAfter {
			delete(t.accounts, k)
		}
	}
	for k, l := range t.addrs {
		if l.TokensAt(now) >= float64(t.cfg.AddrBurst) {
			delete(t.addrs, k)
		}
	}
	for len(t.accounts)+len(t.addrs) >= t.cfg.MaxEntries {
		// Still full: an attacker is spraying. Drop address buckets before
		// account lockouts, which protect users.
		for k := range t.addrs {
			delete(t.addrs, k)
			break
		}
		if len(t.addrs) == 0 {
			for k := range t.accounts {
				delete(t.accounts, k)
				break
			}
		}
	}
}
