package jwt_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// exampleClock is a fixed clock: examples print the same output on every
// run. Production code leaves Now unset (time.Now).
func exampleClock() time.Time { return time.Unix(1_700_000_000, 0) }

// exampleKey returns an HS256 key with a fresh 32-byte secret. Real
// secrets come from a key manager or the environment, never from source.
func exampleKey(kid string) *jwt.Key {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	key, err := jwt.NewHMACKey(kid, jwt.HS256, secret)
	if err != nil {
		panic(err)
	}
	return key
}

func ExampleNewIssuer() {
	keys, err := jwt.NewKeySet(exampleKey("k1"))
	if err != nil {
		panic(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{
		Keys:     keys,
		Issuer:   "https://issuer.test",
		Audience: []string{"api"},
		Now:      exampleClock,
	})
	if err != nil {
		panic(err)
	}
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys:     keys,
		Issuer:   "https://issuer.test",
		Audience: "api",
		Leeway:   30 * time.Second,
		Now:      exampleClock,
	})
	if err != nil {
		panic(err)
	}

	tok, err := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "user-42", Scopes: []string{"read", "write"}})
	if err != nil {
		panic(err)
	}
	claims, err := ver.VerifyAccess(context.Background(), tok.Raw)
	if err != nil {
		panic(err)
	}
	fmt.Println("subject:", claims.Subject)
	fmt.Println("scopes:", claims.Scopes)
	fmt.Println("may write:", claims.HasScope("write"), "may administer:", claims.HasScope("admin"))
	fmt.Println("lifetime:", claims.ExpiresAt.Sub(claims.IssuedAt))

	// Sixteen minutes later the token has expired, leeway included.
	later, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys:     keys,
		Issuer:   "https://issuer.test",
		Audience: "api",
		Leeway:   30 * time.Second,
		Now:      func() time.Time { return exampleClock().Add(16 * time.Minute) },
	})
	if err != nil {
		panic(err)
	}
	_, err = later.VerifyAccess(context.Background(), tok.Raw)
	fmt.Println("expired:", errors.Is(err, jwt.ErrExpired))

	// A token from another service's audience is refused.
	other, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://issuer.test", Audience: "billing", Now: exampleClock})
	if err != nil {
		panic(err)
	}
	_, err = other.VerifyAccess(context.Background(), tok.Raw)
	fmt.Println("wrong audience:", errors.Is(err, jwt.ErrAudience))
	// Output:
	// subject: user-42
	// scopes: [read write]
	// may write: true may administer: false
	// lifetime: 15m0s
	// expired: true
	// wrong audience: true
}

func ExampleVerifier_VerifyAccess() {
	keys, _ := jwt.NewKeySet(exampleKey("k1"))
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://issuer.test", Now: exampleClock})
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://issuer.test", Now: exampleClock})

	// A refresh token is signed by the same key but is not an access
	// token: its typ header says refresh+jwt.
	refresh, err := iss.IssueRefresh(context.Background(), jwt.Grant{Subject: "user-42", FamilyID: "family-1"})
	if err != nil {
		panic(err)
	}
	_, err = ver.VerifyAccess(context.Background(), refresh.Raw)
	fmt.Println("refresh token as access token:", errors.Is(err, jwt.ErrTokenUse))
	fmt.Println(err)

	claims, err := ver.VerifyRefresh(context.Background(), refresh.Raw)
	fmt.Println("as refresh token:", err == nil, claims.Use)

	// Errors name a sentinel and never echo the token.
	_, err = ver.VerifyAccess(context.Background(), "not a token")
	fmt.Println(errors.Is(err, jwt.ErrMalformed), err)
	// Output:
	// refresh token as access token: true
	// jwt: wrong token use: not an access token
	// as refresh token: true refresh
	// true jwt: malformed token: character outside the base64url alphabet
}

func ExampleClaims_Decode() {
	keys, _ := jwt.NewKeySet(exampleKey("k1"))
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://issuer.test", Now: exampleClock})
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://issuer.test", Now: exampleClock})

	// The service's own claims, written next to the registered ones.
	type tenantClaims struct {
		Tenant string   `json:"tenant"`
		Roles  []string `json:"roles"`
	}
	tok, err := iss.IssueAccess(context.Background(), jwt.Grant{
		Subject: "user-42",
		Extra:   tenantClaims{Tenant: "acme", Roles: []string{"editor"}},
	})
	if err != nil {
		panic(err)
	}
	claims, err := ver.VerifyAccess(context.Background(), tok.Raw)
	if err != nil {
		panic(err)
	}
	var tc tenantClaims
	if err := claims.Decode(&tc); err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, tc.Tenant, tc.Roles)

	// One claim at a time, typed.
	tenant, ok, err := jwt.Claim[string](claims, "tenant")
	fmt.Println(tenant, ok, err)
	_, ok, err = jwt.Claim[string](claims, "department")
	fmt.Println(ok, err)
	_, _, err = jwt.Claim[int](claims, "tenant")
	fmt.Println(errors.Is(err, jwt.ErrInvalidClaim))

	// Custom claims may not shadow registered ones.
	_, err = iss.IssueAccess(context.Background(), jwt.Grant{Subject: "user-42", Extra: map[string]any{"SUB": "admin"}})
	fmt.Println(errors.Is(err, jwt.ErrInvalidClaim))
	// Output:
	// user-42 acme [editor]
	// acme true <nil>
	// false <nil>
	// true
	// true
}

func ExampleKeySet_Rotate() {
	k1, k2 := exampleKey("k1"), exampleKey("k2")
	keys, _ := jwt.NewKeySet(k1)
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://issuer.test", Now: exampleClock})
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://issuer.test", Now: exampleClock})
	ctx := context.Background()

	old, _ := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "user-42"})

	// k2 signs from now on; k1 still verifies the tokens it signed.
	if err := keys.Rotate(k2, k1); err != nil {
		panic(err)
	}
	fresh, _ := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "user-42"})
	c, err := ver.VerifyAccess(ctx, old.Raw)
	fmt.Println("old token:", c.KeyID, err)
	c, err = ver.VerifyAccess(ctx, fresh.Raw)
	fmt.Println("new token:", c.KeyID, err)

	// Once k1's tokens have expired, k1 leaves the set.
	if err := keys.Rotate(k2); err != nil {
		panic(err)
	}
	_, err = ver.VerifyAccess(ctx, old.Raw)
	fmt.Println("old token after removal:", errors.Is(err, jwt.ErrUnknownKey))
	_, err = ver.VerifyAccess(ctx, fresh.Raw)
	fmt.Println("new token after removal:", err)
	// Output:
	// old token: k1 <nil>
	// new token: k2 <nil>
	// old token after removal: true
	// new token after removal: <nil>
}
