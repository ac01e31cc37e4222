package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// FillSessions stores n login sessions in r, each rotated rotations
// times, with identifiers of the sizes the token endpoint uses (22
// character family and subject IDs, [store.TokenID] token IDs). Backends
// use it to measure the bytes they keep per active session.
func FillSessions(ctx context.Context, r store.RefreshTokens, n, rotations int) error {
	base := time.Now().Truncate(time.Millisecond)
	for i := range n {
		f := store.Family{ID: rand.Text()[:22], Subject: rand.Text()[:22], CreatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour)}
		cur := store.RefreshToken{ID: store.TokenID(rand.Text()), FamilyID: f.ID, Subject: f.Subject, IssuedAt: base, ExpiresAt: f.ExpiresAt}
		if err := r.CreateFamily(ctx, f, cur); err != nil {
			return fmt.Errorf("session %d: CreateFamily: %w", i, err)
		}
		for j := range rotations {
			now := base.Add(time.Duration(j+1) * time.Second)
			next := store.RefreshToken{ID: store.TokenID(rand.Text()), FamilyID: f.ID, Subject: f.Subject, IssuedAt: now, ExpiresAt: f.ExpiresAt}
			got, err := r.Rotate(ctx, store.Rotation{PresentedID: cur.ID, Subject: f.Subject, FamilyID: f.ID, Next: next, Now: now})
			if err != nil {
				return fmt.Errorf("session %d: rotation %d: %w", i, j+1, err)
			}
			cur = got
		}
	}
	return nil
}
