package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// rfc7638Key is the RSA key of RFC 7638 §3.1.
const rfc7638Key = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`

func TestThumbprintRFC7638(t *testing.T) {
	t.Parallel()
	k, err := parseJWK([]byte(rfc7638Key))
	if err != nil {
		t.Fatal(err)
	}
	const want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	if got := k.Thumbprint(); got != want {
		t.Fatalf("Thumbprint() = %q, want %q", got, want)
	}
	if k.ID() != "2011-04-29" {
		t.Fatalf("the JWK's own kid was replaced: %q", k.ID())
	}
	// Built without kid, the key is named by its thumbprint.
	def := mustKey(t)(NewVerificationKeyDefault(k.public))
	if def.ID() != want {
		t.Fatalf("default kid %q, want %q", def.ID(), want)
	}
}

// NewVerificationKeyDefault builds an RS256 verification key the way the
// exported constructors do, with the default kid.
func NewVerificationKeyDefault(pub crypto.PublicKey) (*Key, error) {
	return withDefaultID(newVerificationKey("", RS256, pub))
}

func TestThumbprintMatchesJWX(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		alg  Algorithm
		priv crypto.Signer
	}{{ES384, ec}, {EdDSA, ed}} {
		k := mustKey(t)(NewSigningKey("", tc.alg, tc.priv))
		xk, err := jwk.Import(tc.priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		sum, err := xk.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		want := base64.RawURLEncoding.EncodeToString(sum)
		if k.Thumbprint() != want || k.ID() != want {
			t.Errorf("%s: thumbprint %q, kid %q, jwx %q", tc.alg, k.Thumbprint(), k.ID(), want)
		}
		// An explicit kid is kept.
		if named := mustKey(t)(NewSigningKey("mine", tc.alg, tc.priv)); named.ID() != "mine" {
			t.Errorf("%s: explicit kid became %q", tc.alg, named.ID())
		}
	}
}

// TestHMACDefaultKID: the default kid of an HMAC key is neither the
// thumbprint nor a plain hash of the secret, only the label's HMAC under
// the secret, which reveals no more than a token's signature does.
func TestHMACDefaultKID(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	k := mustKey(t)(NewHMACKey("", HS256, secret))
	plain := sha256.Sum256(secret)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(hmacKIDLabel))
	want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
	switch id := k.ID(); {
	case id != want:
		t.Fatalf("kid %q, want %q", id, want)
	case id == k.Thumbprint():
		t.Fatal("an HMAC key's kid is its thumbprint")
	case id == base64.RawURLEncoding.EncodeToString(plain[:16]) || id == base64.RawURLEncoding.EncodeToString(plain[:]):
		t.Fatal("an HMAC key's kid is a plain hash of the secret")
	}
	if again := mustKey(t)(NewHMACKey("", HS256, secret)); again.ID() != k.ID() {
		t.Fatal("the default kid is not deterministic")
	}
	other := mustKey(t)(NewHMACKey("", HS256, []byte("0123456789abcdef0123456789abcdeF")))
	if other.ID() == k.ID() {
		t.Fatal("two secrets share a default kid")
	}
	// The thumbprint itself follows RFC 7638 for oct keys.
	doc := `{"k":"` + base64.RawURLEncoding.EncodeToString(secret) + `","kty":"oct"}`
	sum := sha256.Sum256([]byte(doc))
	if k.Thumbprint() != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Fatalf("oct thumbprint %q", k.Thumbprint())
	}
}

// TestZeroKeySetRefused: a KeySet or RemoteKeySet that did not come from
// its constructor fails every constructor it is given to, with ErrConfig,
// and its methods do not panic.
func TestZeroKeySetRefused(t *testing.T) {
	t.Parallel()
	var zero KeySet
	var nilSet *KeySet
	var zeroRemote RemoteKeySet
	for name, try := range map[string]func() error{
		"NewVerifier/zero KeySet": func() error {
			_, err := NewVerifier(VerifierConfig{Keys: &zero, AnyIssuer: true})
			return err
		},
		"NewVerifier/nil KeySet": func() error {
			_, err := NewVerifier(VerifierConfig{Keys: nilSet, AnyIssuer: true})
			return err
		},
		"NewVerifier/zero RemoteKeySet": func() error {
			_, err := NewVerifier(VerifierConfig{Keys: &zeroRemote, AnyIssuer: true})
			return err
		},
		"NewIssuer/zero KeySet": func() error {
			_, err := NewIssuer(IssuerConfig{Keys: &zero})
			return err
		},
		"NewIssuer/nil KeySet": func() error {
			_, err := NewIssuer(IssuerConfig{Keys: nilSet})
			return err
		},
		"NewMultiVerifier/zero Verifier": func() error {
			_, err := NewMultiVerifier(&Verifier{})
			return err
		},
		"PublicJWKS/zero KeySet": func() error {
			_, err := zero.PublicJWKS()
			return err
		},
	} {
		if err := try(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if zero.Active() != nil || zero.Keys() != nil {
		t.Fatal("the zero KeySet reports keys")
	}
}
