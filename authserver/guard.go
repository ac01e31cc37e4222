package authserver

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
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
// The in-memory guard is authserver/throttle; authserver/redisthrottle
// shares one budget between instances.
type LoginGuard interface {
	Begin(ctx context.Context, username, clientAddr string) (*Attempt, error)
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
	AttemptReleased Outcome = iota
	// AttemptFailed: the password was compared and the login refused.
	AttemptFailed
	// AttemptSucceeded: the password matched and the login went ahead.
	AttemptSucceeded
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
