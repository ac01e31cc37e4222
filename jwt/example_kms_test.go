package jwt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// kmsClient is the part of a cloud KMS SDK an adapter needs: sign a digest
// with a named key. Real SDKs (AWS KMS Sign, Google Cloud KMS
// AsymmetricSign, Azure Key Vault Sign) have such a call; it takes a
// context, and ECDSA results come back ASN.1 DER encoded.
type kmsClient interface {
	Sign(ctx context.Context, keyName string, digest []byte) ([]byte, error)
}

// kmsSigner adapts a KMS key to jwt.ContextSigner. The public key is read
// once at start-up (from the KMS's get-public-key call or a PEM file).
type kmsSigner struct {
	client  kmsClient
	keyName string
	public  crypto.PublicKey
}

func (s *kmsSigner) Public() crypto.PublicKey { return s.public }

// Sign serves callers without a context; the Issuer uses SignContext.
func (s *kmsSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(context.Background(), digest, opts)
}

func (s *kmsSigner) SignContext(ctx context.Context, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	// opts names the hash (and PSS for PS256); a KMS key is created for
	// one signing algorithm, so ES256 here needs nothing more.
	return s.client.Sign(ctx, s.keyName, digest)
}

// fakeKMS stands in for the cloud service in this example.
type fakeKMS struct{ key *ecdsa.PrivateKey }

func (f fakeKMS) Sign(ctx context.Context, _ string, digest []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ecdsa.SignASN1(rand.Reader, f.key, digest)
}

// A key held by a cloud KMS signs through a small adapter implementing
// jwt.ContextSigner; the private key never enters the process, and the
// issuing context bounds each remote call.
func ExampleContextSigner() {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // inside the KMS
	signer := &kmsSigner{client: fakeKMS{priv}, keyName: "projects/p/keys/jwt-es256/1", public: priv.Public()}

	key, err := jwt.NewSigningKey("kms-es256-1", jwt.ES256, signer)
	if err != nil {
		panic(err)
	}
	keys, _ := jwt.NewKeySet(key)
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://auth.example"})

	// A request's context, bounded so a slow KMS cannot hold it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tok, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "42"})
	if err != nil {
		panic(err)
	}
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://auth.example"})
	claims, err := ver.VerifyAccess(ctx, tok.Raw)
	fmt.Println(claims.Subject, claims.KeyID, err)

	cancel() // the client went away
	_, err = iss.IssueAccess(ctx, jwt.Grant{Subject: "42"})
	fmt.Println(err)
	// Output:
	// 42 kms-es256-1 <nil>
	// jwt: signing with key "kms-es256-1": context canceled
}
