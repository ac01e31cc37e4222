package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// BenchmarkRotate measures Rotate: each iteration rotates the current token
// of one family (the common, successful path) and stores its successor.
// Token IDs are cheap counters so that the benchmark measures the store.
// It skips when s.Refresh is nil.
func BenchmarkRotate(b *testing.B, s Stores) {
	if s.Refresh == nil {
		b.Skip("storetest: backend provides no Refresh")
	}
	ctx := b.Context()
	base := time.Now().Truncate(time.Millisecond)
	c, err := newChain(ctx, s.Refresh, base)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.step(ctx, s.Refresh); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRotateParallel is [BenchmarkRotate] with b.RunParallel: every
// goroutine rotates its own family, so it measures contention between
// independent families.
func BenchmarkRotateParallel(b *testing.B, s Stores) {
	if s.Refresh == nil {
		b.Skip("storetest: backend provides no Refresh")
	}
	base := time.Now().Truncate(time.Millisecond)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := b.Context()
		c, err := newChain(ctx, s.Refresh, base)
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			if err := c.step(ctx, s.Refresh); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// chain is one family rotated over and over by a benchmark.
type chain struct {
	cur    store.RefreshToken
	prefix string
	base   time.Time
	n      int
}

// newChain stores a new family whose first token is created at base.
func newChain(ctx context.Context, r store.RefreshTokens, base time.Time) (*chain, error) {
	prefix := rand.Text()
	f := store.Family{ID: "fam-" + prefix, Subject: "sub-" + prefix, CreatedAt: base, ExpiresAt: base.Add(365 * 24 * time.Hour)}
	first := store.RefreshToken{ID: prefix + "-0", FamilyID: f.ID, Subject: f.Subject, IssuedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := r.CreateFamily(ctx, f, first); err != nil {
		return nil, fmt.Errorf("CreateFamily: %w", err)
	}
	return &chain{cur: first, prefix: prefix + "-", base: base}, nil
}

// step rotates the current token once.
func (c *chain) step(ctx context.Context, r store.RefreshTokens) error {
	c.n++
	now := c.base.Add(time.Duration(c.n) * time.Microsecond)
	next := store.RefreshToken{
		ID:        c.prefix + strconv.Itoa(c.n),
		FamilyID:  c.cur.FamilyID,
		Subject:   c.cur.Subject,
		IssuedAt:  now,
		ExpiresAt: now.Add(time.Hour),
	}
	got, err := r.Rotate(ctx, store.Rotation{
		PresentedID: c.cur.ID,
		Subject:     c.cur.Subject,
		FamilyID:    c.cur.FamilyID,
		Next:        next,
		Now:         now,
	})
	if err != nil {
		return fmt.Errorf("rotate #%d: %w", c.n, err)
	}
	c.cur = got
	return nil
}

// BenchmarkIsRevoked measures IsRevoked on the common path: a token that
// is not revoked, of a subject with an old cut-off, issued with a live
// family, in a store holding some denylist entries, cut-offs and families.
// The family check is left out when s.Refresh is nil. It skips when
// s.Revocations is nil.
func BenchmarkIsRevoked(b *testing.B, s Stores) {
	if s.Revocations == nil {
		b.Skip("storetest: backend provides no Revocations")
	}
	ctx := b.Context()
	ref := seedRevocations(b, s)
	b.ReportAllocs()
	for b.Loop() {
		revoked, err := s.Revocations.IsRevoked(ctx, ref)
		if err != nil || revoked {
			b.Fatalf("IsRevoked = %v, %v; want false, nil", revoked, err)
		}
	}
}

// BenchmarkIsRevokedParallel is [BenchmarkIsRevoked] with b.RunParallel.
func BenchmarkIsRevokedParallel(b *testing.B, s Stores) {
	if s.Revocations == nil {
		b.Skip("storetest: backend provides no Revocations")
	}
	ref := seedRevocations(b, s)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := b.Context()
		for pb.Next() {
			revoked, err := s.Revocations.IsRevoked(ctx, ref)
			if err != nil || revoked {
				b.Errorf("IsRevoked = %v, %v; want false, nil", revoked, err)
				return
			}
		}
	})
}

// seedRevocations fills the stores with some state and returns a reference
// that is not revoked but has to pass every check.
func seedRevocations(b *testing.B, s Stores) store.TokenRef {
	b.Helper()
	ctx := b.Context()
	now := time.Now().Truncate(time.Second)
	for i := range 100 {
		ref := store.TokenRef{ID: "jti-" + rand.Text(), Subject: "sub-" + strconv.Itoa(i), IssuedAt: now}
		if err := s.Revocations.RevokeToken(ctx, ref, now.Add(time.Hour)); err != nil {
			b.Fatalf("RevokeToken: %v", err)
		}
		if i%10 == 0 {
			if err := s.Revocations.RevokeSubject(ctx, ref.Subject, now.Add(-time.Hour), 2*time.Hour); err != nil {
				b.Fatalf("RevokeSubject: %v", err)
			}
		}
	}
	subject := "sub-" + rand.Text()
	if err := s.Revocations.RevokeSubject(ctx, subject, now.Add(-time.Hour), 2*time.Hour); err != nil {
		b.Fatalf("RevokeSubject: %v", err)
	}
	ref := store.TokenRef{ID: "jti-" + rand.Text(), Subject: subject, IssuedAt: now}
	if s.Refresh != nil {
		c, err := newChain(ctx, s.Refresh, now.Add(-time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		ref.Subject, ref.FamilyID = c.cur.Subject, c.cur.FamilyID
		if err := s.Revocations.RevokeSubject(ctx, ref.Subject, now.Add(-time.Hour), 2*time.Hour); err != nil {
			b.Fatalf("RevokeSubject: %v", err)
		}
	}
	return ref
}
