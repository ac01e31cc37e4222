package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// testConcurrency covers the race scenarios of SECURITY.md §3: concurrent
// refresh of one token, reuse against rotation, revoke-all against
// rotation, logout against refresh.
func (st *suite) testConcurrency(t *testing.T) {
	n, reps := st.opts.Goroutines, st.opts.Repeat

	t.Run("R03_ConcurrentRefreshSingleWinner", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		for rep := range reps {
			_, rt1 := fx.defaultFamily()
			now := fx.at(time.Second)
			res := make([]result, n)
			race(n, func(i int) {
				res[i].tok, res[i].err = fx.rotate(rt1, now, 0)
			})
			// Serialised, the first call wins, the second finds a consumed
			// token in a live family (reuse: it revokes the family), and
			// later ones find either the consumed token or the revoked
			// family.
			var winner store.RefreshToken
			wins, reused, revoked := 0, 0, 0
			for _, r := range res {
				switch {
				case r.err == nil:
					wins++
					winner = r.tok
				case errors.Is(r.err, store.ErrReused):
					reused++
				case errors.Is(r.err, store.ErrRevoked):
					revoked++
				default:
					t.Errorf("rep %d: unexpected error %v", rep, r.err)
				}
			}
			if wins != 1 || reused < 1 || wins+reused+revoked != n {
				t.Fatalf("rep %d: %d successes, %d ErrReused, %d ErrRevoked of %d; want exactly 1 success, at least 1 ErrReused, the rest ErrReused or ErrRevoked",
					rep, wins, reused, revoked, n)
			}
			// The server cannot tell who is legitimate: the winner's
			// successor is dead too.
			fx.wantRotateErr(winner, now.Add(time.Second), 0, store.ErrRevoked)
			fx.wantRevoked(accessRef(winner, now), true)
		}
	})

	t.Run("R03_ConcurrentRefreshWithGraceSingleLiveToken", func(t *testing.T) {
		// Inside the grace window every duplicate succeeds, but only by
		// replacing the family's current token: whatever the order, the
		// family ends with exactly one live token, never a second branch.
		fx := st.open(t, capRefresh)
		const grace = time.Minute
		for rep := range reps {
			_, rt1 := fx.defaultFamily()
			now := fx.at(time.Second)
			res := make([]result, n)
			race(n, func(i int) {
				res[i].tok, res[i].err = fx.rotate(rt1, now, grace)
			})
			seen := make(map[string]bool, n)
			for i, r := range res {
				if r.err != nil {
					t.Fatalf("rep %d: goroutine %d: Rotate inside the grace window: %v", rep, i, r.err)
				}
				if seen[r.tok.ID] {
					t.Fatalf("rep %d: successor %s returned twice", rep, short(r.tok.ID))
				}
				seen[r.tok.ID] = true
			}
			// One more retry, sequential: its successor z is now the only
			// live token, and every successor returned above is consumed.
			z := fx.mustRotateGrace(rt1, now.Add(time.Second), grace)
			probe := res[rand.IntN(n)].tok
			if rep%2 == 0 {
				// z works; then any earlier successor is reuse.
				z2 := fx.mustRotate(z, now.Add(2*time.Second))
				fx.wantRotateErr(probe, now.Add(3*time.Second), 0, store.ErrReused)
				fx.wantRotateErr(z2, now.Add(4*time.Second), 0, store.ErrRevoked)
			} else {
				// Any earlier successor is reuse; then z is dead.
				fx.wantRotateErr(probe, now.Add(2*time.Second), 0, store.ErrReused)
				fx.wantRotateErr(z, now.Add(3*time.Second), 0, store.ErrRevoked)
			}
			// Outside the window a duplicate is plain reuse.
			fx.wantRotateErr(rt1, now.Add(grace+time.Second), grace, store.ErrReused, store.ErrRevoked)
		}
	})

	t.Run("R03_ConcurrentIndependentFamilies", func(t *testing.T) {
		// Rotations of different families never interfere.
		fx := st.open(t, capRefresh)
		const steps = 10
		families := min(n, 16)
		toks := make([]store.RefreshToken, families)
		for i := range toks {
			_, toks[i] = fx.defaultFamily()
		}
		errs := make([]error, families)
		race(families, func(i int) {
			for j := range steps {
				next, err := fx.rotate(toks[i], fx.at(time.Duration(j+1)*time.Millisecond), 0)
				if err != nil {
					errs[i] = fmt.Errorf("step %d: %w", j, err)
					return
				}
				toks[i] = next
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("family %d: %v", i, err)
			}
		}
	})

	t.Run("R02_ReuseVersusRotationRace", func(t *testing.T) {
		// A rotates RT2→RT3 while B replays RT1. Every interleaving ends
		// with the family revoked and RT3 unusable.
		fx := st.open(t, capRefresh)
		aFirst := 0
		for rep := range reps {
			_, rt1 := fx.defaultFamily()
			rt2 := fx.mustRotate(rt1, fx.at(time.Second))
			now := fx.at(2 * time.Second)
			var rt3 store.RefreshToken
			var errA, errB error
			race(2, func(i int) {
				if i == 0 {
					rt3, errA = fx.rotate(rt2, now, 0)
				} else {
					_, errB = fx.rotate(rt1, now, 0)
				}
			})
			// RT1 is consumed and the family live whichever ran first.
			if !errors.Is(errB, store.ErrReused) {
				t.Fatalf("rep %d: replay of RT1: %v, want ErrReused", rep, errB)
			}
			switch {
			case errA == nil:
				aFirst++
				fx.wantRotateErr(rt3, now.Add(time.Second), 0, store.ErrRevoked)
			case errors.Is(errA, store.ErrRevoked):
			default:
				t.Fatalf("rep %d: rotation of RT2: %v, want success or ErrRevoked", rep, errA)
			}
			fx.wantRotateErr(rt2, now.Add(2*time.Second), 0, store.ErrRevoked, store.ErrReused)
			fx.wantRevoked(accessRef(rt2, now), true)
		}
		t.Logf("rotation first in %d of %d runs", aFirst, reps)
	})

	t.Run("R07_RevokeSubjectVersusRotationRace", func(t *testing.T) {
		// After RevokeSubject returns, no rotation of the subject succeeds,
		// and a rotation that raced with it left no live token.
		fx := st.open(t, capRefresh, capRevocations)
		const families, steps = 4, 25
		for rep := range reps {
			sub := newID("sub")
			cur := make([]store.RefreshToken, families)
			for i := range cur {
				_, cur[i] = fx.newFamily(sub, fx.at(-time.Minute), fx.at(defaultFamilyLife))
			}
			var revokeDone atomic.Bool
			var revokeErr error
			violations := make([]string, families)
			errs := make([]error, families)
			race(families+1, func(i int) {
				if i == families {
					revokeErr = fx.s.Revocations.RevokeSubject(fx.ctx(), sub, fx.base, time.Hour)
					revokeDone.Store(true)
					return
				}
				for j := range steps {
					startedAfter := revokeDone.Load()
					next, err := fx.rotate(cur[i], fx.at(time.Duration(j+1)*time.Millisecond), 0)
					if err != nil {
						if !errors.Is(err, store.ErrRevoked) {
							errs[i] = err
						}
						return
					}
					if startedAfter {
						violations[i] = fmt.Sprintf("rotation %d started after RevokeSubject returned and succeeded", j)
					}
					cur[i] = next
				}
			})
			if revokeErr != nil {
				t.Fatalf("rep %d: RevokeSubject: %v", rep, revokeErr)
			}
			for i := range families {
				if violations[i] != "" {
					t.Errorf("rep %d: family %d: %s", rep, i, violations[i])
				}
				if errs[i] != nil {
					t.Errorf("rep %d: family %d: %v, want success or ErrRevoked", rep, i, errs[i])
				}
				// Whatever raced, the newest token of each family is dead.
				fx.wantRotateErr(cur[i], fx.at(time.Second), 0, store.ErrRevoked)
			}
		}
	})

	t.Run("R05_LogoutVersusRefreshRace", func(t *testing.T) {
		// RevokeFamily concurrent with Rotate: the family ends revoked; if
		// the refresh won, its successor is revoked too.
		fx := st.open(t, capRefresh)
		for rep := range reps {
			_, rt1 := fx.defaultFamily()
			now := fx.at(time.Second)
			var next store.RefreshToken
			var errRotate, errRevoke error
			race(2, func(i int) {
				if i == 0 {
					next, errRotate = fx.rotate(rt1, now, time.Minute)
				} else {
					errRevoke = fx.s.Refresh.RevokeFamily(fx.ctx(), rt1.Subject, rt1.FamilyID)
				}
			})
			if errRevoke != nil {
				t.Fatalf("rep %d: RevokeFamily: %v", rep, errRevoke)
			}
			switch {
			case errRotate == nil:
				fx.wantRotateErr(next, now.Add(time.Second), 0, store.ErrRevoked)
			case errors.Is(errRotate, store.ErrRevoked):
			default:
				t.Fatalf("rep %d: Rotate: %v, want success or ErrRevoked", rep, errRotate)
			}
			fx.wantRotateErr(rt1, now.Add(time.Second), time.Minute, store.ErrRevoked, store.ErrReused)
			fx.wantRevoked(accessRef(rt1, now), true)
		}
	})
}

// result is the outcome of one concurrent Rotate.
type result struct {
	tok store.RefreshToken
	err error
}

// race runs fn(0) … fn(n-1) on n goroutines released together by a start
// barrier, and waits for all of them. fn must not call t.Fatal.
func race(n int, fn func(i int)) {
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	for i := range n {
		done.Go(func() {
			ready.Done()
			<-start
			fn(i)
		})
	}
	ready.Wait() // every goroutine is parked at the barrier
	close(start)
	done.Wait()
}
