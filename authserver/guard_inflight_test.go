package authserver_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/throttle"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
	"github.com/jwtkit/jwtkit/store"
)

// gatedUsers holds every user lookup until open is closed, as a slow
// store (or slow hashing) would, and counts the lookups: each login that
// reaches one goes on to a password comparison.
type gatedUsers struct {
	store.Users
	open    chan struct{}
	entered atomic.Int32
}

func (g *gatedUsers) UserByUsername(ctx context.Context, name string) (store.User, error) {
	g.entered.Add(1)
	select {
	case <-g.open:
	case <-ctx.Done():
		return store.User{}, ctx.Err()
	}
	return g.Users.UserByUsername(ctx, name)
}

// switchUsers is a store.Users that can be taken down and brought back.
type switchUsers struct {
	store.Users
	down atomic.Bool
}

func (s *switchUsers) UserByUsername(ctx context.Context, name string) (store.User, error) {
	if s.down.Load() {
		return store.User{}, store.ErrUnavailable
	}
	return s.Users.UserByUsername(ctx, name)
}

// TestTokenEndpoint_E14_ConcurrentGuessesShareBudget fires concurrent
// wrong-password logins for one account while none of them has finished:
// only the account's budget (LockAfter attempts) may go on to hashing, the
// rest are refused with 429. It runs in a synctest bubble: the hashing
// slots' queue timer cannot fire while a comparison is still running,
// however slow the machine, and synctest.Wait replaces polling.
func TestTokenEndpoint_E14_ConcurrentGuessesShareBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		policy := throttle.Policy{LockAfter: 4, AddrRate: rate.Inf}
		const budget = 4 // LockAfter
		users := &gatedUsers{Users: f.store, open: make(chan struct{})}
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
			c.Guard = newThrottle(t, policy)
			c.Users = users
		})
		const n = 40
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
		)
		for range n {
			wg.Go(func() {
				code := login(h, johnName, "wrong").Code
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			})
		}
		// Every request is now either answered or held in the lookup.
		synctest.Wait()
		if got := int(users.entered.Load()); got != budget {
			t.Errorf("%d of %d concurrent guesses reached the user lookup, budget %d", got, n, budget)
		}
		close(users.open)
		wg.Wait()
		if statuses[http.StatusUnauthorized] != budget || statuses[http.StatusTooManyRequests] != n-budget {
			t.Fatalf("statuses %v, want %d × 401 and %d × 429", statuses, budget, n-budget)
		}
	})
}

// TestTokenEndpoint_E14_StoreOutageIsNoFailure: logins that fail because
// the user store is down give their places back at once (Release), and are
// never counted as failures.
func TestTokenEndpoint_E14_StoreOutageIsNoFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	clk := jwttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	policy := throttle.Policy{Now: clk.Now, LockAfter: 3, AddrRate: rate.Inf, AttemptTimeout: time.Minute}
	const budget = 3 // LockAfter
	users := &switchUsers{Users: f.store}
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Guard = newThrottle(t, policy)
		c.Users = users
	})
	users.down.Store(true)
	for i := range 3 * budget {
		if code := login(h, johnName, johnPassword).Code; code != http.StatusServiceUnavailable {
			t.Fatalf("login %d with the store down: %d, want 503", i+1, code)
		}
	}
	users.down.Store(false)
	// The full budget is there: the outage cost no failures.
	for i := range budget {
		if code := login(h, johnName, "wrong").Code; code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d after the outage: %d, want 401", i+1, code)
		}
	}
	if code := login(h, johnName, johnPassword).Code; code != http.StatusTooManyRequests {
		t.Fatalf("login after the free failures: %d, want 429", code)
	}
	clk.Advance(time.Second)
	mustTokens(t, login(h, johnName, johnPassword))
	// The success reset the failures.
	if code := login(h, johnName, "wrong").Code; code != http.StatusUnauthorized {
		t.Fatalf("wrong password after a success: %d, want 401", code)
	}
}

func newThrottle(t testing.TB, p throttle.Policy) *throttle.Throttle {
	t.Helper()
	th, err := throttle.New(throttle.Config{Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return th
}
