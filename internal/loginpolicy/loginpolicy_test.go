package loginpolicy

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func resolved(t *testing.T, p Policy) Policy {
	t.Helper()
	r, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolve_ZeroTakesDefaults(t *testing.T) {
	t.Parallel()
	p := resolved(t, Policy{})
	if p.LockAfter != 6 || p.BaseLockout != time.Second || p.MaxLockout != 20*time.Minute ||
		p.ForgetAfter != 24*time.Hour || p.AddrRate != rate.Every(3*time.Second) || p.AddrBurst != 20 ||
		p.AttemptTimeout != time.Minute || p.Now == nil {
		t.Fatalf("defaults: %+v", p)
	}
	set := resolved(t, Policy{LockAfter: 3, BaseLockout: time.Minute, MaxLockout: time.Hour, AddrRate: rate.Inf, AddrBurst: 1})
	if set.LockAfter != 3 || set.BaseLockout != time.Minute || set.MaxLockout != time.Hour || set.AddrRate != rate.Inf || set.AddrBurst != 1 {
		t.Fatalf("set fields replaced: %+v", set)
	}
}

func TestResolve_RefusesNegativeAndInvertedValues(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]Policy{
		"LockAfter":              {LockAfter: -1},
		"BaseLockout":            {BaseLockout: -time.Second},
		"MaxLockout":             {MaxLockout: -time.Second},
		"ForgetAfter":            {ForgetAfter: -time.Second},
		"AddrRate":               {AddrRate: -1},
		"AddrBurst":              {AddrBurst: -1},
		"AttemptTimeout":         {AttemptTimeout: -time.Second},
		"MaxLockout below Base":  {BaseLockout: time.Hour, MaxLockout: time.Minute},
		"Base above default cap": {BaseLockout: time.Hour},
	} {
		if _, err := p.Resolve(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, err)
		}
	}
}

func TestLockoutAfter_DoublesUpToTheCap(t *testing.T) {
	t.Parallel()
	p := resolved(t, Policy{})
	for failures, want := range map[int]time.Duration{
		0: 0, 5: 0, 6: time.Second, 7: 2 * time.Second, 8: 4 * time.Second,
		16: 1024 * time.Second, 17: 20 * time.Minute, 1000: 20 * time.Minute,
	} {
		if got := p.LockoutAfter(failures); got != want {
			t.Errorf("LockoutAfter(%d) = %v, want %v", failures, got, want)
		}
	}
}

// With the defaults, an attacker who retries the moment each lockout ends
// gets fewer than the 100 failures a day NIST SP 800-63B allows.
func TestLockoutAfter_DefaultsStayWithinNIST_E14(t *testing.T) {
	t.Parallel()
	p := resolved(t, Policy{})
	var elapsed time.Duration
	n := 0
	for elapsed < 24*time.Hour {
		n++
		elapsed += p.LockoutAfter(n)
	}
	if n > 100 {
		t.Fatalf("%d failures fit in 24 h, NIST allows 100", n)
	}
}

func TestInFlightLimit_ShrinksWithFailures(t *testing.T) {
	t.Parallel()
	p := resolved(t, Policy{LockAfter: 4})
	for failures, want := range map[int]int{0: 4, 1: 3, 3: 1, 4: 1, 50: 1} {
		if got := p.InFlightLimit(failures); got != want {
			t.Errorf("InFlightLimit(%d) = %d, want %d", failures, got, want)
		}
	}
}

func TestAddrKey_IPv6ByPrefix(t *testing.T) {
	t.Parallel()
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
		if got := AddrKey(c.in); got != c.want {
			t.Errorf("AddrKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// LockAfter 1 locks at the first failure, one attempt at a time.
func TestLockAfterOne_LocksAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	p := resolved(t, Policy{LockAfter: 1})
	if got := p.LockoutAfter(1); got != time.Second {
		t.Errorf("LockoutAfter(1) = %v, want 1s", got)
	}
	if got := p.InFlightLimit(0); got != 1 {
		t.Errorf("InFlightLimit(0) = %d, want 1", got)
	}
}
