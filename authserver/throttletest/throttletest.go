// Package throttletest holds test helpers shared by the login guards of
// jwtkit (authserver.LoginThrottle, redisthrottle.Throttle) and usable by
// guards elsewhere: a settable clock and a concurrent Check driver.
//
// It does not import package middleware, so that package's own tests can
// use it.
package throttletest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Clock is a manual clock for ThrottleConfig.Now. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Checker is the Check method of authserver.LoginGuard.
type Checker interface {
	Check(ctx context.Context, username, clientAddr string) (time.Duration, error)
}

// CheckAll runs n concurrent Checks for one account, each from its own
// address and spread in turn over guards (instances sharing state), and
// returns how many were let through. It fails the test if a Check returns
// an error or a negative wait.
func CheckAll(t testing.TB, n int, username string, guards ...Checker) int {
	t.Helper()
	var (
		wg      sync.WaitGroup
		allowed atomic.Int32
		bad     atomic.Int32
	)
	for i := range n {
		wg.Go(func() {
			d, err := guards[i%len(guards)].Check(context.Background(), username, fmt.Sprintf("198.51.100.%d", i))
			switch {
			case err != nil || d < 0:
				bad.Add(1)
			case d == 0:
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() > 0 {
		t.Fatalf("%d Checks failed or returned a negative wait", bad.Load())
	}
	return int(allowed.Load())
}
