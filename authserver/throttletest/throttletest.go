// Package throttletest is the conformance suite of login guards built on
// throttle.Policy (authserver/throttle, authserver/redisthrottle, or a
// guard of your own), with a settable clock and a concurrent Begin
// driver.
package throttletest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/throttle"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
)

// BeginAll runs n concurrent Begins for one account, each from its own
// address and spread in turn over guards (instances sharing state), and
// returns the attempts let through. It fails the test if a Begin fails
// for any reason but a throttling refusal with a positive RetryAfter.
func BeginAll(t testing.TB, n int, username string, guards ...authserver.LoginGuard) []*authserver.Attempt {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  []*authserver.Attempt
		errs atomic.Int32
	)
	for i := range n {
		wg.Go(func() {
			a, err := guards[i%len(guards)].Begin(context.Background(), authserver.Login{Username: username, ClientAddr: fmt.Sprintf("198.51.100.%d", i)})
			var te *authserver.ThrottledError
			switch {
			case err == nil && a != nil:
				mu.Lock()
				got = append(got, a)
				mu.Unlock()
			case !errors.As(err, &te) || te.RetryAfter <= 0:
				errs.Add(1)
			}
		})
	}
	wg.Wait()
	if errs.Load() > 0 {
		t.Fatalf("%d Begins failed otherwise than by a throttling refusal", errs.Load())
	}
	return got
}

// Run runs the suite. newGuard returns a guard applying p that shares no
// state with any other guard it returned; Run calls it from parallel
// subtests. Every policy Run passes sets Now to a [jwttest.Clock] of its own;
// address budgets are only tested without moving that clock, since a
// guard may keep them on another (Redis's).
func Run(t *testing.T, newGuard func(t *testing.T, p throttle.Policy) authserver.LoginGuard) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s *suite)
	}{
		{"LockoutGrowsWithFailuresAndEndsOnSuccess_E14", testLockoutGrows},
		{"AddressBudget_E14", testAddressBudget},
		{"IPv6AddressBudgetPer64_E14", testIPv6Per64},
		{"AddressRefusalTakesNoAccountPlace", testAddressRefusalTakesNoPlace},
		{"ConcurrentAttemptsShareBudget_E14", testConcurrentShareBudget},
		{"SuccessEndsOnlyItsOwnAttempt_E14", testSuccessEndsOwnAttempt},
		{"AbandonedAttemptsLapse_E14", testAbandonedLapse},
		{"ReleaseGivesPlaceBack_E14", testReleaseGivesPlaceBack},
		{"SecondEndIsNoOp", testSecondEndIsNoOp},
		{"LateOutcomeEndsNoOtherAttempt", testLateOutcome},
		{"TrustedAddressKeepsItsOwnBudget", testTrustedAddress},
		{"DeviceKeepsItsOwnBudget", testDeviceBudget},
		{"SharedBudgetCapsGuessesPerDayFrom1000Addresses", testDailyCap},
		{"TrustLapses", testTrustLapses},
		{"DeviceIsNotChargedToItsAddress", testDeviceNotChargedToAddress},
		{"ForgetTrustEndsTheAccountsTrust", testForgetTrust},
		{"CrossOriginAttemptsNeitherUseNorEarnTrust", testCrossOriginTrust},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A real start, whole milliseconds: Redis keeps them.
			clk := jwttest.NewClock(time.Now().Truncate(time.Millisecond))
			tc.test(t, &suite{clk: clk, newGuard: func(p throttle.Policy) authserver.LoginGuard {
				p.Now = clk.Now
				return newGuard(t, p)
			}})
		})
	}
}

type suite struct {
	clk      *jwttest.Clock
	newGuard func(throttle.Policy) authserver.LoginGuard
}

// begin runs one Begin and returns the attempt, or the wait of a refusal.
func begin(t *testing.T, g authserver.LoginGuard, user, addr string) (*authserver.Attempt, time.Duration) {
	t.Helper()
	return beginLogin(t, g, authserver.Login{Username: user, ClientAddr: addr})
}

// beginLogin runs one Begin for l and returns the attempt, or the wait of
// a refusal.
func beginLogin(t *testing.T, g authserver.LoginGuard, l authserver.Login) (*authserver.Attempt, time.Duration) {
	t.Helper()
	a, err := g.Begin(t.Context(), l)
	if err == nil {
		if a == nil {
			t.Fatalf("Begin(%+v) let the attempt through with a nil Attempt", l)
		}
		return a, 0
	}
	var te *authserver.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, authserver.ErrThrottled) || te.RetryAfter <= 0 {
		t.Fatalf("Begin(%+v): %v, want nil or a ThrottledError with a positive wait", l, err)
	}
	return nil, te.RetryAfter
}

