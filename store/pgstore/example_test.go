package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/pgstore"
)

// Example opens a pool, creates the schema, and uses the store for one
// login session: the family is created at login, rotated at refresh, and
// expired rows are swept in the background. It needs a database, so it is
// compiled but not run.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the store never closes the caller's pool

	st, err := pgstore.New(pool, pgstore.Config{Schema: "jwtkit"})
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil { // safe from every instance at start-up
		log.Fatal(err)
	}

	// Housekeeping, explicit and bounded.
	go func() {
		for range time.Tick(time.Minute) {
			if _, err := st.Sweep(ctx, time.Now(), 1000); err != nil {
				log.Print(err)
			}
		}
	}()

	// Login: a new family with its first refresh token.
	now := time.Now()
	fam := store.Family{ID: "family-id", Subject: "user-id", CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}
	first := store.RefreshToken{ID: store.TokenID("jti-1"), FamilyID: fam.ID, Subject: fam.Subject, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if err := st.CreateFamily(ctx, fam, first); err != nil {
		log.Fatal(err)
	}

	// Refresh: consume the presented token, store its successor.
	now = time.Now()
	next, err := st.Rotate(ctx, store.Rotation{
		PresentedID: first.ID,
		Subject:     fam.Subject,
		FamilyID:    fam.ID,
		Next:        store.RefreshToken{ID: store.TokenID("jti-2"), FamilyID: fam.ID, Subject: fam.Subject, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)},
		Now:         now,
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, store.ErrReused): the family is now revoked
	}
	log.Printf("new refresh token expires at %s", next.ExpiresAt)
}
