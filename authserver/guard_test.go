package authserver

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver/throttletest"
)

func newClock() *throttletest.Clock {
	return throttletest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
}

func TestThrottle_E14_LockoutGrowsAndResets(t *testing.T) {
	clk := newClock()
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
	clk := newClock()
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
	clk := newClock()
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

func TestThrottle_E14_ConcurrentAttemptsShareBudget(t *testing.T) {
	clk := newClock()
	cfg := ThrottleConfig{Now: clk.Now, FreeFailures: 3, AddrRate: rate.Inf}
	th := NewLoginThrottle(cfg)
	ctx := context.Background()
	budget := cfg.InFlightLimit(0)
	if budget != 4 {
		t.Fatalf("InFlightLimit(0) = %d, want FreeFailures+1 = 4", budget)
	}
	// No outcome is recorded while the Checks run, as when every request
	// is still hashing: only the budget may pass.
	if got := throttletest.CheckAll(t, 50, "bob", th); got != budget {
		t.Fatalf("%d of 50 concurrent attempts passed Check, budget %d", got, budget)
	}
	for range budget {
		th.Failure(ctx, "bob", "198.51.100.1")
	}
	if d, _ := th.Check(ctx, "bob", "198.51.100.1"); d != time.Second {
		t.Fatalf("after %d failures: wait %v, want the 1s first lockout", budget, d)
	}
	// Once locked, one attempt at a time, as for attempts in sequence.
	clk.Advance(time.Second)
	if got := throttletest.CheckAll(t, 50, "bob", th); got != 1 {
		t.Fatalf("%d of 50 concurrent attempts passed Check after a lockout, want 1", got)
	}
	th.Failure(ctx, "bob", "198.51.100.1")
	if d, _ := th.Check(ctx, "bob", "198.51.100.1"); d != 2*time.Second {
		t.Fatalf("after %d failures: wait %v, want 2s", budget+1, d)
	}
	if got := throttletest.CheckAll(t, 10, "carol", th); got != budget {
		t.Fatalf("another account: %d of 10 passed, want %d", got, budget)
	}
}

func TestThrottle_E14_SuccessEndsAttemptAndResets(t *testing.T) {
	clk := newClock()
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, FreeFailures: 3, AddrRate: rate.Inf})
	ctx := context.Background()
	for range 3 {
		if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
			t.Fatalf("free attempt throttled: %v", d)
		}
		th.Failure(ctx, "bob", "10.0.0.1")
	}
	// One free failure left: one attempt in flight at a time.
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
		t.Fatalf("last free attempt throttled: %v", d)
	}
	if d, _ := th.Check(ctx, "bob", "10.0.0.2"); d != time.Second {
		t.Fatalf("second attempt while the last free one is in flight: wait %v, want 1s", d)
	}
	th.Success(ctx, "bob", "10.0.0.1")
	for i := range 4 {
		if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
			t.Fatalf("attempt %d after success throttled: %v", i+1, d)
		}
	}
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d == 0 {
		t.Fatal("fifth attempt in flight let through")
	}
	// A success ends its own attempt only: the three others in flight
	// still count.
	th.Success(ctx, "bob", "10.0.0.1")
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
		t.Fatalf("attempt after the second success throttled: %v", d)
	}
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d == 0 {
		t.Fatal("attempts in flight forgotten by another attempt's success")
	}
}

func TestThrottle_E14_AbandonedAttemptsLapse(t *testing.T) {
	clk := newClock()
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, FreeFailures: 1, AddrRate: rate.Inf, AttemptTimeout: 500 * time.Millisecond})
	ctx := context.Background()
	// Two attempts start and never report (say the user store failed).
	for range 2 {
		if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
			t.Fatalf("attempt throttled: %v", d)
		}
	}
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 500*time.Millisecond {
		t.Fatalf("while both are in flight: wait %v, want 500ms (until they lapse)", d)
	}
	clk.Advance(500 * time.Millisecond)
	// They counted as no failure: the whole budget is back.
	for i := range 2 {
		if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
			t.Fatalf("attempt %d after the lapse throttled: %v", i+1, d)
		}
	}
	for range 2 {
		th.Failure(ctx, "bob", "10.0.0.1")
	}
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != time.Second {
		t.Fatalf("after 2 failures: wait %v, want 1s (lapsed attempts counted?)", d)
	}
}

