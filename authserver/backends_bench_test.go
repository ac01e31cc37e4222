package authserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// BenchmarkLoginTiming_L01 measures the token endpoint for a wrong
// password, an unknown user and a disabled user at the default bcrypt cost,
// interleaved so that machine load affects all three alike, and reports
// the ratios to the wrong-password case (the target is 1.00 ± 0.10). Run
// it with a fixed count, e.g. -benchtime 10x.
func BenchmarkLoginTiming_L01(b *testing.B) {
	ctx := context.Background()
	db := memstore.New()
	hasher := &password.Hasher{}
	hash, err := hasher.Hash("correct horse")
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range []store.User{
		{ID: "u1", Username: "alice", PasswordHash: hash},
		{ID: "u2", Username: "mallory", PasswordHash: hash, Disabled: true},
	} {
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	key, _ := jwt.NewHMACKey("k1", jwt.HS256, []byte(strings.Repeat("k", 32)))
	keys, _ := jwt.NewKeySet(key)
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://issuer.test"})
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://issuer.test"})
	h, err := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users: db, Passwords: hasher, Issuer: iss, Verifier: ver, Refresh: db,
	})
	if err != nil {
		b.Fatal(err)
	}
	login := func(user, pw string) time.Duration {
		body := url.Values{"username": {user}, "password": {pw}}.Encode()
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		if w.Code != http.StatusUnauthorized {
			b.Fatalf("%s: status %d", user, w.Code)
		}
		return d
	}
	var wrong, unknown, disabled time.Duration
	for b.Loop() {
		wrong += login("alice", "wrong password")
		unknown += login("nobody", "wrong password")
		disabled += login("mallory", "correct horse")
	}
	b.ReportMetric(float64(unknown)/float64(wrong), "unknown/wrong")
	b.ReportMetric(float64(disabled)/float64(wrong), "disabled/wrong")
	b.ReportMetric(float64(wrong.Milliseconds())/float64(b.N), "wrong-ms/op")
}
