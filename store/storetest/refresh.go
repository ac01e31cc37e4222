package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// testRefresh covers the sequential rotation semantics (R-01, R-02, R-04,
// ) and CreateFamily.
func (st *suite) testRefresh(t *testing.T) {
	t.Run("CreateFamilyDuplicateFamilyID", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		f, first := fx.defaultFamily()
		dup := first
		dup.ID = newTokenID()
		err := fx.s.Refresh.CreateFamily(fx.ctx(), f, dup)
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("CreateFamily with a taken family ID: %v, want ErrExists", err)
		}
		// The original family is untouched and its token still rotates;
		// the rejected first token is not one of its tokens (a token the
		// family does not hold is reuse, see R11).
		fx.mustRotate(first, fx.at(time.Second))
		fx.wantRotateErr(dup, fx.at(2*time.Second), 0, store.ErrReused)
	})

	t.Run("CreateFamilyTokenIDOfAnotherFamily", func(t *testing.T) {
		// Token IDs are random and unique per family; a backend may or may
		// not refuse one that another family holds, but it never mixes
		// the two families up.
		fx := st.open(t, capRefresh)
		f, first := fx.defaultFamily()
		g := store.Family{ID: newID("fam"), Subject: f.Subject, CreatedAt: f.CreatedAt, ExpiresAt: f.ExpiresAt}
		dup := first
		dup.FamilyID = g.ID
		if err := fx.s.Refresh.CreateFamily(fx.ctx(), g, dup); err != nil && !errors.Is(err, store.ErrExists) {
			t.Fatalf("CreateFamily with another family's token ID: %v, want nil or ErrExists", err)
		}
		fx.mustRotate(first, fx.at(time.Second))
	})

	t.Run("R01_Rotation", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt := fx.defaultFamily()
		// A chain of rotations, each successor rotating in turn.
		for i := 1; i <= 5; i++ {
			rt = fx.mustRotate(rt, fx.at(time.Duration(i)*time.Minute))
		}
	})

	t.Run("R01_SuccessorKeepsRequestedExpiry", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		now := fx.at(time.Second)
		r := rotation(rt1, now, 0)
		r.Next.ExpiresAt = now.Add(90 * time.Minute)
		got, err := fx.s.Refresh.Rotate(fx.ctx(), r)
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		fx.checkSuccessor(got, r)
		if !sameTime(got.ExpiresAt, r.Next.ExpiresAt) {
			t.Errorf("successor ExpiresAt = %s, want %s (inside the family lifetime, no clamping)", fx.rel(got.ExpiresAt), fx.rel(r.Next.ExpiresAt))
		}
		// The successor is unusable once its own expiry is reached.
		fx.wantRotateErr(got, r.Next.ExpiresAt, 0, store.ErrExpired)
		fx.mustRotate(got, r.Next.ExpiresAt.Add(-time.Millisecond))
	})

	t.Run("R01_SuccessorIDTakenLeavesStateUnchanged", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		rt2 := fx.mustRotate(rt1, fx.at(time.Second))
		r := rotation(rt2, fx.at(2*time.Second), 0)
		r.Next.ID = rt1.ID // taken
		if _, err := fx.s.Refresh.Rotate(fx.ctx(), r); !errors.Is(err, store.ErrExists) {
			t.Fatalf("Rotate with a taken successor ID: %v, want ErrExists", err)
		}
		// Atomic: rt2 was not consumed by the failed rotation.
		fx.mustRotate(rt2, fx.at(3*time.Second))
	})

	t.Run("R01_RepeatedRotationReturnsSameSuccessor", func(t *testing.T) {
		// A caller resending a rotation whose reply was lost (same
		// presented token, same successor) gets the same successor again,
		// not ErrReused, and the family stays live.
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		now := fx.at(time.Second)
		r := rotation(rt1, now, 0)
		first := fx.mustRotateReq(r)
		for i := range 2 {
			again, err := fx.s.Refresh.Rotate(fx.ctx(), r)
			if err != nil {
				t.Fatalf("repeat %d of a successful Rotate: %v, want the same successor", i+1, err)
			}
			fx.wantSameToken(again, first)
		}
		fx.wantRevoked(accessRef(first, now), false)
		rt3 := fx.mustRotate(first, fx.at(2*time.Second))
		// Once the successor has rotated, the repeat is reuse.
		if _, err := fx.s.Refresh.Rotate(fx.ctx(), r); !errors.Is(err, store.ErrReused) {
			t.Fatalf("repeat after the successor rotated: %v, want ErrReused", err)
		}
		fx.wantRotateErr(rt3, fx.at(3*time.Second), 0, store.ErrRevoked)
	})

	t.Run("R01_RepeatedRotationWithOtherSuccessorIsReuse", func(t *testing.T) {
		// Only the exact repeat is idempotent: the same token presented
		// with another successor is a second use.
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		r := rotation(rt1, fx.at(time.Second), 0)
		rt2 := fx.mustRotateReq(r)
		r.Next.ID = newTokenID()
		if _, err := fx.s.Refresh.Rotate(fx.ctx(), r); !errors.Is(err, store.ErrReused) {
			t.Fatalf("Rotate of a consumed token with another successor: %v, want ErrReused", err)
		}
		fx.wantRotateErr(rt2, fx.at(2*time.Second), 0, store.ErrRevoked)
	})

	t.Run("R02_ReuseAfterRotationRevokesFamily", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		rt2 := fx.mustRotate(rt1, fx.at(time.Second))
		fx.wantRevoked(accessRef(rt2, fx.at(time.Second)), false)

		fx.wantRotateErr(rt1, fx.at(2*time.Second), 0, store.ErrReused)
		// The legitimate holder's successor is dead too.
		fx.wantRotateErr(rt2, fx.at(3*time.Second), 0, store.ErrRevoked)
		// A second replay stays refused.
		fx.wantRotateErr(rt1, fx.at(4*time.Second), 0, store.ErrReused, store.ErrRevoked)
		// Access tokens of the family are revoked too.
		fx.wantRevoked(accessRef(rt2, fx.at(time.Second)), true)
	})

	t.Run("R02_ReuseWithoutGraceRightAfterRotation", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		now := fx.at(time.Second)
		rt2 := fx.mustRotate(rt1, now)
		// Same instant, Grace 0: any second use is reuse.
		fx.wantRotateErr(rt1, now, 0, store.ErrReused)
		fx.wantRotateErr(rt2, now, 0, store.ErrRevoked)
	})

	t.Run("R04_GraceWindowEdges", func(t *testing.T) {
		const grace = 2 * time.Second
		rotatedAt := time.Second
		cases := []struct {
			name  string
			retry time.Duration // after the rotation
			ok    bool
		}{
			{"R04_RetryJustInsideWindow", grace - 10*time.Millisecond, true},
			{"R04_RetryAtWindowEdgeInclusive", grace, true},
			{"R04_RetryJustOutsideWindow", grace + 10*time.Millisecond, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				fx := st.open(t, capRefresh)
				_, rt1 := fx.defaultFamily()
				rt2 := fx.mustRotateGrace(rt1, fx.at(rotatedAt), grace)
				retryAt := fx.at(rotatedAt + tc.retry)
				if !tc.ok {
					fx.wantRotateErr(rt1, retryAt, grace, store.ErrReused)
					fx.wantRotateErr(rt2, retryAt, grace, store.ErrRevoked)
					fx.wantRevoked(accessRef(rt2, fx.at(rotatedAt)), true)
					return
				}
				rt2b := fx.mustRotateGrace(rt1, retryAt, grace)
				// The retry replaced rt2: exactly one live token, rt2b.
				rt3 := fx.mustRotateGrace(rt2b, retryAt.Add(time.Millisecond), grace)
				// rt2 is consumed and no longer the preceding token.
				fx.wantRotateErr(rt2, retryAt.Add(2*time.Millisecond), grace, store.ErrReused)
				fx.wantRotateErr(rt3, retryAt.Add(3*time.Millisecond), grace, store.ErrRevoked)
			})
		}
	})

	t.Run("R04_GraceRetryReplacesCurrentToken", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		const grace = time.Minute
		_, rt1 := fx.defaultFamily()
		t1 := fx.at(time.Second)
		rt2 := fx.mustRotateGrace(rt1, t1, grace)
		rt2b := fx.mustRotateGrace(rt1, t1.Add(time.Second), grace)
		rt2c := fx.mustRotateGrace(rt1, t1.Add(2*time.Second), grace)
		// Only the last retry's token is live; rt2 and rt2b were replaced.
		// Presenting a replaced one is reuse and kills the family.
		fx.wantRotateErr(rt2b, t1.Add(3*time.Second), grace, store.ErrReused)
		fx.wantRotateErr(rt2c, t1.Add(4*time.Second), grace, store.ErrRevoked)
		fx.wantRotateErr(rt2, t1.Add(5*time.Second), grace, store.ErrReused, store.ErrRevoked)
	})

	t.Run("R04_RepeatedGraceRetryReturnsSameSuccessor", func(t *testing.T) {
		// A grace retry is a successful rotation too: repeating it exactly
		// returns its successor again instead of replacing it.
		fx := st.open(t, capRefresh)
		const grace = time.Minute
		_, rt1 := fx.defaultFamily()
		t1 := fx.at(time.Second)
		fx.mustRotateGrace(rt1, t1, grace)
		r := rotation(rt1, t1.Add(time.Second), grace)
		rt2b := fx.mustRotateReq(r)
		again, err := fx.s.Refresh.Rotate(fx.ctx(), r)
		if err != nil {
			t.Fatalf("repeat of the grace retry: %v, want the same successor", err)
		}
		fx.wantSameToken(again, rt2b)
		// rt2b is still the live token.
		rt3 := fx.mustRotateGrace(rt2b, t1.Add(2*time.Second), grace)
		fx.wantRotateErr(rt1, t1.Add(3*time.Second), grace, store.ErrReused)
		fx.wantRotateErr(rt3, t1.Add(4*time.Second), grace, store.ErrRevoked)
	})

	t.Run("R04_LateDeliveredRotationChangesNothing", func(t *testing.T) {
		// A store that stalled runs a refresh after the client's retry
		// (sent once the first request timed out) already rotated the
		// token: the late one must not replace the retry's token, or the
		// client's next refresh would be reuse.
		fx := st.open(t, capRefresh, capRevocations)
		const grace = time.Minute
		_, rt1 := fx.defaultFamily()
		late := rotation(rt1, fx.at(time.Second), grace)
		retry := fx.mustRotateGrace(rt1, fx.at(6*time.Second), grace)
		if _, err := fx.s.Refresh.Rotate(fx.ctx(), late); !errors.Is(err, store.ErrSuperseded) {
			t.Fatalf("a rotation older than the family's last: %v, want ErrSuperseded", err)
		}
		fx.wantRevoked(accessRef(retry, fx.at(6*time.Second).Truncate(time.Second)), false)
		rt3 := fx.mustRotateGrace(retry, fx.at(7*time.Second), grace)
		// The late request's successor was never stored.
		fx.wantRotateErr(late.Next, fx.at(8*time.Second), grace, store.ErrReused)
		fx.wantRotateErr(rt3, fx.at(9*time.Second), grace, store.ErrRevoked)
	})

	t.Run("R04_GraceWindowDoesNotExtend", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		const grace = 2 * time.Second
		_, rt1 := fx.defaultFamily()
		t1 := fx.at(time.Second)
		fx.mustRotateGrace(rt1, t1, grace)
		rt2b := fx.mustRotateGrace(rt1, t1.Add(grace-500*time.Millisecond), grace)
		// The window is anchored at the original rotation, not the retry.
		fx.wantRotateErr(rt1, t1.Add(grace+10*time.Millisecond), grace, store.ErrReused)
		fx.wantRotateErr(rt2b, t1.Add(grace+20*time.Millisecond), grace, store.ErrRevoked)
	})

	t.Run("R04_GraceCoversOnlyImmediatelyPrecedingToken", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		const grace = time.Minute
		_, rt1 := fx.defaultFamily()
		t1 := fx.at(time.Second)
		rt2 := fx.mustRotateGrace(rt1, t1, grace)
		rt3 := fx.mustRotateGrace(rt2, t1.Add(time.Second), grace)
		// rt1 is two generations old: reuse even inside the window.
		fx.wantRotateErr(rt1, t1.Add(2*time.Second), grace, store.ErrReused)
		fx.wantRotateErr(rt3, t1.Add(3*time.Second), grace, store.ErrRevoked)
		fx.wantRotateErr(rt2, t1.Add(4*time.Second), grace, store.ErrReused, store.ErrRevoked)
	})

	t.Run("R04_GraceAfterRetriedTokenRotated", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		const grace = time.Minute
		_, rt1 := fx.defaultFamily()
		t1 := fx.at(time.Second)
		fx.mustRotateGrace(rt1, t1, grace)
		rt2b := fx.mustRotateGrace(rt1, t1.Add(time.Second), grace)
		rt3 := fx.mustRotateGrace(rt2b, t1.Add(2*time.Second), grace)
		// rt2b is now the preceding token; rt1 no longer qualifies.
		fx.wantRotateErr(rt1, t1.Add(3*time.Second), grace, store.ErrReused)
		fx.wantRotateErr(rt3, t1.Add(4*time.Second), grace, store.ErrRevoked)
	})

	t.Run("R04_GraceRetryOfRevokedFamily", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		const grace = time.Minute
		_, rt1 := fx.defaultFamily()
		t1 := fx.at(time.Second)
		rt2 := fx.mustRotateGrace(rt1, t1, grace)
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), rt1.Subject, rt1.FamilyID); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		fx.wantRotateErr(rt1, t1.Add(time.Second), grace, store.ErrRevoked)
		fx.wantRotateErr(rt2, t1.Add(time.Second), grace, store.ErrRevoked)
	})

	t.Run("R05_RevokedFamily", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		rt2 := fx.mustRotate(rt1, fx.at(time.Second))
		for range 2 { // revoking twice is not an error
			if err := fx.s.Refresh.RevokeFamily(fx.ctx(), rt2.Subject, rt2.FamilyID); err != nil {
				t.Fatalf("RevokeFamily: %v", err)
			}
		}
		r := rotation(rt2, fx.at(2*time.Second), 0)
		if _, err := fx.s.Refresh.Rotate(fx.ctx(), r); !errors.Is(err, store.ErrRevoked) {
			t.Fatalf("Rotate in a revoked family: %v, want ErrRevoked", err)
		}
		// No successor was stored.
		fx.wantRotateErr(r.Next, fx.at(3*time.Second), 0, store.ErrNotFound, store.ErrRevoked)
		fx.wantRotateErr(rt1, fx.at(4*time.Second), 0, store.ErrRevoked, store.ErrReused)
		fx.wantRevoked(accessRef(rt2, fx.at(time.Second)), true)
	})

	t.Run("R05_RevokeUnknownFamily", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), newID("sub"), newID("fam")); err != nil {
			t.Fatalf("RevokeFamily of an unknown family: %v, want nil", err)
		}
	})

	t.Run("R05_RevokeFamilyOfOtherSubjectHasNoEffect", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), newID("sub"), rt1.FamilyID); err != nil {
			t.Fatalf("RevokeFamily with another subject: %v, want nil", err)
		}
		fx.wantRevoked(accessRef(rt1, fx.base), false)
		fx.mustRotate(rt1, fx.at(time.Second))
	})

	t.Run("R05_RevokeOneFamilyLeavesOthers", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		f, a := fx.defaultFamily()
		_, b := fx.newFamily(f.Subject, f.CreatedAt, f.ExpiresAt)
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), a.Subject, a.FamilyID); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		fx.wantRotateErr(a, fx.at(time.Second), 0, store.ErrRevoked)
		fx.mustRotate(b, fx.at(time.Second))
		fx.wantRevoked(accessRef(b, fx.base), false)
	})

	t.Run("R06_AbsoluteLifetime", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		const day = 24 * time.Hour
		familyEnd := fx.at(7 * day)
		_, rt := fx.newFamilyShortFirst(newID("sub"), fx.base, familyEnd, fx.at(30*day))
		// Rotate daily; each successor asks for 30 days and is clamped.
		for i := 1; i <= 6; i++ {
			now := fx.at(time.Duration(i) * day)
			r := rotation(rt, now, 0)
			r.Next.ExpiresAt = now.Add(30 * day)
			got, err := fx.s.Refresh.Rotate(fx.ctx(), r)
			if err != nil {
				t.Fatalf("day %d: Rotate: %v", i, err)
			}
			fx.checkSuccessor(got, r)
			if !sameTime(got.ExpiresAt, familyEnd) {
				t.Fatalf("day %d: successor ExpiresAt = %s, want the family expiry %s", i, fx.rel(got.ExpiresAt), fx.rel(familyEnd))
			}
			rt = got
		}
		// The last token is fresh (issued a day ago, asked for 30 days),
		// but the family has ended.
		fx.wantRotateErr(rt, familyEnd.Add(time.Millisecond), 0, store.ErrExpired)
		fx.wantRotateErr(rt, familyEnd, 0, store.ErrExpired)
		// Just before the end it still works.
		fx.mustRotate(rt, familyEnd.Add(-time.Millisecond))
	})

	t.Run("R06_GraceRetryAfterFamilyExpiry", func(t *testing.T) {
		// The grace window never outlives the family.
		fx := st.open(t, capRefresh)
		const grace = time.Minute
		end := fx.at(10 * time.Second)
		_, rt1 := fx.newFamily(newID("sub"), fx.base, end)
		rt2 := fx.mustRotateGrace(rt1, end.Add(-time.Second), grace)
		fx.wantRotateErr(rt1, end, grace, store.ErrExpired)
		fx.wantRotateErr(rt1, end.Add(time.Millisecond), grace, store.ErrExpired)
		fx.wantRotateErr(rt2, end, grace, store.ErrExpired)
	})

	t.Run("R06_ExpiredToken", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		exp := rt1.ExpiresAt
		fx.wantRotateErr(rt1, exp, 0, store.ErrExpired)
		fx.wantRotateErr(rt1, exp.Add(time.Hour), 0, store.ErrExpired)
		// An expired presentation consumed nothing.
		fx.mustRotate(rt1, exp.Add(-time.Millisecond))
	})

	t.Run("S03_KeyInjectionSubjectsAndFamilies", func(t *testing.T) {
		// Subjects and family IDs that collide under naive key
		// concatenation or globbing stay distinct.
		fx := st.open(t, capRefresh)
		created, end := fx.at(-time.Minute), fx.at(defaultFamilyLife)
		mk := func(subject, familyID string) store.RefreshToken {
			t.Helper()
			f := store.Family{ID: familyID, Subject: subject, CreatedAt: created, ExpiresAt: end}
			first := store.RefreshToken{ID: newTokenID(), FamilyID: familyID, Subject: subject, IssuedAt: created, ExpiresAt: fx.at(time.Hour)}
			if err := fx.s.Refresh.CreateFamily(fx.ctx(), f, first); err != nil {
				t.Fatalf("CreateFamily(sub %q, fam %q): %v", subject, familyID, err)
			}
			return first
		}
		ab := mk("a:b", "c")
		a := mk("a", "b:c")
		star := mk("*", "*")
		brace := mk("{a}", "{x}")
		crlf := mk("x\r\ny", "f g")
		quote := mk("'; DROP TABLE families;--", "%")

		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), "a:b", "c"); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		if err := fx.s.Refresh.RevokeFamily(fx.ctx(), "*", "*"); err != nil {
			t.Fatalf("RevokeFamily: %v", err)
		}
		if fx.s.Revocations != nil {
			fx.revokeSubject("{a}", fx.base, time.Hour)
			fx.wantRevoked(store.TokenRef{ID: newID("jti"), Subject: "a", IssuedAt: fx.at(-time.Hour).Truncate(time.Second)}, false)
			fx.wantRevoked(accessRef(brace, fx.at(-time.Hour).Truncate(time.Second)), true)
		}
		now := fx.at(time.Second)
		fx.wantRotateErr(ab, now, 0, store.ErrRevoked)
		fx.wantRotateErr(star, now, 0, store.ErrRevoked)
		if fx.s.Revocations != nil {
			fx.wantRotateErr(brace, now, 0, store.ErrRevoked)
		}
		for _, tok := range []store.RefreshToken{a, crlf, quote} {
			fx.mustRotate(tok, now)
		}
	})

	t.Run("R11_UnknownTokenNotCreated", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		ghost := successor(store.RefreshToken{FamilyID: newID("fam"), Subject: newID("sub")}, fx.base)
		for i := range 2 {
			r := rotation(ghost, fx.at(time.Second), time.Minute)
			_, err := fx.s.Refresh.Rotate(fx.ctx(), r)
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("attempt %d: Rotate of an unknown token: %v, want ErrNotFound", i+1, err)
			}
			// The successor was not stored either.
			fx.wantRotateErr(r.Next, fx.at(2*time.Second), 0, store.ErrNotFound)
		}
	})

	t.Run("R11_UnknownTokenInKnownFamilyIsReuse", func(t *testing.T) {
		// A family keeps its current and previous token only (bounded
		// state). Callers present signature-verified tokens, and every
		// token signed for a family was once its current token, so any
		// other token naming the family is an older one: reuse. Nothing
		// is created, and the family ends.
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		ghost := rt1
		ghost.ID = newTokenID()
		r := rotation(ghost, fx.at(time.Second), time.Minute)
		if _, err := fx.s.Refresh.Rotate(fx.ctx(), r); !errors.Is(err, store.ErrReused) {
			t.Fatalf("Rotate of a token the family does not hold: %v, want ErrReused", err)
		}
		fx.wantRotateErr(rt1, fx.at(2*time.Second), 0, store.ErrRevoked)
		fx.wantRotateErr(r.Next, fx.at(2*time.Second), 0, store.ErrRevoked)
		fx.wantRevoked(accessRef(rt1, fx.base), true)
	})

	t.Run("R11_OldTokensStayReuseAfterManyRotations", func(t *testing.T) {
		// Bounded state does not forget: a token many generations old is
		// still reuse.
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		rt := rt1
		for i := 1; i <= 20; i++ {
			rt = fx.mustRotateGrace(rt, fx.at(time.Duration(i)*time.Second), time.Minute)
		}
		fx.wantRotateErr(rt1, fx.at(21*time.Second), time.Minute, store.ErrReused)
		fx.wantRotateErr(rt, fx.at(22*time.Second), time.Minute, store.ErrRevoked)
	})

	t.Run("R11_SubjectOrFamilyMismatch", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		f, rt1 := fx.defaultFamily()
		_, other := fx.newFamily(f.Subject, f.CreatedAt, f.ExpiresAt)
		_, stranger := fx.defaultFamily()
		// A family named with another subject is not found. A family of
		// the right subject that does not hold the token sees reuse (see
		// R11_UnknownTokenInKnownFamilyIsReuse): such a request needs
		// claims that were never signed together.
		cases := []struct {
			name              string
			subject, familyID string
			want              error
		}{
			{"OtherSubject", stranger.Subject, rt1.FamilyID, store.ErrNotFound},
			{"OtherFamilyOfSameSubject", rt1.Subject, other.FamilyID, store.ErrReused},
			{"OtherSubjectAndFamily", stranger.Subject, stranger.FamilyID, store.ErrReused},
			{"UnknownFamily", rt1.Subject, newID("fam"), store.ErrNotFound},
			{"EmptySubject", "", rt1.FamilyID, store.ErrNotFound},
			{"EmptyFamily", rt1.Subject, "", store.ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := rotation(rt1, fx.at(time.Second), time.Minute)
				r.Subject, r.FamilyID = tc.subject, tc.familyID
				r.Next.Subject, r.Next.FamilyID = tc.subject, tc.familyID
				if _, err := fx.s.Refresh.Rotate(fx.ctx(), r); !errors.Is(err, tc.want) {
					t.Fatalf("Rotate with sub=%q fam=%q: %v, want %v", short(tc.subject), short(tc.familyID), err, tc.want)
				}
			})
		}
		// None of the mismatches consumed rt1 or touched its family.
		fx.mustRotate(rt1, fx.at(2*time.Second))
	})

	t.Run("R11_SuccessorOfAnotherFamilyRefused", func(t *testing.T) {
		// A successor naming another family or subject breaks Rotate's
		// precondition: the call fails with an error that is none of the
		// sentinels, and consumes nothing.
		fx := st.open(t, capRefresh)
		_, rt1 := fx.defaultFamily()
		for _, bad := range []func(*store.RefreshToken){
			func(n *store.RefreshToken) { n.FamilyID = newID("fam") },
			func(n *store.RefreshToken) { n.Subject = newID("sub") },
		} {
			r := rotation(rt1, fx.at(time.Second), 0)
			bad(&r.Next)
			if _, err := fx.s.Refresh.Rotate(fx.ctx(), r); err == nil || isAny(err, sentinels...) {
				t.Fatalf("Rotate with successor of fam=%q sub=%q: %v, want an error wrapping no sentinel",
					short(r.Next.FamilyID), short(r.Next.Subject), err)
			}
		}
		fx.mustRotate(rt1, fx.at(2*time.Second))
	})

	t.Run("CreateFamilyFirstTokenOfAnotherFamilyRefused", func(t *testing.T) {
		fx := st.open(t, capRefresh)
		sub := newID("sub")
		f := store.Family{ID: newID("fam"), Subject: sub, CreatedAt: fx.base, ExpiresAt: fx.at(defaultFamilyLife)}
		var refused []store.RefreshToken
		for _, bad := range []func(*store.RefreshToken){
			func(tok *store.RefreshToken) { tok.FamilyID = newID("fam") },
			func(tok *store.RefreshToken) { tok.Subject = newID("sub") },
		} {
			first := successor(store.RefreshToken{FamilyID: f.ID, Subject: sub}, fx.base)
			bad(&first)
			if err := fx.s.Refresh.CreateFamily(fx.ctx(), f, first); err == nil || isAny(err, sentinels...) {
				t.Fatalf("CreateFamily with first token of fam=%q sub=%q: %v, want an error wrapping no sentinel",
					short(first.FamilyID), short(first.Subject), err)
			}
			refused = append(refused, first)
		}
		// Neither the family nor the refused tokens were stored.
		first := successor(store.RefreshToken{FamilyID: f.ID, Subject: sub}, fx.base)
		if err := fx.s.Refresh.CreateFamily(fx.ctx(), f, first); err != nil {
			t.Fatalf("CreateFamily after the refused attempts: %v", err)
		}
		// first is the family's token; a refused one is not (presenting
		// it is reuse).
		fx.mustRotate(first, fx.at(time.Second))
		tok := refused[0]
		tok.FamilyID, tok.Subject = f.ID, sub
		fx.wantRotateErr(tok, fx.at(2*time.Second), 0, store.ErrReused)
	})
}
