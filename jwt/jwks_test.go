package jwt_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// ktJWXJWK renders raw (a private or public key) as a JWK with jwx, an
// implementation independent of jwtkit's, and adds members.
func ktJWXJWK(tb testing.TB, raw any, add map[string]any) map[string]any {
	tb.Helper()
	k, err := jwk.Import(raw)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	for name, v := range add {
		if v == nil {
			delete(m, name)
		} else {
			m[name] = v
		}
	}
	return m
}

func ktJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func ktB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ktSignVerify proves that k signs tokens that verifyKey verifies.
func ktSignVerify(tb testing.TB, k, verifyKey *jwt.Key) {
	tb.Helper()
	raw := ktIssue(tb, ktSet(tb, k), ktIssuer)
	_, err := ktVerifier(tb, ktSet(tb, nil, verifyKey), ktIssuer).VerifyAccess(context.Background(), raw)
	if err != nil {
		tb.Fatalf("token signed by %v does not verify with %v: %v", k, verifyKey, err)
	}
}

var ktJWKCases = []struct {
	alg  jwt.Algorithm
	name string
}{
	{jwt.RS256, "rsa"}, {jwt.PS384, "rsa"}, {jwt.ES256, "p256"}, {jwt.ES384, "p384"}, {jwt.ES512, "p521"}, {jwt.EdDSA, "ed"},
}

// ParseJWK reads private and public JWKs written by jwx, and the keys it
// builds sign and verify.
func TestParseJWK_JWXInterop(t *testing.T) {
	for _, tc := range ktJWKCases {
		t.Run(string(tc.alg), func(t *testing.T) {
			priv := ktSigner(t, tc.name)
			privJWK := ktJSON(t, ktJWXJWK(t, priv, map[string]any{"kid": "k1", "alg": string(tc.alg), "use": "sig"}))
			pubJWK := ktJSON(t, ktJWXJWK(t, priv.Public(), map[string]any{"kid": "k1", "alg": string(tc.alg), "key_ops": []string{"verify"}}))
			sk, err := jwt.ParseJWK(privJWK)
			if err != nil {
				t.Fatal(err)
			}
			pk, err := jwt.ParseJWK(pubJWK)
			if err != nil {
				t.Fatal(err)
			}
			if !sk.CanSign() || pk.CanSign() || sk.ID() != "k1" || sk.Algorithm() != tc.alg || pk.Algorithm() != tc.alg {
				t.Fatalf("signing %v, verification %v", sk, pk)
			}
			if !pk.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(priv.Public()) {
				t.Fatal("public key differs from the original")
			}
			ktSignVerify(t, sk, pk)
		})
	}
	t.Run("HS256", func(t *testing.T) {
		secret := bytes.Repeat([]byte{0xA5}, 32)
		k, err := jwt.ParseJWK(ktJSON(t, map[string]any{"kty": "oct", "kid": "h", "alg": "HS256", "k": ktB64(secret)}))
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := jwt.NewHMACKey("h", jwt.HS256, secret)
		ktSignVerify(t, k, ref)
		ktSignVerify(t, ref, k)
	})
}