// mustBegin runs one Begin that must be let through.
func mustBegin(t *testing.T, g authserver.LoginGuard, user, addr, step string) *authserver.Attempt {
	t.Helper()
	a, wait := begin(t, g, user, addr)
	if a == nil {
		t.Fatalf("%s: refused, retry after %v", step, wait)
	}
	return a
}

// mustWait runs one Begin that must be refused, and returns the wait.
func mustWait(t *testing.T, g authserver.LoginGuard, user, addr, step string) time.Duration {
	t.Helper()
	a, wait := begin(t, g, user, addr)
	if a != nil {
		t.Fatalf("%s: let through", step)
	}
	return wait
}

func testLockoutGrows(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Inf})
	ctx := t.Context()
	for i := range 6 {
		mustBegin(t, g, "bob", "10.0.0.1", fmt.Sprintf("attempt %d", i+1)).Failure(ctx)
	}
	// The sixth failure locks for 1 s, the seventh for 2 s, and so on.
	if d := mustWait(t, g, "bob", "10.0.0.2", "after 6 failures"); d != time.Second {
		t.Fatalf("lockout after 6 failures = %v, want 1s (from any address)", d)
	}
	s.clk.Advance(time.Second)
	mustBegin(t, g, "bob", "10.0.0.1", "after the first lockout").Failure(ctx)
	if d := mustWait(t, g, "bob", "10.0.0.1", "after 7 failures"); d != 2*time.Second {
		t.Fatalf("lockout after 7 failures = %v, want 2s", d)
	}
	mustBegin(t, g, "carol", "10.0.0.1", "another account").Release(ctx)
	s.clk.Advance(2 * time.Second)
	mustBegin(t, g, "bob", "10.0.0.1", "after the second lockout").Success(ctx)
	mustBegin(t, g, "bob", "10.0.0.1", "after a success").Failure(ctx)
	mustBegin(t, g, "bob", "10.0.0.1", "one failure after a success").Release(ctx)
}

func testAddressBudget(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Every(time.Minute), AddrBurst: 3})
	for i := range 3 {
		mustBegin(t, g, fmt.Sprint("user", i), "192.0.2.7", fmt.Sprintf("attempt %d within the burst", i+1))
	}
	if d := mustWait(t, g, "user9", "192.0.2.7", "beyond the burst"); d > time.Minute {
		t.Fatalf("beyond the burst: wait %v, want at most the 1 min refill", d)
	}
	mustBegin(t, g, "user9", "192.0.2.8", "another address")
}

func testIPv6Per64(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Every(time.Minute), AddrBurst: 2})
	for i, step := range []struct {
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
	} {
		if a, d := begin(t, g, fmt.Sprint("user", i), step.addr); (a == nil) != step.throttled {
			t.Errorf("step %d, %s: wait %v, throttled want %v", i, step.addr, d, step.throttled)
		}
	}
}

func testAddressRefusalTakesNoPlace(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{LockAfter: 2, AddrRate: rate.Every(time.Minute), AddrBurst: 1})
	mustBegin(t, g, "bob", "198.51.100.1", "first attempt")
	mustWait(t, g, "bob", "198.51.100.1", "second attempt from the drained address")
	// The refused attempt holds no place: bob's second one is still free.
	mustBegin(t, g, "bob", "198.51.100.2", "attempt from another address")
}

func testConcurrentShareBudget(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{LockAfter: 4, AddrRate: rate.Inf})
	ctx := t.Context()
	const budget = 4 // LockAfter
	// No attempt ends while the Begins run, as when every request is
	// still hashing: only the budget may pass.
	attempts := BeginAll(t, 50, "bob", g)
	if len(attempts) != budget {
		t.Fatalf("%d of 50 concurrent attempts let through, budget %d", len(attempts), budget)
	}
	for _, a := range attempts {
		a.Failure(ctx)
	}
	if d := mustWait(t, g, "bob", "198.51.100.1", "after the budget failed"); d != time.Second {
		t.Fatalf("after %d failures: wait %v, want the 1s first lockout", budget, d)
	}
	// Once locked, one attempt at a time, as for attempts in sequence.
	s.clk.Advance(time.Second)
	attempts = BeginAll(t, 50, "bob", g)
	if len(attempts) != 1 {
		t.Fatalf("%d of 50 concurrent attempts let through after a lockout, want 1", len(attempts))
	}
	attempts[0].Failure(ctx)
	if d := mustWait(t, g, "bob", "198.51.100.1", "after one more failure"); d != 2*time.Second {
		t.Fatalf("after %d failures: wait %v, want 2s", budget+1, d)
	}
	if n := len(BeginAll(t, 10, "carol", g)); n != budget {
		t.Fatalf("another account: %d of 10 let through, want %d", n, budget)
	}
}

