package authserver_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/store"
)

// stalledGuard answers only when its context ends, like a throttle whose
// backend has stopped answering.
type stalledGuard struct{}

func (stalledGuard) Begin(ctx context.Context, _ authserver.Login) (*authserver.Attempt, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A login guard whose store stalls costs the client StoreTimeout, then a
// 503, like every other store call of the token endpoint.
func TestStoreTimeoutBoundsStalledGuard(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
			c.Guard = stalledGuard{}
			c.StoreTimeout = 3 * time.Second
		})
		start := time.Now()
		rec := login(h, johnName, johnPassword)
		// In the bubble time moves only when every goroutine waits, so
		// the guard's call ended exactly at its deadline.
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("the login answered after %v, want 3s", d)
		}
		checkResponse(t, rec, 503, "", bodyStoreDown)
		if rec.Header().Get("Retry-After") == "" {
			t.Errorf("headers %v, want Retry-After", rec.Header())
		}
	})
}

// stalledRevocations answers only when its context ends.
type stalledRevocations struct{}

func (stalledRevocations) RevokeToken(ctx context.Context, _ store.TokenRef, _ time.Time) error {
	<-ctx.Done()
	return ctx.Err()
}

func (stalledRevocations) RevokeSubject(ctx context.Context, _ string, _ time.Time, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

func (stalledRevocations) IsRevoked(ctx context.Context, _ store.TokenRef) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// RevokeAll gives up on a stalled store after StoreTimeout even when its
// caller's context has no deadline.
func TestStoreTimeoutBoundsRevokeAll(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
			c.Revocations = stalledRevocations{}
			c.StoreTimeout = 3 * time.Second
		})
		start := time.Now()
		err := h.RevokeAll(context.Background(), johnID)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("RevokeAll on a stalled store: %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("RevokeAll returned after %v, want 3s", d)
		}
	})
}
