package jwt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// ktOnlyTransport lets requests to one host through and fails the test on
// any other.
type ktOnlyTransport struct {
	tb    testing.TB
	host  string
	inner http.RoundTripper
}

func (o ktOnlyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != o.host {
		o.tb.Errorf("unexpected outbound request to %s", req.URL.Redacted())
		return nil, errors.New("not allowed")
	}
	return o.inner.RoundTrip(req)
}

// ktSources returns a local and a remote verifier over the same keys, the
// remote one with a transport that fails the test on any request other
// than its JWKS fetches.
func ktSources(t *testing.T, keys ...*jwt.Key) map[string]*jwt.Verifier {
	t.Helper()
	srv := newKTJWKSServer(t, ktJWKS(t, keys...), true)
	client := srv.Client()
	client.Transport = ktOnlyTransport{tb: t, host: strings.TrimPrefix(srv.URL, "https://"), inner: client.Transport}
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{HTTPClient: client, Algorithms: []jwt.Algorithm{keys[0].Algorithm()}})
	return map[string]*jwt.Verifier{
		"local":  ktVerifier(t, ktSet(t, nil, keys...), ktIssuer),
		"remote": ktVerifier(t, remote, ktIssuer),
	}
}

// ktNoDefaultTransport replaces http.DefaultTransport for the test, so
// that any request through the default client fails it. Tests using it do
// not run in parallel.
func ktNoDefaultTransport(t *testing.T) *ktFailTransport {
	f := &ktFailTransport{tb: t}
	old := http.DefaultTransport
	http.DefaultTransport = f
	t.Cleanup(func() { http.DefaultTransport = old })
	return f
}

// K-01..K-04: key material or key URLs named in the token header are
// refused with ErrHeader, and nothing is fetched or dialled.
func TestVerify_K01toK04_HeaderKeysNeverUsed(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	verifiers := ktSources(t, k)
	fail := ktNoDefaultTransport(t)
	attacker := ktSigner(t, "rsa3").(*rsa.PrivateKey)
	attackerSrv := newKTJWKSServer(t, ktJWKS(t, ktKey(t, "k1", jwt.RS256, "rsa3")), false)
	attackerEC := ktSigner(t, "p256b").(*ecdsa.PrivateKey)

	pubJWK := ktJWXJWK(t, &attacker.PublicKey, map[string]any{"kid": "k1", "alg": "RS256"})
	ecJWK := ktJWXJWK(t, &attackerEC.PublicKey, map[string]any{"kid": "k1", "alg": "ES256"})
	octJWK := map[string]any{"kty": "oct", "kid": "k1", "k": ktB64([]byte("attacker-chosen-secret-32-bytes!"))}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker)
	if err != nil {
		t.Fatal(err)
	}
	x5c := []string{base64.StdEncoding.EncodeToString(der)}

	hdr := func(extra string, v any) map[string]any {
		return map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "k1", extra: v}
	}
	cases := map[string]map[string]any{
		"K01 embedded RSA jwk":      hdr("jwk", pubJWK),
		"K01 embedded EC jwk":       hdr("jwk", ecJWK),
		"K01 embedded oct jwk":      hdr("jwk", octJWK),
		"K02 jku to attacker JWKS":  hdr("jku", attackerSrv.URL+"/jwks.json"),
		"K03 x5u to attacker":       hdr("x5u", attackerSrv.URL+"/cert.pem"),
		"K03 self-signed x5c":       hdr("x5c", x5c),
		"K04 jku metadata service":  hdr("jku", "http://169.254.169.254/latest/meta-data/"),
		"K04 jku file":              hdr("jku", "file:///etc/passwd"),
		"K04 jku gopher":            hdr("jku", "gopher://127.0.0.1:6379/_INFO"),
		"K04 x5u IPv6 loopback":     hdr("x5u", "http://[::1]/"),
		"K04 jku without kid match": {"alg": "RS256", "typ": "at+jwt", "jku": attackerSrv.URL + "/jwks.json"},
	}
	for name, h := range cases {
		tok := ktCraft(t, h, ktClaims(), ktRS256(t, attacker))
		// The same header over a signature by the real key: still refused.
		genuine := ktCraft(t, h, ktClaims(), ktRS256(t, ktSigner(t, "rsa").(*rsa.PrivateKey)))
		for src, v := range verifiers {
			for _, raw := range []string{tok, genuine} {
				_, err := v.VerifyAccess(context.Background(), raw)
				if !errors.Is(err, jwt.ErrHeader) {
					t.Errorf("%s (%s): %v, want ErrHeader", name, src, err)
				}
			}
		}
	}
	if n := attackerSrv.requests.Load(); n != 0 {
		t.Fatalf("the attacker's server saw %d requests", n)
	}
	if n := fail.calls.Load(); n != 0 {
		t.Fatalf("%d requests through the default transport", n)
	}
}

