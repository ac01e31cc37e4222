package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fixture of SECURITY.md §1: an access-token verifier for HS256 with a
// 32-byte key K, issuer https://issuer.test, audience api, leeway 30 s.
const (
	testIssuer   = "https://issuer.test"
	testAudience = "api"
	testLeeway   = 30 * time.Second
	testKID      = "k1"
)

// testNow is the clock of every deterministic test. Tokens issued at testNow
// are byte-for-byte reproducible, which the fuzz seeds rely on.
var testNow = time.Unix(1_700_000_000, 0)

func fixedClock() time.Time { return testNow }

// unix returns testNow shifted by d, in NumericDate seconds.
func unix(d time.Duration) int64 { return testNow.Add(d).Unix() }

// testSecret derives n (at most 64) high-entropy bytes from label. The
// secrets are fixed across runs so that tokens and fuzz seeds are stable;
// they are as unguessable as random bytes for everything under test.
func testSecret(label string, n int) []byte {
	sum := sha512.Sum512([]byte("jwtkit test secret " + label))
	return sum[:n]
}

// keyK returns the catalogue's key K.
func keyK() []byte { return testSecret("K", 32) }

// signFunc signs a JWS signing input the way a key holder (or an
// attacker holding some key) would.
type signFunc func(signingInput []byte) []byte

func hashOf(alg Algorithm) crypto.Hash {
	switch alg {
	case HS256, RS256, PS256, ES256:
		return crypto.SHA256
	case HS384, RS384, PS384, ES384:
		return crypto.SHA384
	case HS512, RS512, PS512, ES512:
		return crypto.SHA512
	}
	return 0
}

