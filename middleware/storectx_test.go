package middleware

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

type ctxKeyT struct{}

func TestStoreCtxLikeWithTimeout(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKeyT{}, "v")

	c := newStoreCtx(parent, time.Hour)
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if c.Value(ctxKeyT{}) != "v" {
		t.Fatal("value not inherited")
	}
	select {
	case <-c.Done():
		t.Fatal("done too early")
	default:
	}
	c.release()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("after release: %v", c.Err())
	}
	<-c.Done()

	// Released before Done was asked for.
	c = newStoreCtx(parent, time.Hour)
	c.release()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatal(c.Err())
	}
	<-c.Done()

	// Expiry seen through Err alone, and then through Done and Cause.
	c = newStoreCtx(parent, 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("expired: %v", c.Err())
	}
	if !errors.Is(context.Cause(c), context.DeadlineExceeded) {
		t.Fatalf("cause: %v", context.Cause(c))
	}
	<-c.Done()
	c.release()

	// Expiry seen through Done.
	c = newStoreCtx(parent, 10*time.Millisecond)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done never closed")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatal(c.Err())
	}
	c.release()

	// Parent cancellation.
	pc, cancel := context.WithCancel(parent)
	c = newStoreCtx(pc, time.Hour)
	cancel()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatal(c.Err())
	}
	<-c.Done()
	c.release()

	// An earlier parent deadline wins.
	pd, cancel := context.WithTimeout(parent, time.Minute)
	defer cancel()
	c = newStoreCtx(pd, time.Hour)
	want, _ := pd.Deadline()
	if d, _ := c.Deadline(); !d.Equal(want) {
		t.Fatalf("deadline %v, want the parent's %v", d, want)
	}
	c.release()
}

func TestStoreCtxConcurrent(t *testing.T) {
	for range 200 {
		c := newStoreCtx(context.Background(), time.Millisecond)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch i {
				case 0:
					<-c.Done()
				case 1:
					_ = c.Err()
				case 2:
					_ = c.Value(ctxKeyT{})
				case 3:
					c.release()
				}
			}()
		}
		wg.Wait()
		<-c.Done()
		if c.Err() == nil {
			t.Fatal("Err nil after Done")
		}
	}
}

// blockingUsers waits for the context like a network store.
type blockingUsers struct{}

func (blockingUsers) UserByUsername(ctx context.Context, _ string) (store.User, error) {
	<-ctx.Done()
	return store.User{}, ctx.Err()
}

func (blockingUsers) UserByID(ctx context.Context, _ string) (store.User, error) {
	<-ctx.Done()
	return store.User{}, ctx.Err()
}

func TestStoreTimeoutBoundsBlockingStore(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	f.clock.Set(time.Now())
	a := NewAuthenticator(f.verifier, WithUsers(blockingUsers{}), WithStoreTimeout(20*time.Millisecond))
	tok := f.token(t, "alice")
	start := time.Now()
	_, _, err := a.Authenticate(bearerRequest(tok.Raw))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}