// K-11: a token HMAC'd with the RSA public key is refused, also by a set
// that holds an HMAC key next to the RSA key.
func TestVerify_K11_HMACWithPublicKey(t *testing.T) {
	k := ktKey(t, "r1", jwt.RS256, "rsa")
	h, _ := jwt.NewHMACKey("h1", jwt.HS256, make([]byte, 32))
	pemPub, _ := k.PublicPEM()
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	sources := ktSources(t, k)
	sources["local mixed with HMAC"] = ktVerifier(t, ktSet(t, h, k), ktIssuer)
	for src, v := range sources {
		for name, secret := range map[string][]byte{"PEM": pemPub, "DER": der, "JWKS": ktJWKS(t, k)} {
			tok := ktCraft(t, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "r1"}, ktClaims(), ktHS256(secret))
			_, err := v.VerifyAccess(context.Background(), tok)
			if !errors.Is(err, jwt.ErrAlgorithm) {
				t.Errorf("%s, secret = public key %s: %v", src, name, err)
			}
		}
	}
}

// K-17: rotation keeps old tokens valid until their key is removed, for
// RS256 and ES256.
func TestKeySet_K17_Rotation(t *testing.T) {
	for _, tc := range []struct {
		alg    jwt.Algorithm
		n1, n2 string
	}{{jwt.RS256, "rsa", "rsa2"}, {jwt.ES256, "p256", "p256b"}} {
		t.Run(string(tc.alg), func(t *testing.T) {
			k1 := ktKey(t, "k1", tc.alg, tc.n1)
			k2 := ktKey(t, "k2", tc.alg, tc.n2)
			keys := ktSet(t, k1)
			iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: ktIssuer})
			if err != nil {
				t.Fatal(err)
			}
			v := ktVerifier(t, keys, ktIssuer)
			ctx := context.Background()
			mint := func() string {
				tok, err := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "u"})
				if err != nil {
					t.Fatal(err)
				}
				return tok.Raw
			}
			t1 := mint()
			if err := keys.Rotate(k2, ktPublic(t, k1)); err != nil {
				t.Fatal(err)
			}
			t2 := mint()
			for name, raw := range map[string]string{"k1": t1, "k2": t2} {
				c, err := v.VerifyAccess(ctx, raw)
				if err != nil || c.KeyID != name {
					t.Fatalf("%s during rotation: %v %v", name, c, err)
				}
			}
			if err := keys.Rotate(k2); err != nil {
				t.Fatal(err)
			}
			_, err = v.VerifyAccess(ctx, t1)
			ktWantErr(t, err, jwt.ErrUnknownKey)
			if _, err := v.VerifyAccess(ctx, t2); err != nil {
				t.Fatal(err)
			}
			// A rotation may change the family; the old key keeps its
			// algorithm and still refuses a relabelled token.
			other := map[jwt.Algorithm]jwt.Algorithm{jwt.RS256: jwt.ES256, jwt.ES256: jwt.RS256}[tc.alg]
			if err := keys.Rotate(ktKey(t, "k3", other, map[jwt.Algorithm]string{jwt.RS256: "rsa", jwt.ES256: "p256"}[other]), k2); err != nil {
				t.Fatalf("rotation to another family: %v", err)
			}
			if c, err := v.VerifyAccess(ctx, mint()); err != nil || c.KeyID != "k3" {
				t.Fatalf("token of the new family: %v %v", c, err)
			}
			if _, err := v.VerifyAccess(ctx, t2); err != nil {
				t.Fatalf("token of the old family after the change: %v", err)
			}
			_, err = v.VerifyAccess(ctx, ktRelabel(t, t2, func(h map[string]any) { h["alg"] = string(other) }))
			ktWantErr(t, err, jwt.ErrAlgorithm)
		})
	}
}

