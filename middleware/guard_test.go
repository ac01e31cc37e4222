package middleware

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func TestThrottle_E14_LockoutGrowsAndResets(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, AddrRate: rate.Inf})
	ctx := context.Background()
	for i := range 5 {
		if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
			t.Fatalf("attempt %d throttled after %d free failures: %v", i+1, i, d)
		}
		th.Failure(ctx, "bob", "10.0.0.1")
	}
	// The sixth failure locks for 1 s, the seventh for 2 s, and so on.
	th.Failure(ctx, "bob", "10.0.0.1")
	if d, _ := th.Check(ctx, "bob", "10.0.0.2"); d != time.Second {
		t.Fatalf("lockout after 6 failures = %v, want 1s (from any address)", d)
	}
	clk.Advance(time.Second)
	th.Failure(ctx, "bob", "10.0.0.1")
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 2*time.Second {
		t.Fatalf("lockout after 7 failures = %v, want 2s", d)
	}
	if d, _ := th.Check(ctx, "carol", "10.0.0.1"); d != 0 {
		t.Fatalf("another account is throttled: %v", d)
	}
	clk.Advance(2 * time.Second)
	th.Success(ctx, "bob", "10.0.0.1")
	th.Failure(ctx, "bob", "10.0.0.1")
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
		t.Fatalf("failures not reset by success: %v", d)
	}
}

func TestThrottle_E14_LockoutCappedWithinNIST(t *testing.T) {
	cfg := ThrottleConfig{}
	if got := cfg.LockoutAfter(5); got != 0 {
		t.Fatalf("LockoutAfter(5) = %v, want 0", got)
	}
	if got := cfg.LockoutAfter(1000); got != 20*time.Minute {
		t.Fatalf("LockoutAfter(1000) = %v, want the 20 min cap", got)
	}
	// Count how many failures fit into 24 hours when an attacker retries
	// the moment each lockout ends: NIST SP 800-63B allows at most 100.
	var elapsed time.Duration
	n := 0
	for elapsed < 24*time.Hour {
		n++
		elapsed += cfg.LockoutAfter(n)
	}
	if n > 100 {
		t.Fatalf("%d failures fit in 24 h, NIST allows 100", n)
	}
}

func TestThrottle_E14_PerAddressBucket(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, AddrRate: rate.Every(time.Second), AddrBurst: 3})
	ctx := context.Background()
	for i := range 3 {
		if d, _ := th.Check(ctx, fmt.Sprintf("user%d", i), "192.0.2.7"); d != 0 {
			t.Fatalf("attempt %d within burst throttled", i)
		}
	}
	d, _ := th.Check(ctx, "user9", "192.0.2.7")
	if d <= 0 || d > time.Second {
		t.Fatalf("fourth attempt from one address: wait %v, want (0, 1s]", d)
	}
	if d, _ := th.Check(ctx, "user9", "192.0.2.8"); d != 0 {
		t.Fatalf("another address throttled: %v", d)
	}
	clk.Advance(time.Second)
	if d, _ := th.Check(ctx, "user9", "192.0.2.7"); d != 0 {
		t.Fatalf("bucket did not refill: %v", d)
	}
}

func TestThrottle_BoundedMemory(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, MaxEntries: 100})
	ctx := context.Background()
	for i := range 1000 {
		u, a := fmt.Sprint("u", i), fmt.Sprint("a", i)
		_, _ = th.Check(ctx, u, a)
		th.Failure(ctx, u, a)
	}
	th.mu.Lock()
	n := len(th.accounts) + len(th.addrs)
	th.mu.Unlock()
	if n > 100 {
		t.Fatalf("throttle holds %d entries, cap 100", n)
	}
}
