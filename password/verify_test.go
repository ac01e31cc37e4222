package password

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// slowVerifications replaces verifyHash until the test ends: each
// computation takes cost(p) on the clock (a synctest bubble's), and the
// result is computed for real only for cheap hashes (dearer ones report
// no match). Tests using it must not run in parallel.
func slowVerifications(t *testing.T, cost func(p *parsedHash) time.Duration) {
	t.Helper()
	orig := verifyHash
	verifyHash = func(p *parsedHash, pw []byte) bool {
		time.Sleep(cost(p))
		if p.scheme == Bcrypt && p.cost <= 6 {
			return orig(p, pw)
		}
		return false
	}
	t.Cleanup(func() { verifyHash = orig })
}

// bcryptTime makes a bcrypt computation take 1 ms at cost 4, doubling per
// step: 64 ms at cost 10.
func bcryptTime(p *parsedHash) time.Duration { return time.Millisecond << (p.cost - 4) }

// A refusal against a legacy, cheaper hash is padded to the dummy
// comparison's running time, so it does not answer sooner than an unknown
// user; refusals that already cost a dummy-sized comparison are not.
func TestVerify_LegacyHashRefusalWaitsForTheDummy_L03(t *testing.T) {
	slowVerifications(t, bcryptTime)
	synctest.Test(t, func(t *testing.T) {
		h := &Hasher{Cost: MinCost}
		for _, tc := range []struct {
			name, stored, pw string
			want             error
			wait             time.Duration
		}{
			{"unknown user", "", "secret", ErrMalformedHash, 0},
			{"legacy hash, wrong password", secretCost4, "wrong", ErrMismatch, 63 * time.Millisecond},
			// A disabled account is refused despite the match.
			{"legacy hash, right password", secretCost4, "secret", nil, 63 * time.Millisecond},
			{"legacy hash, too long", secretCost4, strings.Repeat("a", 73), ErrTooLong, 63 * time.Millisecond},
			{"current hash, wrong password", secretCost10, "wrong", ErrMismatch, 0},
			{"malformed hash", "!", "secret", ErrMalformedHash, 0},
		} {
			start := time.Now()
			wait, err := h.Verify(tc.stored, tc.pw)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
			}
			if wait != tc.wait {
				t.Errorf("%s: wait %v, want %v", tc.name, wait, tc.wait)
			}
			if took := time.Since(start); took+wait < 64*time.Millisecond {
				t.Errorf("%s: took %v and waits %v, less than the 64ms dummy", tc.name, took, wait)
			}
		}
	})
}

// Before any dummy comparison, Verify makes one to learn what to pad to.
func TestVerify_LearnsTheDummyBeforeTheFirstPadding_L03(t *testing.T) {
	slowVerifications(t, bcryptTime)
	synctest.Test(t, func(t *testing.T) {
		h := &Hasher{Cost: MinCost}
		start := time.Now()
		wait, err := h.Verify(secretCost4, "wrong")
		if !errors.Is(err, ErrMismatch) || wait != 63*time.Millisecond {
			t.Fatalf("first legacy refusal: wait %v error %v, want 63ms and ErrMismatch", wait, err)
		}
		if took := time.Since(start); took != 65*time.Millisecond {
			t.Fatalf("first legacy refusal took %v, want 65ms (its own comparison and a dummy)", took)
		}
		start = time.Now()
		_, _ = h.Verify(secretCost4, "wrong")
		if took := time.Since(start); took != time.Millisecond {
			t.Fatalf("second legacy refusal took %v, want 1ms (the dummy is known)", took)
		}
	})
}

// A refusal takes as long as the slowest comparison seen: a costlier
// stored hash, or one of another scheme, raises the padding of every
// refusal (an unknown user's included) to its own time, up to eight dummy
// comparisons; the averages follow the comparisons' costs as they change.
func TestVerify_CostlierHashesRaiseThePaddingOfEveryRefusal_L03(t *testing.T) {
	dummyTime, argonTime := 64*time.Millisecond, 200*time.Millisecond
	slowVerifications(t, func(p *parsedHash) time.Duration {
		switch {
		case p.scheme == Argon2id:
			return argonTime
		case p.cost == MinCost:
			return dummyTime
		}
		return bcryptTime(p)
	})
	synctest.Test(t, func(t *testing.T) {
		h := &Hasher{Cost: MinCost}
		check := func(step, stored string, want time.Duration) {
			t.Helper()
			start := time.Now()
			wait, _ := h.Verify(stored, "wrong")
			if wait != want {
				t.Errorf("%s: wait %v, want %v", step, wait, want)
			}
			if total := time.Since(start) + wait; total < want {
				t.Errorf("%s: %v in all", step, total)
			}
		}
		check("unknown user, nothing costlier seen", "", 0)
		check("another scheme (argon2id, 200ms)", recipeArgon2, 0)
		check("unknown user after it", "", 136*time.Millisecond)
		check("current hash after it", secretCost10, 136*time.Millisecond)
		check("legacy hash after it", secretCost4, 199*time.Millisecond)
		check("costlier bcrypt (cost 12, 256ms)", bcryptWith("2b", "12"), 0)
		check("unknown user after cost 12", "", 192*time.Millisecond)
		check("argon2id after cost 12", recipeArgon2, 56*time.Millisecond)
		// A planted cost-16 hash (4 s) raises the padding to 8 × 64 ms
		// and no further.
		check("cost 16", bcryptWith("2b", "16"), 0)
		check("unknown user after cost 16", "", 448*time.Millisecond)
		dummyTime = 72 * time.Millisecond
		// The dummy average: 64 + (72-64)/8 = 65 ms, so the cap is 520 ms;
		// then 65 + (72-65)/8 = 65.875 ms, a cap of 527 ms.
		check("unknown user with a slower dummy", "", 448*time.Millisecond)
		check("unknown user, cap moved", "", 455*time.Millisecond)
	})
}
