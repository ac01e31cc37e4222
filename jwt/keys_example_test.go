package jwt_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// An issuer publishes the public half of its keys; HMAC secrets never
// appear in the output.
func ExampleKeySet_PublicJWKS_publish() {
	seed := make([]byte, ed25519.SeedSize) // a fixed key, for a stable output
	key, err := jwt.NewSigningKey("ed-2026", jwt.EdDSA, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	doc, err := keys.PublicJWKS()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(doc))
	// Output:
	// {"keys":[{"kty":"OKP","use":"sig","alg":"EdDSA","kid":"ed-2026","crv":"Ed25519","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"}]}
}

// A verifier reads a JWK set it was configured with; each key names its
// algorithm.
func ExampleParseJWKS_verifier() {
	doc := []byte(`{"keys":[{"kty":"OKP","use":"sig","alg":"EdDSA","kid":"ed-2026","crv":"Ed25519","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"}]}`)
	keys, err := jwt.ParseJWKS(doc)
	if err != nil {
		log.Fatal(err)
	}
	set, err := jwt.NewKeySet(nil, keys...)
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range set.Keys() {
		fmt.Println(k.ID(), k.CanSign())
	}
	// Output:
	// ed-2026 false
}

// A resource server verifies tokens with the keys its issuer publishes.
// The key set fetches in the background until Close.
func ExampleNewRemoteKeySet_resourceServer() {
	keys, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{
		URL:        "https://login.example.com/.well-known/jwks.json",
		Algorithms: []jwt.Algorithm{jwt.RS256},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()

	// Optional: wait for the keys at start-up, to fail fast on a wrong URL.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := keys.Refresh(ctx); err != nil {
		log.Printf("JWKS not available yet: %v", err)
	}

	verifier, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys:     keys,
		Issuer:   "https://login.example.com",
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = verifier // middleware.RequireBearer(verifier) protects the routes
}

// Tokens from two issuers, each verified with its own keys: the iss claim
// picks exactly one verifier.
func ExampleNewMultiVerifier_twoIssuers() {
	workforce, _ := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: "https://login.example.com/jwks"})
	partners, _ := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: "https://partners.example.net/jwks", Algorithms: []jwt.Algorithm{jwt.ES256}})
	defer workforce.Close()
	defer partners.Close()
	a, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: workforce, Issuer: "https://login.example.com", Audience: "api"})
	b, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: partners, Issuer: "https://partners.example.net", Audience: "api"})
	verifier, err := jwt.NewMultiVerifier(a, b)
	if err != nil {
		log.Fatal(err)
	}
	_ = verifier // as good as a *jwt.Verifier for middleware.RequireBearer
}