func TestThrottle_E14_ReleaseGivesPlaceBack(t *testing.T) {
	clk := newClock()
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, FreeFailures: 1, AddrRate: rate.Inf})
	ctx := context.Background()
	for range 2 {
		_, _ = th.Check(ctx, "bob", "10.0.0.1")
	}
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d == 0 {
		t.Fatal("third attempt in flight let through")
	}
	th.Release(ctx, "bob", "10.0.0.1")
	if d, _ := th.Check(ctx, "bob", "10.0.0.1"); d != 0 {
		t.Fatalf("attempt after a release throttled: %v", d)
	}
	for range 2 {
		th.Release(ctx, "bob", "10.0.0.1")
	}
	th.mu.Lock()
	_, kept := th.accounts["bob"]
	th.mu.Unlock()
	if kept {
		t.Error("account with nothing in flight and no failures still held")
	}
	th.Release(ctx, "nobody", "10.0.0.1") // no entry: nothing to do
}

func TestThrottleAddrKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not-an-ip", "not-an-ip"},
		{"", ""},
	} {
		if got := ThrottleAddrKey(c.in); got != c.want {
			t.Errorf("ThrottleAddrKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestThrottle_E14_IPv6BucketPer64(t *testing.T) {
	clk := newClock()
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, AddrRate: rate.Every(time.Minute), AddrBurst: 2})
	ctx := context.Background()
	steps := []struct {
		addr      string
		throttled bool
	}{
		{"2001:db8:1:2::1", false},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", false},
		{"2001:db8:1:2::3", true}, // same /64: bucket empty
		{"2001:db8:1:3::1", false},
		{"192.0.2.1", false},
		{"::ffff:192.0.2.1", false}, // the same IPv4 client
		{"192.0.2.1", true},
		{"192.0.2.2", false}, // IPv4 addresses stay separate
	}
	for i, s := range steps {
		d, _ := th.Check(ctx, fmt.Sprint("user", i), s.addr)
		if (d > 0) != s.throttled {
			t.Errorf("step %d, %s: wait %v, throttled want %v", i, s.addr, d, s.throttled)
		}
	}
}

func TestThrottle_EvictsInBatches(t *testing.T) {
	clk := newClock()
	const maxEntries, batch = 400, 400 / 8
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, MaxEntries: maxEntries})
	ctx := context.Background()
	const ops = 5000
	full, prev := 0, 0
	for i := range ops {
		// Nothing lapses on the frozen clock: every entry is live. Each
		// Check adds an address bucket and an account.
		_, _ = th.Check(ctx, fmt.Sprint("u", i), fmt.Sprint("a", i))
		th.mu.Lock()
		n := th.size()
		th.mu.Unlock()
		switch {
		case n > maxEntries:
			t.Fatalf("op %d: %d entries, cap %d", i, n, maxEntries)
		case n == maxEntries:
			full++
		case n < prev && prev-n+2 < batch:
			t.Fatalf("op %d: eviction freed %d entries, want a batch of %d", i, prev-n+2, batch)
		}
		prev = n
	}
	// Evicting one entry at a time would leave the throttle full after
	// almost every op, each insertion paying for a scan of the maps. A
	// batch leaves room for the next batch/2 ops.
	if limit := ops/(batch/2) + 1; full > limit {
		t.Fatalf("full after %d of %d ops, want at most %d", full, ops, limit)
	}
}

func TestThrottle_FloodKeepsLockedAccounts(t *testing.T) {
	clk := newClock()
	th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, MaxEntries: 100, AddrRate: rate.Inf})
	ctx := context.Background()
	for range 6 {
		th.Failure(ctx, "victim", "10.0.0.1")
	}
	for i := range 2000 {
		u, a := fmt.Sprint("u", i), fmt.Sprint("a", i)
		_, _ = th.Check(ctx, u, a)
		th.Failure(ctx, u, a)
	}
	if d, _ := th.Check(ctx, "victim", "10.0.0.1"); d != time.Second {
		t.Fatalf("locked account after a flood of new keys: wait %v, want 1s", d)
	}
}

// BenchmarkLoginThrottle_FullCapacity measures a Check for a new account
// from a new address when the throttle is full of live entries (a flood
// of distinct keys on a frozen clock). The cost per Check should not grow
// with MaxEntries.
func BenchmarkLoginThrottle_FullCapacity(b *testing.B) {
	for _, size := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("entries=", size), func(b *testing.B) {
			clk := newClock()
			th := NewLoginThrottle(ThrottleConfig{Now: clk.Now, MaxEntries: size})
			ctx := context.Background()
			i := 0
			for th.size() < size {
				_, _ = th.Check(ctx, "u"+strconv.Itoa(i), "a"+strconv.Itoa(i))
				i++
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = th.Check(ctx, "u"+strconv.Itoa(i), "a"+strconv.Itoa(i))
				i++
			}
		})
	}
}
