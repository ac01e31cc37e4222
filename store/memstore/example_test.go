package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// A login starts a refresh-token family; each refresh rotates the current
// token. Presenting a consumed token again is reuse: the whole family is
// revoked, including the legitimate holder's newest token.
func Example() {
	ctx := context.Background()
	s := memstore.New()
	login := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)

	fam := store.Family{ID: "fam-1", Subject: "user-42", CreatedAt: login, ExpiresAt: login.Add(7 * 24 * time.Hour)}
	rt1 := store.RefreshToken{
		ID: store.TokenID("jti-1"), FamilyID: fam.ID, Subject: fam.Subject,
		IssuedAt: login, ExpiresAt: login.Add(24 * time.Hour),
	}
	if err := s.CreateFamily(ctx, fam, rt1); err != nil {
		fmt.Println(err)
		return
	}

	refresh := func(presented store.RefreshToken, jti string, now time.Time) (store.RefreshToken, error) {
		return s.Rotate(ctx, store.Rotation{
			PresentedID: presented.ID,
			Subject:     presented.Subject,
			FamilyID:    presented.FamilyID,
			Next: store.RefreshToken{
				ID: store.TokenID(jti), FamilyID: presented.FamilyID, Subject: presented.Subject,
				IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour),
			},
			Now: now,
		})
	}

	rt2, err := refresh(rt1, "jti-2", login.Add(time.Hour))
	fmt.Println("rotate rt1:", err, rt2.ExpiresAt.Format(time.DateTime))

	_, err = refresh(rt1, "jti-3", login.Add(2*time.Hour))
	fmt.Println("replay rt1 is reuse:", errors.Is(err, store.ErrReused))

	_, err = refresh(rt2, "jti-4", login.Add(3*time.Hour))
	fmt.Println("rt2 after reuse is revoked:", errors.Is(err, store.ErrRevoked))

	// Access tokens issued with the family are revoked too.
	revoked, err := s.IsRevoked(ctx, store.TokenRef{ID: "at-1", Subject: "user-42", FamilyID: "fam-1", IssuedAt: login})
	fmt.Println("access token revoked:", revoked, err)
	// Output:
	// rotate rt1: <nil> 2030-01-02 10:00:00
	// replay rt1 is reuse: true
	// rt2 after reuse is revoked: true
	// access token revoked: true <nil>
}

// RevokeSubject ends every session of a user, for example after a password
// change; a login after the cut-off is unaffected.
func ExampleStore_RevokeSubject() {
	ctx := context.Background()
	s := memstore.New()
	changed := time.Date(2030, 1, 1, 12, 0, 0, 500_000_000, time.UTC)

	if err := s.RevokeSubject(ctx, "user-42", changed, time.Hour); err != nil {
		fmt.Println(err)
		return
	}
	for _, iat := range []time.Time{
		changed.Add(-time.Minute).Truncate(time.Second), // before the change
		changed.Truncate(time.Second),                   // same second, no family: cannot tell
		changed.Add(time.Second).Truncate(time.Second),  // after the change
	} {
		revoked, _ := s.IsRevoked(ctx, store.TokenRef{ID: "at", Subject: "user-42", IssuedAt: iat})
		fmt.Println(iat.Format(time.TimeOnly), revoked)
	}
	// Output:
	// 11:59:00 true
	// 12:00:00 true
	// 12:00:01 false
}

// AddUser seeds accounts; lookups return copies.
func ExampleStore_AddUser() {
	s := memstore.New()
	err := s.AddUser(store.User{ID: "u-1", Username: "alice", PasswordHash: "$2a$12$…", Scopes: []string{"read"}})
	fmt.Println(err)

	u, err := s.UserByUsername(context.Background(), "alice")
	fmt.Println(u.ID, u.Scopes, err)

	_, err = s.UserByUsername(context.Background(), "Alice")
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// <nil>
	// u-1 [read] <nil>
	// true
}
