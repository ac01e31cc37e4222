package middleware

import (
	"context"
	"sync"
	"time"
)

// storeCtx bounds one store call by a deadline, like context.WithTimeout,
// but starts no timer until the store asks for Done. Stores that only poll
// Err (memstore) then cost a clock read instead of a timer set-up and
// tear-down on every request; stores that select on Done (network
// clients) get a real deadline context, created on first use.
type storeCtx struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex
	inner    context.Context // the deadline context, once Done was asked for
	cancel   context.CancelFunc
	released bool
}

func newStoreCtx(parent context.Context, timeout time.Duration) *storeCtx {
	return &storeCtx{parent: parent, deadline: time.Now().Add(timeout)}
}

// release ends the context, as the CancelFunc of context.WithTimeout does.
func (c *storeCtx) release() {
	c.mu.Lock()
	c.released = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// started returns the deadline context if Done was asked for.
func (c *storeCtx) started() (context.Context, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inner, c.released
}

func (c *storeCtx) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *storeCtx) Done() <-chan struct{} {
	c.mu.Lock()
	if c.inner == nil {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.released {
			c.cancel()
		}
	}
	inner := c.inner
	c.mu.Unlock()
	return inner.Done()
}

func (c *storeCtx) Err() error {
	inner, released := c.started()
	if inner == nil && !released {
		if err := c.parent.Err(); err != nil {
			return err
		}
		if time.Now().Before(c.deadline) {
			return nil
		}
		// Expired: switch to the real deadline context, so that Done,
		// Value and context.Cause agree with Err from now on.
		c.Done()
		inner, _ = c.started()
	}
	if inner != nil {
		return inner.Err()
	}
	return context.Canceled
}

func (c *storeCtx) Value(key any) any {
	if inner, _ := c.started(); inner != nil {
		return inner.Value(key)
	}
	return c.parent.Value(key)
}
