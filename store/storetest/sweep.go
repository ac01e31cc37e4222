package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// testSweep covers cleanup: expired state goes, whatever reuse
// detection still needs stays, also while rotations run.
func (st *suite) testSweep(t *testing.T) {
	t.Run("R16_SweepDeletesExpiredKeepsLive", func(t *testing.T) {
		fx := st.open(t, capSweeper, capRefresh, capRevocations)
		// A live family whose first token is consumed and expired.
		live, rt1 := fx.newFamilyShortFirst(newID("sub"), fx.base, fx.at(time.Hour), fx.at(time.Second))
		rt2 := fx.mustRotate(rt1, fx.at(500*time.Millisecond))
		// An expired family.
		_, dead := fx.newFamily(newID("sub"), fx.at(-2*time.Hour), fx.at(30*time.Second))
		// Denylist entries, one expired.
		d1 := store.TokenRef{ID: newID("jti"), Subject: live.Subject, IssuedAt: fx.base}
		d2 := store.TokenRef{ID: newID("jti"), Subject: live.Subject, IssuedAt: fx.base}
		fx.revokeToken(d1, fx.at(time.Minute))
		fx.revokeToken(d2, fx.at(2*time.Hour))
		// Subject cut-offs, one expired.
		subX, subY := newID("sub"), newID("sub")
		fx.revokeSubject(subX, fx.at(-time.Hour), time.Minute)
		fx.revokeSubject(subY, fx.base, 2*time.Hour)
		oldX := store.TokenRef{ID: newID("jti"), Subject: subX, IssuedAt: fx.at(-2 * time.Hour).Truncate(time.Second)}
		oldY := store.TokenRef{ID: newID("jti"), Subject: subY, IssuedAt: fx.at(-time.Hour).Truncate(time.Second)}
		fx.wantRevoked(oldX, true)
		fx.wantRevoked(oldY, true)
		fx.wantRevoked(d1, true)

		now := fx.at(10 * time.Minute)
		n, err := fx.s.Sweeper.Sweep(fx.ctx(), now, 0)
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if n < 3 {
			t.Errorf("Sweep deleted %d records, want at least 3 (a family, a denylist entry, a cut-off)", n)
		}
		// the swept family fails closed and is not re-created.
		fx.wantRotateErr(dead, fx.at(time.Second), 0, store.ErrNotFound)
		fx.wantRotateErr(dead, fx.at(time.Second), 0, store.ErrNotFound)
		fx.wantRevoked(d1, false)
		fx.wantRevoked(d2, true)
		fx.wantRevoked(oldX, false)
		fx.wantRevoked(oldY, true)
		// Nothing left to delete.
		if n, err := fx.s.Sweeper.Sweep(fx.ctx(), now, 0); err != nil || n != 0 {
			t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
		}
		// The live family rotates, and its consumed, expired first token
		// is still known: replaying it is reuse.
		rt3 := fx.mustRotate(rt2, now)
		fx.wantRotateErr(rt1, now.Add(time.Second), 0, store.ErrReused)
		fx.wantRotateErr(rt3, now.Add(2*time.Second), 0, store.ErrRevoked)
	})

	t.Run("R16_SweepKeepsRevokedLiveFamily", func(t *testing.T) {
		// A revoked family stays revoked until it expires: sweeping it
		// early would turn ErrRevoked into ErrNotFound, and its access
		// tokens would count as not revoked.
		fx := st.open(t, capSweeper, capRefresh)
		_, rt1 := fx.defaultFamily()
		rt2 := fx.mustRotate(rt1, fx.at(time.Second))
		fx.wantRotateErr(rt1, fx.at(2*time.Second), 0, store.ErrReused)
		if _, err := fx.s.Sweeper.Sweep(fx.ctx(), fx.at(30*time.Minute), 0); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		fx.wantRotateErr(rt2, fx.at(3*time.Second), 0, store.ErrRevoked)
		fx.wantRevoked(accessRef(rt2, fx.at(time.Second)), true)
	})

	t.Run("R16_SweepCountsFamilyOnce", func(t *testing.T) {
		// A family is one record, however many tokens it holds: the count
		// says how many families went, not how many rows.
		fx := st.open(t, capSweeper, capRefresh)
		toks := fx.expiredFamilyWithTokens(3)
		n, err := fx.s.Sweeper.Sweep(fx.ctx(), fx.at(10*time.Minute), 0)
		if err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1 (one family with %d tokens), nil", n, err, len(toks))
		}
		for _, tok := range toks {
			fx.wantRotateErr(tok, fx.at(time.Minute), 0, store.ErrNotFound)
		}
		if n, err := fx.s.Sweeper.Sweep(fx.ctx(), fx.at(10*time.Minute), 0); err != nil || n != 0 {
			t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("R16_SweepLimitDeletesWholeFamilies", func(t *testing.T) {
		// The limit counts families too, and a family goes whole: after
		// Sweep(limit 1) one family is gone with all its tokens and the
		// other is untouched (its tokens still known, so an expired
		// family answers ErrExpired, not ErrNotFound).
		fx := st.open(t, capSweeper, capRefresh)
		fams := [][]store.RefreshToken{fx.expiredFamilyWithTokens(3), fx.expiredFamilyWithTokens(3)}
		sweepAt, probeAt := fx.at(10*time.Minute), fx.at(time.Minute)
		if n, err := fx.s.Sweeper.Sweep(fx.ctx(), sweepAt, 1); err != nil || n != 1 {
			t.Fatalf("Sweep(limit 1) = %d, %v; want 1, nil", n, err)
		}
		gone := 0
		if _, err := fx.rotate(fams[1][0], probeAt, 0); errors.Is(err, store.ErrNotFound) {
			gone = 1
		}
		for i, toks := range fams {
			want := store.ErrExpired
			if i == gone {
				want = store.ErrNotFound
			}
			for _, tok := range toks {
				fx.wantRotateErr(tok, probeAt, 0, want)
			}
		}
		if n, err := fx.s.Sweeper.Sweep(fx.ctx(), sweepAt, 1); err != nil || n != 1 {
			t.Fatalf("second Sweep(limit 1) = %d, %v; want 1, nil", n, err)
		}
		for _, toks := range fams {
			for _, tok := range toks {
				fx.wantRotateErr(tok, probeAt, 0, store.ErrNotFound)
			}
		}
		if n, err := fx.s.Sweeper.Sweep(fx.ctx(), sweepAt, 1); err != nil || n != 0 {
			t.Errorf("final Sweep = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("R16_SweepLimit", func(t *testing.T) {
		fx := st.open(t, capSweeper, capRevocations)
		const entries, limit = 5, 2
		for range entries {
			fx.revokeToken(store.TokenRef{ID: newID("jti"), Subject: newID("sub"), IssuedAt: fx.base}, fx.at(time.Second))
		}
		now := fx.at(time.Minute)
		total, calls := 0, 0
		for total < entries && calls < 2*entries {
			calls++
			n, err := fx.s.Sweeper.Sweep(fx.ctx(), now, limit)
			if err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			if n < 1 || n > limit {
				t.Fatalf("Sweep(limit %d) #%d deleted %d records, want 1…%d while %d remain", limit, calls, n, limit, entries-total)
			}
			total += n
		}
		if total != entries {
			t.Fatalf("swept %d records in %d calls, want %d", total, calls, entries)
		}
		if n, err := fx.s.Sweeper.Sweep(fx.ctx(), now, limit); err != nil || n != 0 {
			t.Errorf("final Sweep = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("R16_SweepDefaultLimit", func(t *testing.T) {
		fx := st.open(t, capSweeper, capRevocations)
		const entries = 3
		for range entries {
			fx.revokeToken(store.TokenRef{ID: newID("jti"), Subject: newID("sub"), IssuedAt: fx.base}, fx.at(time.Second))
		}
		n, err := fx.s.Sweeper.Sweep(fx.ctx(), fx.at(time.Minute), 0)
		if err != nil || n != entries {
			t.Fatalf("Sweep(limit 0) = %d, %v; want %d, nil", n, err, entries)
		}
	})

	t.Run("R16_SweepNothingExpired", func(t *testing.T) {
		fx := st.open(t, capSweeper, capRefresh)
		end := fx.at(defaultFamilyLife)
		_, rt1 := fx.newFamilyShortFirst(newID("sub"), fx.base, end, end)
		// Strictly before: a record expiring exactly at now is kept.
		n, err := fx.s.Sweeper.Sweep(fx.ctx(), end, 0)
		if err != nil || n != 0 {
			t.Fatalf("Sweep = %d, %v; want 0, nil", n, err)
		}
		fx.mustRotate(rt1, fx.at(time.Second))
	})

	t.Run("R16_SweepUnderLoad", func(t *testing.T) {
		// A sweeper runs while families rotate. It deletes the expired
		// families and denylist entries, and never anything a live family
		// needs: every rotation succeeds, and consumed tokens whose own
		// expiry has passed are still detected as reuse afterwards.
		fx := st.open(t, capSweeper, capRefresh)
		const families, deadFamilies, chain, steps = 8, 8, 5, 30
		sweepAt := fx.at(time.Minute)

		cur := make([]store.RefreshToken, families)
		consumed := make([][]store.RefreshToken, families)
		for i := range families {
			_, tok := fx.newFamilyShortFirst(newID("sub"), fx.base, fx.at(time.Hour), fx.at(time.Second))
			// A chain of short-lived tokens, all consumed and expired by
			// the sweeper's now, then a long-lived current token.
			for k := range chain {
				now := fx.at(time.Duration(k+1) * 100 * time.Millisecond)
				r := rotation(tok, now, 0)
				if k < chain-1 {
					r.Next.ExpiresAt = fx.at(time.Second)
				}
				next, err := fx.s.Refresh.Rotate(fx.ctx(), r)
				if err != nil {
					t.Fatalf("setup rotation: %v", err)
				}
				consumed[i] = append(consumed[i], tok)
				tok = next
			}
			cur[i] = tok
		}
		dead := make([]store.RefreshToken, deadFamilies)
		for i := range dead {
			_, dead[i] = fx.newFamily(newID("sub"), fx.at(-2*time.Hour), fx.at(30*time.Second))
		}
		var denied []store.TokenRef
		if fx.s.Revocations != nil {
			for range 20 {
				ref := store.TokenRef{ID: newID("jti"), Subject: newID("sub"), IssuedAt: fx.base}
				fx.revokeToken(ref, fx.at(10*time.Second))
				denied = append(denied, ref)
			}
		}

		var running atomic.Int32
		running.Store(families)
		errs := make([]error, families+1)
		swept := 0
		race(families+1, func(i int) {
			if i == families { // the sweeper
				for running.Load() > 0 {
					n, err := fx.s.Sweeper.Sweep(fx.ctx(), sweepAt, 3)
					if err != nil {
						errs[i] = fmt.Errorf("sweep: %w", err)
						return
					}
					swept += n
				}
				return
			}
			defer running.Add(-1)
			for j := range steps {
				next, err := fx.rotate(cur[i], fx.at(2*time.Second+time.Duration(j)*time.Millisecond), 0)
				if err != nil {
					errs[i] = fmt.Errorf("rotation %d: %w", j, err)
					return
				}
				cur[i] = next
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		for i := 0; ; i++ {
			if i == 100 {
				t.Fatalf("Sweep still reports deletions after %d calls", i)
			}
			n, err := fx.s.Sweeper.Sweep(fx.ctx(), sweepAt, 0)
			if err != nil {
				t.Fatalf("final Sweep: %v", err)
			}
			if n == 0 {
				break
			}
			swept += n
		}
		if least := deadFamilies + len(denied); swept < least {
			t.Errorf("swept %d records in total, want at least %d", swept, least)
		}
		for _, tok := range dead {
			fx.wantRotateErr(tok, fx.at(time.Second), 0, store.ErrNotFound)
		}
		for _, ref := range denied {
			fx.wantRevoked(ref, false)
		}
		for i := range families {
			now := fx.at(3 * time.Second)
			fx.mustRotate(cur[i], now)
			old := consumed[i][i%chain]
			_, err := fx.rotate(old, now.Add(time.Millisecond), 0)
			switch {
			case errors.Is(err, store.ErrNotFound):
				t.Errorf("family %d: consumed token %d was swept while its family is live: %v", i, i%chain, err)
			case !errors.Is(err, store.ErrReused):
				t.Errorf("family %d: replay of consumed token %d: %v, want ErrReused", i, i%chain, err)
			}
		}
	})
}

// newFamilyShortFirst is newFamily with the first token expiring at
// firstExpires.
func (fx *fixture) newFamilyShortFirst(subject string, created, expires, firstExpires time.Time) (store.Family, store.RefreshToken) {
	fx.t.Helper()
	f := store.Family{ID: newID("fam"), Subject: subject, CreatedAt: created, ExpiresAt: expires}
	first := store.RefreshToken{ID: newTokenID(), FamilyID: f.ID, Subject: subject, IssuedAt: created, ExpiresAt: firstExpires}
	if err := fx.s.Refresh.CreateFamily(fx.ctx(), f, first); err != nil {
		fx.t.Fatalf("CreateFamily: %v", err)
	}
	return f, first
}

// expiredFamilyWithTokens stores a family of a new subject that expires
// 30 seconds after base, rotates it rotations times, and returns all its
// tokens, oldest first.
func (fx *fixture) expiredFamilyWithTokens(rotations int) []store.RefreshToken {
	fx.t.Helper()
	created := fx.at(-2 * time.Hour)
	_, tok := fx.newFamily(newID("sub"), created, fx.at(30*time.Second))
	toks := []store.RefreshToken{tok}
	for i := 1; i <= rotations; i++ {
		tok = fx.mustRotate(tok, created.Add(time.Duration(i)*time.Minute))
		toks = append(toks, tok)
	}
	return toks
}

// revokeToken calls RevokeToken and fails the test on error.
func (fx *fixture) revokeToken(ref store.TokenRef, until time.Time) {
	fx.t.Helper()
	if err := fx.s.Revocations.RevokeToken(fx.ctx(), ref, until); err != nil {
		fx.t.Fatalf("RevokeToken: %v", err)
	}
}
