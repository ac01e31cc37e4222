// Package loginpolicy holds the login-throttling arithmetic that the
// in-memory throttle (authserver/throttle) and the Redis one
// (authserver/redisthrottle) share, so that both read a policy the same
// way. Its Policy has the fields of throttle.Policy, in the same order,
// so that one converts to the other.
package loginpolicy

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// ErrInvalid reports a policy that cannot be applied: a negative value, or
// a lockout cap below the first lockout. throttle.ErrInvalidPolicy is the
// same value.
var ErrInvalid = errors.New("throttle: invalid policy")

// Defaults of a zero field.
const (
	DefaultLockAfter      = 6
	DefaultBaseLockout    = time.Second
	DefaultMaxLockout     = 20 * time.Minute
	DefaultForgetAfter    = 24 * time.Hour
	DefaultAddrInterval   = 3 * time.Second
	DefaultAddrBurst      = 20
	DefaultAttemptTimeout = time.Minute
	DefaultTrustFor       = 30 * 24 * time.Hour
)

// Outcome is how an attempt ended; its values are those of
// authserver.Outcome.
type Outcome int

// The outcomes.
const (
	Released Outcome = iota
	Failed
	Succeeded
)

// Policy is throttle.Policy; see its fields' documentation.
type Policy struct {
	LockAfter      int
	BaseLockout    time.Duration
	MaxLockout     time.Duration
	ForgetAfter    time.Duration
	AddrRate       rate.Limit
	AddrBurst      int
	AttemptTimeout time.Duration
	TrustFor       time.Duration
	Now            func() time.Time
}

// Resolve checks p and returns it with every zero field replaced by its
// default. A negative field, or a MaxLockout below BaseLockout, is refused
// with an error wrapping ErrInvalid: nothing is replaced silently.
func (p Policy) Resolve() (Policy, error) {
	for _, f := range []struct {
		name string
		neg  bool
	}{
		{"LockAfter", p.LockAfter < 0},
		{"BaseLockout", p.BaseLockout < 0},
		{"MaxLockout", p.MaxLockout < 0},
		{"ForgetAfter", p.ForgetAfter < 0},
		{"AddrRate", p.AddrRate < 0},
		{"AddrBurst", p.AddrBurst < 0},
		{"AttemptTimeout", p.AttemptTimeout < 0},
		{"TrustFor", p.TrustFor < 0},
	} {
		if f.neg {
			return Policy{}, fmt.Errorf("%w: negative %s", ErrInvalid, f.name)
		}
	}
	if p.LockAfter == 0 {
		p.LockAfter = DefaultLockAfter
	}
	if p.BaseLockout == 0 {
		p.BaseLockout = DefaultBaseLockout
	}
	if p.MaxLockout == 0 {
		p.MaxLockout = DefaultMaxLockout
	}
	if p.ForgetAfter == 0 {
		p.ForgetAfter = DefaultForgetAfter
	}
	if p.AddrRate == 0 {
		p.AddrRate = rate.Every(DefaultAddrInterval)
	}
	if p.AddrBurst == 0 {
		p.AddrBurst = DefaultAddrBurst
	}
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = DefaultAttemptTimeout
	}
	if p.TrustFor == 0 {
		p.TrustFor = DefaultTrustFor
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.MaxLockout < p.BaseLockout {
		return Policy{}, fmt.Errorf("%w: MaxLockout %v below BaseLockout %v", ErrInvalid, p.MaxLockout, p.BaseLockout)
	}
	return p, nil
}

// LockoutAfter returns the lockout imposed after the given number of
// consecutive failures: 0 below LockAfter, then BaseLockout, doubled for
// each further failure, capped at MaxLockout. Call it on a resolved
// policy.
func (p Policy) LockoutAfter(failures int) time.Duration {
	extra := failures - p.LockAfter + 1
	if extra <= 0 {
		return 0
	}
	d := p.BaseLockout
	for i := 1; i < extra; i++ {
		d *= 2
		if d >= p.MaxLockout {
			return p.MaxLockout
		}
	}
	return min(d, p.MaxLockout)
}

// InFlightLimit returns how many attempts on an account with the given
// number of consecutive failures may be in flight (begun, outcome not yet
// recorded) at once. Attempts made one after another pass LockAfter
// times before the first lockout and once after each lockout; concurrent
// attempts get no more, since each may be a failure. Call it on a
// resolved policy.
func (p Policy) InFlightLimit(failures int) int {
	return max(p.LockAfter-failures, 1)
}

// Budget names the failure budget an attempt draws on. Attempts from
// clients that logged in to the account before (Kind "device" with the
// device cookie's ID, or "addr" with the address key) each have a budget
// of their own, so that an attacker failing from elsewhere cannot lock
// them out; every other attempt on the account shares the account's budget
// (Kind "").
type Budget struct {
	Username string
	Kind     string
	ID       string
}

// BudgetFor returns the budget of an attempt on username by the client
// with the given device ID (may be "") from the address key addrKey,
// trusted reporting whether that address logged in to the account before.
func BudgetFor(username, device, addrKey string, trusted bool) Budget {
	switch {
	case device != "":
		return Budget{Username: username, Kind: "device", ID: device}
	case trusted:
		return Budget{Username: username, Kind: "addr", ID: addrKey}
	}
	return Budget{Username: username}
}

// String returns a text naming b unambiguously (a length prefixes the
// username, and the kind comes first), for hashing into a storage key.
func (b Budget) String() string {
	return fmt.Sprintf("%s|%d:%s|%s", cmp.Or(b.Kind, "account"), len(b.Username), b.Username, b.ID)
}

// AddrKey returns the key under which a client address is rate limited:
// an IPv4 address (also written as IPv4-mapped IPv6) as itself, an IPv6
// address by its /64 prefix, because a subscriber is usually given a
// whole /64 and could otherwise take a fresh bucket for every attempt.
// Text that is not an IP address is returned unchanged.
func AddrKey(addr string) string {
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
