package middleware

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// blockingUsers answers only when its context ends.
type blockingUsers struct{}

func (blockingUsers) UserByID(ctx context.Context, _ string) (store.User, error) {
	<-ctx.Done()
	return store.User{}, ctx.Err()
}

func TestStoreTimeoutBoundsBlockingStore(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newCacheFixture(t, TokenCacheConfig{})
		f.clock.Set(time.Now())
		a := mustAuthenticator(t, f.verifier, WithUsers(blockingUsers{}), WithStoreTimeout(3*time.Second))
		tok := f.token(t, "alice")
		start := time.Now()
		_, _, err := a.Authenticate(bearerRequest(tok.Raw))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		// In the bubble time moves only when every goroutine waits, so
		// the lookup ended exactly at its deadline.
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("the lookup ended after %v, want 3s", d)
		}
	})
}
