package jwt_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
)

// ktPEM encodes key in the PEM form named by typ.
func ktPEM(tb testing.TB, typ string, key any) []byte {
	tb.Helper()
	var der []byte
	var err error
	switch typ {
	case "PRIVATE KEY":
		der, err = x509.MarshalPKCS8PrivateKey(key)
	case "RSA PRIVATE KEY":
		der = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
	case "EC PRIVATE KEY":
		der, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	case "PUBLIC KEY":
		der, err = x509.MarshalPKIXPublicKey(key)
	case "RSA PUBLIC KEY":
		der = x509.MarshalPKCS1PublicKey(key.(*rsa.PublicKey))
	default:
		tb.Fatalf("unknown PEM type %s", typ)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKeyPEM_Forms(t *testing.T) {
	rsaKey := ktSigner(t, "rsa").(*rsa.PrivateKey)
	ecKey := ktSigner(t, "p256").(*ecdsa.PrivateKey)
	edKey := ktSigner(t, "ed").(ed25519.PrivateKey)
	ecParams := []byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n")
	cases := []struct {
		name    string
		alg     jwt.Algorithm
		pem     []byte
		signing bool
	}{
		{"PKCS#1 private", jwt.RS256, ktPEM(t, "RSA PRIVATE KEY", rsaKey), true},
		{"PKCS#8 RSA", jwt.PS256, ktPEM(t, "PRIVATE KEY", rsaKey), true},
		{"SEC1 EC", jwt.ES256, ktPEM(t, "EC PRIVATE KEY", ecKey), true},
		{"SEC1 EC after EC PARAMETERS", jwt.ES256, append(ecParams, ktPEM(t, "EC PRIVATE KEY", ecKey)...), true},
		{"PKCS#8 EC", jwt.ES256, ktPEM(t, "PRIVATE KEY", ecKey), true},
		{"PKCS#8 Ed25519", jwt.EdDSA, ktPEM(t, "PRIVATE KEY", edKey), true},
		{"PKIX RSA", jwt.RS256, ktPEM(t, "PUBLIC KEY", &rsaKey.PublicKey), false},
		{"PKCS#1 public", jwt.RS512, ktPEM(t, "RSA PUBLIC KEY", &rsaKey.PublicKey), false},
		{"PKIX EC", jwt.ES256, ktPEM(t, "PUBLIC KEY", &ecKey.PublicKey), false},
		{"PKIX Ed25519", jwt.EdDSA, ktPEM(t, "PUBLIC KEY", edKey.Public()), false},
		{"leading text", jwt.RS256, append([]byte("comment line\n"), ktPEM(t, "PUBLIC KEY", &rsaKey.PublicKey)...), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jwt.ParseKeyPEM("kid-1", tc.alg, tc.pem)
			if err != nil {
				t.Fatal(err)
			}
			if k.CanSign() != tc.signing || k.ID() != "kid-1" || k.Algorithm() != tc.alg {
				t.Fatalf("got %v", k)
			}
			// Round trip through MarshalPEM / PublicPEM.
			out, err := k.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			back, err := jwt.ParseKeyPEM("kid-1", tc.alg, out)
			if err != nil {
				t.Fatal(err)
			}
			wantType := "PUBLIC KEY"
			if tc.signing {
				wantType = "PRIVATE KEY"
				ktSignVerify(t, back, k)
			}
			if b, _ := pem.Decode(out); b == nil || b.Type != wantType {
				t.Fatalf("MarshalPEM wrote %q", out)
			}
			pub, err := k.PublicPEM()
			if err != nil {
				t.Fatal(err)
			}
			pk, err := jwt.ParseKeyPEM("kid-1", tc.alg, pub)
			if err != nil || pk.CanSign() {
				t.Fatalf("PublicPEM: %v %v", pk, err)
			}
			if tc.signing {
				ktSignVerify(t, k, pk)
			}
		})
	}
}

func TestParseKeyPEM_Refused(t *testing.T) {
	rsaKey := ktSigner(t, "rsa").(*rsa.PrivateKey)
	ecKey := ktSigner(t, "p256").(*ecdsa.PrivateKey)
	p384 := ktSigner(t, "p384").(*ecdsa.PrivateKey)
	pub := ktPEM(t, "PUBLIC KEY", &rsaKey.PublicKey)
	encrypted := []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")
	cases := []struct {
		name string
		alg  jwt.Algorithm
		pem  []byte
		want error
	}{
		{"RSA key for ES256", jwt.ES256, ktPEM(t, "PRIVATE KEY", rsaKey), jwt.ErrKeyMismatch},
		{"EC key for RS256", jwt.RS256, ktPEM(t, "EC PRIVATE KEY", ecKey), jwt.ErrKeyMismatch},
		{"P-384 key for ES256", jwt.ES256, ktPEM(t, "PUBLIC KEY", &p384.PublicKey), jwt.ErrKeyMismatch},
		{"Ed25519 key for RS256", jwt.RS256, ktPEM(t, "PRIVATE KEY", ktSigner(t, "ed")), jwt.ErrKeyMismatch},
		{"HMAC algorithm", jwt.HS256, pub, jwt.ErrKeyMismatch},
		{"unknown algorithm", jwt.Algorithm("none"), pub, jwt.ErrKeyMismatch},
		{"two keys", jwt.RS256, append(append([]byte{}, pub...), pub...), jwt.ErrConfig},
		{"trailing data", jwt.RS256, append(append([]byte{}, pub...), "garbage"...), jwt.ErrConfig},
		{"encrypted PEM", jwt.RS256, encrypted, jwt.ErrConfig},
		{"certificate", jwt.RS256, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), jwt.ErrConfig},
		{"not PEM", jwt.RS256, []byte("hello"), jwt.ErrConfig},
		{"corrupt DER", jwt.RS256, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), jwt.ErrConfig},
		{"PKCS#1 type holding PKCS#8", jwt.RS256, []byte(strings.Replace(string(ktPEM(t, "PRIVATE KEY", rsaKey)), "PRIVATE KEY", "RSA PRIVATE KEY", 2)), jwt.ErrConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jwt.ParseKeyPEM("k", tc.alg, tc.pem)
			if err == nil {
				t.Fatalf("accepted: %v", k)
			}
			ktWantErr(t, err, tc.want)
		})
	}
	h, _ := jwt.NewHMACKey("h", jwt.HS256, make([]byte, 32))
	if _, err := h.MarshalPEM(); err == nil {
		t.Fatal("HMAC key marshalled to PEM")
	}
	if _, err := h.PublicPEM(); err == nil {
		t.Fatal("HMAC key has a public PEM")
	}
}

