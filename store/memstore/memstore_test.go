package memstore_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"

	"github.com/jwtkit/jwtkit/store/memstore"
	"github.com/jwtkit/jwtkit/store/storetest"
)

// stores exposes every role of s; Reopen returns the same store, since
// memory is the whole of its state.
func stores(s *memstore.Store) storetest.Stores {
	return storetest.Stores{
		Users:       s,
		UserWriter:  s,
		Refresh:     s,
		Revocations: s,
		Sweeper:     s,
		Reopen:      func(*testing.T) storetest.Stores { return stores(s) },
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores { return stores(memstore.New()) })
}

func TestConformanceZeroValue(t *testing.T) {
	if testing.Short() {
		t.Skip("covered by TestConformance")
	}
	storetest.Run(t, func(t *testing.T) storetest.Stores { return stores(new(memstore.Store)) })
}

func BenchmarkRotate(b *testing.B) {
	storetest.BenchmarkRotate(b, stores(memstore.New()))
}

func BenchmarkRotateParallel(b *testing.B) {
	storetest.BenchmarkRotateParallel(b, stores(memstore.New()))
}

func BenchmarkIsRevoked(b *testing.B) {
	storetest.BenchmarkIsRevoked(b, stores(memstore.New()))
}

func BenchmarkIsRevokedParallel(b *testing.B) {
	storetest.BenchmarkIsRevokedParallel(b, stores(memstore.New()))
}

