package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// testDurability covers R-14 (a restarted client sees every committed
// change) and R-15 (two clients on one namespace share state).
func (st *suite) testDurability(t *testing.T) {
	t.Run("R14_StateSurvivesReopen", func(t *testing.T) {
		fx := st.open(t, capReopen, capRefresh)
		_, rt1 := fx.defaultFamily()
		rt2 := fx.mustRotate(rt1, fx.at(time.Second))
		_, loggedOut := fx.defaultFamily()
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), loggedOut.Subject, loggedOut.FamilyID); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		var denied, beforeCut store.TokenRef
		var cutFamily store.RefreshToken
		if fx.s.Revocations != nil {
			denied = accessRef(rt2, fx.at(time.Second).Truncate(time.Second))
			fx.revokeToken(denied, fx.at(time.Hour))
			_, cutFamily = fx.newFamily(newID("sub"), fx.at(-time.Minute), fx.at(defaultFamilyLife))
			fx.revokeSubject(cutFamily.Subject, fx.base, time.Hour)
			beforeCut = store.TokenRef{ID: newID("jti"), Subject: cutFamily.Subject, IssuedAt: fx.at(-time.Minute).Truncate(time.Second)}
		}
		var u store.User
		const newHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$aGFzaA"
		if fx.s.has(capUsers) {
			u = fx.sampleUser("durable")
			fx.createUser(u)
			if err := fx.s.UserWriter.SetPasswordHash(fx.ctx(), u.ID, newHash); err != nil {
				t.Fatalf("SetPasswordHash: %v", err)
			}
			u.PasswordHash = newHash
		}

		re := &fixture{t: t, s: fx.s.Reopen(t), base: fx.base}
		if !re.s.has(capRefresh) {
			t.Fatal("Reopen returned no Refresh store")
		}
		re.wantRotateErr(loggedOut, fx.at(2*time.Second), 0, store.ErrRevoked)
		if fx.s.Revocations != nil {
			if !re.s.has(capRevocations) {
				t.Fatal("Reopen returned no Revocations store")
			}
			re.wantRevoked(denied, true)
			re.wantRevoked(beforeCut, true)
			re.wantRotateErr(cutFamily, fx.at(2*time.Second), 0, store.ErrRevoked)
		}
		if fx.s.has(capUsers) {
			if !re.s.has(capUsers) {
				t.Fatal("Reopen returned no Users or UserWriter store")
			}
			got, err := re.s.Users.UserByUsername(re.ctx(), u.Username)
			if err != nil {
				t.Fatalf("UserByUsername after reopen: %v", err)
			}
			re.checkUser(got, u)
		}
		// RT2 is live on the new client, RT1 is known as consumed.
		rt3 := re.mustRotate(rt2, fx.at(3*time.Second))
		re.wantRotateErr(rt1, fx.at(4*time.Second), 0, store.ErrReused)
		// The reuse seen by the new client revoked the family for both.
		fx.wantRotateErr(rt3, fx.at(5*time.Second), 0, store.ErrRevoked)
	})

	t.Run("R15_TwoClientsShareState", func(t *testing.T) {
		fx := st.open(t, capReopen, capRefresh)
		other := &fixture{t: t, s: fx.s.Reopen(t), base: fx.base}
		// Login on A, refresh on B, logout on A: refused on B.
		_, rt1 := fx.defaultFamily()
		rt2 := other.mustRotate(rt1, fx.at(time.Second))
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), rt2.Subject, rt2.FamilyID); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		other.wantRotateErr(rt2, fx.at(2*time.Second), 0, store.ErrRevoked)

		// Reuse on B revokes the family on A.
		_, a1 := other.defaultFamily()
		a2 := fx.mustRotate(a1, fx.at(time.Second))
		other.wantRotateErr(a1, fx.at(2*time.Second), 0, store.ErrReused)
		fx.wantRotateErr(a2, fx.at(3*time.Second), 0, store.ErrRevoked)

		// One winner across clients.
		_, b1 := fx.defaultFamily()
		errs := make([]error, 2)
		race(2, func(i int) {
			c := []*fixture{fx, other}[i]
			_, errs[i] = c.rotate(b1, fx.at(time.Second), 0)
		})
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("concurrent rotation on two clients: %v, %v; want exactly one success", errs[0], errs[1])
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, store.ErrReused) {
				t.Errorf("losing client: %v, want ErrReused", err)
			}
		}
	})
}
