package redisthrottle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/middleware"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newThrottle(t *testing.T, policy middleware.ThrottleConfig) (*Throttle, *redis.Client) {
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
	clk := &clock{t: time.Now().Truncate(time.Millisecond)}
	policy := middleware.ThrottleConfig{Now: clk.Now, AddrRate: rate.Inf}
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
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, bad := range []string{"bob", "10.0.0"} {
			if contains(k, bad) {
				t.Fatalf("key %q contains client text %q", k, bad)
			}
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestThrottle_E14_AddressBudget(t *testing.T) {
	th, _ := newThrottle(t, middleware.ThrottleConfig{AddrRate: rate.Every(time.Minute), AddrBurst: 3})
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
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	th, err := New(client, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := th.Check(t.Context(), "bob", "10.0.0.1"); err == nil {
		t.Fatal("Check with Redis down returned no error; the login would proceed unthrottled")
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