func TestInvalidArguments(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fam := store.Family{ID: "f", Subject: "u", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	first := store.RefreshToken{ID: "t1", FamilyID: "f", Subject: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateFamily(ctx, fam, first); err != nil {
		t.Fatal(err)
	}
	next := store.RefreshToken{ID: "t2", FamilyID: "f", Subject: "u", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	rot := func(mod func(*store.Rotation)) func() error {
		return func() error {
			r := store.Rotation{PresentedID: "t1", Subject: "u", FamilyID: "f", Next: next, Now: now}
			mod(&r)
			_, err := s.Rotate(ctx, r)
			return err
		}
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"CreateUserEmptyID", func() error { return s.CreateUser(ctx, store.User{Username: "x"}) }},
		{"CreateUserEmptyUsername", func() error { return s.CreateUser(ctx, store.User{ID: "x"}) }},
		{"CreateFamilyEmptyID", func() error {
			f, t := fam, first
			f.ID, t.ID, t.FamilyID = "", "t9", ""
			return s.CreateFamily(ctx, f, t)
		}},
		{"CreateFamilyEmptySubject", func() error {
			f, t := fam, first
			f.ID, f.Subject, t.ID, t.FamilyID, t.Subject = "g", "", "t9", "g", ""
			return s.CreateFamily(ctx, f, t)
		}},
		{"CreateFamilyFirstInOtherFamily", func() error {
			f, t := fam, first
			f.ID, t.ID = "g", "t9"
			return s.CreateFamily(ctx, f, t)
		}},
		{"CreateFamilyFirstOfOtherSubject", func() error {
			f, t := fam, first
			f.ID, t.ID, t.FamilyID, t.Subject = "g", "t9", "g", "v"
			return s.CreateFamily(ctx, f, t)
		}},
		{"CreateFamilyEmptyTokenID", func() error {
			f, t := fam, first
			f.ID, t.ID, t.FamilyID = "g", "", "g"
			return s.CreateFamily(ctx, f, t)
		}},
		{"RotateSuccessorWithoutID", rot(func(r *store.Rotation) { r.Next.ID = "" })},
		{"RotateSuccessorInOtherFamily", rot(func(r *store.Rotation) { r.Next.FamilyID = "g" })},
		{"RotateSuccessorOfOtherSubject", rot(func(r *store.Rotation) { r.Next.Subject = "v" })},
		{"RevokeTokenEmptyID", func() error { return s.RevokeToken(ctx, store.TokenRef{Subject: "u"}, now) }},
		{"RevokeSubjectEmpty", func() error { return s.RevokeSubject(ctx, "", now, time.Hour) }},
		{"SweepNegativeLimit", func() error { _, err := s.Sweep(ctx, now, -1); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("accepted, want an error")
			}
			for _, sentinel := range []error{store.ErrNotFound, store.ErrExists, store.ErrReused, store.ErrRevoked, store.ErrExpired, store.ErrUnavailable} {
				if errors.Is(err, sentinel) {
					t.Errorf("error %v wraps %v; a caller bug is not an outcome", err, sentinel)
				}
			}
		})
	}
	// None of the refused calls changed anything: t1 still rotates.
	if _, err := s.Rotate(ctx, store.Rotation{PresentedID: "t1", Subject: "u", FamilyID: "f", Next: next, Now: now}); err != nil {
		t.Fatalf("Rotate after refused calls: %v", err)
	}
	if _, err := s.UserByID(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByID(x) = %v, want ErrNotFound", err)
	}
}

func TestSweepDefaultLimit(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const entries = memstore.DefaultSweepLimit + 5
	for i := range entries {
		if err := s.RevokeToken(ctx, store.TokenRef{ID: strconv.Itoa(i)}, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{memstore.DefaultSweepLimit, 5, 0} {
		n, err := s.Sweep(ctx, now.Add(time.Second), 0)
		if err != nil || n != want {
			t.Fatalf("Sweep = %d, %v; want %d", n, err, want)
		}
	}
}

func TestRevokeTokenKeepsLaterUntil(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ref := store.TokenRef{ID: "jti", Subject: "u", IssuedAt: now}
	for _, until := range []time.Time{now.Add(time.Hour), now.Add(time.Minute)} {
		if err := s.RevokeToken(ctx, ref, until); err != nil {
			t.Fatal(err)
		}
	}
	// The shorter second call did not shorten the entry.
	if _, err := s.Sweep(ctx, now.Add(30*time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if revoked, err := s.IsRevoked(ctx, ref); err != nil || !revoked {
		t.Fatalf("IsRevoked = %v, %v; want true", revoked, err)
	}
}

// TestConcurrentMixedUse runs every method from many goroutines at once, so
// that the race detector sees all shared state.
func TestConcurrentMixedUse(t *testing.T) {
	ctx := t.Context()
	s := new(memstore.Store) // the zero value, initialised under the lock
	base := time.Now().Truncate(time.Millisecond)
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			sub := "u" + strconv.Itoa(w)
			if err := s.CreateUser(ctx, store.User{ID: sub, Username: "name-" + sub, Scopes: []string{"a"}}); err != nil {
				errs <- err
				return
			}
			fam := store.Family{ID: "f" + sub, Subject: sub, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
			cur := store.RefreshToken{ID: sub + "-0", FamilyID: fam.ID, Subject: sub, IssuedAt: base, ExpiresAt: base.Add(time.Hour)}
			if err := s.CreateFamily(ctx, fam, cur); err != nil {
				errs <- err
				return
			}
			for i := 1; i <= rounds; i++ {
				now := base.Add(time.Duration(i) * time.Millisecond)
				next := store.RefreshToken{ID: sub + "-" + strconv.Itoa(i), FamilyID: fam.ID, Subject: sub, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
				got, err := s.Rotate(ctx, store.Rotation{PresentedID: cur.ID, Subject: sub, FamilyID: fam.ID, Next: next, Now: now, Grace: time.Second})
				if err != nil {
					errs <- err
					return
				}
				cur = got
				other := "u" + strconv.Itoa((w+1)%workers)
				_, _ = s.UserByID(ctx, other)
				_, _ = s.UserByUsername(ctx, "name-"+other)
				_ = s.SetPasswordHash(ctx, sub, strconv.Itoa(i))
				_ = s.RevokeToken(ctx, store.TokenRef{ID: sub + "-at-" + strconv.Itoa(i)}, now)
				_, _ = s.IsRevoked(ctx, store.TokenRef{ID: "x", Subject: other, FamilyID: "f" + other, IssuedAt: now})
				_ = s.RevokeSubject(ctx, "nobody-"+sub, now, time.Minute)
				_ = s.RevokeFamily(ctx, "nobody", "f"+other)
				_, _ = s.Sweep(ctx, now, 10)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	u, err := s.UserByID(ctx, "u0")
	if err != nil || u.PasswordHash != strconv.Itoa(rounds) {
		t.Errorf("UserByID(u0) = %q, %v; want hash %q", u.PasswordHash, err, strconv.Itoa(rounds))
	}
}