// hmacSign HMACs with secret using alg's hash. An empty secret is allowed:
// attackers sign with one.
func hmacSign(alg Algorithm, secret []byte) signFunc {
	h := hashOf(alg)
	return func(in []byte) []byte {
		m := hmac.New(h.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func rsaSign(tb testing.TB, alg Algorithm, priv *rsa.PrivateKey) signFunc {
	return rsaSignSalt(tb, alg, priv, rsa.PSSSaltLengthEqualsHash)
}

// rsaSignSalt signs RS* with PKCS #1 v1.5 and PS* with PSS and the given
// salt length.
func rsaSignSalt(tb testing.TB, alg Algorithm, priv *rsa.PrivateKey, salt int) signFunc {
	h := hashOf(alg)
	return func(in []byte) []byte {
		d := h.New()
		d.Write(in)
		var sig []byte
		var err error
		if strings.HasPrefix(string(alg), "PS") {
			sig, err = rsa.SignPSS(rand.Reader, priv, h, d.Sum(nil), &rsa.PSSOptions{SaltLength: salt})
		} else {
			sig, err = rsa.SignPKCS1v15(nil, priv, h, d.Sum(nil))
		}
		if err != nil {
			tb.Fatalf("rsa sign: %v", err)
		}
		return sig
	}
}

// ecSign returns the JWS form of an ECDSA signature: r and s as fixed-size
// big-endian integers (RFC 7518 §3.4).
func ecSign(tb testing.TB, alg Algorithm, priv *ecdsa.PrivateKey) signFunc {
	h := hashOf(alg)
	size := (priv.Curve.Params().BitSize + 7) / 8
	return func(in []byte) []byte {
		d := h.New()
		d.Write(in)
		r, s, err := ecdsa.Sign(rand.Reader, priv, d.Sum(nil))
		if err != nil {
			tb.Fatalf("ecdsa sign: %v", err)
		}
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig
	}
}

func edSign(priv ed25519.PrivateKey) signFunc {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

// staticSig signs nothing: it returns sig for any input.
func staticSig(sig []byte) signFunc {
	return func([]byte) []byte { return sig }
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// craft builds base64url(header) "." base64url(payload) "." base64url(sig)
// by hand, without any of the package's code.
func craft(header, payload string, sign signFunc) string {
	return signSegments(b64(header), b64(payload), sign)
}

// signSegments signs already encoded segments, which may be non-canonical
// on purpose.
func signSegments(hseg, pseg string, sign signFunc) string {
	in := hseg + "." + pseg
	return in + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(in)))
}

// member is one JSON object member with its raw JSON value.
type member struct{ name, raw string }

// obj is a JSON object kept in member order, so that tests can drop,
// replace and duplicate members and control the exact bytes.
type obj []member

func (o obj) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(str(m.name))
		b.WriteByte(':')
		b.WriteString(m.raw)
	}
	b.WriteByte('}')
	return b.String()
}

// with replaces the value of name, or appends the member.
func (o obj) with(name, raw string) obj {
	out := append(obj(nil), o...)
	for i := range out {
		if out[i].name == name {
			out[i].raw = raw
			return out
		}
	}
	return append(out, member{name, raw})
}

// plus appends a member even when the name exists.
func (o obj) plus(name, raw string) obj {
	return append(append(obj(nil), o...), member{name, raw})
}

func (o obj) without(name string) obj {
	var out obj
	for _, m := range o {
		if m.name != name {
			out = append(out, m)
		}
	}
	return out
}

// str returns s as a JSON string.
func str(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

// accessHeader is the header jwtkit writes for an access token.
func accessHeader(alg Algorithm, kid string) obj {
	h := obj{{"alg", str(string(alg))}}
	if kid != "" {
		h = append(h, member{"kid", str(kid)})
	}
	return append(h, member{"typ", `"at+jwt"`})
}

// validClaims are the catalogue's valid claims at testNow.
func validClaims() obj {
	return obj{
		{"iss", str(testIssuer)},
		{"sub", `"alice"`},
		{"aud", str(testAudience)},
		{"exp", num(unix(15 * time.Minute))},
		{"iat", num(unix(0))},
		{"jti", `"jti-0001"`},
	}
}

// fixture is a key, a key set holding it, and an Issuer and Verifier on
// that set configured as in the catalogue.
type fixture struct {
	key  *Key
	keys *KeySet
	iss  *Issuer
	ver  *Verifier
	sign signFunc // signs as the holder of key
}

func newFixture(tb testing.TB, key *Key, sign signFunc, opts ...func(*VerifierConfig)) *fixture {
	tb.Helper()
	active, verifyOnly := key, []*Key(nil)
	if !key.CanSign() {
		active, verifyOnly = nil, []*Key{key}
	}
	keys, err := NewKeySet(active, verifyOnly...)
	if err != nil {
		tb.Fatal(err)
	}
	return fixtureOn(tb, keys, key, sign, opts...)
}

func fixtureOn(tb testing.TB, keys *KeySet, key *Key, sign signFunc, opts ...func(*VerifierConfig)) *fixture {
	tb.Helper()
	f := &fixture{key: key, keys: keys, sign: sign}
	var err error
	if keys.Active() != nil {
		f.iss, err = NewIssuer(IssuerConfig{Keys: keys, Issuer: testIssuer, Audience: []string{testAudience}, Now: fixedClock})
		if err != nil {
			tb.Fatal(err)
		}
	}
	cfg := VerifierConfig{Keys: keys, Issuer: testIssuer, Audience: testAudience, Leeway: testLeeway, Now: fixedClock}
	for _, o := range opts {
		o(&cfg)
	}
	if f.ver, err = NewVerifier(cfg); err != nil {
		tb.Fatal(err)
	}
	return f
}

// hsFixture is the catalogue's HS256 fixture with key K and kid k1.
func hsFixture(tb testing.TB, opts ...func(*VerifierConfig)) *fixture {
	tb.Helper()
	key, err := NewHMACKey(testKID, HS256, keyK())
	if err != nil {
		tb.Fatal(err)
	}
	return newFixture(tb, key, hmacSign(HS256, keyK()), opts...)
}

// token signs header and claims as the key holder.
func (f *fixture) token(h, c obj) string { return craft(h.String(), c.String(), f.sign) }

// valid is a valid access token crafted by hand.
func (f *fixture) valid() string {
	return f.token(accessHeader(f.key.alg, f.key.ID()), validClaims())
}

func (f *fixture) issue(tb testing.TB, g Grant) string {
	tb.Helper()
	tok, err := f.iss.IssueAccess(context.Background(), g)
	if err != nil {
		tb.Fatal(err)
	}
	return tok.Raw
}

func (f *fixture) issueRefresh(tb testing.TB, g Grant) string {
	tb.Helper()
	tok, err := f.iss.IssueRefresh(context.Background(), g)
	if err != nil {
		tb.Fatal(err)
	}
	return tok.Raw
}

// loadSigner reads a PKCS #8 private key from testdata/keys. Fixed keys keep
// the tests fast under -race, where RSA key generation is slow.
func loadSigner(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		tb.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return k.(crypto.Signer)
}

func loadRSA(tb testing.TB, name string) *rsa.PrivateKey {
	return loadSigner(tb, name).(*rsa.PrivateKey)
}

func loadEC(tb testing.TB, name string) *ecdsa.PrivateKey {
	return loadSigner(tb, name).(*ecdsa.PrivateKey)
}

func loadEd(tb testing.TB) ed25519.PrivateKey {
	return loadSigner(tb, "ed25519.pem").(ed25519.PrivateKey)
}

// keyFile names the testdata key for each asymmetric algorithm.
func keyFile(alg Algorithm) string {
	switch alg.family() {
	case familyRSA:
		return "rsa2048.pem"
	case familyEdDSA:
		return "ed25519.pem"
	}
	switch alg {
	case ES256:
		return "ec-p256.pem"
	case ES384:
		return "ec-p384.pem"
	}
	return "ec-p521.pem"
}

// algFixture returns a fixture for any supported algorithm with kid k1:
// HMAC keys derived from the label, asymmetric keys from testdata.
func algFixture(tb testing.TB, alg Algorithm, opts ...func(*VerifierConfig)) *fixture {
	tb.Helper()
	var key *Key
	var sign signFunc
	var err error
	switch alg.family() {
	case familyHMAC:
		secret := testSecret(string(alg), alg.hmacMinBytes())
		key, err = NewHMACKey(testKID, alg, secret)
		sign = hmacSign(alg, secret)
	case familyRSA:
		priv := loadRSA(tb, keyFile(alg))
		key, err = NewSigningKey(testKID, alg, priv)
		sign = rsaSign(tb, alg, priv)
	case familyEC:
		priv := loadEC(tb, keyFile(alg))
		key, err = NewSigningKey(testKID, alg, priv)
		sign = ecSign(tb, alg, priv)
	case familyEdDSA:
		priv := loadEd(tb)
		key, err = NewSigningKey(testKID, alg, priv)
		sign = edSign(priv)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return newFixture(tb, key, sign, opts...)
}

// verifyCase is one row of a verification table.
type verifyCase struct {
	name    string
	token   string
	wantErr error // nil: the token must verify
}

// runAccess verifies every row with VerifyAccess.
func runAccess(t *testing.T, v *Verifier, cases []verifyCase) {
	t.Helper()
	runCases(t, v, Access, cases)
}

func runCases(t *testing.T, v *Verifier, use TokenUse, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if use == Refresh {
				_, err = v.VerifyRefresh(t.Context(), tc.token)
			} else {
				_, err = v.VerifyAccess(t.Context(), tc.token)
			}
			checkResult(t, tc.token, err, tc.wantErr)
		})
	}
}

