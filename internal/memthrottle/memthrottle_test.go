package memthrottle

import (
	"cmp"
	"fmt"
	"strconv"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/internal/loginpolicy"
)

// frozen returns a throttle holding at most maxEntries entries on a clock
// that never moves.
func frozen(t testing.TB, p loginpolicy.Policy, maxEntries int) *Throttle {
	t.Helper()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	p, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return New(p, cmp.Or(maxEntries, DefaultMaxEntries))
}

func (t *Throttle) entries() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.size()
}

func TestThrottle_BoundedMemory(t *testing.T) {
	t.Parallel()
	th := frozen(t, loginpolicy.Policy{}, 100)
	for i := range 1000 {
		if end, wait := th.Begin(fmt.Sprint("u", i), "", fmt.Sprint("a", i), false); wait == 0 {
			end(loginpolicy.Failed)
		}
	}
	if n := th.entries(); n > 100 {
		t.Fatalf("throttle holds %d entries, cap 100", n)
	}
}

func TestThrottle_EvictsInBatches(t *testing.T) {
	t.Parallel()
	const maxEntries, batch = 400, 400 / 8
	th := frozen(t, loginpolicy.Policy{}, maxEntries)
	const ops = 5000
	full, prev := 0, 0
	for i := range ops {
		// Nothing lapses on the frozen clock: every entry is live. Each
		// Begin adds an address bucket and an account.
		_, _ = th.Begin(fmt.Sprint("u", i), "", fmt.Sprint("a", i), false)
		n := th.entries()
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

// An account whose attempts all ended without failures is forgotten.
func TestThrottle_IdleAccountsAreDropped(t *testing.T) {
	t.Parallel()
	th := frozen(t, loginpolicy.Policy{AddrRate: rate.Inf}, 0)
	a, _ := th.Begin("bob", "", "10.0.0.1", false)
	b, _ := th.Begin("bob", "", "10.0.0.1", false)
	a(loginpolicy.Released)
	b(loginpolicy.Succeeded)
	th.mu.Lock()
	_, kept := th.budgets[loginpolicy.BudgetFor("bob", "", "10.0.0.1", false)]
	th.mu.Unlock()
	if kept {
		t.Error("account with nothing in flight and no failures still held")
	}
}

// BenchmarkThrottle_FullCapacity measures a Begin for a new account from
// a new address when the throttle is full of live entries (a flood of
// distinct keys on a frozen clock). The cost per Begin should not grow
// with MaxEntries.
func BenchmarkThrottle_FullCapacity(b *testing.B) {
	for _, size := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("entries=", size), func(b *testing.B) {
			th := frozen(b, loginpolicy.Policy{}, size)
			i := 0
			for th.entries() < size {
				_, _ = th.Begin("u"+strconv.Itoa(i), "", "a"+strconv.Itoa(i), false)
				i++
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = th.Begin("u"+strconv.Itoa(i), "", "a"+strconv.Itoa(i), false)
				i++
			}
		})
	}
}

// A spray of failures on other usernames, enough to fill the throttle,
// does not cost an account its trusted address.
func TestThrottle_SprayKeepsTrustedAddresses(t *testing.T) {
	t.Parallel()
	th := frozen(t, loginpolicy.Policy{AddrRate: rate.Inf}, 1000)
	end, _ := th.Begin("alice", "", "203.0.113.5", false)
	end(loginpolicy.Succeeded)
	for i := range 5000 {
		if end, wait := th.Begin(fmt.Sprint("u", i), "", fmt.Sprint("198.51.100.", i%250), false); wait == 0 {
			end(loginpolicy.Failed)
		}
	}
	th.mu.Lock()
	_, trusted := th.trusted[trustKey{"alice", "203.0.113.5"}]
	th.mu.Unlock()
	if !trusted {
		t.Fatal("a spray of failures evicted alice's trusted address")
	}
}

// A client with a device cookie is not charged to its address's bucket,
// which others behind the address (or a page in the user's browser) may
// drain.
func TestThrottle_DeviceIsNotChargedToItsAddress(t *testing.T) {
	t.Parallel()
	th := frozen(t, loginpolicy.Policy{AddrBurst: 2}, 0)
	for i := range 2 {
		if end, wait := th.Begin(fmt.Sprint("u", i), "", "203.0.113.5", false); wait == 0 {
			end(loginpolicy.Released)
		}
	}
	if _, wait := th.Begin("bob", "", "203.0.113.5", false); wait == 0 {
		t.Fatal("the address's bucket is not drained")
	}
	if _, wait := th.Begin("alice", "dev-1", "203.0.113.5", false); wait != 0 {
		t.Fatalf("alice's device behind the drained address: wait %v", wait)
	}
}
