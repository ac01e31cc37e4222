package jwt_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
)

// A service moves from HS256 to ES256 without a flag day: every instance
// gets the same schedule, publishes and verifies the new key at once, and
// starts signing with it at the same instant by its own clock.
func ExampleNewScheduledKeySet() {
	clock := jwttest.NewClock(time.Date(2027, 3, 1, 11, 0, 0, 0, time.UTC))
	switchAt := time.Date(2027, 3, 1, 11, 5, 0, 0, time.UTC)

	old, _ := jwt.KeyFromString("hs-2026", jwt.HS256, "a-32-byte-secret-from-the-vault!")
	next, _ := jwt.GenerateKey("es-2027", jwt.ES256) // in production: a PEM file or a KMS
	keys, err := jwt.NewScheduledKeySet([]jwt.ScheduledKey{
		{Key: old},                  // signs until the next key's time
		{Key: next, From: switchAt}, // then this one
	})
	if err != nil {
		panic(err)
	}
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://auth.example", Now: clock.Now})
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://auth.example", Now: clock.Now})

	before, _ := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "42"})
	clock.Set(switchAt)
	after, _ := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "42"})
	for _, tok := range []*jwt.Token{before, after} {
		c, err := ver.VerifyAccess(context.Background(), tok.Raw)
		fmt.Println(c.KeyID, err)
	}
	// Output:
	// hs-2026 <nil>
	// es-2027 <nil>
}
