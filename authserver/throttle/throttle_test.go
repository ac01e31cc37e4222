package throttle_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/throttle"
	"github.com/jwtkit/jwtkit/authserver/throttletest"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
)

func TestThrottle_Conformance(t *testing.T) {
	t.Parallel()
	throttletest.Run(t, func(t *testing.T, p throttle.Policy) authserver.LoginGuard {
		th, err := throttle.New(throttle.Config{Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		return th
	})
}

func TestNew_RefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]throttle.Config{
		"negative LockAfter":  {Policy: throttle.Policy{LockAfter: -1}},
		"negative AddrBurst":  {Policy: throttle.Policy{AddrBurst: -1}},
		"negative AddrRate":   {Policy: throttle.Policy{AddrRate: -1}},
		"cap below base":      {Policy: throttle.Policy{BaseLockout: time.Minute, MaxLockout: time.Second}},
		"negative MaxEntries": {MaxEntries: -1},
	} {
		if _, err := throttle.New(cfg); !errors.Is(err, throttle.ErrInvalidPolicy) {
			t.Errorf("%s: error %v, want ErrInvalidPolicy", name, err)
		}
	}
	if _, err := throttle.New(throttle.Config{}); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
}

// The address bucket refills on the policy's clock.
func TestThrottle_AddressBucketRefills_E14(t *testing.T) {
	t.Parallel()
	clk := jwttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	th, err := throttle.New(throttle.Config{Policy: throttle.Policy{Now: clk.Now, AddrRate: rate.Every(time.Second), AddrBurst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := th.Begin(ctx, authserver.Login{Username: "u1", ClientAddr: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	_, err = th.Begin(ctx, authserver.Login{Username: "u2", ClientAddr: "192.0.2.7"})
	var te *authserver.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Fatalf("second attempt: %v, want a 1s ThrottledError", err)
	}
	clk.Advance(time.Second)
	if _, err := th.Begin(ctx, authserver.Login{Username: "u2", ClientAddr: "192.0.2.7"}); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
}

// A locked account stays locked while a flood of new usernames and
// addresses fills the throttle.
func TestThrottle_FloodKeepsLockedAccounts(t *testing.T) {
	t.Parallel()
	clk := jwttest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	th, err := throttle.New(throttle.Config{Policy: throttle.Policy{Now: clk.Now, AddrRate: rate.Inf}, MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for range 6 {
		a, err := th.Begin(ctx, authserver.Login{Username: "victim", ClientAddr: "10.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		a.Failure(ctx)
	}
	for i := range 2000 {
		if a, err := th.Begin(ctx, authserver.Login{Username: fmt.Sprint("u", i), ClientAddr: fmt.Sprint("a", i)}); err == nil {
			a.Failure(ctx)
		}
	}
	_, err = th.Begin(ctx, authserver.Login{Username: "victim", ClientAddr: "10.0.0.1"})
	var te *authserver.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Fatalf("locked account after a flood of new keys: %v, want a 1s wait", err)
	}
}

func ExampleNew() {
	guard, err := throttle.New(throttle.Config{Policy: throttle.Policy{LockAfter: 2}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := range 3 {
		attempt, err := guard.Begin(ctx, authserver.Login{Username: "bob", ClientAddr: "192.0.2.1"})
		var refused *authserver.ThrottledError
		if errors.As(err, &refused) {
			fmt.Printf("attempt %d: retry after %v\n", i+1, refused.RetryAfter.Round(time.Second))
			continue
		}
		// ... compare the password, then end the attempt:
		attempt.Failure(ctx)
		fmt.Printf("attempt %d: wrong password\n", i+1)
	}
	// Output:
	// attempt 1: wrong password
	// attempt 2: wrong password
	// attempt 3: retry after 1s
}

// The conformance suite's trust tests run only on guards that forget
// trust; this one must.
var _ interface {
	ForgetTrust(ctx context.Context, username string) error
} = (*throttle.Throttle)(nil)
