package storetest

import (
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// testLogout covers what a logout relies on: it revokes the family first
// and denylists the access token second, so a logout cut short after the
// first write must already have ended the session, and both writes must
// be safe to repeat (a retried logout).
func (st *suite) testLogout(t *testing.T) {
	t.Run("L01_RevokedFamilyAloneEndsTheSession", func(t *testing.T) {
		fx := st.open(t, capRefresh, capRevocations)
		_, rt1 := fx.defaultFamily()
		rt2 := fx.mustRotate(rt1, fx.at(time.Second))
		access := accessRef(rt2, fx.at(time.Second).Truncate(time.Second))
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), rt2.Subject, rt2.FamilyID); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		// No denylist entry yet: the family alone refuses both tokens,
		// also within a grace window.
		fx.wantRevoked(access, true)
		fx.wantRotateErr(rt2, fx.at(2*time.Second), time.Minute, store.ErrRevoked)
		fx.wantRotateErr(rt1, fx.at(2*time.Second), time.Minute, store.ErrRevoked)
	})

	t.Run("L02_RetriedLogoutCompletesAndChangesNothingElse", func(t *testing.T) {
		fx := st.open(t, capRefresh, capRevocations)
		f, rt := fx.defaultFamily()
		_, other := fx.newFamily(f.Subject, f.CreatedAt, f.ExpiresAt)
		access := accessRef(rt, fx.base.Truncate(time.Second))
		for range 3 { // the first logout and two retries
			if err := fx.s.Refresh.RevokeFamily(fx.ctx(), rt.Subject, rt.FamilyID); err != nil {
				t.Fatalf("RevokeFamily: %v", err)
			}
			if err := fx.s.Revocations.RevokeToken(fx.ctx(), access, fx.at(time.Hour)); err != nil {
				t.Fatalf("RevokeToken: %v", err)
			}
		}
		fx.wantRevoked(access, true)
		fx.wantRotateErr(rt, fx.at(time.Second), 0, store.ErrRevoked)
		// The user's other session is untouched.
		fx.wantRevoked(accessRef(other, fx.base.Truncate(time.Second)), false)
		fx.mustRotate(other, fx.at(time.Second))
	})

	t.Run("L03_LogoutDuringGraceRetryWins", func(t *testing.T) {
		// A refresh retried after a lost response, then a logout: the
		// logout ends the retry's token too.
		fx := st.open(t, capRefresh, capRevocations)
		const grace = time.Minute
		_, rt1 := fx.defaultFamily()
		fx.mustRotateGrace(rt1, fx.at(time.Second), grace)
		rt2b := fx.mustRotateGrace(rt1, fx.at(2*time.Second), grace)
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), rt2b.Subject, rt2b.FamilyID); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		fx.wantRotateErr(rt2b, fx.at(3*time.Second), grace, store.ErrRevoked)
		fx.wantRotateErr(rt1, fx.at(3*time.Second), grace, store.ErrRevoked)
		fx.wantRevoked(accessRef(rt2b, fx.at(2*time.Second).Truncate(time.Second)), true)
	})
}
