// Package throttle is an in-memory login guard for the token endpoint of
// package authserver: a lockout per failure budget that grows with
// consecutive failures and resets on success, and a token bucket
// (golang.org/x/time/rate) per client address, per /64 for IPv6.
//
// An account's attempts share one failure budget, except those of clients
// that logged in to it successfully before: a browser with a device
// cookie (authserver.DeviceCookieConfig), or an address that succeeded
// within [Policy].TrustFor. Each of those has a budget of its own, so an
// attacker who keeps failing from other addresses locks the shared
// budget and never the real user out.
//
// A TokenHandler without a Guard uses this throttle with the default
// policy. Its state lives in one process; services with several instances
// share the budgets through authserver/redisthrottle, which applies the
// same [Policy].
package throttle

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/internal/loginpolicy"
	"github.com/jwtkit/jwtkit/internal/memthrottle"
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
	// a budget (1: the first failure does). Default: 6, so five
	// failures in a row are free.
	LockAfter int
	// BaseLockout is the first lockout; each further failure doubles it.
	// Default: 1 s.
	BaseLockout time.Duration
	// MaxLockout caps a lockout, so an attacker cannot lock the real user
	// out indefinitely; it may not be below BaseLockout. Default: 20 min.
	// With the defaults an account's shared budget sees fewer than 100
	// failures in any 24 hours, however many addresses the guesses come
	// from: the NIST SP 800-63B ceiling. A lower MaxLockout or a higher
	// LockAfter raises that number (a 5-minute cap allows about 290 a
	// day).
	MaxLockout time.Duration
	// ForgetAfter drops a budget's failure count after this long
	// without failures. Default: 24 h.
	ForgetAfter time.Duration
	// AddrRate and AddrBurst limit login attempts per client address
	// (token bucket); rate.Inf turns the limit off. Defaults: one every
	// 3 s, burst 20.
	AddrRate  rate.Limit
	AddrBurst int
	// AttemptTimeout is how long an attempt keeps its place in its
	// budget when it is never ended (the process died mid-login, or the
	// guard could not be reached to record the outcome). It should exceed
	// the longest a login can take (the token handler's StoreTimeout plus
	// HashQueueWait plus two comparisons). Default: 1 min.
	AttemptTimeout time.Duration
	// TrustFor is how long an address that logged in to an account keeps
	// a failure budget of its own for that account. Default: 30 days.
	TrustFor time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Config configures a [Throttle].
type Config struct {
	// Policy is the throttling policy.
	Policy Policy
	// MaxEntries bounds the remembered budgets, addresses and trusted
	// addresses; when full, entries that no longer matter are dropped
	// first. Default: 100,000.
	MaxEntries int
}

// DefaultMaxEntries is the MaxEntries of a zero [Config].
const DefaultMaxEntries = memthrottle.DefaultMaxEntries

// Throttle is an in-memory [authserver.LoginGuard]. Unknown usernames
// are throttled exactly like known ones, so throttling reveals nothing
// about which accounts exist.
//
// Every attempt Begin lets through holds a place in its budget until it
// is ended: Failure turns it into a failure, Success ends it and forgets
// the budget's failures (and trusts the address for the account), Release
// (or, failing that, the AttemptTimeout) gives it back. So concurrent
// guesses, all begun before any has been hashed, get no more attempts
// than guesses made one after another.
//
// It is safe for concurrent use.
type Throttle struct {
	t *memthrottle.Throttle
}

var _ authserver.LoginGuard = (*Throttle)(nil)

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
	return &Throttle{memthrottle.New(p, cfg.MaxEntries)}, nil
}

// Begin lets the attempt through, or refuses it with an
// *authserver.ThrottledError. An attempt let through takes a token from
// the address's bucket and holds a place in its budget until it is
// ended.
func (t *Throttle) Begin(_ context.Context, l authserver.Login) (*authserver.Attempt, error) {
	end, wait := t.t.Begin(l.Username, l.Device, l.ClientAddr, l.CrossOrigin)
	if wait > 0 {
		return nil, &authserver.ThrottledError{RetryAfter: wait}
	}
	return authserver.NewAttempt(func(_ context.Context, o authserver.Outcome) { end(loginpolicy.Outcome(o)) }), nil
}

// ForgetTrust ends the trust in every address that logged in to username,
// so that its attempts share the account's budget again.
// TokenHandler.RevokeAll calls it, after a password change or a
// compromise.
func (t *Throttle) ForgetTrust(_ context.Context, username string) error {
	t.t.ForgetTrust(username)
	return nil
}