func TestKeyFromString(t *testing.T) {
	t.Parallel()
	// The secret is the value's bytes, as python-jose and PyJWT read it.
	const val = "0123456789abcdef0123456789abcdef0123456789abcdef"
	ref, _ := jwt.NewHMACKey("h", jwt.HS384, []byte(val))
	k, err := jwt.KeyFromString("h", jwt.HS384, val)
	if err != nil {
		t.Fatal(err)
	}
	ktSignVerify(t, k, ref)
	// A value that also reads as base64 is still taken as it is.
	b64 := base64.StdEncoding.EncodeToString(make([]byte, 48))
	k, err = jwt.KeyFromString("h", jwt.HS256, b64)
	if err != nil {
		t.Fatal(err)
	}
	ktSignVerify(t, k, mustKT(jwt.NewHMACKey("h", jwt.HS256, []byte(b64))))

	ecPEM := string(ktPEM(t, "EC PRIVATE KEY", ktSigner(t, "p256")))
	for name, val := range map[string]string{
		"PEM":                       ecPEM,
		"PEM with escaped newlines": strings.ReplaceAll(ecPEM, "\n", `\n`),
	} {
		k, err := jwt.KeyFromString("e", jwt.ES256, val)
		if err != nil || !k.CanSign() {
			t.Fatal(name, k, err)
		}
	}
	refused := []struct {
		name, val string
		alg       jwt.Algorithm
		want      error
	}{
		{"empty", "", jwt.HS256, jwt.ErrConfig},
		{"31 bytes", strings.Repeat("k", 31), jwt.HS256, jwt.ErrWeakKey},
		{"32 bytes for HS384", strings.Repeat("k", 32), jwt.HS384, jwt.ErrWeakKey},
		{"trailing newline", val + "\n", jwt.HS256, jwt.ErrConfig},
		{"trailing CRLF", val + "\r\n", jwt.HS256, jwt.ErrConfig},
		{"leading space", " " + val, jwt.HS256, jwt.ErrConfig},
		{"trailing tab", val + "\t", jwt.HS256, jwt.ErrConfig},
		{"PEM for HMAC", ecPEM, jwt.HS256, jwt.ErrConfig},
		{"secret for ES256", val, jwt.ES256, jwt.ErrConfig},
	}
	for _, tc := range refused {
		_, err := jwt.KeyFromString("h", tc.alg, tc.val)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if len(tc.val) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tc.val)[:8]) {
			t.Errorf("%s: error leaks the value: %v", tc.name, err)
		}
	}
}

func mustKT(k *jwt.Key, err error) *jwt.Key {
	if err != nil {
		panic(err)
	}
	return k
}
