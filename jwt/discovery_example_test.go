package jwt_test

import (
	"context"
	"log"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// A resource server given only its issuer's identifier: the JWKS URL
// comes from the issuer's metadata, and the issuer is checked twice, in
// the metadata and in every token.
func ExampleDiscoverKeySet() {
	const issuer = "https://auth.example"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := jwt.DiscoverKeySet(ctx, issuer, jwt.RemoteKeySetConfig{
		Algorithms: []jwt.Algorithm{jwt.RS256},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: issuer})
	if err != nil {
		log.Fatal(err)
	}
	_ = v // v.VerifyAccess(ctx, raw) in the request path
}

// Access tokens of an Okta custom authorization server: no typ header,
// scopes in an scp array. The issuer's keys come from its metadata.
func ExampleAccessProfile() {
	const issuer = "https://dev-1.okta.example/oauth2/default"
	ctx := context.Background()
	keys, err := jwt.DiscoverKeySet(ctx, issuer, jwt.RemoteKeySetConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys:          keys,
		Issuer:        issuer,
		Audience:      "api://default",
		AllowPlainJWT: true,
		Profile:       jwt.AccessProfile{ScopeClaim: "scp", ScopeArray: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = v // claims.HasScope("items.read") after v.VerifyAccess(ctx, raw)
}
