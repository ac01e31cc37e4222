package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
	"github.com/jwtkit/jwtkit/store/storetest"
)

// faultEnv names the fault TestFaultyBackend injects; it is set only when
// TestSuiteDetectsFaults runs the test binary again.
const faultEnv = "JWTKIT_STORETEST_FAULT"

// faulty is the reference store with one deliberate bug, selected by name.
type faulty struct {
	*memstore.Store
	fault string
}

func (f *faulty) Rotate(ctx context.Context, r store.Rotation) (store.RefreshToken, error) {
	switch f.fault {
	case "GraceAlwaysOn":
		r.Grace = time.Hour
	case "IgnoresContext":
		ctx = context.Background()
	}
	got, err := f.Store.Rotate(ctx, r)
	switch {
	case f.fault == "ReuseReportedAsNotFound" && errors.Is(err, store.ErrReused):
		return got, fmt.Errorf("no such token: %w", store.ErrNotFound)
	case f.fault == "SuccessorNotClamped" && err == nil:
		got.ExpiresAt = r.Next.ExpiresAt
	}
	return got, err
}

func (f *faulty) RevokeFamily(ctx context.Context, subject, familyID string) error {
	if f.fault == "LogoutDoesNothing" {
		return nil
	}
	return f.Store.RevokeFamily(ctx, subject, familyID)
}

func (f *faulty) IsRevoked(ctx context.Context, t store.TokenRef) (bool, error) {
	if f.fault == "IsRevokedFailsOpen" {
		return false, nil
	}
	if f.fault == "SameSecondCountsAsAfter" {
		t.IssuedAt = t.IssuedAt.Add(999 * time.Millisecond)
	}
	return f.Store.IsRevoked(ctx, t)
}

func (f *faulty) Sweep(ctx context.Context, now time.Time, limit int) (int, error) {
	if f.fault == "SweepDoesNothing" {
		return 0, nil
	}
	return f.Store.Sweep(ctx, now, limit)
}

func (f *faulty) CreateUser(ctx context.Context, u store.User) error {
	if f.fault == "UsernameCaseInsensitive" {
		u.Username = strings.ToLower(u.Username)
	}
	return f.Store.CreateUser(ctx, u)
}

func (f *faulty) UserByUsername(ctx context.Context, username string) (store.User, error) {
	if f.fault == "UsernameCaseInsensitive" {
		username = strings.ToLower(username)
	}
	return f.Store.UserByUsername(ctx, username)
}

// TestFaultyBackend runs the suite against a faulty store. It only runs
// when started by TestSuiteDetectsFaults, and is expected to fail.
func TestFaultyBackend(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("run by TestSuiteDetectsFaults")
	}
	if fault == "AnswersWhenDown" {
		// A backend that answers is not down: Unavailable must fail it.
		t.Run("Unavailable", func(t *testing.T) {
			s := memstore.New()
			storetest.Unavailable(t, storetest.Stores{Users: s, UserWriter: s, Refresh: s, Revocations: s, Sweeper: s}, time.Second, nil)
		})
		return
	}
	storetest.RunWithOptions(t, func(t *testing.T) storetest.Stores {
		s := &faulty{Store: memstore.New(), fault: fault}
		return storetest.Stores{Users: s, UserWriter: s, Refresh: s, Revocations: s, Sweeper: s}
	}, storetest.Options{Repeat: 2, Goroutines: 8})
}

// TestSuiteDetectsFaults checks that the suite fails a backend with a
// known bug, in the subtests meant to catch it.
func TestSuiteDetectsFaults(t *testing.T) {
	if os.Getenv(faultEnv) != "" {
		t.Skip("already inside a faulty run")
	}
	cases := []struct {
		fault    string
		mustFail []string
	}{
		{"GraceAlwaysOn", []string{"Refresh/R02_ReuseWithoutGraceRightAfterRotation", "Concurrency/R03_ConcurrentRefreshSingleWinner"}},
		{"IgnoresContext", []string{"Cancellation/R17_AlreadyCancelled/Rotate", "Cancellation/R17_DeadlineExpired/Rotate"}},
		{"ReuseReportedAsNotFound", []string{"Refresh/R02_ReuseAfterRotationRevokesFamily", "Sweep/R16_SweepUnderLoad"}},
		{"SuccessorNotClamped", []string{"Refresh/R06_AbsoluteLifetime"}},
		{"LogoutDoesNothing", []string{"Refresh/R05_RevokedFamily", "Concurrency/R05_LogoutVersusRefreshRace"}},
		{"IsRevokedFailsOpen", []string{"Revocations/R08_IsRevokedSubjectCutoff", "Revocations/R09_DenylistKeepsTokenRevoked", "Refresh/R02_ReuseAfterRotationRevokesFamily"}},
		{"SameSecondCountsAsAfter", []string{"Revocations/R08_IsRevokedSubjectCutoff/R08_SameSecondNoFamily"}},
		{"SweepDoesNothing", []string{"Sweep/R16_SweepDeletesExpiredKeepsLive", "Sweep/R16_SweepLimit"}},
		{"UsernameCaseInsensitive", []string{"Users/NotFound/UsernameCaseDiffers", "Users/S07_InjectionUsernamesRoundTrip"}},
		{"AnswersWhenDown", []string{"Unavailable"}},
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestFaultyBackend$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), faultEnv+"="+tc.fault)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("suite passed (or did not run) with fault %s: %v\n%s", tc.fault, err, tail(out))
			}
			for _, name := range tc.mustFail {
				if !strings.Contains(string(out), "--- FAIL: TestFaultyBackend/"+name+" ") {
					t.Errorf("subtest %s did not fail with fault %s", name, tc.fault)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", tail(out))
			}
		})
	}
}

// tail returns the last lines of out.
func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}
