package redisthrottle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/throttletest"
	"github.com/jwtkit/jwtkit/internal/testenv"
)

func newThrottle(t *testing.T, policy authserver.ThrottleConfig) (*Throttle, *redis.Client) {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	ctx := t.Context()
	if err := client.Ping(ctx).Err(); err != nil {
		testenv.SkipOrFail(t, "redis not answering: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "jwtkit-test:" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	th, err := New(client, Config{Prefix: prefix, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	return th, client
}

func TestThrottle_E14_SharedLockout(t *testing.T) {
	clk := throttletest.NewClock(time.Now().Truncate(time.Millisecond))
	policy := authserver.ThrottleConfig{Now: clk.Now, AddrRate: rate.Inf}
	a, client := newThrottle(t, policy)
	// A second instance on the same Redis and prefix shares the state.
	b, err := New(client, Config{Prefix: a.prefix, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for range 5 {
		if d, err := a.Check(ctx, "bob", "10.0.0.1"); err != nil || d != 0 {
			t.Fatalf("free attempt throttled: %v %v", d, err)
		}
		a.Failure(ctx, "bob", "10.0.0.1")
	}
	b.Failure(ctx, "bob", "10.0.0.9")
	d, err := a.Check(ctx, "bob", "10.0.0.1")
	if err != nil || d != time.Second {
		t.Fatalf("after 6 failures on two instances: wait %v err %v, want 1s", d, err)
	}
	b.Failure(ctx, "bob", "10.0.0.9")
	if d, _ := b.Check(ctx, "bob", "10.0.0.9"); d != 2*time.Second {
		t.Fatalf("after 7 failures: wait %v, want 2s", d)
	}
	a.Success(ctx, "bob", "10.0.0.1")
	if d, _ := b.Check(ctx, "bob", "10.0.0.9"); d != 0 {
		t.Fatalf("success on A did not reset B's view: %v", d)
	}
	// Keys are hashed: the username never appears in Redis.
	keys, err := client.Keys(ctx, a.prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys under the prefix: %q, %v; want some to inspect", keys, err)
	}
	for _, k := range keys {
		for _, bad := range []string{"bob", "10.0.0"} {
			if strings.Contains(k, bad) {
				t.Fatalf("key %q contains client text %q", k, bad)
			}
		}
	}
}

func TestThrottle_E14_AddressBudget(t *testing.T) {
	th, _ := newThrottle(t, authserver.ThrottleConfig{AddrRate: rate.Every(time.Minute), AddrBurst: 3})
	ctx := t.Context()
	for i := range 3 {
		if d, err := th.Check(ctx, "u"+string(rune('a'+i)), "198.51.100.1"); err != nil || d != 0 {
			t.Fatalf("attempt %d within burst: %v %v", i, d, err)
		}
	}
	d, err := th.Check(ctx, "ux", "198.51.100.1")
	if err != nil || d <= 0 {
		t.Fatalf("attempt beyond burst: wait %v err %v, want > 0", d, err)
	}
	if d, _ := th.Check(ctx, "ux", "198.51.100.2"); d != 0 {
		t.Fatalf("another address throttled: %v", d)
	}
}

func TestThrottle_RedisDownFailsClosed(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	var logs bytes.Buffer
	th, err := New(client, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := th.Check(t.Context(), "bob", "10.0.0.1"); err == nil {
		t.Fatal("Check with Redis down returned no error; the login would proceed unthrottled")
	}
	// Outcomes have no error to return: each lost one is logged.
	th.Failure(t.Context(), "bob", "10.0.0.1")
	th.Success(t.Context(), "bob", "10.0.0.1")
	th.Release(t.Context(), "bob", "10.0.0.1")
	for _, msg := range []string{"recording a login failure failed", "resetting login failures failed", "releasing a login attempt failed"} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("no %q in the log:\n%s", msg, logs.String())
		}
	}
}

func TestNew_RejectsBadPrefix(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	for _, p := range []string{"a b", "x{y}", "a\r\nb", "*"} {
		if _, err := New(client, Config{Prefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}

func TestThrottle_E14_ConcurrentAttemptsShareBudget(t *testing.T) {
	clk := throttletest.NewClock(time.Now().Truncate(time.Millisecond))
	policy := authserver.ThrottleConfig{Now: clk.Now, FreeFailures: 3, AddrRate: rate.Inf}
	a, client := newThrottle(t, policy)
	b, err := New(client, Config{Prefix: a.prefix, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	budget := policy.InFlightLimit(0)
	// No outcome is recorded while the Checks run, as when every request
	// is still hashing: across both instances only the budget may pass.
	if got := throttletest.CheckAll(t, 40, "bob", a, b); got != budget {
		t.Fatalf("%d of 40 concurrent attempts on two instances passed Check, budget %d", got, budget)
	}
	for i := range budget {
		[]*Throttle{a, b}[i%2].Failure(ctx, "bob", "198.51.100.1")
	}
	if d, err := a.Check(ctx, "bob", "198.51.100.1"); err != nil || d != time.Second {
		t.Fatalf("after %d failures: wait %v err %v, want the 1s first lockout", budget, d, err)
	}
	clk.Advance(time.Second)
	if got := throttletest.CheckAll(t, 20, "bob", a, b); got != 1 {
		t.Fatalf("%d of 20 concurrent attempts passed Check after a lockout, want 1", got)
	}
}

func TestThrottle_E14_SuccessReleaseAndLapse(t *testing.T) {
	clk := throttletest.NewClock(time.Now().Truncate(time.Millisecond))
	policy := authserver.ThrottleConfig{Now: clk.Now, FreeFailures: 1, AddrRate: rate.Inf, AttemptTimeout: 500 * time.Millisecond}
	th, client := newThrottle(t, policy)
	ctx := t.Context()
	acct := th.key("acct", "bob")
	mustCheck := func(allowed bool, step string) time.Duration {
		t.Helper()
		d, err := th.Check(ctx, "bob", "10.0.0.1")
		if err != nil || (d == 0) != allowed {
			t.Fatalf("%s: wait %v err %v, allowed want %v", step, d, err, allowed)
		}
		return d
	}
	mustCheck(true, "first attempt")
	mustCheck(true, "second attempt")
	if d := mustCheck(false, "third attempt in flight"); d != 500*time.Millisecond {
		t.Fatalf("third attempt: wait %v, want 500ms (until the first lapses)", d)
	}
	// An abandoned attempt's place expires in Redis too.
	if ttl, err := client.PTTL(ctx, acct).Result(); err != nil || ttl <= 0 || ttl > policy.AttemptTimeout {
		t.Fatalf("account key TTL %v err %v, want (0, %v]", ttl, err, policy.AttemptTimeout)
	}
	th.Release(ctx, "bob", "10.0.0.1")
	mustCheck(true, "attempt after a release")
	th.Success(ctx, "bob", "10.0.0.1")
	mustCheck(true, "attempt after a success")
	mustCheck(false, "attempt with two in flight")
	// Nothing reports: the places lapse and count as no failure.
	clk.Advance(policy.AttemptTimeout)
	mustCheck(true, "first attempt after the lapse")
	mustCheck(true, "second attempt after the lapse")
	th.Failure(ctx, "bob", "10.0.0.1")
	th.Failure(ctx, "bob", "10.0.0.1")
	if d := mustCheck(false, "after two failures"); d != time.Second {
		t.Fatalf("after two failures: wait %v, want 1s (lapsed attempts counted?)", d)
	}
	clk.Advance(time.Second)
	mustCheck(true, "after the lockout")
	th.Success(ctx, "bob", "10.0.0.1")
	if n, err := client.Exists(ctx, acct).Result(); err != nil || n != 0 {
		t.Fatalf("account key after a success with nothing in flight: exists=%d err %v", n, err)
	}
}

func TestThrottle_AddressRefusalTakesNoAccountPlace(t *testing.T) {
	th, _ := newThrottle(t, authserver.ThrottleConfig{FreeFailures: 1, AddrRate: rate.Every(time.Minute), AddrBurst: 1})
	ctx := t.Context()
	if d, err := th.Check(ctx, "bob", "198.51.100.1"); err != nil || d != 0 {
		t.Fatalf("first attempt: %v %v", d, err)
	}
	if d, err := th.Check(ctx, "bob", "198.51.100.1"); err != nil || d <= 0 {
		t.Fatalf("second attempt from the drained address: wait %v err %v, want > 0", d, err)
	}
	// The refused attempt holds no place: bob's second one is still free.
	if d, err := th.Check(ctx, "bob", "198.51.100.2"); err != nil || d != 0 {
		t.Fatalf("attempt from another address: wait %v err %v, want 0", d, err)
	}
}

func TestThrottle_E14_IPv6AddressBudgetPer64(t *testing.T) {
	th, _ := newThrottle(t, authserver.ThrottleConfig{AddrRate: rate.Every(time.Minute), AddrBurst: 1})
	ctx := t.Context()
	for i, s := range []struct {
		addr      string
		throttled bool
	}{
		{"2001:db8:1:2::1", false},
		{"2001:db8:1:2::2", true},
		{"2001:db8:1:3::1", false},
		{"192.0.2.1", false},
		{"::ffff:192.0.2.1", true},
	} {
		d, err := th.Check(ctx, fmt.Sprint("user", i), s.addr)
		if err != nil || (d > 0) != s.throttled {
			t.Errorf("%s: wait %v err %v, throttled want %v", s.addr, d, err, s.throttled)
		}
	}
}
