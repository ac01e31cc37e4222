package jwt_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
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

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(path, ktPEM(t, "PRIVATE KEY", ktSigner(t, "ed")), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := jwt.LoadKeyFile("f1", jwt.EdDSA, path)
	if err != nil || !k.CanSign() {
		t.Fatalf("%v %v", k, err)
	}
	_, err = jwt.LoadKeyFile("f1", jwt.EdDSA, filepath.Join(dir, "missing.pem"))
	ktWantErr(t, err, jwt.ErrConfig)
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, 65<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = jwt.LoadKeyFile("f1", jwt.EdDSA, big)
	ktWantErr(t, err, jwt.ErrConfig)
	_, err = jwt.LoadKeyFile("f1", jwt.RS256, path)
	ktWantErr(t, err, jwt.ErrKeyMismatch)
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error does not name the file: %v", err)
	}
}

func TestKeyFromEnv(t *testing.T) {
	secret := make([]byte, 48)
	for i := range secret {
		secret[i] = byte(250 - i) // encodings differ between std and url alphabets
	}
	ref, _ := jwt.NewHMACKey("h", jwt.HS384, secret)
	for name, val := range map[string]string{
		"std padded":   base64.StdEncoding.EncodeToString(secret),
		"std unpadded": base64.RawStdEncoding.EncodeToString(secret),
		"url":          base64.RawURLEncoding.EncodeToString(secret),
		"url padded":   base64.URLEncoding.EncodeToString(secret) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("KT_SECRET", val)
			k, err := jwt.KeyFromEnv("h", jwt.HS384, "KT_SECRET")
			if err != nil {
				t.Fatal(err)
			}
			ktSignVerify(t, k, ref)
		})
	}
	ecPEM := string(ktPEM(t, "EC PRIVATE KEY", ktSigner(t, "p256")))
	t.Run("PEM", func(t *testing.T) {
		t.Setenv("KT_KEY", ecPEM)
		k, err := jwt.KeyFromEnv("e", jwt.ES256, "KT_KEY")
		if err != nil || !k.CanSign() {
			t.Fatal(k, err)
		}
	})
	t.Run("PEM with escaped newlines", func(t *testing.T) {
		t.Setenv("KT_KEY", strings.ReplaceAll(ecPEM, "\n", `\n`))
		k, err := jwt.KeyFromEnv("e", jwt.ES256, "KT_KEY")
		if err != nil || !k.CanSign() {
			t.Fatal(k, err)
		}
	})
	refused := []struct {
		name, val string
		alg       jwt.Algorithm
		want      error
	}{
		{"unset", "", jwt.HS256, jwt.ErrConfig},
		{"short secret", base64.StdEncoding.EncodeToString(make([]byte, 31)), jwt.HS256, jwt.ErrWeakKey},
		{"plain text password", "correct horse battery staple!!", jwt.HS256, jwt.ErrConfig},
		{"PEM for HMAC", ecPEM, jwt.HS256, jwt.ErrConfig},
		{"base64 for ES256", base64.StdEncoding.EncodeToString(secret), jwt.ES256, jwt.ErrConfig},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KT_SECRET", tc.val)
			_, err := jwt.KeyFromEnv("h", tc.alg, "KT_SECRET")
			ktWantErr(t, err, tc.want)
			if !strings.Contains(err.Error(), "KT_SECRET") {
				t.Fatalf("error does not name the variable: %v", err)
			}
			if len(tc.val) > 8 && strings.Contains(err.Error(), tc.val[:8]) {
				t.Fatalf("error leaks the value: %v", err)
			}
		})
	}
}
