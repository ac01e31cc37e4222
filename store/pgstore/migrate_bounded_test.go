package pgstore_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/pgstore"
)

func TestMigrate_SessionsOfThePerTokenLayoutSurviveTheUpgrade(t *testing.T) {
	// A schema at version 1 (one row per token) with live sessions is
	// upgraded: the sessions keep rotating, their old tokens stay reuse,
	// and a family whose current token row is missing is ended.
	schema := newSchema(t)
	ctx := t.Context()
	p := pool(t)
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Millisecond)
	sch := pgx.Identifier{schema}.Sanitize()
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{
		`CREATE SCHEMA ` + sch,
		`SET LOCAL search_path TO ` + sch,
		string(v1),
		`CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO schema_version (version, name) VALUES (1, '0001_init.sql')`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t1, t2 := store.TokenID("jti-1"), store.TokenID("jti-2")
	type row struct {
		q    string
		args []any
	}
	for _, r := range []row{
		{`INSERT INTO refresh_families (id, subject, created_at, expires_at, current_token, previous_token, rotated_at)
			VALUES ('fam-live', 'sub', $1, $2, $3, $4, $5)`, []any{now, now.Add(24 * time.Hour), t2, t1, now.Add(time.Second)}},
		{`INSERT INTO refresh_tokens (id, family_id, subject, issued_at, expires_at, consumed)
			VALUES ($1, 'fam-live', 'sub', $2, $3, true), ($4, 'fam-live', 'sub', $5, $6, false)`,
			[]any{t1, now, now.Add(time.Hour), t2, now.Add(time.Second), now.Add(time.Hour)}},
		{`INSERT INTO refresh_families (id, subject, created_at, expires_at, current_token)
			VALUES ('fam-broken', 'sub', $1, $2, 'missing')`, []any{now, now.Add(24 * time.Hour)}},
	} {
		if _, err := tx.Exec(ctx, r.q, r.args...); err != nil {
			t.Fatalf("%s: %v", r.q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	s, err := pgstore.New(p, pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 1: %v", err)
	}
	tok := func(id string) store.RefreshToken {
		return store.RefreshToken{ID: id, FamilyID: "fam-live", Subject: "sub"}
	}
	next := store.RefreshToken{ID: store.TokenID("jti-3"), FamilyID: "fam-live", Subject: "sub", IssuedAt: now.Add(2 * time.Second), ExpiresAt: now.Add(time.Hour)}
	rot := func(presented store.RefreshToken, n store.RefreshToken, at time.Duration) error {
		_, err := s.Rotate(ctx, store.Rotation{PresentedID: presented.ID, Subject: "sub", FamilyID: "fam-live", Next: n, Now: now.Add(at)})
		return err
	}
	if err := rot(tok(t2), next, 2*time.Second); err != nil {
		t.Fatalf("rotating the current token after the upgrade: %v", err)
	}
	later := next
	later.ID = store.TokenID("jti-4")
	if err := rot(tok(t1), later, 3*time.Second); !errors.Is(err, store.ErrReused) {
		t.Fatalf("an older token after the upgrade: %v, want ErrReused", err)
	}
	revoked, err := s.IsRevoked(ctx, store.TokenRef{ID: "a", Subject: "sub", FamilyID: "fam-broken", IssuedAt: now.Truncate(time.Second)})
	if err != nil || !revoked {
		t.Fatalf("access token of a family without its current token: revoked %v, %v; want true", revoked, err)
	}
}