func testSuccessEndsOwnAttempt(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{LockAfter: 4, AddrRate: rate.Inf})
	ctx := t.Context()
	for i := range 3 {
		mustBegin(t, g, "bob", "10.0.0.1", fmt.Sprintf("free attempt %d", i+1)).Failure(ctx)
	}
	// One free failure left: one attempt in flight at a time.
	last := mustBegin(t, g, "bob", "10.0.0.1", "last free attempt")
	if d := mustWait(t, g, "bob", "10.0.0.2", "second attempt while the last free one is in flight"); d != time.Second {
		t.Fatalf("second attempt in flight: wait %v, want 1s", d)
	}
	last.Success(ctx)
	var inFlight []*authserver.Attempt
	for i := range 4 {
		inFlight = append(inFlight, mustBegin(t, g, "bob", "10.0.0.1", fmt.Sprintf("attempt %d after the success", i+1)))
	}
	mustWait(t, g, "bob", "10.0.0.1", "fifth attempt in flight")
	// A success ends its own attempt only: the three others in flight
	// still count.
	inFlight[0].Success(ctx)
	mustBegin(t, g, "bob", "10.0.0.1", "attempt after the second success")
	mustWait(t, g, "bob", "10.0.0.1", "one more with four in flight")
}

func testAbandonedLapse(t *testing.T, s *suite) {
	// A first lockout longer than the attempt timeout: a refusal waits
	// until the first attempt in flight lapses.
	g := s.newGuard(throttle.Policy{LockAfter: 2, AddrRate: rate.Inf, BaseLockout: 5 * time.Minute, AttemptTimeout: time.Minute})
	ctx := t.Context()
	// Two attempts begin and never end (say the process died).
	mustBegin(t, g, "bob", "10.0.0.1", "first attempt")
	s.clk.Advance(time.Second)
	mustBegin(t, g, "bob", "10.0.0.1", "second attempt")
	if d := mustWait(t, g, "bob", "10.0.0.1", "third attempt"); d != time.Minute-time.Second {
		t.Fatalf("while both are in flight: wait %v, want 59s (until the first lapses)", d)
	}
	s.clk.Advance(time.Minute)
	// They counted as no failure: the whole budget is back.
	a := mustBegin(t, g, "bob", "10.0.0.1", "first attempt after the lapse")
	b := mustBegin(t, g, "bob", "10.0.0.1", "second attempt after the lapse")
	a.Failure(ctx)
	b.Failure(ctx)
	if d := mustWait(t, g, "bob", "10.0.0.1", "after two failures"); d != 5*time.Minute {
		t.Fatalf("after 2 failures: wait %v, want the 5 min first lockout (lapsed attempts counted?)", d)
	}
}

func testReleaseGivesPlaceBack(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{LockAfter: 2, AddrRate: rate.Inf})
	ctx := t.Context()
	a := mustBegin(t, g, "bob", "10.0.0.1", "first attempt")
	b := mustBegin(t, g, "bob", "10.0.0.1", "second attempt")
	mustWait(t, g, "bob", "10.0.0.1", "third attempt in flight")
	a.Release(ctx)
	c := mustBegin(t, g, "bob", "10.0.0.1", "attempt after a release")
	b.Release(ctx)
	c.Release(ctx)
	// Released attempts are no failures: the whole budget is back.
	mustBegin(t, g, "bob", "10.0.0.1", "first attempt after all were released").Failure(ctx)
	mustBegin(t, g, "bob", "10.0.0.1", "second attempt after all were released").Failure(ctx)
	if d := mustWait(t, g, "bob", "10.0.0.1", "after two failures"); d != time.Second {
		t.Fatalf("after 2 failures: wait %v, want 1s", d)
	}
}

func testSecondEndIsNoOp(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{LockAfter: 2, AddrRate: rate.Inf})
	ctx := t.Context()
	a := mustBegin(t, g, "bob", "10.0.0.1", "first attempt")
	a.Failure(ctx)
	a.Failure(ctx) // a second failure would lock the account
	a.Success(ctx) // a success would forget the failure
	a.Release(ctx)
	mustBegin(t, g, "bob", "10.0.0.1", "attempt after one failure").Failure(ctx)
	if d := mustWait(t, g, "bob", "10.0.0.1", "after two failures"); d != time.Second {
		t.Fatalf("after 2 failures: wait %v, want 1s", d)
	}
}

