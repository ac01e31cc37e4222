package redisstore_test

import (
	"context"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/redisstore"
)

// Example keeps refresh families and revocations in Redis. It needs a
// server, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{
		Addr: "localhost:6379",
		// Let context deadlines bound socket I/O, so that a hung server
		// cannot hold a request past its deadline.
		ContextTimeoutEnabled: true,
	})
	defer rdb.Close() // the store never closes the caller's client

	st, err := redisstore.New(rdb, redisstore.Config{Prefix: "myapp"})
	if err != nil {
		log.Fatal(err)
	}

	// Logout of one access token: denylist its jti until it expires
	// (plus the verifier's leeway).
	tok := store.TokenRef{ID: "jti", Subject: "user-id", FamilyID: "family-id", IssuedAt: time.Now()}
	if err := st.RevokeToken(ctx, tok, time.Now().Add(15*time.Minute+30*time.Second)); err != nil {
		log.Fatal(err)
	}

	// Middleware: any error must fail closed.
	revoked, err := st.IsRevoked(ctx, tok)
	if err != nil || revoked {
		log.Print("reject the request")
	}
}

// ExampleConfig_waitAOF makes every write wait for the server's AOF fsync
// (Redis 7.2 or later, appendonly yes).
func ExampleConfig_waitAOF() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	st, err := redisstore.New(rdb, redisstore.Config{WaitAOF: true, WaitAOFTimeout: 200 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	_ = st // writes now fail with store.ErrUnavailable unless confirmed on disk
}
