package redisthrottle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/throttle"
	"github.com/jwtkit/jwtkit/authserver/throttletest"
	"github.com/jwtkit/jwtkit/internal/loginpolicy"
	"github.com/jwtkit/jwtkit/internal/redistest"
	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
)

// newClient returns a client of the test Redis and a fresh prefix whose
// keys are deleted when the test ends.
func newClient(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	if err := client.Ping(t.Context()).Err(); err != nil {
		testenv.SkipOrFail(t, "redis not answering: %v", err)
	}
	return client, newPrefix(t, client, nil)
}

// newPrefix returns a fresh prefix whose keys, and the address limiter's
// keys under it, are deleted from c when t ends, after seen (if not nil)
// has been shown them.
func newPrefix(t *testing.T, c redis.UniversalClient, seen func(context.Context, []string)) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "jwtkit-test:" + hex.EncodeToString(b)
	// redis_rate puts "rate:" before the keys it is given.
	redistest.DeleteAtEnd(t, c, seen, prefix+":*", "rate:"+prefix+":*")
	return prefix
}

// backends are the deployments the throttle runs on: one Redis, and a
// Redis Cluster, where the address limiter, trust and account keys of one
// login live in different slots (each is its own command).
var backends = []struct {
	name string
	open func(t *testing.T) (redis.UniversalClient, string)
}{
	{"Single", func(t *testing.T) (redis.UniversalClient, string) { return newClient(t) }},
	{"Cluster", func(t *testing.T) (redis.UniversalClient, string) {
		c := redistest.Cluster(t, 0)
		return c, newPrefix(t, c, nil)
	}},
}

// onBackends runs test in parallel on a single Redis and on the cluster.
func onBackends(t *testing.T, test func(t *testing.T, open func(t *testing.T) (redis.UniversalClient, string))) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.open)
		})
	}
}