func testLateOutcome(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{LockAfter: 2, AddrRate: rate.Inf, AttemptTimeout: time.Minute})
	ctx := t.Context()
	late := mustBegin(t, g, "bob", "10.0.0.1", "attempt that will lapse")
	s.clk.Advance(time.Minute)
	mustBegin(t, g, "bob", "10.0.0.1", "first attempt after the lapse")
	mustBegin(t, g, "bob", "10.0.0.1", "second attempt after the lapse")
	// The lapsed attempt ends now: it has no place left to give back, and
	// must not give back another attempt's.
	late.Release(ctx)
	mustWait(t, g, "bob", "10.0.0.1", "third attempt in flight")
}

// attacker fails logins on user from address addr until the shared budget
// is locked, and returns the lockout's wait.
func lockShared(t *testing.T, s *suite, g authserver.LoginGuard, user, addr string) time.Duration {
	t.Helper()
	for i := 0; ; i++ {
		a, wait := begin(t, g, user, addr)
		if a == nil {
			return wait
		}
		if i > 100 {
			t.Fatal("the shared budget never locked")
		}
		a.Failure(t.Context())
	}
}

// An address that logged in to the account keeps a budget of its own: an
// attacker failing from another address cannot lock the user out of it,
// and the user's own failures there do not unlock the attacker's.
func testTrustedAddress(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Inf})
	ctx := t.Context()
	mustBegin(t, g, "bob", "203.0.113.5", "the user's login").Success(ctx)
	lockShared(t, s, g, "bob", "198.51.100.66")
	mustWait(t, g, "bob", "198.51.100.67", "another untrusted address while the account is locked")
	mustBegin(t, g, "bob", "203.0.113.5", "the user, from the address that logged in before").Success(ctx)
	// The user mistypes, then gets it right: still its own budget.
	for i := range 3 {
		mustBegin(t, g, "bob", "203.0.113.5", fmt.Sprintf("user's typo %d", i+1)).Failure(ctx)
	}
	mustBegin(t, g, "bob", "203.0.113.5", "the user after typos").Success(ctx)
	mustWait(t, g, "bob", "198.51.100.66", "the attacker after the user's success")
	// The trust is per account: the address is a stranger to others.
	lockShared(t, s, g, "carol", "198.51.100.66")
	mustWait(t, g, "carol", "203.0.113.5", "bob's address on carol's locked account")
}

// A client with a device cookie of the account keeps a budget of its own,
// and a device that fails locks only itself.
func testDeviceBudget(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Inf})
	ctx := t.Context()
	lockShared(t, s, g, "bob", "198.51.100.66")
	device := authserver.Login{Username: "bob", ClientAddr: "192.0.2.200", Device: "dev-1"}
	if a, wait := beginLogin(t, g, device); a == nil {
		t.Fatalf("the user's device, from a new address, while the account is locked: refused for %v", wait)
	} else {
		a.Success(ctx)
	}
	// A stolen or mistyping device fails until it is locked itself...
	for i := 0; ; i++ {
		a, _ := beginLogin(t, g, device)
		if a == nil {
			break
		}
		if i > 100 {
			t.Fatal("a failing device was never locked")
		}
		a.Failure(ctx)
	}
	// ... which leaves the user's other devices alone.
	other := authserver.Login{Username: "bob", ClientAddr: "192.0.2.201", Device: "dev-2"}
	if a, wait := beginLogin(t, g, other); a == nil {
		t.Fatalf("another device of the user: refused for %v", wait)
	}
	// A device ID is an account's: the same ID on another account is
	// another budget.
	if a, wait := beginLogin(t, g, authserver.Login{Username: "carol", ClientAddr: "192.0.2.200", Device: "dev-1"}); a == nil {
		t.Fatalf("bob's locked device ID on carol's account: refused for %v", wait)
	}
}

