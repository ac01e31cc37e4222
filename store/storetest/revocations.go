package storetest

import (
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// testRevocations covers subject-wide revocation, its effect
// on rotation, and the access-token denylist.
func (st *suite) testRevocations(t *testing.T) {
	const maxAge = time.Hour

	t.Run("R07_RevokeSubjectStopsOlderFamilies", func(t *testing.T) {
		fx := st.open(t, capRefresh, capRevocations)
		sub := newID("sub")
		life := defaultFamilyLife
		_, before := fx.newFamily(sub, fx.at(-time.Minute), fx.at(life))
		_, justBefore := fx.newFamily(sub, fx.at(-time.Millisecond), fx.at(life))
		rotated := fx.mustRotate(before, fx.at(-30*time.Second))
		_, otherSubject := fx.newFamily(newID("sub"), fx.at(-time.Minute), fx.at(life))

		cut := fx.base
		fx.revokeSubject(sub, cut, maxAge)
		_, after := fx.newFamily(sub, fx.at(time.Millisecond), fx.at(life))

		fx.wantRotateErr(rotated, fx.at(time.Second), 0, store.ErrRevoked)
		fx.wantRotateErr(justBefore, fx.at(time.Second), 0, store.ErrRevoked)
		fx.wantRotateErr(before, fx.at(time.Second), 0, store.ErrRevoked, store.ErrReused)
		// A login after the cut-off (same second) and other subjects work.
		fx.mustRotate(after, fx.at(time.Second))
		fx.mustRotate(otherSubject, fx.at(time.Second))
		// Access tokens of a revoked family are revoked whatever their iat.
		fx.wantRevoked(accessRef(rotated, fx.at(10*time.Second)), true)
	})

	t.Run("R07_FamilyCreatedLaterButDatedBeforeCutoff", func(t *testing.T) {
		// A family stored after RevokeSubject returned, whose CreatedAt is
		// before the cut-off (an instance with a slow clock): refused.
		fx := st.open(t, capRefresh, capRevocations)
		sub := newID("sub")
		fx.revokeSubject(sub, fx.base, maxAge)
		_, late := fx.newFamily(sub, fx.at(-time.Second), fx.at(defaultFamilyLife))
		fx.wantRotateErr(late, fx.at(time.Second), 0, store.ErrRevoked)
		fx.wantRevoked(accessRef(late, fx.at(2*time.Second)), true)
	})

	t.Run("R07_LateFamilyDatedBeforeCutoffRevokedAtOnce", func(t *testing.T) {
		// A family stored after RevokeSubject but dated before the cut-off
		// is revoked from the start: before any rotation touches it, its
		// access tokens are revoked whatever their iat, and it stays
		// revoked once the cut-off itself is swept.
		fx := st.open(t, capRefresh, capRevocations)
		sub := newID("sub")
		fx.revokeSubject(sub, fx.base, time.Minute)
		_, late := fx.newFamily(sub, fx.at(-time.Second), fx.at(defaultFamilyLife))
		afterCut := fx.at(2 * time.Second).Truncate(time.Second)
		fx.wantRevoked(accessRef(late, afterCut), true)
		// The cut-off alone does not revoke a token issued after it: the
		// family is what revokes the one above.
		fx.wantRevoked(store.TokenRef{ID: newID("jti"), Subject: sub, IssuedAt: afterCut}, false)
		now := fx.at(time.Second)
		if fx.s.Sweeper != nil {
			now = fx.at(10 * time.Minute)
			if _, err := fx.s.Sweeper.Sweep(fx.ctx(), now, 0); err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			// The cut-off is gone: an old token without family passes.
			fx.wantRevoked(store.TokenRef{ID: newID("jti"), Subject: sub, IssuedAt: fx.at(-time.Minute).Truncate(time.Second)}, false)
		}
		fx.wantRevoked(accessRef(late, now.Truncate(time.Second)), true)
		fx.wantRotateErr(late, now, 0, store.ErrRevoked)
		fx.wantRevoked(accessRef(late, now.Truncate(time.Second)), true)
	})

	t.Run("R07_CutoffOnlyMovesForward", func(t *testing.T) {
		fx := st.open(t, capRefresh, capRevocations)
		sub := newID("sub")
		fx.revokeSubject(sub, fx.base, maxAge)
		// An older revoke-all arriving late does not lower the cut-off.
		fx.revokeSubject(sub, fx.at(-10*time.Second), maxAge)
		_, mid := fx.newFamily(sub, fx.at(-5*time.Second), fx.at(defaultFamilyLife))
		fx.wantRotateErr(mid, fx.at(time.Second), 0, store.ErrRevoked)
		fx.wantRevoked(store.TokenRef{ID: newID("jti"), Subject: sub, IssuedAt: fx.at(-5 * time.Second).Truncate(time.Second)}, true)
		// A later revoke-all raises it.
		_, f2 := fx.newFamily(sub, fx.at(time.Second), fx.at(defaultFamilyLife))
		f2b := fx.mustRotate(f2, fx.at(2*time.Second))
		fx.revokeSubject(sub, fx.at(3*time.Second), maxAge)
		fx.wantRotateErr(f2b, fx.at(4*time.Second), 0, store.ErrRevoked)
	})

	t.Run("R07_FamilyRevocationOutlivesCutoff", func(t *testing.T) {
		// The cut-off is kept for maxAge, but the families it revoked stay
		// revoked after it is gone.
		fx := st.open(t, capRefresh, capRevocations, capSweeper)
		_, rt1 := fx.newFamily(newID("sub"), fx.at(-time.Minute), fx.at(defaultFamilyLife))
		fx.revokeSubject(rt1.Subject, fx.base, time.Minute)
		now := fx.at(10 * time.Minute)
		if _, err := fx.s.Sweeper.Sweep(fx.ctx(), now, 0); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		// The cut-off itself is gone: an old token without family passes.
		fx.wantRevoked(store.TokenRef{ID: newID("jti"), Subject: rt1.Subject, IssuedAt: fx.at(-time.Minute).Truncate(time.Second)}, false)
		fx.wantRotateErr(rt1, now, 0, store.ErrRevoked)
		fx.wantRevoked(accessRef(rt1, now.Truncate(time.Second)), true)
	})

	t.Run("R07_GraceRetryAfterRevokeSubject", func(t *testing.T) {
		fx := st.open(t, capRefresh, capRevocations)
		const grace = time.Minute
		_, rt1 := fx.newFamily(newID("sub"), fx.at(-time.Minute), fx.at(defaultFamilyLife))
		rt2 := fx.mustRotateGrace(rt1, fx.at(-time.Second), grace)
		fx.revokeSubject(rt1.Subject, fx.base, maxAge)
		fx.wantRotateErr(rt1, fx.at(time.Second), grace, store.ErrRevoked)
		fx.wantRotateErr(rt2, fx.at(time.Second), grace, store.ErrRevoked)
	})

	t.Run("R08_IsRevokedSubjectCutoff", func(t *testing.T) {
		fx := st.open(t, capRefresh, capRevocations)
		sub := newID("sub")
		sec := fx.base.Truncate(time.Second) // a whole second
		cut := sec.Add(400 * time.Millisecond)
		fBefore, _ := fx.newFamily(sub, cut.Add(-100*time.Millisecond), fx.at(defaultFamilyLife))
		fx.revokeSubject(sub, cut, maxAge)
		fAfter, _ := fx.newFamily(sub, cut.Add(100*time.Millisecond), fx.at(defaultFamilyLife))
		fLate, _ := fx.newFamily(sub, cut.Add(-50*time.Millisecond), fx.at(defaultFamilyLife)) // stored after, dated before
		strangerFam, _ := fx.newFamily(newID("sub"), cut.Add(100*time.Millisecond), fx.at(defaultFamilyLife))
		_, inNextSecond := fx.newFamily(sub, sec.Add(time.Second+100*time.Millisecond), fx.at(defaultFamilyLife))

		cases := []struct {
			name    string
			iat     time.Time
			family  string
			subject string
			want    bool
		}{
			{"R08_IatSecondBeforeCutoff", sec.Add(-time.Second), "", sub, true},
			{"R08_IatLongBeforeCutoff", sec.Add(-time.Hour), "", sub, true},
			{"R08_IatSecondBeforeCutoffWithLaterFamily", sec.Add(-time.Second), fAfter.ID, sub, true},
			{"R08_SameSecondNoFamily", sec, "", sub, true},
			{"R08_SameSecondFamilyCreatedAfterCutoff", sec, fAfter.ID, sub, false},
			{"R08_SameSecondFamilyCreatedBeforeCutoff", sec, fBefore.ID, sub, true},
			{"R08_SameSecondFamilyStoredLaterDatedBefore", sec, fLate.ID, sub, true},
			{"R08_SameSecondUnknownFamily", sec, newID("fam"), sub, true},
			{"R08_SameSecondFamilyOfOtherSubject", sec, strangerFam.ID, sub, true},
			{"R08_NextSecond", sec.Add(time.Second), "", sub, false},
			{"R08_NextSecondWithFamily", sec.Add(time.Second), inNextSecond.FamilyID, sub, false},
			{"R08_NextSecondRevokedFamily", sec.Add(time.Second), fBefore.ID, sub, true},
			{"R08_LaterUnknownFamily", sec.Add(time.Minute), newID("fam"), sub, false},
			{"R08_OtherSubjectUnaffected", sec.Add(-time.Second), "", newID("sub"), false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ref := store.TokenRef{ID: newID("jti"), Subject: tc.subject, FamilyID: tc.family, IssuedAt: tc.iat}
				got, err := fx.s.Revocations.IsRevoked(fx.ctx(), ref)
				if err != nil {
					t.Fatalf("IsRevoked: %v", err)
				}
				if got != tc.want {
					t.Errorf("IsRevoked(iat=cut%+v, family set=%v) = %v, want %v", tc.iat.Sub(cut), tc.family != "", got, tc.want)
				}
			})
		}
	})

	t.Run("R08_CutoffOnWholeSecond", func(t *testing.T) {
		fx := st.open(t, capRevocations)
		sub := newID("sub")
		cut := fx.base.Truncate(time.Second)
		fx.revokeSubject(sub, cut, maxAge)
		ref := func(iat time.Time) store.TokenRef {
			return store.TokenRef{ID: newID("jti"), Subject: sub, IssuedAt: iat}
		}
		fx.wantRevoked(ref(cut.Add(-time.Second)), true)
		fx.wantRevoked(ref(cut), false)
		fx.wantRevoked(ref(cut.Add(time.Second)), false)
	})

	t.Run("R08_NoCutoff", func(t *testing.T) {
		fx := st.open(t, capRevocations)
		fx.wantRevoked(store.TokenRef{ID: newID("jti"), Subject: newID("sub"), IssuedAt: fx.base}, false)
		fx.wantRevoked(store.TokenRef{ID: newID("jti"), Subject: newID("sub"), FamilyID: newID("fam"), IssuedAt: fx.base}, false)
	})

	t.Run("R09_DenylistKeepsTokenRevoked", func(t *testing.T) {
		fx := st.open(t, capRevocations)
		// Logged out one second before exp; verifier leeway 30s.
		iat := fx.base.Truncate(time.Second)
		exp := iat.Add(15 * time.Minute)
		const leeway = 30 * time.Second
		ref := store.TokenRef{ID: newID("jti"), Subject: newID("sub"), FamilyID: newID("fam"), IssuedAt: iat}
		for range 2 { // repeating is not an error
			if err := fx.s.Revocations.RevokeToken(fx.ctx(), ref, exp.Add(leeway)); err != nil {
				t.Fatalf("RevokeToken: %v", err)
			}
		}
		fx.wantRevoked(ref, true)
		// Keyed by jti alone.
		sameJTI := ref
		sameJTI.Subject, sameJTI.FamilyID, sameJTI.IssuedAt = newID("sub"), "", iat.Add(time.Minute)
		fx.wantRevoked(sameJTI, true)
		// Other tokens of the subject are unaffected.
		other := ref
		other.ID = newID("jti")
		fx.wantRevoked(other, false)
		// A sweep at exp+5s keeps the entry.
		if fx.s.Sweeper != nil {
			if _, err := fx.s.Sweeper.Sweep(fx.ctx(), exp.Add(5*time.Second), 0); err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			fx.wantRevoked(ref, true)
		}
	})

	t.Run("R09_DenylistIDsDoNotCollide", func(t *testing.T) {
		fx := st.open(t, capRevocations)
		until := fx.at(time.Hour)
		revoked := []string{"a:b", "*", "{x}", "x\r\ny", "'; DROP TABLE revocations;--"}
		for _, id := range revoked {
			ref := store.TokenRef{ID: id, Subject: newID("sub"), IssuedAt: fx.base}
			if err := fx.s.Revocations.RevokeToken(fx.ctx(), ref, until); err != nil {
				t.Fatalf("RevokeToken(%q): %v", id, err)
			}
			fx.wantRevoked(ref, true)
		}
		for _, id := range []string{"a", "b", "a:", "x", "{x", "a*", "%"} {
			fx.wantRevoked(store.TokenRef{ID: id, Subject: newID("sub"), IssuedAt: fx.base}, false)
		}
	})
}

// revokeSubject calls RevokeSubject and fails the test on error.
func (fx *fixture) revokeSubject(subject string, at time.Time, maxAge time.Duration) {
	fx.t.Helper()
	if err := fx.s.Revocations.RevokeSubject(fx.ctx(), subject, at, maxAge); err != nil {
		fx.t.Fatalf("RevokeSubject: %v", err)
	}
}