func mustNew(t *testing.T, client redis.UniversalClient, prefix string, p throttle.Policy) *Throttle {
	t.Helper()
	th, err := New(client, Config{Prefix: prefix, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestThrottle_Conformance(t *testing.T) {
	t.Parallel()
	throttletest.Run(t, func(t *testing.T, p throttle.Policy) authserver.LoginGuard {
		client, prefix := newClient(t)
		return mustNew(t, client, prefix, p)
	})
}

// The suite on a Redis Cluster, whose keys must land on more than one
// master for the run to cross nodes.
func TestThrottle_ConformanceCluster(t *testing.T) {
	t.Parallel()
	c := redistest.Cluster(t, 0)
	nodes := redistest.NewNodes(c)
	t.Cleanup(func() {
		if got := nodes.Masters(); len(got) < 2 {
			t.Errorf("the suite's keys landed on masters %q (%s); want at least two", got, nodes)
		} else {
			t.Logf("the suite's keys per master: %s", nodes)
		}
	})
	throttletest.Run(t, func(t *testing.T, p throttle.Policy) authserver.LoginGuard {
		prefix := newPrefix(t, c, func(ctx context.Context, keys []string) {
			if err := nodes.Add(ctx, keys); err != nil {
				t.Error(err)
			}
		})
		return mustNew(t, c, prefix, p)
	})
}

func mustBegin(t *testing.T, g authserver.LoginGuard, user, addr string) *authserver.Attempt {
	t.Helper()
	a, err := g.Begin(t.Context(), authserver.Login{Username: user, ClientAddr: addr})
	if err != nil {
		t.Fatalf("Begin(%q, %q): %v", user, addr, err)
	}
	return a
}

func waitOf(t *testing.T, g authserver.LoginGuard, user, addr string) time.Duration {
	t.Helper()
	_, err := g.Begin(t.Context(), authserver.Login{Username: user, ClientAddr: addr})
	var te *authserver.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("Begin(%q, %q): %v, want a ThrottledError", user, addr, err)
	}
	return te.RetryAfter
}

// Two instances on one Redis and prefix share one budget, and no client
// text reaches a key.
func TestThrottle_InstancesShareLockout_E14(t *testing.T) {
	t.Parallel()
	onBackends(t, testInstancesShareLockout_E14)
}

func testInstancesShareLockout_E14(t *testing.T, open func(t *testing.T) (redis.UniversalClient, string)) {
	clk := jwttest.NewClock(time.Now().Truncate(time.Millisecond))
	policy := throttle.Policy{Now: clk.Now, AddrRate: rate.Inf}
	client, prefix := open(t)
	a, b := mustNew(t, client, prefix, policy), mustNew(t, client, prefix, policy)
	ctx := t.Context()
	for i := range 6 {
		mustBegin(t, []*Throttle{a, b}[i%2], "bob", "10.0.0.1").Failure(ctx)
	}
	if d := waitOf(t, a, "bob", "10.0.0.1"); d != time.Second {
		t.Fatalf("after 6 failures on two instances: wait %v, want 1s", d)
	}
	clk.Advance(time.Second)
	mustBegin(t, b, "bob", "10.0.0.9").Success(ctx)
	inFlight := mustBegin(t, a, "bob", "10.0.0.1")
	defer inFlight.Release(ctx)
	keys, err := redistest.Keys(ctx, client, prefix+"*")
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

func TestThrottle_ConcurrentAttemptsOnTwoInstancesShareBudget_E14(t *testing.T) {
	t.Parallel()
	onBackends(t, testConcurrentAttemptsOnTwoInstancesShareBudget_E14)
}

func testConcurrentAttemptsOnTwoInstancesShareBudget_E14(t *testing.T, open func(t *testing.T) (redis.UniversalClient, string)) {
	clk := jwttest.NewClock(time.Now().Truncate(time.Millisecond))
	policy := throttle.Policy{Now: clk.Now, LockAfter: 4, AddrRate: rate.Inf}
	client, prefix := open(t)
	a, b := mustNew(t, client, prefix, policy), mustNew(t, client, prefix, policy)
	ctx := t.Context()
	attempts := throttletest.BeginAll(t, 40, "bob", a, b)
	if len(attempts) != 4 {
		t.Fatalf("%d of 40 concurrent attempts on two instances let through, budget 4", len(attempts))
	}
	for _, at := range attempts {
		at.Failure(ctx)
	}
	if d := waitOf(t, b, "bob", "198.51.100.1"); d != time.Second {
		t.Fatalf("after 4 failures: wait %v, want the 1s first lockout", d)
	}
	clk.Advance(time.Second)
	if n := len(throttletest.BeginAll(t, 20, "bob", a, b)); n != 1 {
		t.Fatalf("%d of 20 concurrent attempts let through after a lockout, want 1", n)
	}
}

// The account key expires with the attempts in flight, and goes when
// nothing is left to remember.
func TestThrottle_AccountKeyLifetime(t *testing.T) {
	t.Parallel()
	onBackends(t, testAccountKeyLifetime)
}

func testAccountKeyLifetime(t *testing.T, open func(t *testing.T) (redis.UniversalClient, string)) {
	clk := jwttest.NewClock(time.Now().Truncate(time.Millisecond))
	policy := throttle.Policy{Now: clk.Now, AddrRate: rate.Inf, AttemptTimeout: time.Minute}
	client, prefix := open(t)
	th := mustNew(t, client, prefix, policy)
	ctx := t.Context()
	acct := th.key("acct", loginpolicy.BudgetFor("bob", "", "10.0.0.1", false).String())
	a := mustBegin(t, th, "bob", "10.0.0.1")
	if ttl, err := client.PTTL(ctx, acct).Result(); err != nil || ttl <= 0 || ttl > policy.AttemptTimeout {
		t.Fatalf("account key TTL %v err %v, want (0, %v]", ttl, err, policy.AttemptTimeout)
	}
	a.Failure(ctx)
	mustBegin(t, th, "bob", "10.0.0.1").Success(ctx)
	if n, err := client.Exists(ctx, acct).Result(); err != nil || n != 0 {
		t.Fatalf("account key after a success with nothing in flight: exists=%d err %v", n, err)
	}
}

func TestThrottle_RedisDownFailsClosed(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	th, err := New(client, Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = th.Begin(t.Context(), authserver.Login{Username: "bob", ClientAddr: "10.0.0.1"})
	if err == nil || errors.Is(err, authserver.ErrThrottled) {
		t.Fatalf("Begin with Redis down: %v; want an error that is no refusal, so the login fails with 503", err)
	}
}

// A Begin on a server that never answers ends with the caller's deadline
// (the token endpoint's StoreTimeout) and fails, so the login gets 503
// instead of waiting for Redis.
func TestThrottle_StalledRedisEndsAtDeadline(t *testing.T) {
	t.Parallel()
	// No socket timeouts of the client's own: only the context ends it.
	client := redis.NewClient(&redis.Options{Addr: testenv.SilentServer(t), ReadTimeout: -1, WriteTimeout: -1,
		ContextTimeoutEnabled: true})
	defer client.Close()
	th, err := New(client, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = th.Begin(ctx, authserver.Login{Username: "bob", ClientAddr: "10.0.0.1"})
	if err == nil || errors.Is(err, authserver.ErrThrottled) {
		t.Fatalf("Begin on a stalled Redis: %v; want an error that is no refusal", err)
	}
}

// An outcome Redis cannot take has no error to return: it is logged.
func TestThrottle_LostOutcomesAreLogged(t *testing.T) {
	t.Parallel()
	client, prefix := newClient(t)
	var logs bytes.Buffer
	th, err := New(client, Config{Prefix: prefix, Policy: throttle.Policy{AddrRate: rate.Inf}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var attempts []*authserver.Attempt
	for range 3 {
		attempts = append(attempts, mustBegin(t, th, "bob", "10.0.0.1"))
	}
	// A context already cancelled stands in for Redis going away.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	attempts[0].Failure(ctx)
	attempts[1].Success(ctx)
	attempts[2].Release(ctx)
	for _, msg := range []string{"recording a login failure failed", "resetting login failures failed", "releasing a login attempt failed"} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("no %q in the log:\n%s", msg, logs.String())
		}
	}
}

func TestNew_RefusesBadConfig(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	for _, p := range []string{"a b", "x{y}", "a\r\nb", "*"} {
		if _, err := New(client, Config{Prefix: p}); !errors.Is(err, ErrConfig) {
			t.Errorf("prefix %q: error %v, want ErrConfig", p, err)
		}
	}
	if _, err := New(nil, Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("nil client: error %v, want ErrConfig", err)
	}
	if _, err := New(client, Config{Policy: throttle.Policy{LockAfter: -1}}); !errors.Is(err, throttle.ErrInvalidPolicy) {
		t.Errorf("negative LockAfter: error %v, want throttle.ErrInvalidPolicy", err)
	}
}

// The conformance suite's trust tests run only on guards that forget
// trust; this one must.
var _ interface {
	ForgetTrust(ctx context.Context, username string) error
} = (*Throttle)(nil)
