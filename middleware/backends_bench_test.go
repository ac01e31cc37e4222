package middleware_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
	"github.com/jwtkit/jwtkit/store/pgstore"
	"github.com/jwtkit/jwtkit/store/redisstore"
)

func benchSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func benchPG(b *testing.B) store.Revocations {
	url := testenv.PostgresURL(b)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	schema := "jwtkit_bench_" + benchSuffix()
	b.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		pool.Close()
	})
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		testenv.SkipOrFail(b, "PostgreSQL migration: %v", err)
	}
	return s
}

func benchRedis(b *testing.B) store.Revocations {
	opts, err := redis.ParseURL(testenv.RedisURL(b))
	if err != nil {
		b.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	prefix := "jwtkit-bench-" + benchSuffix()
	b.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		_ = client.Close()
	})
	s, err := redisstore.New(client, redisstore.Config{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRequireBearerRevocation compares the cost of an authenticated
// request without a revocation store (stateless) and with revocation
// checks against the memory store, Redis and PostgreSQL.
func BenchmarkRequireBearerRevocation(b *testing.B) {
	key, err := jwt.NewHMACKey("k1", jwt.HS256, []byte(strings.Repeat("k", 32)))
	if err != nil {
		b.Fatal(err)
	}
	keys, _ := jwt.NewKeySet(key)
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://issuer.test"})
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://issuer.test"})
	tok, err := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "user-1", FamilyID: tokenid.New()})
	if err != nil {
		b.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	for _, bc := range []struct {
		name  string
		store func(b *testing.B) store.Revocations
	}{
		{"none", nil},
		{"memory", func(*testing.B) store.Revocations { return memstore.New() }},
		{"redis", benchRedis},
		{"postgres", benchPG},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var opts []middleware.Option
			if bc.store != nil {
				opts = append(opts, middleware.WithRevocations(bc.store(b)))
			}
			h := middleware.RequireBearer(ver, opts...)(next)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok.Raw)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusNoContent {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
