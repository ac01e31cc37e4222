package redisstore_test

import (
	"crypto/rand"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

func TestSessionsOfTheEarlierPerTokenLayoutKeepRotating(t *testing.T) {
	// A family written by a release that kept one key per token (no curExp
	// field) rotates after an upgrade; old tokens stay reuse.
	c := client(t)
	s, prefix := newStoreOn(t, c)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	us := func(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }
	subject, familyID := "sub-"+rand.Text(), "fam-"+rand.Text()
	first := store.RefreshToken{ID: store.TokenID(rand.Text()), FamilyID: familyID, Subject: subject, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	base := prefix + ":{" + store.TokenID(subject)[:22] + "}"
	famKey := base + ":fam:" + store.TokenID(familyID)
	tokKey := base + ":tok:" + store.TokenID(first.ID)
	if err := c.HSet(ctx, famKey, "created", us(now), "exp", us(now.Add(24*time.Hour)), "revoked", "0", "cur", store.TokenID(first.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, tokKey, "fam", store.TokenID(familyID), "iat", us(now), "exp", us(first.ExpiresAt), "used", "0").Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{famKey, tokKey} {
		if err := c.Expire(ctx, k, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	second, err := rotate(t, s, first, now.Add(time.Second))
	if err != nil {
		t.Fatalf("rotating a family of the earlier layout: %v", err)
	}
	third, err := rotate(t, s, second, now.Add(2*time.Second))
	if err != nil {
		t.Fatalf("rotating its successor: %v", err)
	}
	if _, err := rotate(t, s, first, now.Add(3*time.Second)); !errors.Is(err, store.ErrReused) {
		t.Fatalf("replaying the first token: %v, want ErrReused", err)
	}
	if _, err := rotate(t, s, third, now.Add(4*time.Second)); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("the newest token after reuse: %v, want ErrRevoked", err)
	}
}