// K-16: the published set holds public members only, for every key type,
// and an HMAC key never reaches it.
func TestPublicJWKS_K16_NoSecrets(t *testing.T) {
	secretMembers := []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
	allowed := map[string][]string{
		"RSA": {"kty", "use", "alg", "kid", "n", "e"},
		"EC":  {"kty", "use", "alg", "kid", "crv", "x", "y"},
		"OKP": {"kty", "use", "alg", "kid", "crv", "x"},
	}
	sets := map[string]*jwt.KeySet{
		"RSA": ktSet(t, ktKey(t, "r1", jwt.RS256, "rsa"), ktKey(t, "r2", jwt.PS256, "rsa2")),
		"EC":  ktSet(t, ktKey(t, "e1", jwt.ES256, "p256"), ktKey(t, "e2", jwt.ES256, "p256b")),
		"OKP": ktSet(t, ktKey(t, "o1", jwt.EdDSA, "ed"), ktKey(t, "o2", jwt.EdDSA, "ed2")),
	}
	for kty, set := range sets {
		t.Run(kty, func(t *testing.T) {
			doc, err := set.PublicJWKS()
			if err != nil {
				t.Fatal(err)
			}
			var parsed struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(doc, &parsed); err != nil {
				t.Fatal(err)
			}
			if len(parsed.Keys) != 2 {
				t.Fatalf("want 2 keys, got %s", doc)
			}
			for i, m := range parsed.Keys {
				src := set.Keys()[i]
				for _, s := range secretMembers {
					if _, ok := m[s]; ok {
						t.Errorf("key %d publishes secret member %q: %s", i, s, doc)
					}
				}
				for name := range m {
					if !slices.Contains(allowed[kty], name) {
						t.Errorf("key %d has unexpected member %q", i, name)
					}
				}
				if m["kty"] != kty || m["use"] != "sig" || m["alg"] != string(src.Algorithm()) || m["kid"] != src.ID() {
					t.Errorf("key %d: %v", i, m)
				}
			}
			// An independent implementation reads the same public keys.
			xs, err := jwk.Parse(doc)
			if err != nil {
				t.Fatal(err)
			}
			for i, src := range set.Keys() {
				xk, _ := xs.Key(i)
				var raw any
				if err := jwk.Export(xk, &raw); err != nil {
					t.Fatal(err)
				}
				if !src.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(raw) {
					t.Errorf("key %d: jwx reads another public key", i)
				}
			}
			// And the set round-trips into verification-only keys.
			back, err := jwt.NewKeySetFromJWKS(doc)
			if err != nil {
				t.Fatal(err)
			}
			if back.Active() != nil {
				t.Fatal("a set read from a JWKS has no active key")
			}
			for _, k := range back.Keys() {
				if k.CanSign() {
					t.Fatalf("%v can sign", k)
				}
			}
			raw := ktIssue(t, set, ktIssuer)
			if _, err := ktVerifier(t, back, ktIssuer).VerifyAccess(context.Background(), raw); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("HMAC", func(t *testing.T) {
		secret := bytes.Repeat([]byte("s3cr3t-"), 10)
		h, err := jwt.NewHMACKey("h1", jwt.HS256, secret)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := ktSet(t, h).PublicJWKS()
		if err != nil {
			t.Fatal(err)
		}
		if string(doc) != `{"keys":[]}` {
			t.Fatalf("HMAC set published %s", doc)
		}
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
			if bytes.Contains(doc, []byte(enc.EncodeToString(secret))) {
				t.Fatal("secret published")
			}
		}
		if strings.Contains(string(doc), "oct") {
			t.Fatal("oct entry published")
		}
	})
}

// ktBaseJWK returns the public JWK of a cached key as a map, written by
// jwtkit's own PublicJWKS.
func ktBaseJWK(t *testing.T, kid string, alg jwt.Algorithm, name string) map[string]any {
	t.Helper()
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(ktJWKS(t, ktKey(t, kid, alg, name)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Keys[0]
}

func ktWith(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// W-02, K-13, K-14, K-15: Wycheproof-style JWK cases, written by hand.
func TestParseJWK_W02_Refused(t *testing.T) {
	rsaPub := ktBaseJWK(t, "r", jwt.RS256, "rsa")
	ecPub := ktBaseJWK(t, "e", jwt.ES256, "p256")
	edPub := ktBaseJWK(t, "o", jwt.EdDSA, "ed")
	rsa1024 := ktSigner(t, "rsa1024").Public().(*rsa.PublicKey)
	p384 := ktBaseJWK(t, "e", jwt.ES384, "p384")
	other256 := ktSigner(t, "p256b").(*ecdsa.PrivateKey)
	otherEd := ktSigner(t, "ed2").(ed25519.PrivateKey)
	otherRSA := ktJWXJWK(t, ktSigner(t, "rsa2"), nil)
	ecD, _ := ktSigner(t, "p256").(*ecdsa.PrivateKey).Bytes()
	offCurveY, _ := base64.RawURLEncoding.DecodeString(ecPub["y"].(string))
	offCurveY[len(offCurveY)-1] ^= 1
	n, _ := base64.RawURLEncoding.DecodeString(rsaPub["n"].(string))

	cases := []struct {
		name string
		jwk  any
		want error
	}{
		// K-15 weak or invalid keys.
		{"K15 RSA-1024 (tc8)", ktWith(rsaPub, "n", ktB64(rsa1024.N.Bytes())), jwt.ErrWeakKey},
		{"K15 RSA e=1 (tc9)", ktWith(rsaPub, "e", "AQ"), jwt.ErrWeakKey},
		{"K15 RSA even e", ktWith(rsaPub, "e", "AQAA"), jwt.ErrWeakKey},
		{"K15 RSA ROCA modulus (tc7)", ktWith(rsaPub, "n", ktB64(ktROCAModulus(t).Bytes())), jwt.ErrWeakKey},
		{"K15 EC point off the curve (tc22)", ktWith(ecPub, "y", ktB64(offCurveY)), jwt.ErrConfig},
		{"K15 curve P-384 labelled ES256 (tc23)", ktWith(p384, "alg", "ES256"), jwt.ErrKeyMismatch},
		{"K15 RSA material with kty EC (tc24)", ktWith(rsaPub, "kty", "EC", "alg", "ES256"), jwt.ErrKeyMismatch},
		{"K15 AES key (tc25)", map[string]any{"kty": "oct", "kid": "a", "alg": "A128KW", "k": ktB64(make([]byte, 16))}, jwt.ErrKeyMismatch},
		{"K15 AES-GCM key (tc26)", map[string]any{"kty": "oct", "kid": "a", "alg": "A256GCM", "k": ktB64(make([]byte, 32))}, jwt.ErrKeyMismatch},
		{"K15 RSA modulus over 8192 bits", ktWith(rsaPub, "n", ktB64(append(bytes.Repeat([]byte{0xff}, 1025), n...))), jwt.ErrConfig},
		// Short HMAC keys (tc10-12).
		{"W02 HS256 key of 16 bytes (tc10)", map[string]any{"kty": "oct", "kid": "h", "alg": "HS256", "k": ktB64(make([]byte, 16))}, jwt.ErrWeakKey},
		{"W02 HS256 key of 31 bytes (tc11)", map[string]any{"kty": "oct", "kid": "h", "alg": "HS256", "k": ktB64(make([]byte, 31))}, jwt.ErrWeakKey},
		{"W02 empty HS256 key (tc12)", map[string]any{"kty": "oct", "kid": "h", "alg": "HS256", "k": ""}, jwt.ErrWeakKey},
		{"W02 HS512 key of 32 bytes", map[string]any{"kty": "oct", "kid": "h", "alg": "HS512", "k": ktB64(make([]byte, 32))}, jwt.ErrWeakKey},
		// K-13 algorithm binding: alg, kty and crv must agree.
		{"K13 RSA key labelled ES256", ktWith(rsaPub, "alg", "ES256"), jwt.ErrKeyMismatch},
		{"K13 P-256 key labelled ES384", ktWith(ecPub, "alg", "ES384"), jwt.ErrKeyMismatch},
		{"K13 EC key labelled HS256", ktWith(ecPub, "alg", "HS256"), jwt.ErrKeyMismatch},
		{"K13 OKP key labelled ES256", ktWith(edPub, "alg", "ES256"), jwt.ErrKeyMismatch},
		{"K13 Ed448 curve", ktWith(edPub, "crv", "Ed448"), jwt.ErrKeyMismatch},
		{"K13 alg none", ktWith(rsaPub, "alg", "none"), jwt.ErrKeyMismatch},
		{"K13 alg ES521 (not registered)", ktWith(ecPub, "alg", "ES521"), jwt.ErrKeyMismatch},
		{"K13 alg in lower case", ktWith(rsaPub, "alg", "rs256"), jwt.ErrKeyMismatch},
		{"K13 alg missing", ktWith(rsaPub, "alg", nil), jwt.ErrConfig},
		{"K13 oct key labelled RS256", map[string]any{"kty": "oct", "kid": "h", "alg": "RS256", "k": ktB64(make([]byte, 64))}, jwt.ErrKeyMismatch},
		{"K13 EC key with an RSA member", ktWith(ecPub, "n", rsaPub["n"]), jwt.ErrKeyMismatch},
		// K-14 use and key_ops.
		{"K14 use enc (tc6)", ktWith(rsaPub, "use", "enc"), jwt.ErrKeyMismatch},
		{"K14 use empty", ktWith(rsaPub, "use", ""), jwt.ErrKeyMismatch},
		{"K14 key_ops encrypt/decrypt", ktWith(rsaPub, "key_ops", []string{"encrypt", "decrypt"}), jwt.ErrKeyMismatch},
		{"K14 key_ops sign on a public key", ktWith(rsaPub, "key_ops", []string{"sign"}), jwt.ErrKeyMismatch},
		{"K14 key_ops verify and wrapKey", ktWith(rsaPub, "key_ops", []string{"verify", "wrapKey"}), jwt.ErrKeyMismatch},
		{"K14 key_ops empty", ktWith(rsaPub, "key_ops", []string{}), jwt.ErrKeyMismatch},
		{"K14 key_ops repeated", ktWith(rsaPub, "key_ops", []string{"verify", "verify"}), jwt.ErrConfig},
		{"K14 key_ops not an array", ktWith(rsaPub, "key_ops", "verify"), jwt.ErrConfig},
		// Private material that does not belong to the public key.
		{"EC d of another key", ktWith(ecPub, "d", ktB64(mustBytes(other256.Bytes()))), jwt.ErrKeyMismatch},
		{"Ed25519 d of another key", ktWith(edPub, "d", ktB64(otherEd.Seed())), jwt.ErrKeyMismatch},
		{"RSA private parts of another key", ktWith(rsaPub, "d", otherRSA["d"], "p", otherRSA["p"], "q", otherRSA["q"]), jwt.ErrKeyMismatch},
		{"RSA d without primes", ktWith(rsaPub, "d", otherRSA["d"]), jwt.ErrConfig},
		{"RSA p without d", ktWith(rsaPub, "p", otherRSA["p"]), jwt.ErrKeyMismatch},
		{"multi-prime RSA", ktWith(rsaPub, "oth", []any{}), jwt.ErrKeyMismatch},
		{"EC d with wrong length", ktWith(ecPub, "d", ktB64(ecD[1:])), jwt.ErrConfig},
		// Form.
		{"kid missing", ktWith(rsaPub, "kid", nil), jwt.ErrConfig},
		{"kid empty", ktWith(rsaPub, "kid", ""), jwt.ErrConfig},
		{"kid not a string", ktWith(rsaPub, "kid", 7), jwt.ErrConfig},
		{"n padded base64", ktWith(rsaPub, "n", base64.URLEncoding.EncodeToString(append(n, 1))), jwt.ErrConfig},
		{"n standard base64", ktWith(rsaPub, "n", base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 129))), jwt.ErrConfig},
		{"x of an Ed25519 key too short", ktWith(edPub, "x", ktB64(make([]byte, 31))), jwt.ErrConfig},
		{"EC x too short", ktWith(ecPub, "x", ktB64(make([]byte, 31))), jwt.ErrConfig},
		{"n missing", ktWith(rsaPub, "n", nil), jwt.ErrConfig},
		{"not an object", []any{rsaPub}, jwt.ErrConfig},
		{"duplicate kty", json.RawMessage(`{"kty":"EC","kty":"RSA","kid":"r","alg":"RS256","n":"` + rsaPub["n"].(string) + `","e":"AQAB"}`), jwt.ErrConfig},
		{"trailing data", []byte(string(ktJSON(t, rsaPub)) + `{}`), jwt.ErrConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, ok := tc.jwk.([]byte)
			if !ok {
				doc = ktJSON(t, tc.jwk)
			}
			k, err := jwt.ParseJWK(doc)
			if err == nil {
				t.Fatalf("accepted: %v", k)
			}
			ktWantErr(t, err, tc.want)
			if strings.Contains(err.Error(), "%!") {
				t.Fatalf("badly formatted error: %v", err)
			}
		})
	}
	// The base keys themselves are fine, as are e=3 and explicit
	// use/key_ops.
	for _, ok := range []map[string]any{rsaPub, ecPub, edPub, p384, ktWith(rsaPub, "e", "Aw"), ktWith(ecPub, "key_ops", []string{"verify"}), ktWith(edPub, "use", "sig", "x5u", "https://attacker.test/x")} {
		if _, err := jwt.ParseJWK(ktJSON(t, ok)); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

func mustBytes(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// W-02, K-11, K-12: whole-set rules of ParseJWKS.
func TestParseJWKS_W02_SetRules(t *testing.T) {
	r1 := ktBaseJWK(t, "r1", jwt.RS256, "rsa")
	r2 := ktBaseJWK(t, "r2", jwt.RS256, "rsa2")
	oct := map[string]any{"kty": "oct", "kid": "h1", "alg": "HS256", "k": ktB64(bytes.Repeat([]byte{7}, 32))}
	set := func(keys ...any) []byte { return ktJSON(t, map[string]any{"keys": keys}) }
	many := make([]any, 101)
	for i := range many {
		many[i] = ktWith(r1, "kid", fmt.Sprint("k", i))
	}
	cases := []struct {
		name string
		doc  []byte
		want error
	}{
		{"K11 mixed symmetric and asymmetric (tc1)", set(oct, r1), jwt.ErrKeyMismatch},
		{"K12 duplicate kid (tc4)", set(r1, ktWith(r2, "kid", "r1")), jwt.ErrConfig},
		{"one invalid key fails the set", set(r1, ktWith(r2, "n", ktB64(ktSigner(t, "rsa1024").Public().(*rsa.PublicKey).N.Bytes()))), jwt.ErrWeakKey},
		{"empty set", set(), jwt.ErrConfig},
		{"more than 100 keys", set(many...), jwt.ErrConfig},
		{"no keys member", []byte(`{"kids":[]}`), jwt.ErrConfig},
		{"keys not an array", []byte(`{"keys":{}}`), jwt.ErrConfig},
		{"a member of keys is not an object", []byte(`{"keys":["x"]}`), jwt.ErrConfig},
		{"duplicate keys member", []byte(`{"keys":[],"keys":[]}`), jwt.ErrConfig},
		{"not JSON", []byte(`<html>`), jwt.ErrConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := jwt.ParseJWKS(tc.doc)
			if err == nil {
				t.Fatalf("accepted %d keys", len(keys))
			}
			ktWantErr(t, err, tc.want)
			if _, err := jwt.NewKeySetFromJWKS(tc.doc); err == nil {
				t.Fatal("NewKeySetFromJWKS accepted the set")
			}
		})
	}
	// Public keys of several families may share a document, each keeping
	// its own alg.
	if keys, err := jwt.ParseJWKS(set(r1, ktBaseJWK(t, "e1", jwt.ES256, "p256"))); err != nil || len(keys) != 2 || keys[1].Algorithm() != jwt.ES256 {
		t.Fatalf("RSA and EC in one JWKS: %v %v", keys, err)
	}
	keys, err := jwt.ParseJWKS(append(set(r1, r2), '\n'))
	if err != nil || len(keys) != 2 || keys[0].ID() != "r1" || keys[1].ID() != "r2" {
		t.Fatalf("valid set: %v %v", keys, err)
	}
}

// K-15: the weak-key floor is the same for raw keys, PEM and JWK.
func TestKeys_K15_WeakRSAEverywhere(t *testing.T) {
	weak := ktSigner(t, "rsa1024").(*rsa.PrivateKey)
	_, err := jwt.NewSigningKey("w", jwt.RS256, weak)
	ktWantErr(t, err, jwt.ErrWeakKey)
	_, err = jwt.NewVerificationKey("w", jwt.RS256, &weak.PublicKey)
	ktWantErr(t, err, jwt.ErrWeakKey)
	_, err = jwt.ParseKeyPEM("w", jwt.RS256, ktPEM(t, "PRIVATE KEY", weak))
	ktWantErr(t, err, jwt.ErrWeakKey)
	_, err = jwt.ParseKeyPEM("w", jwt.RS256, ktPEM(t, "PUBLIC KEY", &weak.PublicKey))
	ktWantErr(t, err, jwt.ErrWeakKey)
	_, err = jwt.ParseJWK(ktJSON(t, map[string]any{"kty": "RSA", "kid": "w", "alg": "RS256", "n": ktB64(weak.N.Bytes()), "e": "AQAB"}))
	ktWantErr(t, err, jwt.ErrWeakKey)

	roca := &rsa.PublicKey{N: ktROCAModulus(t), E: 65537}
	_, err = jwt.NewVerificationKey("roca", jwt.RS256, roca)
	ktWantErr(t, err, jwt.ErrWeakKey)
	_, err = jwt.ParseKeyPEM("roca", jwt.RS256, ktPEM(t, "PUBLIC KEY", roca))
	ktWantErr(t, err, jwt.ErrWeakKey)
	// Ordinary keys are not mistaken for ROCA keys.
	for _, name := range []string{"rsa", "rsa2", "rsa3"} {
		if _, err := jwt.NewSigningKey("ok", jwt.RS256, ktSigner(t, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// ktROCAModulus builds a 2048-bit modulus with the structure of keys from
// the ROCA-vulnerable generator: both primes are k·M + 65537^a mod M, M
// the product of the first 71 primes.
func ktROCAModulus(tb testing.TB) *big.Int {
	tb.Helper()
	m := big.NewInt(1)
	count := 0
	for p := int64(2); count < 71; p++ {
		if big.NewInt(p).ProbablyPrime(0) {
			m.Mul(m, big.NewInt(p))
			count++
		}
	}
	prime := func(seed int64) *big.Int {
		g := new(big.Int).Exp(big.NewInt(65537), big.NewInt(seed), m)
		k := new(big.Int).Lsh(big.NewInt(1), uint(1024-m.BitLen()))
		k.Add(k, big.NewInt(seed*7919))
		p := new(big.Int)
		for {
			p.Mul(k, m).Add(p, g)
			if p.BitLen() == 1024 && p.ProbablyPrime(20) {
				return p
			}
			k.Add(k, big.NewInt(1))
		}
	}
	n := new(big.Int).Mul(prime(1234567), prime(7654321))
	if n.BitLen() < 2047 {
		tb.Fatalf("ROCA fixture has %d bits", n.BitLen())
	}
	return n
}

// FuzzParseJWKSDoc: for any input, ParseJWKS and ParseJWK either fail with
// one of the key sentinels or return keys that carry a kid and a supported
// algorithm; the public keys round-trip through PublicJWKS.
func FuzzParseJWKSDoc(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","use":"sig","alg":"EdDSA","kid":"ed-2026","crv":"Ed25519","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","alg":"ES256","kid":"e","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"kty":"RSA","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB","key_ops":["verify"]}`))
	f.Add([]byte(`{"keys":[{},{"kty":"oct"}],"keys":[]}`))
	sentinels := []error{jwt.ErrConfig, jwt.ErrKeyMismatch, jwt.ErrWeakKey}
	classified := func(t *testing.T, err error) {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("unclassified error: %v", err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := jwt.ParseJWK(data); err != nil {
			classified(t, err)
		} else if k.ID() == "" || k.Algorithm() == "" {
			t.Fatalf("key without kid or algorithm: %v", k)
		}
		keys, err := jwt.ParseJWKS(data)
		if err != nil {
			classified(t, err)
			return
		}
		set, err := jwt.NewKeySet(nil, keys...)
		if err != nil {
			t.Fatalf("ParseJWKS returned keys NewKeySet refuses: %v", err)
		}
		doc, err := set.PublicJWKS()
		if err != nil {
			t.Fatal(err)
		}
		if keys[0].IsSymmetric() {
			if string(doc) != `{"keys":[]}` {
				t.Fatalf("HMAC keys published: %s", doc)
			}
			return
		}
		back, err := jwt.ParseJWKS(doc)
		if err != nil || len(back) != len(keys) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range keys {
			if !back[i].Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(keys[i].Public()) {
				t.Fatalf("key %d changed in the round trip", i)
			}
		}
	})
}
