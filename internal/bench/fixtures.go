package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"time"

	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
)

// The policy every compared verifier enforces. Each path is configured to
// check the same things: signature with a pinned algorithm and key, kid,
// typ at+jwt, exp (required), nbf, iat (not in the future), iss, aud, sub
// (required) and a lifetime ceiling, all with the same leeway.
const (
	Issuer   = "https://auth.example.com"
	Audience = "https://api.example.com"
	KID      = "k1"
	Subject  = "user-1234"
	Leeway   = 30 * time.Second
	// MaxTTL is jwtkit's default ceiling on exp-iat for access tokens.
	MaxTTL = 24 * time.Hour
)

// Scopes are the scopes written into the benchmark tokens.
var Scopes = []string{"read", "write"}

// Algorithms are the algorithms compared.
var Algorithms = []jwt.Algorithm{jwt.HS256, jwt.RS256, jwt.ES256, jwt.EdDSA}

// Fixture holds one algorithm's keys, in jwtkit form and in the raw form the
// other libraries take.
type Fixture struct {
	Alg jwt.Algorithm

	Secret []byte        // HS256
	Priv   crypto.Signer // RS256, ES256, EdDSA
	Pub    crypto.PublicKey

	Keys     *jwt.KeySet
	Issuer   *jwt.Issuer
	Verifier *jwt.Verifier

	// Token is a valid access token minted by jwtkit; every compared
	// verifier must accept it.
	Token string
}

// VerifyKey returns the key the other libraries verify with.
func (f *Fixture) VerifyKey() any {
	if f.Alg == jwt.HS256 {
		return f.Secret
	}
	return f.Pub
}

// SignKey returns the key the other libraries sign with.
func (f *Fixture) SignKey() any {
	if f.Alg == jwt.HS256 {
		return f.Secret
	}
	return f.Priv
}

var (
	fixturesOnce sync.Once
	fixtures     map[jwt.Algorithm]*Fixture
	fixturesErr  error
)

// Fixtures returns one fixture per algorithm, created once per process.
func Fixtures() (map[jwt.Algorithm]*Fixture, error) {
	fixturesOnce.Do(func() {
		fixtures = make(map[jwt.Algorithm]*Fixture)
		for _, alg := range Algorithms {
			f, err := NewFixture(alg)
			if err != nil {
				fixturesErr = err
				return
			}
			fixtures[alg] = f
		}
	})
	return fixtures, fixturesErr
}

// NewFixture generates fresh keys for alg and mints a valid token.
func NewFixture(alg jwt.Algorithm) (*Fixture, error) {
	f := &Fixture{Alg: alg}
	var key *jwt.Key
	var err error
	switch alg {
	case jwt.HS256:
		f.Secret = make([]byte, 32)
		_, _ = rand.Read(f.Secret)
		key, err = jwt.NewHMACKey(KID, alg, f.Secret)
	case jwt.RS256:
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
			f.Priv, f.Pub = k, &k.PublicKey
			key, err = jwt.NewSigningKey(KID, alg, k)
		}
	case jwt.ES256:
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err == nil {
			f.Priv, f.Pub = k, &k.PublicKey
			key, err = jwt.NewSigningKey(KID, alg, k)
		}
	case jwt.EdDSA:
		var pub ed25519.PublicKey
		var priv ed25519.PrivateKey
		if pub, priv, err = ed25519.GenerateKey(rand.Reader); err == nil {
			f.Priv, f.Pub = priv, pub
			key, err = jwt.NewSigningKey(KID, alg, priv)
		}
	default:
		return nil, fmt.Errorf("unsupported algorithm %s", alg)
	}
	if err != nil {
		return nil, err
	}
	if f.Keys, err = jwt.NewKeySet(key); err != nil {
		return nil, err
	}
	if f.Issuer, err = jwt.NewIssuer(jwt.IssuerConfig{Keys: f.Keys, Issuer: Issuer, Audience: []string{Audience}}); err != nil {
		return nil, err
	}
	if f.Verifier, err = jwt.NewVerifier(jwt.VerifierConfig{Keys: f.Keys, Issuer: Issuer, Audience: Audience, Leeway: Leeway}); err != nil {
		return nil, err
	}
	tok, err := f.Issuer.IssueAccess(context.Background(), jwt.Grant{Subject: Subject, Scopes: Scopes, FamilyID: tokenid.New()})
	if err != nil {
		return nil, err
	}
	f.Token = tok.Raw
	return f, nil
}