// a token relabelled with another algorithm of the same or another
// family is refused with ErrAlgorithm, locally and remotely.
func TestVerify_A07_FamilySwap(t *testing.T) {
	rs := ktKey(t, "k1", jwt.RS256, "rsa")
	es := ktKey(t, "e1", jwt.ES256, "p256")
	cases := []struct {
		key  *jwt.Key
		algs []string
	}{
		{rs, []string{"PS256", "RS384", "RS512", "ES256", "HS256", "EdDSA"}},
		{es, []string{"ES384", "ES512", "RS256", "HS256"}},
	}
	for _, tc := range cases {
		raw := ktIssue(t, ktSet(t, tc.key), ktIssuer)
		for src, v := range ktSources(t, tc.key) {
			if _, err := v.VerifyAccess(context.Background(), raw); err != nil {
				t.Fatalf("%s: original: %v", src, err)
			}
			for _, alg := range tc.algs {
				tok := ktRelabel(t, raw, func(h map[string]any) { h["alg"] = alg })
				_, err := v.VerifyAccess(context.Background(), tok)
				if !errors.Is(err, jwt.ErrAlgorithm) {
					t.Errorf("%s: %s relabelled %s: %v", src, tc.key.Algorithm(), alg, err)
				}
			}
		}
	}
}

// ktECDSA returns a verifier for a fresh ECDSA key of alg, a valid token
// and the curve order.
func ktECDSA(t *testing.T, alg jwt.Algorithm, name string) (*jwt.Verifier, string, *big.Int) {
	k := ktKey(t, "e1", alg, name)
	keys := ktSet(t, k)
	return ktVerifier(t, keys, ktIssuer), ktIssue(t, keys, ktIssuer), ktSigner(t, name).(*ecdsa.PrivateKey).Curve.Params().N
}

// psychic signatures (CVE-2022-21449) are refused.
func TestVerify_A08_PsychicSignature(t *testing.T) {
	for _, tc := range []struct {
		alg  jwt.Algorithm
		name string
		size int
	}{{jwt.ES256, "p256", 32}, {jwt.ES384, "p384", 48}, {jwt.ES512, "p521", 66}} {
		v, raw, n := ktECDSA(t, tc.alg, tc.name)
		nb := n.FillBytes(make([]byte, tc.size))
		one := big.NewInt(1).FillBytes(make([]byte, tc.size))
		der, _ := base64.StdEncoding.DecodeString("MAYCAQACAQA=")
		for name, sig := range map[string][]byte{
			"zero":      make([]byte, 2*tc.size),
			"r=s=n":     append(append([]byte{}, nb...), nb...),
			"r=0, s=1":  append(make([]byte, tc.size), one...),
			"DER zeros": der,
		} {
			_, err := v.VerifyAccess(context.Background(), ktResign(raw, sig))
			if !errors.Is(err, jwt.ErrSignature) {
				t.Errorf("%s %s: %v, want ErrSignature", tc.alg, name, err)
			}
		}
	}
}

