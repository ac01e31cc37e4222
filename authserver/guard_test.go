package authserver_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
)

// An Attempt reports its first outcome only, however many ends follow and
// from however many goroutines.
func TestAttempt_OnlyTheFirstEndCounts(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []authserver.Outcome
	)
	a := authserver.NewAttempt(func(_ context.Context, o authserver.Outcome) {
		mu.Lock()
		seen = append(seen, o)
		mu.Unlock()
	})
	ctx := context.Background()
	a.Failure(ctx)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { a.Success(ctx) })
		wg.Go(func() { a.Release(ctx) })
		wg.Go(func() { a.Failure(ctx) })
	}
	wg.Wait()
	if len(seen) != 1 || seen[0] != authserver.AttemptFailed {
		t.Fatalf("outcomes reported: %v, want only the first (failed)", seen)
	}
}

// Each end reports its own outcome, with the caller's context.
func TestAttempt_ReportsItsOutcome(t *testing.T) {
	t.Parallel()
	type key struct{}
	for name, tc := range map[string]struct {
		end  func(*authserver.Attempt, context.Context)
		want authserver.Outcome
	}{
		"Failure": {(*authserver.Attempt).Failure, authserver.AttemptFailed},
		"Success": {(*authserver.Attempt).Success, authserver.AttemptSucceeded},
		"Release": {(*authserver.Attempt).Release, authserver.AttemptReleased},
	} {
		var got authserver.Outcome = -1
		var gotCtx context.Context
		a := authserver.NewAttempt(func(ctx context.Context, o authserver.Outcome) { got, gotCtx = o, ctx })
		ctx := context.WithValue(context.Background(), key{}, name)
		tc.end(a, ctx)
		if got != tc.want || gotCtx.Value(key{}) != name {
			t.Errorf("%s: reported %v with context value %v, want %v with %q", name, got, gotCtx.Value(key{}), tc.want, name)
		}
	}
}

// A nil Attempt (no guard) may be ended like any other.
func TestAttempt_NilIsNoOp(t *testing.T) {
	t.Parallel()
	var a *authserver.Attempt
	a.Failure(context.Background())
	a.Success(context.Background())
	a.Release(context.Background())
}

func TestThrottledError_IsErrThrottled(t *testing.T) {
	t.Parallel()
	var err error = &authserver.ThrottledError{RetryAfter: 1500 * time.Millisecond}
	if !errors.Is(err, authserver.ErrThrottled) {
		t.Fatalf("%v does not wrap ErrThrottled", err)
	}
	if got, want := err.Error(), "authserver: login throttled; retry after 1500ms"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