func checkResult(t *testing.T, raw string, err, wantErr error) {
	t.Helper()
	recordToken(t, raw)
	if wantErr == nil {
		if err != nil {
			t.Fatalf("got %v, want the token accepted", err)
		}
		return
	}
	if !errors.Is(err, wantErr) {
		t.Fatalf("got %v, want %v", err, wantErr)
	}
	checkVerifyError(t, raw, err)
}

// sentinelOf returns the verification sentinel err wraps, or nil.
func sentinelOf(err error) error {
	for _, s := range verificationSentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// checkVerifyError holds a verification error to the package contract: it
// wraps exactly one verification sentinel, and its text echoes no token data (no
// segment or run of segment characters, no header or claim value).
func checkVerifyError(t testing.TB, raw string, err error) {
	t.Helper()
	n := 0
	for _, s := range verificationSentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %q wraps %d verification sentinels, want exactly one", err, n)
		return
	}
	msg := err.Error()
	// Any run of 8 base64url characters in the message must not occur in
	// the token.
	const window = 8
	for i := 0; i+window <= len(msg); i++ {
		w := msg[i : i+window]
		if strings.IndexFunc(w, func(r rune) bool { return r > 127 || !strings.ContainsRune(b64URLAlphabet, r) }) >= 0 {
			continue
		}
		if strings.Contains(raw, w) {
			t.Errorf("error %q echoes token bytes %q", msg, w)
			return
		}
	}
	for _, v := range tokenStrings(raw) {
		// Algorithm names are the library's vocabulary: a signature
		// error may name the key's algorithm.
		if len(v) >= 4 && !Algorithm(v).valid() && strings.Contains(msg, v) {
			t.Errorf("error %q echoes the token value %q", msg, v)
			return
		}
	}
}

// tokenStrings returns, best effort, every JSON string value in the
// header and payload of raw (any base64 flavour).
func tokenStrings(raw string) []string {
	var out []string
	segs := strings.Split(raw, ".")
	if len(segs) > 2 {
		segs = segs[:2]
	}
	for _, seg := range segs {
		var data []byte
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
			if b, err := enc.DecodeString(seg); err == nil {
				data = b
				break
			}
		}
		var v any
		if json.Unmarshal(data, &v) == nil {
			out = collectStrings(out, v)
		}
	}
	return out
}

func collectStrings(out []string, v any) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, e := range v {
			out = collectStrings(out, e)
		}
	case map[string]any:
		for _, e := range v {
			out = collectStrings(out, e)
		}
	}
	return out
}