// However many addresses guess, the shared budget of an account lets
// fewer than 100 failures through in 24 hours (NIST SP 800-63B), and the
// user's trusted address still gets in at the end.
func testDailyCap(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Inf})
	ctx := t.Context()
	mustBegin(t, g, "bob", "203.0.113.5", "the user's login").Success(ctx)
	start := s.clk.Now()
	failures, refusals, userIn := 0, 0, 0
	for i := 0; s.clk.Now().Sub(start) < 24*time.Hour; i++ {
		addr := fmt.Sprintf("198.51.%d.%d", 100+i/250%4, i%250)
		a, wait := begin(t, g, "bob", addr)
		if a == nil {
			refusals++
			// The user tries too, every time the attacker is refused.
			mustBegin(t, g, "bob", "203.0.113.5", "the user during the attack").Success(ctx)
			userIn++
			s.clk.Advance(wait)
			continue
		}
		a.Failure(ctx)
		failures++
	}
	t.Logf("24 h from 1,000 addresses: %d failures let through, %d refusals, the user got in %d of %d times", failures, refusals, userIn, refusals)
	if failures >= 100 {
		t.Fatalf("%d failures in 24 hours, want fewer than 100", failures)
	}
}

// The trust in an address ends TrustFor after its last success.
func testTrustLapses(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Inf, TrustFor: time.Hour, MaxLockout: 2 * time.Hour, BaseLockout: 2 * time.Hour, LockAfter: 1})
	ctx := t.Context()
	mustBegin(t, g, "bob", "203.0.113.5", "the user's login").Success(ctx)
	lockShared(t, s, g, "bob", "198.51.100.66")
	mustBegin(t, g, "bob", "203.0.113.5", "the trusted address within the hour").Release(ctx)
	s.clk.Advance(time.Hour)
	mustWait(t, g, "bob", "203.0.113.5", "the once trusted address after an hour")
}

// A client with a device cookie is limited by its own budget, not by its
// address's bucket, which a page in the user's browser or others behind
// the same address may drain.
func testDeviceNotChargedToAddress(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Every(time.Hour), AddrBurst: 2})
	ctx := t.Context()
	for i := range 2 {
		mustBegin(t, g, fmt.Sprint("user", i), "203.0.113.5", "draining the address").Release(ctx)
	}
	mustWait(t, g, "bob", "203.0.113.5", "the drained address")
	if a, wait := beginLogin(t, g, authserver.Login{Username: "alice", ClientAddr: "203.0.113.5", Device: "dev-1"}); a == nil {
		t.Fatalf("alice's device behind the drained address: refused for %v", wait)
	}
}

// ForgetTrust (a password change) ends the trust in every address that
// logged in to the account, and only for that account.
func testForgetTrust(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Inf})
	f, ok := g.(interface {
		ForgetTrust(ctx context.Context, username string) error
	})
	if !ok {
		t.Skip("the guard trusts no addresses")
	}
	ctx := t.Context()
	mustBegin(t, g, "bob", "203.0.113.5", "bob's login").Success(ctx)
	mustBegin(t, g, "carol", "203.0.113.5", "carol's login").Success(ctx)
	if err := f.ForgetTrust(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	lockShared(t, s, g, "bob", "198.51.100.66")
	mustWait(t, g, "bob", "203.0.113.5", "bob's once trusted address after ForgetTrust")
	lockShared(t, s, g, "carol", "198.51.100.66")
	mustBegin(t, g, "carol", "203.0.113.5", "carol's trusted address")
}

// A browser request for another origin's page (perhaps a page the user
// merely visited, posting guesses from the user's address) neither draws
// on the address's trust nor earns it.
func testCrossOriginTrust(t *testing.T, s *suite) {
	g := s.newGuard(throttle.Policy{AddrRate: rate.Inf})
	ctx := t.Context()
	cross := func(user, addr string) authserver.Login {
		return authserver.Login{Username: user, ClientAddr: addr, CrossOrigin: true}
	}
	mustBegin(t, g, "bob", "203.0.113.5", "bob's login").Success(ctx)
	// Guesses from bob's trusted address, made for another origin, fail
	// against the shared budget and leave bob's own alone.
	for i := 0; ; i++ {
		a, _ := beginLogin(t, g, cross("bob", "203.0.113.5"))
		if a == nil {
			break
		}
		if i > 100 {
			t.Fatal("cross-origin guesses from the trusted address never locked")
		}
		a.Failure(ctx)
	}
	mustWait(t, g, "bob", "198.51.100.66", "an untrusted address: the shared budget is locked")
	mustBegin(t, g, "bob", "203.0.113.5", "bob, same-origin, from his address").Success(ctx)
	// A cross-origin success earns no trust.
	s.clk.Advance(time.Hour)
	if a, wait := beginLogin(t, g, cross("carol", "192.0.2.9")); a == nil {
		t.Fatalf("carol's cross-origin login: refused for %v", wait)
	} else {
		a.Success(ctx)
	}
	lockShared(t, s, g, "carol", "198.51.100.66")
	mustWait(t, g, "carol", "192.0.2.9", "the address of carol's cross-origin login")
}
