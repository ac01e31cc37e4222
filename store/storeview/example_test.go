package storeview_test

import (
	"context"
	"log"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/store/pgstore"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// A resource server whose users and revocations live in PostgreSQL
// answers both questions from memory, kept current by the store's change
// feed within a second.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal/app")
	if err != nil {
		log.Fatal(err)
	}
	pg, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	revocations, err := storeview.NewRevocations(storeview.RevocationsConfig{Store: pg, Feed: pg.ChangeFeed()})
	if err != nil {
		log.Fatal(err)
	}
	defer revocations.Close()
	users, err := storeview.NewUsers(storeview.UsersConfig{Store: pg, Feed: pg.ChangeFeed()})
	if err != nil {
		log.Fatal(err)
	}
	defer users.Close()

	var verifier *jwt.Verifier // built as usual
	auth := middleware.RequireBearer(verifier,
		middleware.WithRevocations(revocations),
		middleware.WithUsers(users))
	http.Handle("/api/", auth(http.NotFoundHandler()))
}