// ECDSA signatures in another encoding or with out-of-range values
// are refused.
func TestVerify_A09_ECDSAEncoding(t *testing.T) {
	v, raw, n := ktECDSA(t, jwt.ES256, "p256")
	sig := ktSig(t, raw)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	rPlusN := new(big.Int).Add(r, n)
	wide := rPlusN.Bytes()
	cases := map[string][]byte{
		"DER":              der,
		"63 bytes":         sig[:63],
		"65 bytes":         append(append([]byte{}, sig...), 0),
		"leading zero":     append([]byte{0}, sig...),
		"r+n":              append(append([]byte{}, wide[len(wide)-32:]...), sig[32:]...),
		"r = n":            append(n.FillBytes(make([]byte, 32)), sig[32:]...),
		"s = n":            append(append([]byte{}, sig[:32]...), n.FillBytes(make([]byte, 32))...),
		"swapped r and s":  append(append([]byte{}, sig[32:]...), sig[:32]...),
		"twice as long":    append(append([]byte{}, sig...), sig...),
		"empty after trim": sig[:1],
	}
	for name, bad := range cases {
		_, err := v.VerifyAccess(context.Background(), ktResign(raw, bad))
		if !errors.Is(err, jwt.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
}

// ECDSA high-S malleation. Go's crypto/ecdsa (and so jwx) has no
// low-S rule, so s' = n − s verifies: the malleated token is a different
// string with the same claims. It carries the same jti, and revocation is
// keyed on jti (never on the token string or its hash), so revoking the
// original revokes the copy. The test pins both halves: a malleated token
// is either refused with ErrSignature or yields exactly the original jti.
func TestVerify_A10_HighSMalleation(t *testing.T) {
	v, raw, n := ktECDSA(t, jwt.ES256, "p256")
	orig, err := v.VerifyAccess(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	sig := ktSig(t, raw)
	s := new(big.Int).SetBytes(sig[32:])
	flipped := append(append([]byte{}, sig[:32]...), new(big.Int).Sub(n, s).FillBytes(make([]byte, 32))...)
	mal := ktResign(raw, flipped)
	if mal == raw {
		t.Fatal("malleation produced the same token")
	}
	c, err := v.VerifyAccess(context.Background(), mal)
	switch {
	case err != nil:
		ktWantErr(t, err, jwt.ErrSignature)
	case c.ID == "" || c.ID != orig.ID || c.Subject != orig.Subject:
		t.Fatalf("malleated token verified with jti %q, original %q", c.ID, orig.ID)
	default:
		t.Logf("high-S accepted (as documented); jti %q identical, so a jti revocation covers it", c.ID)
	}
}

// PKCS #1 v1.5 forgeries and mis-encodings are refused.
func TestVerify_A11_RSAForgeries(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	priv := ktSigner(t, "rsa").(*rsa.PrivateKey)
	keys := ktSet(t, k)
	v := ktVerifier(t, keys, ktIssuer)
	raw := ktIssue(t, keys, ktIssuer)
	input := []byte(raw[:strings.LastIndexByte(raw, '.')])
	size := priv.Size()
	nm1 := new(big.Int).Sub(priv.N, big.NewInt(1))
	sha1Sum := sha1.Sum(input)
	sha1Sig, _ := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA1, sha1Sum[:])
	sum := sha256.Sum256(input)
	noDigestInfo, _ := rsa.SignPKCS1v15(rand.Reader, priv, 0, sum[:])
	pss, _ := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	cases := map[string][]byte{
		"zero":               make([]byte, size),
		"one":                big.NewInt(1).FillBytes(make([]byte, size)),
		"n-1":                nm1.FillBytes(make([]byte, size)),
		"n":                  priv.N.FillBytes(make([]byte, size)),
		"short":              ktSig(t, raw)[1:],
		"SHA-1 DigestInfo":   sha1Sig,
		"no DigestInfo":      noDigestInfo,
		"PSS under RS256":    pss,
		"valid sig + 1 byte": append(ktSig(t, raw), 0),
	}
	for name, sig := range cases {
		_, err := v.VerifyAccess(context.Background(), ktResign(raw, sig))
		if !errors.Is(err, jwt.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
}

// PS256 signatures with a salt length other than 32 are refused.
func TestVerify_A12_PSSSaltLength(t *testing.T) {
	k := ktKey(t, "k1", jwt.PS256, "rsa")
	priv := ktSigner(t, "rsa").(*rsa.PrivateKey)
	keys := ktSet(t, k)
	v := ktVerifier(t, keys, ktIssuer)
	raw := ktIssue(t, keys, ktIssuer)
	sum := sha256.Sum256([]byte(raw[:strings.LastIndexByte(raw, '.')]))
	for _, salt := range []int{0, 1, 20, 33, 64, rsa.PSSSaltLengthAuto, 32} {
		sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.VerifyAccess(context.Background(), ktResign(raw, sig))
		if salt == 32 {
			if err != nil {
				t.Fatalf("salt 32: %v", err)
			}
			continue
		}
		if !errors.Is(err, jwt.ErrSignature) {
			t.Errorf("salt %d: %v, want ErrSignature", salt, err)
		}
	}
}

// JWS JSON serializations, with or without a bogus extra signature
// and an unprotected kid, are refused as malformed, by every key source.
func TestVerify_A18_JSONSerialization(t *testing.T) {
	k := ktKey(t, "k1", jwt.ES256, "p256")
	raw := ktIssue(t, ktSet(t, k), ktIssuer)
	p := strings.Split(raw, ".")
	flat := `{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`
	general := `{"payload":"` + p[1] + `","signatures":[{"protected":"` + p[0] + `","header":{"kid":"evil"},"signature":"AAAA"},{"protected":"` + p[0] + `","signature":"` + p[2] + `"}]}`
	mv, err := jwt.NewMultiVerifier(ktVerifier(t, ktSet(t, nil, k), ktIssuer))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{flat, general, " " + raw, raw + "\n", raw + ".", p[0] + ".." + p[2]} {
		for src, v := range ktSources(t, ktPublic(t, k)) {
			_, err := v.VerifyAccess(context.Background(), tok)
			if !errors.Is(err, jwt.ErrMalformed) {
				t.Errorf("%s: %.40q: %v, want ErrMalformed", src, tok, err)
			}
		}
		if _, err := mv.VerifyAccess(context.Background(), tok); !errors.Is(err, jwt.ErrMalformed) {
			t.Errorf("multi: %.40q: %v, want ErrMalformed", tok, err)
		}
	}
}
