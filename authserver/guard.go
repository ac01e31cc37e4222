package authserver

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jwtkit/jwtkit/internal/loginpolicy"
	"github.com/jwtkit/jwtkit/internal/memthrottle"
)

// LoginGuard throttles password logins. The token endpoint calls Begin
// before any password work and ends the [Attempt] it returns with exactly
// one outcome: Failure or Success once the password has been compared,
// Release when it was not (the user store failed, no hashing slot was
// free). A guard can so count the attempts still in flight against an
// account's budget.
//
// Begin refuses an attempt with a [*ThrottledError] saying when to retry
// (answered with 429 and Retry-After; any error wrapping [ErrThrottled]
// is a refusal). Any other error means the guard cannot answer, and the
// login is refused with 503. Otherwise it returns a non-nil Attempt.
//
// The in-memory guard is authserver/throttle (a TokenHandler without a
// Guard uses one with the default policy); authserver/redisthrottle shares
// the budgets between instances.
type LoginGuard interface {
	Begin(ctx context.Context, l Login) (*Attempt, error)
}

// Login is a login attempt as a [LoginGuard] sees it, before any password
// work.
type Login struct {
	// Username is the username as submitted (the account may not exist).
	Username string
	// ClientAddr is the client's address (TokenHandlerConfig.ClientAddr).
	ClientAddr string
	// Device is the ID of a valid device cookie bound to Username that
	// the client presented: proof that this client logged in to the
	// account before (see DeviceCookieConfig). "" when there is none.
	Device string
	// CrossOrigin reports a request a browser made for a page of another
	// origin (Sec-Fetch-Site, else Origin against Host). It may come from
	// a page the user merely visited, posting guesses from the user's own
	// address, so it neither draws on nor earns the trust in that address.
	CrossOrigin bool
}

// NoLoginGuard returns a [LoginGuard] that lets every attempt through, for
// a token endpoint whose logins are throttled elsewhere (an API gateway).
// Without throttling, an online guessing attack is bounded only by the
// cost of the password hash.
func NoLoginGuard() LoginGuard { return noGuard{} }

type noGuard struct{}

func (noGuard) Begin(context.Context, Login) (*Attempt, error) { return NewAttempt(nil), nil }

// memGuard is the default guard: the in-memory throttle of
// authserver/throttle with the default policy.
type memGuard struct{ t *memthrottle.Throttle }

func newMemGuard() (*memGuard, error) {
	p, err := loginpolicy.Policy{}.Resolve()
	if err != nil {
		return nil, err
	}
	return &memGuard{memthrottle.New(p, memthrottle.DefaultMaxEntries)}, nil
}

func (g *memGuard) ForgetTrust(_ context.Context, username string) error {
	g.t.ForgetTrust(username)
	return nil
}

func (g *memGuard) Begin(_ context.Context, l Login) (*Attempt, error) {
	end, wait := g.t.Begin(l.Username, l.Device, l.ClientAddr, l.CrossOrigin)
	if wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	return NewAttempt(func(_ context.Context, o Outcome) { end(loginpolicy.Outcome(o)) }), nil
}

// ErrThrottled reports a login attempt refused by a [LoginGuard].
var ErrThrottled = errors.New("authserver: login throttled")

// ThrottledError is a [LoginGuard]'s refusal: the attempt may be retried
// after RetryAfter. It wraps [ErrThrottled].
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return ErrThrottled.Error() + "; retry after " + strconv.FormatInt(e.RetryAfter.Milliseconds(), 10) + "ms"
}

// Unwrap returns [ErrThrottled].
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Outcome is how a login [Attempt] ended.
type Outcome int

const (
	// AttemptReleased: the password was never compared. The attempt
	// counts neither as a failure nor as a success.
	AttemptReleased = Outcome(loginpolicy.Released)
	// AttemptFailed: the password was compared and the login refused.
	AttemptFailed = Outcome(loginpolicy.Failed)
	// AttemptSucceeded: the password matched and the login went ahead.
	AttemptSucceeded = Outcome(loginpolicy.Succeeded)
)

// Attempt is a login attempt a [LoginGuard] let through. Its first
// Failure, Success or Release reports the outcome to the guard; every
// later call does nothing, so a caller may defer Release to cover the
// paths that end before a comparison. Methods on a nil *Attempt do
// nothing. An Attempt is safe for concurrent use.
type Attempt struct {
	end   func(ctx context.Context, o Outcome)
	ended atomic.Bool
}

// NewAttempt returns an Attempt whose outcome goes to end, called at most
// once. Guards call it from Begin.
func NewAttempt(end func(ctx context.Context, o Outcome)) *Attempt {
	return &Attempt{end: end}
}

// Failure records a failed login: the password was compared and refused.
func (a *Attempt) Failure(ctx context.Context) { a.finish(ctx, AttemptFailed) }

// Success records a successful login.
func (a *Attempt) Success(ctx context.Context) { a.finish(ctx, AttemptSucceeded) }

// Release ends an attempt whose password was never compared.
func (a *Attempt) Release(ctx context.Context) { a.finish(ctx, AttemptReleased) }

func (a *Attempt) finish(ctx context.Context, o Outcome) {
	if a == nil || a.end == nil || !a.ended.CompareAndSwap(false, true) {
		return
	}
	a.end(ctx, o)
}
