package jwt

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/jwtkit/jwtkit/internal/compact"
)

// The tests in this file are the jwt-level rows of the security catalogue
// (SECURITY.md §1). Subtest names start with the row ID, so coverage can be
// found with `go test -run 'Test.*/A04' -v`.

// segments splits a compact token into its three segments.
func segments(tb testing.TB, tok string) (h, p, s string) {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("not a compact token: %q", tok)
	}
	return parts[0], parts[1], parts[2]
}

func sigOf(tb testing.TB, tok string) []byte {
	tb.Helper()
	_, _, s := segments(tb, tok)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// flip replaces the base64url character at i with another one.
func flip(tok string, i int) string {
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// setUnusedBit sets the lowest bit of the last character of seg. When the
// segment length is not a multiple of four, that bit encodes nothing, so
// the result decodes to the same bytes in a lenient decoder.
func setUnusedBit(tb testing.TB, seg string) string {
	tb.Helper()
	if len(seg)%4 == 0 {
		tb.Fatalf("segment of length %d has no unused bits", len(seg))
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[v|1])
}

// withUnusedBits pads c with a custom claim so that its encoding has
// unused bits.
func withUnusedBits(c obj) obj {
	for pad := ""; ; pad += "x" {
		out := c.with("pad", str(pad))
		if len(out.String())%3 != 0 {
			return out
		}
	}
}

// strictSigErr is the error a signature segment that is correct except
// for its length earns: ErrMalformed when it is not canonical base64url,
// which is checked first, else ErrSignature.
func strictSigErr(seg string) error {
	if _, err := base64.RawURLEncoding.Strict().DecodeString(seg); err != nil {
		return ErrMalformed
	}
	return ErrSignature
}

// TestVerifyAlgorithms covers A-01..A-03, A-13, A-14, A-16 and A-17 with
// the catalogue's HS256 fixture.
func TestVerifyAlgorithms(t *testing.T) {
	f := hsFixture(t)
	k := hmacSign(HS256, keyK())
	c := validClaims().String()
	h := accessHeader(HS256, testKID)
	valid := f.valid()
	hseg, pseg, sseg := segments(t, valid)
	sig := sigOf(t, valid)
	withAlg := func(alg string) string { return craft(h.with("alg", alg).String(), c, k) }
	noneHeader := `{"alg":"none","typ":"JWT"}`
	spaced := strings.Replace(h.String(), ",", ", ", 1)
	broken := valid[:len(valid)-4]
	_, _, brokenSig := segments(t, broken)

	runAccess(t, f.ver, []verifyCase{
		{"baseline/valid", valid, nil},
		{"A01/none-empty-signature", b64(noneHeader) + "." + pseg + ".", ErrMalformed},
		{"A01/none-at+jwt-empty-signature", b64(accessHeader("none", testKID).String()) + "." + pseg + ".", ErrMalformed},
		{"A01/none-one-byte-signature", craft(noneHeader, c, staticSig([]byte{0})), ErrAlgorithm},
		{"A02/None", withAlg(`"None"`), ErrAlgorithm},
		{"A02/NONE", withAlg(`"NONE"`), ErrAlgorithm},
		{"A02/nOnE", withAlg(`"nOnE"`), ErrAlgorithm},
		{"A02/none-trailing-space", withAlg(`"none "`), ErrAlgorithm},
		{"A03/none-keeps-signature", b64(h.with("alg", `"none"`).String()) + "." + pseg + "." + sseg, ErrAlgorithm},
		{"A13/signature-stripped", hseg + "." + pseg + ".", ErrMalformed},
		{"A13/two-segments", hseg + "." + pseg, ErrMalformed},
		{"A13/signature-null", hseg + "." + pseg + ".null", ErrSignature},
		{"A13/signature-AAAA", hseg + "." + pseg + ".AAAA", ErrSignature},
		{"A14/empty-secret", craft(h.String(), c, hmacSign(HS256, nil)), ErrSignature},
		{"A16/dictionary-secret", craft(h.String(), c, hmacSign(HS256, []byte("secret"))), ErrSignature},
		{"A16/other-32-byte-secret", craft(h.String(), c, hmacSign(HS256, testSecret("other", 32))), ErrSignature},
		{"A17/header-reencoded-with-space", b64(spaced) + "." + pseg + "." + sseg, ErrSignature},
		{"A17/header-first-char", flip(valid, 0), ErrMalformed},
		{"A17/payload-char", flip(valid, len(hseg)+1+len(pseg)/2), ErrSignature},
		{"A17/signature-first-char", flip(valid, len(hseg)+len(pseg)+2), ErrSignature},
		{"A17/signature-short-by-3-bytes", hseg + "." + pseg + "." + enc(sig[:len(sig)-3]), ErrSignature},
		{"A17/signature-one-byte-longer", hseg + "." + pseg + "." + enc(append(sig[:len(sig):len(sig)], 0)), ErrSignature},
		{"A17/signature-HMAC-SHA512", craft(h.String(), c, hmacSign(HS512, keyK())), ErrSignature},
		{"A17/jwt_tool-broken-signature", broken, strictSigErr(brokenSig)},
		{"A17/signature-too-long", hseg + "." + pseg + "." + strings.Repeat("A", 2000), ErrSignature},
	})

	t.Run("A17/every-character-flipped", func(t *testing.T) {
		for i := range len(valid) {
			if valid[i] == '.' {
				continue
			}
			tok := flip(valid, i)
			c, err := f.ver.VerifyAccess(t.Context(), tok)
			if err == nil || c != nil {
				t.Fatalf("flipping character %d: token accepted", i)
			}
			checkVerifyError(t, tok, err)
		}
	})
}

// TestVerifyA04HeaderAlgMismatch runs A-04 against a single key, key sets
// and several contexts: the header alg must be present and byte-equal to
// the algorithm of the key, whatever the key source.
func TestVerifyA04HeaderAlgMismatch(t *testing.T) {
	secret := keyK()
	k1, err := NewHMACKey(testKID, HS256, secret)
	if err != nil {
		t.Fatal(err)
	}
	k0, _ := NewHMACKey("k0", HS256, testSecret("k0", 32))
	k5, _ := NewHMACKey("k5", HS512, testSecret("k5", 64))
	single, _ := NewKeySet(k1)
	pair, _ := NewKeySet(k1, k0)
	mixed, _ := NewKeySet(k1, k5)

	h := accessHeader(HS256, testKID)
	c := validClaims().String()
	k := hmacSign(HS256, secret)
	headers := []struct{ name, header string }{
		{"header-HS512", h.with("alg", `"HS512"`).String()},
		{"header-none", h.with("alg", `"none"`).String()},
		{"header-without-alg", h.without("alg").String()},
		{"header-typ-JWT-only", `{"typ":"JWT"}`},
		{"header-hs256", h.with("alg", `"hs256"`).String()},
		{"header-HS256-NUL", h.with("alg", `"HS256\u0000"`).String()},
		{"header-RS256", h.with("alg", `"RS256"`).String()},
		{"header-ES256", h.with("alg", `"ES256"`).String()},
		{"header-EdDSA", h.with("alg", `"EdDSA"`).String()},
		{"header-empty-alg", h.with("alg", `""`).String()},
		{"header-alg-number", h.with("alg", `256`).String()},
		{"header-alg-null", h.with("alg", `null`).String()},
		{"header-alg-array", h.with("alg", `["HS256"]`).String()},
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	contexts := []struct {
		name string
		ctx  func(t *testing.T) context.Context
	}{
		{"background", func(*testing.T) context.Context { return context.Background() }},
		{"test-context", func(t *testing.T) context.Context { return t.Context() }},
		{"cancelled", func(*testing.T) context.Context { return cancelled }},
	}
	for _, src := range []struct {
		name string
		keys *KeySet
	}{{"single-key", single}, {"key-set", pair}, {"key-set-with-HS512-key", mixed}} {
		f := fixtureOn(t, src.keys, k1, k)
		for _, cx := range contexts {
			t.Run("A04/"+src.name+"/"+cx.name+"/baseline-valid", func(t *testing.T) {
				if _, err := f.ver.VerifyAccess(cx.ctx(t), f.valid()); err != nil {
					t.Fatal(err)
				}
			})
			for _, row := range headers {
				t.Run("A04/"+src.name+"/"+cx.name+"/"+row.name, func(t *testing.T) {
					tok := craft(row.header, c, k)
					_, err := f.ver.VerifyAccess(cx.ctx(t), tok)
					checkResult(t, tok, err, ErrAlgorithm)
				})
			}
		}
	}
}

// rsaPublicForms returns encodings of an RSA public key that confused
// verifiers have used as an HMAC secret.
func rsaPublicForms(tb testing.TB, pub *rsa.PublicKey) map[string][]byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)
	e := big.NewInt(int64(pub.E)).Bytes()
	return map[string][]byte{
		"pem":                 pemKey,
		"pem-extra-newline":   append(append([]byte(nil), pemKey...), '\n'),
		"pem-without-newline": bytes.TrimSuffix(pemKey, []byte("\n")),
		"pem-crlf":            bytes.ReplaceAll(pemKey, []byte("\n"), []byte("\r\n")),
		"der-pkix":            der,
		"der-pkcs1":           pkcs1,
		"pem-pkcs1":           pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1}),
		"jwk":                 fmt.Appendf(nil, `{"kty":"RSA","n":"%s","e":"%s"}`, enc(pub.N.Bytes()), enc(e)),
		"openssh":             []byte(sshRSA(pub)),
		"openssh-newline":     []byte(sshRSA(pub) + "\n"),
	}
}

// sshRSA returns the OpenSSH authorized_keys form of pub (RFC 4253 §6.6).
func sshRSA(pub *rsa.PublicKey) string {
	var b []byte
	put := func(s []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	mpint := func(x []byte) []byte {
		if len(x) > 0 && x[0]&0x80 != 0 {
			return append([]byte{0}, x...)
		}
		return x
	}
	put([]byte("ssh-rsa"))
	put(mpint(big.NewInt(int64(pub.E)).Bytes()))
	put(mpint(pub.N.Bytes()))
	return "ssh-rsa " + base64.StdEncoding.EncodeToString(b)
}

// ecPublicForms does the same for an EC public key.
func ecPublicForms(tb testing.TB, pub *ecdsa.PublicKey) map[string][]byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	point, err := pub.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	return map[string][]byte{
		"uncompressed-point": point,
		"x-coordinate":       point[1 : 1+size],
		"der-pkix":           der,
		"pem":                pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"jwk":                fmt.Appendf(nil, `{"kty":"EC","crv":"P-256","x":"%s","y":"%s"}`, enc(point[1:1+size]), enc(point[1+size:])),
	}
}

// mustKey returns a function that unwraps a key constructor's results:
// mustKey(t)(NewHMACKey(...)).
func mustKey(tb testing.TB) func(*Key, error) *Key {
	return func(k *Key, err error) *Key {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
}

// TestVerifyAsymmetricAttacks covers, K-11 and K-13 with
// RSA, ECDSA and Ed25519 keys. The other asymmetric rows (A-07, A-09..A-12,
// A-18, K-01..K-04) are in keys_attack_test.go.
func TestVerifyAsymmetricAttacks(t *testing.T) {
	rsaPriv := loadRSA(t, "rsa2048.pem")
	rf := newFixture(t, mustKey(t)(newVerificationKey("r1", RS256, &rsaPriv.PublicKey)), rsaSign(t, RS256, rsaPriv))
	ecPriv := loadEC(t, "ec-p256.pem")
	ef := newFixture(t, mustKey(t)(newVerificationKey("e1", ES256, &ecPriv.PublicKey)), ecSign(t, ES256, ecPriv))
	c := validClaims()
	cs := c.String()

	var cases []verifyCase
	rsaValid := rf.valid()
	cases = append(cases, verifyCase{"baseline/RS256-valid", rsaValid, nil})
	for name, secret := range rsaPublicForms(t, &rsaPriv.PublicKey) {
		for hname, h := range map[string]obj{
			"kid-r1":  accessHeader(HS256, "r1"),
			"no-kid":  accessHeader(HS256, ""),
			"typ-JWT": {{"alg", `"HS256"`}, {"typ", `"JWT"`}},
		} {
			cases = append(cases, verifyCase{"A05/" + name + "/" + hname, craft(h.String(), cs, hmacSign(HS256, secret)), ErrAlgorithm})
		}
	}
	pemKey := rsaPublicForms(t, &rsaPriv.PublicKey)["pem"]
	cases = append(cases, verifyCase{"K11/hs256-kid-r1-signed-with-public-pem",
		craft(`{"alg":"HS256","kid":"r1"}`, cs, hmacSign(HS256, pemKey)), ErrAlgorithm})

	// K-13: the key holder signs with the right key but another algorithm
	// of the family.
	cases = append(cases,
		verifyCase{"K13/RS256-key-PS256-header", craft(accessHeader(PS256, "r1").String(), cs, rsaSign(t, PS256, rsaPriv)), ErrAlgorithm},
		verifyCase{"K13/RS256-key-RS512-header", craft(accessHeader(RS512, "r1").String(), cs, rsaSign(t, RS512, rsaPriv)), ErrAlgorithm},
		verifyCase{"A17/RS256-signed-over-SHA512", craft(accessHeader(RS256, "r1").String(), cs, rsaSign(t, RS512, rsaPriv)), ErrSignature},
	)
	runAccess(t, rf.ver, cases)

	// against ES256.
	ecValid := ef.valid()
	eh, ep, _ := segments(t, ecValid)
	n := ecPriv.Curve.Params().N
	rs := func(r, s *big.Int) string {
		b := make([]byte, 64)
		r.FillBytes(b[:32])
		s.FillBytes(b[32:])
		return eh + "." + ep + "." + enc(b)
	}
	psychic, _ := base64.StdEncoding.DecodeString("MAYCAQACAQA=")
	ecCases := []verifyCase{
		{"baseline/ES256-valid", ecValid, nil},
		{"A08/ES256-all-zero", eh + "." + ep + "." + enc(make([]byte, 64)), ErrSignature},
		{"A08/der-MAYCAQACAQA", eh + "." + ep + ".MAYCAQACAQA", ErrSignature},
		{"A08/der-decoded-psychic", eh + "." + ep + "." + enc(psychic), ErrSignature},
		{"A08/r-s-equal-n", rs(n, n), ErrSignature},
		{"A08/r-s-equal-1", rs(big.NewInt(1), big.NewInt(1)), ErrSignature},
	}
	for name, secret := range ecPublicForms(t, &ecPriv.PublicKey) {
		ecCases = append(ecCases, verifyCase{"A06/" + name, craft(accessHeader(HS256, "e1").String(), cs, hmacSign(HS256, secret)), ErrAlgorithm})
	}
	runAccess(t, ef.ver, ecCases)

	// A-08 for the larger curves.
	for _, tc := range []struct {
		alg  Algorithm
		size int
	}{{ES384, 96}, {ES512, 132}} {
		f := algFixture(t, tc.alg)
		_, p, _ := segments(t, f.valid())
		h := b64(accessHeader(tc.alg, testKID).String())
		runAccess(t, f.ver, []verifyCase{
			{"baseline/" + string(tc.alg) + "-valid", f.valid(), nil},
			{"A08/" + string(tc.alg) + "-all-zero", h + "." + p + "." + enc(make([]byte, tc.size)), ErrSignature},
		})
	}

	// EdDSA signature faults.
	edf := algFixture(t, EdDSA)
	edValid := edf.valid()
	edh, edp, _ := segments(t, edValid)
	edSig := sigOf(t, edValid)
	bad := append([]byte(nil), edSig...)
	bad[10] ^= 1
	runAccess(t, edf.ver, []verifyCase{
		{"baseline/EdDSA-valid", edValid, nil},
		{"A17/EdDSA-bit-flipped", edh + "." + edp + "." + enc(bad), ErrSignature},
		{"A08/EdDSA-all-zero", edh + "." + edp + "." + enc(make([]byte, 64)), ErrSignature},
	})
}

// TestVerifyFormat covers the compact form, checked before any decoding:
// F-01..F-07 and A-18's JSON serializations.
func TestVerifyFormat(t *testing.T) {
	f := hsFixture(t)
	k := hmacSign(HS256, keyK())
	valid := f.valid()
	hseg, pseg, sseg := segments(t, valid)
	sig := sigOf(t, valid)
	h := accessHeader(HS256, testKID)

	// A payload whose encoding is sure to contain '-' (three '~' encode
	// as "fn5-"), to test the standard alphabet.
	tilde := f.token(h, validClaims().with("pad", `"~~~~~~"`))
	_, tp, ts := segments(t, tilde)
	toStd := strings.NewReplacer("-", "+", "_", "/")
	if !strings.Contains(toStd.Replace(tp), "+") {
		t.Fatal("fixture: payload without '-'")
	}
	// Segments with unused bits.
	odd := f.token(h, withUnusedBits(validClaims()))
	oh, op, _ := segments(t, odd)
	paddedHeader := base64.URLEncoding.EncodeToString([]byte(h.String()))
	if !strings.HasSuffix(paddedHeader, "=") {
		t.Fatal("fixture: header encodes without padding")
	}
	crlf := pseg[:10] + "\r\n" + pseg[10:]

	flattened := fmt.Sprintf(`{"protected":"%s","payload":"%s","signature":"%s","sub":"admin","exp":4102444800,"role":"superuser"}`, hseg, pseg, sseg)
	general := fmt.Sprintf(`{"payload":"%s","signatures":[{"protected":"%s","signature":"%s"}]}`, pseg, hseg, sseg)
	jwe := b64(`{"alg":"dir","enc":"A128GCM"}`) + "..AAAAAAAAAAAAAAAA." + pseg + ".AAAAAAAAAAAAAAAAAAAAAA"

	cases := []verifyCase{
		{"baseline/valid", valid, nil},
		{"baseline/with-tilde-claim", tilde, nil},
		{"baseline/with-unused-bits", odd, nil},
		{"F01/flattened-json", flattened, ErrMalformed},
		{"F02/general-json", general, ErrMalformed},
		{"A18/general-json-two-signatures", fmt.Sprintf(`{"payload":"%s","signatures":[{"protected":"%s","signature":"%s"},{"protected":"%s","header":{"kid":"evil"},"signature":"AAAA"}]}`, pseg, hseg, sseg, hseg), ErrMalformed},
	}
	for _, ch := range []string{"{", `"`, "+", "/", "=", " ", "%", "é", "\x00", "\t", "*"} {
		cases = append(cases, verifyCase{fmt.Sprintf("F03/char-%q", ch), valid[:20] + ch + valid[20:], ErrMalformed})
	}
	cases = append(cases,
		verifyCase{"F03/percent-encoded-dot", strings.Replace(valid, ".", "%2E", 1), ErrMalformed},
		verifyCase{"F04a/signature-std-alphabet-padded", hseg + "." + pseg + "." + base64.StdEncoding.EncodeToString(sig), ErrMalformed},
		verifyCase{"F04a/payload-std-alphabet", hseg + "." + toStd.Replace(tp) + "." + ts, ErrMalformed},
		verifyCase{"F04b/padding-appended", valid + "=", ErrMalformed},
		verifyCase{"F04b/padding-appended-twice", valid + "==", ErrMalformed},
		verifyCase{"F04c/newline-in-signature", hseg + "." + pseg + "." + sseg[:5] + "\n" + sseg[5:], ErrMalformed},
		verifyCase{"F04c/newline-in-header", hseg[:5] + "\n" + hseg[5:] + "." + pseg + "." + sseg, ErrMalformed},
		verifyCase{"F04d/crlf-in-payload-third-party", hseg + "." + crlf + "." + sseg, ErrMalformed},
		verifyCase{"F04d/crlf-in-payload-key-holder", signSegments(hseg, crlf, k), ErrMalformed},
		verifyCase{"F04e/header-padded-third-party", paddedHeader + "." + pseg + "." + sseg, ErrMalformed},
		verifyCase{"F04e/header-padded-key-holder", signSegments(paddedHeader, pseg, k), ErrMalformed},
		verifyCase{"F04f/signature-unused-bits", hseg + "." + pseg + "." + setUnusedBit(t, sseg), ErrMalformed},
		verifyCase{"F04f/payload-unused-bits-third-party", oh + "." + setUnusedBit(t, op) + "." + segs(t, odd, 2), ErrSignature},
		verifyCase{"F04f/payload-unused-bits-key-holder", signSegments(oh, setUnusedBit(t, op), k), ErrMalformed},
		verifyCase{"F04f/header-unused-bits-key-holder", signSegments(setUnusedBit(t, hseg), pseg, k), ErrMalformed},
		verifyCase{"F05/leading-space", " " + valid, ErrMalformed},
		verifyCase{"F05/trailing-space", valid + " ", ErrMalformed},
		verifyCase{"F05/leading-tab", "\t" + valid, ErrMalformed},
		verifyCase{"F05/trailing-newline", valid + "\n", ErrMalformed},
		verifyCase{"F05/bearer-prefix", "Bearer " + valid, ErrMalformed},
		verifyCase{"F06/empty", "", ErrMalformed},
		verifyCase{"F06/one-dot", ".", ErrMalformed},
		verifyCase{"F06/two-dots", "..", ErrMalformed},
		verifyCase{"F06/three-dots", "...", ErrMalformed},
		verifyCase{"F06/two-segments", "a.b", ErrMalformed},
		verifyCase{"F06/four-segments", valid + ".x", ErrMalformed},
		verifyCase{"F06/trailing-dot", valid + ".", ErrMalformed},
		verifyCase{"F06/leading-dot", "." + valid, ErrMalformed},
		verifyCase{"F06/empty-header", "." + pseg + "." + sseg, ErrMalformed},
		verifyCase{"F06/empty-payload", hseg + ".." + sseg, ErrMalformed},
		verifyCase{"F06/jwe-five-segments", jwe, ErrMalformed},
		verifyCase{"F07/one-million-dots", strings.Repeat(".", 1_000_000), ErrMalformed},
		verifyCase{"F07/8KiB-of-dots", strings.Repeat(".", compact.DefaultMaxBytes), ErrMalformed},
		verifyCase{"F07/header-over-1KiB", signSegments(b64(h.with("pad", str(strings.Repeat("x", 1100))).String()), pseg, k), ErrMalformed},
	)
	runAccess(t, f.ver, cases)

	// F-07: the 8 KiB cap is exact.
	t.Run("F07/size-limit", func(t *testing.T) {
		// Encoded lengths skip 4k+1, so a header pad helps hit the size.
		var at string
		for m := 0; m < 3 && at == ""; m++ {
			hp := h.with("x", str(strings.Repeat("x", m)))
			for n := 5900; n < 6200 && at == ""; n++ {
				tok := f.token(hp, validClaims().with("pad", str(strings.Repeat("x", n))))
				if len(tok) == compact.DefaultMaxBytes {
					at = tok
				}
			}
		}
		if at == "" {
			t.Fatal("fixture: no token of exactly 8 KiB")
		}
		if _, err := f.ver.VerifyAccess(t.Context(), at); err != nil {
			t.Fatalf("token of exactly %d bytes: %v", len(at), err)
		}
		over := f.token(h, validClaims().with("pad", str(strings.Repeat("x", 6200))))
		for len(over) <= compact.DefaultMaxBytes {
			over = f.token(h, validClaims().with("pad", str(strings.Repeat("x", len(over)))))
		}
		_, err := f.ver.VerifyAccess(t.Context(), over)
		checkResult(t, over, err, ErrMalformed)
		if err := splitCompactErr(over, 0); !errors.Is(err, ErrMalformed) {
			t.Fatalf("splitCompact: %v", err)
		}
		if err := splitCompactErr(over, len(over)); err != nil {
			t.Fatalf("splitCompact with a larger cap: %v", err)
		}
		big := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.MaxTokenBytes = 16 << 10 })
		if _, err := big.ver.VerifyAccess(t.Context(), over); err != nil {
			t.Fatalf("MaxTokenBytes 16 KiB: %v", err)
		}
	})

	// F-07: rejections before decoding allocate nothing but the error.
	t.Run("F07/allocations", func(t *testing.T) {
		if raceEnabled {
			t.Skip("allocation counts differ under -race")
		}
		ctx := context.Background()
		for name, tok := range map[string]string{
			"one-million-dots": strings.Repeat(".", 1_000_000),
			"8KiB+1":           strings.Repeat("a", compact.DefaultMaxBytes+1),
			"many-dots-8KiB":   strings.Repeat(".", compact.DefaultMaxBytes),
		} {
			allocs := testing.AllocsPerRun(20, func() { _, _ = f.ver.VerifyAccess(ctx, tok) })
			if allocs > 1 {
				t.Errorf("%s: %.0f allocations per call, want at most 1", name, allocs)
			}
		}
	})
}

// segs returns segment i of tok.
func segs(tb testing.TB, tok string, i int) string {
	tb.Helper()
	h, p, s := segments(tb, tok)
	return [3]string{h, p, s}[i]
}

func utf16JSON(s string, bigEndian bool) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = binary.BigEndian.AppendUint16(b, u)
		} else {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
	}
	return string(b)
}

// TestVerifyJSON covers the header and claims JSON and the header members
// refused for their processing model: F-08..F-17.
func TestVerifyJSON(t *testing.T) {
	f := hsFixture(t)
	k := hmacSign(HS256, keyK())
	h := accessHeader(HS256, testKID)
	hs := h.String()
	c := validClaims()
	cs := c.String()
	valid := f.valid()
	_, pseg, _ := segments(t, valid)
	tok := func(header, payload string) string { return craft(header, payload, k) }

	// A compact JWS signed with K, to nest.
	inner := valid
	innerNone := b64(`{"alg":"none"}`) + "." + pseg + "."
	var bomb bytes.Buffer
	zw, _ := flate.NewWriter(&bomb, flate.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()

	cases := []verifyCase{
		{"baseline/valid", valid, nil},
		{"F08/header-trailing-garbage", tok(hs+"xyz", cs), ErrMalformed},
		{"F08/header-trailing-object", tok(hs+`{"alg":"none"}`, cs), ErrMalformed},
		{"F08/header-utf8-bom", tok("\ufeff"+hs, cs), ErrMalformed},
		{"F08/header-leading-space", tok(" "+hs, cs), ErrMalformed},
		{"F08/header-trailing-space", tok(hs+" ", cs), ErrMalformed},
		{"F08/header-leading-newline", tok("\n"+hs, cs), ErrMalformed},
		{"F08/header-array", tok("["+hs+"]", cs), ErrMalformed},
		{"F08/header-utf16le", tok(utf16JSON(hs, false), cs), ErrMalformed},
		{"F08/header-utf16be", tok(utf16JSON(hs, true), cs), ErrMalformed},
		{"F08/header-whitespace-inside", tok("{ \"alg\" : \"HS256\" ,\n\t\"kid\":\"k1\", \"typ\":\"at+jwt\"\r\n}", cs), nil},
		{"F08/claims-whitespace-inside", tok(hs, strings.ReplaceAll(cs, ",", " ,\n ")), nil},
		{"F08/claims-leading-space", tok(hs, " "+cs), ErrMalformed},
		{"F08/claims-trailing-newline", tok(hs, cs+"\n"), ErrMalformed},
		{"F08/claims-utf8-bom", tok(hs, "\ufeff"+cs), ErrMalformed},
		{"F09/alg-none-then-HS256", tok(`{"alg":"none","typ":"JWT","alg":"HS256"}`, cs), ErrMalformed},
		{"F09/alg-HS256-then-none", tok(`{"alg":"HS256","typ":"at+jwt","alg":"none"}`, cs), ErrMalformed},
		{"F09/alg-HS256-then-HS512", tok(`{"alg":"HS256","alg":"HS512","typ":"at+jwt"}`, cs), ErrMalformed},
		{"F09/alg-twice-same-value", tok(`{"alg":"HS256","alg":"HS256","typ":"at+jwt"}`, cs), ErrMalformed},
		{"F09/kid-a-then-b", tok(`{"alg":"HS256","kid":"a","kid":"b","typ":"at+jwt"}`, cs), ErrMalformed},
		{"F09/kid-k1-twice", tok(`{"alg":"HS256","kid":"k1","kid":"k1","typ":"at+jwt"}`, cs), ErrMalformed},
		{"F09/typ-twice", tok(`{"alg":"HS256","typ":"JWT","typ":"at+jwt"}`, cs), ErrMalformed},
		{"F09/alg-escaped-duplicate", tok(`{"alg":"HS256","\u0061lg":"none","typ":"at+jwt"}`, cs), ErrMalformed},
		// Header member names are case-sensitive (RFC 7515 §4): "ALG" is
		// an unknown member and ignored, not a second alg.
		{"F09/ALG-is-another-member", tok(h.plus("ALG", `"none"`).String(), cs), nil},
		{"F10/sub-twice", tok(hs, c.plus("sub", `"admin"`).String()), ErrMalformed},
		{"F10/exp-twice", tok(hs, c.without("exp").plus("exp", "1").plus("exp", num(unix(time.Hour))).String()), ErrMalformed},
		{"F10/SUB-only", tok(hs, c.without("sub").plus("SUB", `"admin"`).String()), ErrMissingClaim},
		{"F10/sub-and-SUB", tok(hs, obj{{"sub", `"a"`}, {"SUB", `"b"`}}.String()), ErrMalformed},
		{"F10/sub-and-SUB-full", tok(hs, c.plus("SUB", `"admin"`).String()), ErrMalformed},
		{"F10/scope-and-Scope", tok(hs, c.plus("scope", `"read"`).plus("Scope", `"admin"`).String()), ErrMalformed},
		{"F10/custom-role-and-ROLE", tok(hs, c.plus("role", `"user"`).plus("ROLE", `"admin"`).String()), ErrMalformed},
		{"F10/sub-and-long-s-sub", tok(hs, c.plus("ſub", `"admin"`).String()), ErrMalformed},
		{"F10/kid-and-kelvin-KID-claim", tok(hs, c.plus("kid", `"a"`).plus("\u212aid", `"b"`).String()), ErrMalformed},
		{"F10/sub-escaped-duplicate", tok(hs, cs[:len(cs)-1]+`,"s\u0075b":"admin"}`), ErrMalformed},
		{"F10/nested-duplicate", tok(hs, c.plus("ext", `{"role":"user","role":"admin"}`).String()), ErrMalformed},
		{"F10/nested-case-variant", tok(hs, c.plus("ext", `{"role":"user","ROLE":"admin"}`).String()), ErrMalformed},
		{"F10/nested-in-array", tok(hs, c.plus("ext", `[{"a":1,"A":2}]`).String()), ErrMalformed},
		{"F10/nested-distinct-names", tok(hs, c.plus("ext", `{"role":"user","roles":["a"],"x":{"y":{}}}`).String()), nil},
		{"F11/trailing-xyz", tok(hs, cs+"xyz"), ErrMalformed},
		{"F11/trailing-object", tok(hs, cs+`{"sub":"admin"}`), ErrMalformed},
		{"F11/trailing-nul", tok(hs, cs+"\x00"), ErrMalformed},
		{"F11/unterminated", tok(hs, cs[:len(cs)-1]), ErrMalformed},
		{"F12/sub-invalid-utf8", tok(hs, c.with("sub", "\"a\xff\"").String()), ErrMalformed},
		{"F12/sub-overlong-slash", tok(hs, c.with("sub", "\"a\xc0\xaf\"").String()), ErrMalformed},
		{"F12/sub-utf8-surrogate", tok(hs, c.with("sub", "\"a\xed\xa0\x80\"").String()), ErrMalformed},
		{"F12/sub-truncated-rune", tok(hs, c.with("sub", "\"a\xe2\x82\"").String()), ErrMalformed},
		{"F12/sub-lone-surrogate-escape", tok(hs, c.with("sub", `"a\ud800"`).String()), ErrMalformed},
		{"F12/sub-reversed-surrogates", tok(hs, c.with("sub", `"a\udc00\ud800"`).String()), ErrMalformed},
		{"F12/custom-claim-invalid-utf8", tok(hs, c.plus("name", "\"\xff\xfe\"").String()), ErrMalformed},
		{"F12/claim-name-invalid-utf8", tok(hs, c.String()[:len(cs)-1]+",\"\xff\":1}"), ErrMalformed},
		{"F12/header-kid-invalid-utf8", tok(h.with("kid", "\"k1\xff\"").String(), cs), ErrMalformed},
		{"F12/sub-escaped-pair-accepted", tok(hs, c.with("sub", `"\ud83d\ude00"`).String()), nil},
		{"F13/array", tok(hs, `[1,2]`), ErrMalformed},
		{"F13/string", tok(hs, `"x"`), ErrMalformed},
		{"F13/null", tok(hs, `null`), ErrMalformed},
		{"F13/number", tok(hs, `1`), ErrMalformed},
		{"F13/true", tok(hs, `true`), ErrMalformed},
		{"F13/empty", tok(hs, ``), ErrMalformed},
		{"F13/empty-object", tok(hs, `{}`), ErrMissingClaim},
		{"F14/crit-x-foo", tok(`{"alg":"HS256","crit":["x-foo"],"x-foo":1,"typ":"at+jwt"}`, cs), ErrHeader},
		{"F14/crit-empty", tok(`{"alg":"HS256","crit":[],"typ":"at+jwt"}`, cs), ErrHeader},
		{"F14/crit-exp", tok(`{"alg":"HS256","crit":["exp"],"exp":0,"typ":"at+jwt"}`, cs), ErrHeader},
		{"F14/crit-names-missing-member", tok(`{"alg":"HS256","crit":["x-missing"],"typ":"at+jwt"}`, cs), ErrHeader},
		{"F14/crit-alg", tok(`{"alg":"HS256","crit":["alg"],"typ":"at+jwt"}`, cs), ErrHeader},
		{"F14/crit-null", tok(`{"alg":"HS256","crit":null,"typ":"at+jwt"}`, cs), ErrHeader},
		{"F14/crit-first", tok(`{"crit":["b64"],"alg":"HS256","typ":"at+jwt"}`, cs), ErrHeader},
		{"F15/b64-false-crit-raw-payload", signSegments(b64(`{"alg":"HS256","b64":false,"crit":["b64"],"typ":"at+jwt"}`), cs, k), ErrMalformed},
		{"F15/b64-false-crit-encoded-payload", tok(`{"alg":"HS256","b64":false,"crit":["b64"],"typ":"at+jwt"}`, cs), ErrHeader},
		{"F15/b64-false-no-crit", tok(`{"alg":"HS256","b64":false,"typ":"at+jwt"}`, cs), ErrHeader},
		{"F15/b64-true", tok(`{"alg":"HS256","b64":true,"typ":"at+jwt"}`, cs), ErrHeader},
		{"F15/b64-string", tok(`{"alg":"HS256","b64":"x","typ":"at+jwt"}`, cs), ErrHeader},
		{"F16/nested-jws-no-cty", tok(hs, inner), ErrMalformed},
		{"F16/nested-jws-cty-JWT", tok(h.plus("cty", `"JWT"`).String(), inner), ErrHeader},
		{"F16/nested-none-no-cty", tok(hs, innerNone), ErrMalformed},
		{"F16/nested-none-cty-JWT", tok(h.plus("cty", `"JWT"`).String(), innerNone), ErrHeader},
		{"F16/nested-as-json-string", tok(hs, str(inner)), ErrMalformed},
		{"F17/zip-DEF", tok(h.plus("zip", `"DEF"`).String(), cs), ErrHeader},
		{"F17/zip-DEF-deflate-bomb", tok(h.plus("zip", `"DEF"`).String(), bomb.String()), ErrHeader},
	}
	runAccess(t, f.ver, cases)
}

// refusedHeaders are the header members doc.go says jwtkit refuses
// (ErrHeader): processing models it does not implement, keys or key URLs
// taken from the token (K-01..K-04), and JWE members (F-06).
var refusedHeaders = []string{"crit", "b64", "zip", "jku", "x5u", "jwk", "x5c", "cty", "enc", "epk", "p2c", "p2s", "apu", "apv", "iv", "tag"}

// TestVerifyTypeFuzzing (F-18) sets every header member and claim to null,
// true, false, 0 and "x", signed with K so that parsing goes past the
// signature, and expects a specific sentinel (or acceptance) for each; the
// same variants with a stale signature must all fail. Nothing may panic.
func TestVerifyTypeFuzzing(t *testing.T) {
	f := hsFixture(t)
	h := accessHeader(HS256, testKID)
	c := validClaims()
	valid := f.valid()
	_, _, staleSig := segments(t, valid)
	values := []string{"null", "true", "false", "0", `"x"`}
	isString := func(v string) bool { return v == `"x"` }

	var cases []verifyCase
	var stale []string
	add := func(name, header, claims string, want error) {
		tok := craft(header, claims, f.sign)
		cases = append(cases, verifyCase{name, tok, want})
		hseg, pseg, _ := segments(t, tok)
		if tok := hseg + "." + pseg + "." + staleSig; tok != valid {
			stale = append(stale, tok)
		}
	}

	headerWant := func(member, v string) error {
		switch member {
		case "alg":
			return ErrAlgorithm
		case "typ":
			if isString(v) {
				return ErrTokenUse
			}
			return ErrMalformed
		case "kid":
			if isString(v) {
				return ErrUnknownKey
			}
			return ErrMalformed
		}
		if slices.Contains(refusedHeaders, member) {
			return ErrHeader
		}
		return nil // unknown members are ignored
	}
	headerMembers := append([]string{"alg", "typ", "kid", "x5t", "x5t#S256", "nonce", "url", "ppt", "use", "jwt_tool"}, refusedHeaders...)
	for _, m := range headerMembers {
		for _, v := range values {
			add(fmt.Sprintf("F18/header-%s-%s", m, v), h.with(m, v).String(), c.String(), headerWant(m, v))
		}
	}

	claimWant := func(name, v string) error {
		switch name {
		case "sub", "jti", "sid", "scope":
			if isString(v) {
				return nil
			}
			return ErrInvalidClaim
		case "iss":
			if isString(v) {
				return ErrIssuer
			}
			return ErrInvalidClaim
		case "aud":
			if isString(v) {
				return ErrAudience
			}
			return ErrInvalidClaim
		case "exp":
			if v == "0" {
				return ErrExpired
			}
			return ErrInvalidClaim
		case "nbf":
			if v == "0" {
				return nil // 1970 is in the past
			}
			return ErrInvalidClaim
		case "iat":
			if v == "0" {
				return ErrLifetime // issued 1970, expiring now
			}
			return ErrInvalidClaim
		}
		return nil // custom claims are not interpreted
	}
	for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "sid", "typ", "cnf", "client_id", "role", "admin", "is_admin", "groups", "email"} {
		for _, v := range values {
			add(fmt.Sprintf("F18/claim-%s-%s", name, v), h.String(), c.with(name, v).String(), claimWant(name, v))
		}
	}
	runAccess(t, f.ver, cases)

	t.Run("F18/stale-signature", func(t *testing.T) {
		for _, tok := range stale {
			claims, err := f.ver.VerifyAccess(t.Context(), tok)
			if err == nil || claims != nil {
				t.Fatalf("token with a stale signature accepted: %s", tok)
			}
			checkVerifyError(t, tok, err)
		}
	})
}

// TestVerifyErrorsEchoNothing (F-19): each claim and header value replaced
// by a marker, with the signature left stale or re-signed; no error text
// carries the marker.
func TestVerifyErrorsEchoNothing(t *testing.T) {
	f := hsFixture(t)
	h := accessHeader(HS256, testKID)
	c := validClaims()
	_, _, stale := segments(t, f.valid())
	const marker = "MARKER-7f3a9c"
	for _, m := range c {
		for _, resign := range []bool{false, true} {
			t.Run(fmt.Sprintf("F19/claim-%s-resigned-%t", m.name, resign), func(t *testing.T) {
				tok := craft(h.String(), c.with(m.name, str(marker)).String(), f.sign)
				if !resign {
					tok = tok[:strings.LastIndexByte(tok, '.')+1] + stale
				}
				_, err := f.ver.VerifyAccess(t.Context(), tok)
				if resign && (m.name == "sub" || m.name == "jti") {
					// Any string is a valid subject or token ID.
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if err == nil {
					t.Fatal("accepted")
				}
				if strings.Contains(err.Error(), marker) {
					t.Fatalf("error %q echoes the marker", err)
				}
				checkVerifyError(t, tok, err)
			})
		}
	}
	for _, m := range []string{"alg", "kid", "typ"} {
		t.Run("F19/header-"+m, func(t *testing.T) {
			tok := craft(h.with(m, str(marker)).String(), c.String(), f.sign)
			_, err := f.ver.VerifyAccess(t.Context(), tok)
			if err == nil || strings.Contains(err.Error(), marker) {
				t.Fatalf("got %v", err)
			}
			checkVerifyError(t, tok, err)
		})
	}
}

// TestVerifyClaims covers C-01..C-09, C-11 and C-12 (and T-04, T-05 as
// audience and issuer cases), with injected time: now = testNow, leeway
// L = 30 s.
func TestVerifyClaims(t *testing.T) {
	f := hsFixture(t)
	h := accessHeader(HS256, testKID)
	c := validClaims()
	tok := func(c obj) string { return f.token(h, c) }
	exp := func(d time.Duration) obj { return c.with("exp", num(unix(d))).with("iat", num(unix(d-15*time.Minute))) }
	L := testLeeway
	const day = 24 * time.Hour

	issued48h := f.issue(t, Grant{Subject: "alice", TTL: 48 * time.Hour})
	cases := []verifyCase{
		{"baseline/valid", f.valid(), nil},
		{"baseline/issued", f.issue(t, Grant{Subject: "alice"}), nil},
		{"C01/exp-now-minus-L-minus-1", tok(exp(-L - time.Second)), ErrExpired},
		{"C01/exp-now-minus-L", tok(exp(-L)), ErrExpired},
		{"C01/exp-now-minus-L-plus-1", tok(exp(-L + time.Second)), nil},
		{"C01/exp-fraction-inside-leeway", tok(c.with("exp", fmt.Sprintf("%d.5", unix(-L)))), nil},
		{"C02/nbf-now-plus-L-plus-1", tok(c.with("nbf", num(unix(L+time.Second)))), ErrNotYetValid},
		{"C02/nbf-now-plus-L", tok(c.with("nbf", num(unix(L)))), nil},
		{"C02/nbf-now-plus-L-minus-1", tok(c.with("nbf", num(unix(L-time.Second)))), nil},
		{"C02/nbf-past", tok(c.with("nbf", num(unix(-time.Hour)))), nil},
		{"C03/iat-now-plus-1h", tok(c.with("iat", num(unix(time.Hour))).with("exp", num(unix(time.Hour+15*time.Minute)))), ErrIssuedInFuture},
		{"C03/iat-now-plus-L-plus-1", tok(c.with("iat", num(unix(L+time.Second)))), ErrIssuedInFuture},
		{"C03/iat-now-plus-L", tok(c.with("iat", num(unix(L)))), nil},
		{"C03/iat-absent", tok(c.without("iat")), nil},
		{"C04/exp-absent", tok(c.without("exp")), ErrMissingClaim},
		{"C05/exp-0", tok(c.with("exp", "0")), ErrExpired},
		{"C05/exp-minus-1", tok(c.with("exp", "-1")), ErrExpired},
		{"C05/exp-minus-0", tok(c.with("exp", "-0")), ErrExpired},
		{"C06/exp-rfc3339-string", tok(c.with("exp", `"2999-01-01T00:00:00Z"`)), ErrInvalidClaim},
		{"C06/exp-numeric-string", tok(c.with("exp", `"32503680000"`)), ErrInvalidClaim},
		{"C06/exp-current-numeric-string", tok(c.with("exp", str(num(unix(time.Minute))))), ErrInvalidClaim},
		{"C06/exp-1e30", tok(c.with("exp", "1e30")), ErrInvalidClaim},
		{"C06/exp-int64-max", tok(c.with("exp", "9223372036854775807")), ErrInvalidClaim},
		{"C06/exp-beyond-int64", tok(c.with("exp", "92233720368547758070")), ErrInvalidClaim},
		{"C06/exp-year-10000", tok(c.with("exp", "253402300800")), ErrInvalidClaim},
		{"C06/exp-null", tok(c.with("exp", "null")), ErrInvalidClaim},
		{"C06/exp-true", tok(c.with("exp", "true")), ErrInvalidClaim},
		{"C06/exp-string-1.5.5", tok(c.with("exp", `"1.5.5"`)), ErrInvalidClaim},
		{"C06/exp-array", tok(c.with("exp", fmt.Sprintf("[%d]", unix(time.Minute)))), ErrInvalidClaim},
		{"C06/exp-object", tok(c.with("exp", "{}")), ErrInvalidClaim},
		{"C06/exp-float", tok(c.with("exp", fmt.Sprintf("%d.5", unix(time.Minute)))), nil},
		{"C06/exp-exponent", tok(c.with("exp", "1.7000009e9")), nil},
		{"C06/exp-exponent-upper-plus", tok(c.with("exp", "1.7000009E+9")), nil},
		{"C06/exp-2e10-too-far", tok(c.with("exp", "2e10")), ErrLifetime},
		{"C06/nbf-string", tok(c.with("nbf", str(num(unix(0))))), ErrInvalidClaim},
		{"C06/iat-string", tok(c.with("iat", str(num(unix(0))))), ErrInvalidClaim},
		{"C06/iat-null", tok(c.with("iat", "null")), ErrInvalidClaim},
		{"C07/exp-iat-24h-plus-L-plus-1", tok(c.with("exp", num(unix(day+L+time.Second)))), ErrLifetime},
		{"C07/exp-iat-24h-plus-L", tok(c.with("exp", num(unix(day+L)))), nil},
		{"C07/exp-year-9999", tok(c.with("exp", "253402300799")), ErrLifetime},
		{"C07/no-iat-exp-25h", tok(c.without("iat").with("exp", num(unix(25*time.Hour)))), ErrLifetime},
		{"C07/iat-48h-ago", tok(c.with("iat", num(unix(-48*time.Hour)))), ErrLifetime},
		{"C07/issued-with-48h-ttl", issued48h, ErrLifetime},
		{"C09/sub-absent", tok(c.without("sub")), ErrMissingClaim},
		{"C09/sub-empty", tok(c.with("sub", `""`)), ErrMissingClaim},
		{"C09/sub-number", tok(c.with("sub", "123")), ErrInvalidClaim},
		{"C09/sub-array", tok(c.with("sub", `["admin"]`)), ErrInvalidClaim},
		{"C09/sub-null", tok(c.with("sub", "null")), ErrInvalidClaim},
		{"C09/sub-object", tok(c.with("sub", `{"id":"admin"}`)), ErrInvalidClaim},
		{"C11/aud-other", tok(c.with("aud", `"other"`)), ErrAudience},
		{"C11/aud-absent", tok(c.without("aud")), ErrAudience},
		{"C11/aud-array-with-api", tok(c.with("aud", `["x","api"]`)), nil},
		{"C11/aud-array-with-spaces", tok(c.with("aud", `[ "x" , "api" ]`)), nil},
		{"C11/aud-array-without-api", tok(c.with("aud", `["x","y"]`)), ErrAudience},
		{"C11/aud-API", tok(c.with("aud", `"API"`)), ErrAudience},
		{"C11/aud-api-space", tok(c.with("aud", `"api "`)), ErrAudience},
		{"C11/aud-empty-array", tok(c.with("aud", `[]`)), ErrAudience},
		{"C11/aud-empty-string", tok(c.with("aud", `""`)), ErrAudience},
		{"C11/aud-number-array", tok(c.with("aud", `[1]`)), ErrInvalidClaim},
		{"C11/aud-api-then-number", tok(c.with("aud", `["api",1]`)), ErrInvalidClaim},
		{"C11/aud-nested-array", tok(c.with("aud", `[["api"]]`)), ErrInvalidClaim},
		{"C11/aud-null", tok(c.with("aud", `null`)), ErrInvalidClaim},
		{"C11/aud-object", tok(c.with("aud", `{"api":true}`)), ErrInvalidClaim},
		{"T04/aud-other-service", tok(c.with("aud", `"A"`)), ErrAudience},
		{"C12/iss-wrong", tok(c.with("iss", `"https://evil.test"`)), ErrIssuer},
		{"C12/iss-trailing-slash", tok(c.with("iss", `"https://issuer.test/"`)), ErrIssuer},
		{"C12/iss-upper-case", tok(c.with("iss", `"HTTPS://ISSUER.TEST"`)), ErrIssuer},
		{"C12/iss-absent", tok(c.without("iss")), ErrIssuer},
		{"C12/iss-empty", tok(c.with("iss", `""`)), ErrIssuer},
		{"C12/iss-null", tok(c.with("iss", `null`)), ErrInvalidClaim},
		{"C12/iss-array", tok(c.with("iss", `["https://issuer.test"]`)), ErrInvalidClaim},
		{"T05/iss-dev-deployment", tok(c.with("iss", `"https://dev.issuer.test"`)), ErrIssuer},
	}
	runAccess(t, f.ver, cases)

	t.Run("C07/raised-ceiling", func(t *testing.T) {
		v := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.MaxAccessTTL = 72 * time.Hour })
		if _, err := v.ver.VerifyAccess(t.Context(), issued48h); err != nil {
			t.Fatal(err)
		}
	})

	// A verifier without Audience is not the audience of a token that
	// names one (RFC 7519 §4.1.3); AnyAudience opts into any.
	open := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.Issuer, c.AnyIssuer, c.Audience = "", true, "" })
	runAccess(t, open.ver, []verifyCase{
		{"C12/any-issuer-absent", tok(c.without("iss").without("aud")), nil},
		{"C12/any-issuer-other", tok(c.with("iss", `"https://other.test"`).without("aud")), nil},
		{"C12/any-issuer-null", tok(c.with("iss", `null`)), ErrInvalidClaim},
		{"C11/no-audience-refuses-other", tok(c.with("aud", `"other"`)), ErrAudience},
		{"C11/no-audience-refuses-array", tok(c.with("aud", `["other","api"]`)), ErrAudience},
		{"C11/no-audience-refuses-empty-string", tok(c.with("aud", `""`)), ErrAudience},
		{"C11/no-audience-accepts-empty-array", tok(c.with("aud", `[]`)), nil},
		{"C11/no-audience-absent", tok(c.without("aud")), nil},
		{"C11/no-audience-number", tok(c.with("aud", `7`)), ErrInvalidClaim},
	})
	anyAud := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.Audience, c.AnyAudience = "", true })
	runAccess(t, anyAud.ver, []verifyCase{
		{"C11/any-audience-other", tok(c.with("aud", `"other"`)), nil},
		{"C11/any-audience-array", tok(c.with("aud", `["x","y"]`)), nil},
		{"C11/any-audience-absent", tok(c.without("aud")), nil},
	})

	// C-08: a larger leeway is honoured up to the 5 minute ceiling, and
	// no leeway is the default.
	wide := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.Leeway = MaxLeeway })
	runAccess(t, wide.ver, []verifyCase{
		{"C08/leeway-5m-exp-299s-ago", tok(exp(-MaxLeeway + time.Second)), nil},
		{"C08/leeway-5m-exp-300s-ago", tok(exp(-MaxLeeway)), ErrExpired},
	})
	strict := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.Leeway = 0 })
	runAccess(t, strict.ver, []verifyCase{
		{"C08/no-leeway-exp-now", tok(exp(0)), ErrExpired},
		{"C08/no-leeway-exp-now-plus-1", tok(exp(time.Second)), nil},
		{"C08/no-leeway-nbf-now-plus-1", tok(c.with("nbf", num(unix(time.Second)))), ErrNotYetValid},
	})
}

// TestVerifyClaimsValues checks every registered claim as Claims reports
// it, fractions of seconds included.
func TestVerifyClaimsValues(t *testing.T) {
	f := hsFixture(t)
	c := validClaims().
		with("aud", `["x","api"]`).
		with("nbf", num(unix(-time.Minute))).
		with("scope", `"read write"`).
		with("sid", `"fam-1"`).
		with("exp", fmt.Sprintf("%d.25", unix(time.Minute)))
	got, err := f.ver.VerifyAccess(t.Context(), f.token(accessHeader(HS256, testKID), c))
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{
		Subject: "alice", Issuer: testIssuer, Audience: []string{"x", "api"}, ID: "jti-0001",
		IssuedAt: testNow, NotBefore: testNow.Add(-time.Minute), ExpiresAt: testNow.Add(time.Minute + 250*time.Millisecond),
		Scopes: []string{"read", "write"}, FamilyID: "fam-1", Use: Access, KeyID: testKID,
	}
	checkClaims(t, got, &want)
	if string(got.raw) != c.String() {
		t.Fatalf("JSON() = %s, want %s", got.raw, c)
	}
}

// checkClaims compares the registered claims of got with want.
func checkClaims(t *testing.T, got, want *Claims) {
	t.Helper()
	eqStrings := func(a, b []string) bool {
		return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
	}
	if got.Subject != want.Subject || got.Issuer != want.Issuer || got.ID != want.ID ||
		got.FamilyID != want.FamilyID || got.Use != want.Use || got.KeyID != want.KeyID ||
		!eqStrings(got.Audience, want.Audience) || !eqStrings(got.Scopes, want.Scopes) ||
		!got.IssuedAt.Equal(want.IssuedAt) || !got.NotBefore.Equal(want.NotBefore) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("claims\n got %+v\nwant %+v", *got, *want)
	}
}

// TestVerifyScopes (C-14): scope is a string of scope tokens separated by
// single spaces, compared byte for byte.
func TestVerifyScopes(t *testing.T) {
	f := hsFixture(t)
	h := accessHeader(HS256, testKID)
	for _, tc := range []struct {
		name    string
		scope   string // raw JSON
		wantErr error
		grants  []string
		denies  []string
	}{
		{"C14/read", `"read"`, nil, []string{"read"}, []string{"admin"}},
		{"C14/readadmin", `"readadmin"`, nil, []string{"readadmin"}, []string{"admin", "read"}},
		{"C14/read-admin", `"read admin"`, nil, []string{"read", "admin"}, []string{"read admin"}},
		{"C14/Admin", `"Admin"`, nil, []string{"Admin"}, []string{"admin"}},
		{"C14/empty", `""`, nil, nil, []string{"", "admin"}},
		{"C14/absent", ``, nil, nil, []string{"", "admin"}},
		{"C14/uri-scope", `"https://api.test/read"`, nil, []string{"https://api.test/read"}, []string{"read"}},
		{"C14/double-space", `"read  admin"`, ErrInvalidClaim, nil, nil},
		{"C14/leading-space", `" admin"`, ErrInvalidClaim, nil, nil},
		{"C14/trailing-space", `"admin "`, ErrInvalidClaim, nil, nil},
		{"C14/tab", `"read\tadmin"`, ErrInvalidClaim, nil, nil},
		{"C14/newline", `"read\nadmin"`, ErrInvalidClaim, nil, nil},
		{"C14/quote", `"adm\"in"`, ErrInvalidClaim, nil, nil},
		{"C14/backslash", `"adm\\in"`, ErrInvalidClaim, nil, nil},
		{"C14/non-ascii", `"ádmin"`, ErrInvalidClaim, nil, nil},
		{"C14/array", `["admin"]`, ErrInvalidClaim, nil, nil},
		{"C14/null", `null`, ErrInvalidClaim, nil, nil},
		{"C14/number", `1`, ErrInvalidClaim, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validClaims()
			if tc.scope != "" {
				c = c.with("scope", tc.scope)
			}
			tok := f.token(h, c)
			claims, err := f.ver.VerifyAccess(t.Context(), tok)
			checkResult(t, tok, err, tc.wantErr)
			if err != nil {
				return
			}
			for _, s := range tc.grants {
				if !claims.HasScope(s) {
					t.Errorf("HasScope(%q) = false, want true", s)
				}
			}
			for _, s := range tc.denies {
				if claims.HasScope(s) {
					t.Errorf("HasScope(%q) = true, want false", s)
				}
			}
			if len(claims.Scopes) != len(tc.grants) {
				t.Errorf("Scopes = %q, want %q", claims.Scopes, tc.grants)
			}
		})
	}
}

// TestVerifyTokenUse covers T-01..T-03 and T-06: the typ header decides
// the kind, RFC 9068 style, and AllowPlainJWT admits plain JWTs as access
// tokens only.
func TestVerifyTokenUse(t *testing.T) {
	f := hsFixture(t)
	plain := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.AllowPlainJWT = true })
	h := accessHeader(HS256, testKID)
	c := validClaims()
	rc := c.with("sid", `"fam-1"`)
	withTyp := func(typ string, c obj) string {
		if typ == "" {
			return f.token(h.without("typ"), c)
		}
		return f.token(h.with("typ", typ), c)
	}
	refresh := f.issueRefresh(t, Grant{Subject: "alice", FamilyID: "fam-1"})
	access := f.issue(t, Grant{Subject: "alice", FamilyID: "fam-1"})
	reset := withTyp(`"reset+jwt"`, rc)
	verify := withTyp(`"email-verify+jwt"`, rc)
	logout := withTyp(`"logout+jwt"`, rc)

	runAccess(t, f.ver, []verifyCase{
		{"baseline/access", access, nil},
		{"T01/refresh-as-access", refresh, ErrTokenUse},
		{"T01/refresh-typ-crafted", withTyp(`"refresh+jwt"`, rc), ErrTokenUse},
		{"T03/typ-removed", withTyp("", c), ErrTokenUse},
		{"T03/typ-JWT", withTyp(`"JWT"`, c), ErrTokenUse},
		{"T03/typ-jwt", withTyp(`"jwt"`, c), ErrTokenUse},
		{"T03/typ-AT+JWT", withTyp(`"AT+JWT"`, c), nil},
		{"T03/typ-application-at+jwt", withTyp(`"application/at+jwt"`, c), nil},
		{"T03/typ-Application-At+Jwt", withTyp(`"Application/At+Jwt"`, c), nil},
		{"T03/typ-at+jwt-NUL", withTyp(`"at+jwt\u0000"`, c), ErrTokenUse},
		{"T03/typ-at+jwt-space", withTyp(`"at+jwt "`, c), ErrTokenUse},
		{"T03/typ-at-jwt", withTyp(`"at-jwt"`, c), ErrTokenUse},
		{"T03/typ-application-only", withTyp(`"application/"`, c), ErrTokenUse},
		{"T03/typ-application-twice", withTyp(`"application/application/at+jwt"`, c), ErrTokenUse},
		{"T03/typ-empty", withTyp(`""`, c), ErrTokenUse},
		{"T03/typ-null", withTyp(`null`, c), ErrMalformed},
		{"T03/typ-array", withTyp(`["at+jwt"]`, c), ErrMalformed},
		{"T03/use-claim-does-not-override-typ", withTyp(`"refresh+jwt"`, rc.plus("token_use", `"access_token"`)), ErrTokenUse},
		{"T06/reset-link", reset, ErrTokenUse},
		{"T06/email-verification", verify, ErrTokenUse},
		{"T06/logout", logout, ErrTokenUse},
	})
	runCases(t, f.ver, Refresh, []verifyCase{
		{"baseline/refresh", refresh, nil},
		{"T02/access-as-refresh", access, ErrTokenUse},
		{"T02/access-typ-crafted", withTyp(`"at+jwt"`, rc), ErrTokenUse},
		{"T03/refresh-typ-upper", withTyp(`"REFRESH+JWT"`, rc), nil},
		{"T03/refresh-typ-application", withTyp(`"application/refresh+jwt"`, rc), nil},
		// Only ASCII case folds: under Unicode folding "ſ" would match "s".
		{"T03/refresh-typ-long-s", withTyp(`"refre\u017fh+jwt"`, rc), ErrTokenUse},
		{"T03/refresh-typ-removed", withTyp("", rc), ErrTokenUse},
		{"T03/refresh-typ-JWT", withTyp(`"JWT"`, rc), ErrTokenUse},
		{"T03/refresh-without-jti", withTyp(`"refresh+jwt"`, rc.without("jti")), ErrMissingClaim},
		{"T03/refresh-without-sid", withTyp(`"refresh+jwt"`, c), ErrMissingClaim},
		{"T03/refresh-empty-sid", withTyp(`"refresh+jwt"`, rc.with("sid", `""`)), ErrMissingClaim},
		{"T06/reset-link", reset, ErrTokenUse},
		{"T06/email-verification", verify, ErrTokenUse},
	})
	// AllowPlainJWT accepts typ absent or "JWT" as access, never as refresh.
	runAccess(t, plain.ver, []verifyCase{
		{"T03/plain/typ-removed", withTyp("", c), nil},
		{"T03/plain/typ-JWT", withTyp(`"JWT"`, c), nil},
		{"T03/plain/typ-jwt", withTyp(`"jwt"`, c), nil},
		{"T03/plain/typ-application-jwt", withTyp(`"application/jwt"`, c), nil},
		{"T03/plain/typ-at+jwt", access, nil},
		{"T03/plain/typ-JOSE", withTyp(`"JOSE"`, c), ErrTokenUse},
		{"T03/plain/typ-JWT-NUL", withTyp(`"JWT\u0000"`, c), ErrTokenUse},
		{"T01/plain/refresh-as-access", refresh, ErrTokenUse},
		{"T06/plain/reset-link", reset, ErrTokenUse},
	})
	runCases(t, plain.ver, Refresh, []verifyCase{
		{"T03/plain/refresh", refresh, nil},
		{"T03/plain/refresh-typ-removed", withTyp("", rc), ErrTokenUse},
		{"T03/plain/refresh-typ-JWT", withTyp(`"JWT"`, rc), ErrTokenUse},
		{"T02/plain/access-as-refresh", access, ErrTokenUse},
	})

	t.Run("T03/use-reported", func(t *testing.T) {
		a, err := f.ver.VerifyAccess(t.Context(), access)
		if err != nil || a.Use != Access || a.Use.String() != "access" {
			t.Fatalf("access: %v %v", a, err)
		}
		r, err := f.ver.VerifyRefresh(t.Context(), refresh)
		if err != nil || r.Use != Refresh || r.Use.String() != "refresh" || r.FamilyID != "fam-1" || r.ID == "" {
			t.Fatalf("refresh: %v %v", r, err)
		}
	})
}

// TestVerifyKeyIDs covers K-05..K-09: a kid is a map key and nothing else.
func TestVerifyKeyIDs(t *testing.T) {
	f := hsFixture(t)
	h := accessHeader(HS256, testKID)
	cs := validClaims().String()
	empty := hmacSign(HS256, nil)
	withKID := func(kid string, sign signFunc) string { return craft(h.with("kid", kid).String(), cs, sign) }

	var cases []verifyCase
	hostile := map[string][]string{
		"K05": {"../../../../../../dev/null", "/dev/null", "file:///dev/null", `..\..\..\dev\null`, "legit\x00../../dev/null", "../../../../../../proc/self/environ"},
		"K06": {"x' UNION SELECT '1';--", "' OR '1'='1", "' UNION SELECT 'secret-key' --", `k1" OR "1"="1`},
		"K07": {"|sleep 10", "| curl http://x", "$(sleep 10)", "`sleep 10`", "*)(uid=*", "a\r\nX-Injected: 1", `{"$ne":null}`},
	}
	start := time.Now()
	for row, kids := range hostile {
		for _, kid := range kids {
			for _, s := range []struct {
				name string
				sign signFunc
			}{{"empty-key", empty}, {"secret-1", hmacSign(HS256, []byte("1"))}, {"K", f.sign}} {
				cases = append(cases, verifyCase{fmt.Sprintf("%s/%q/%s", row, kid, s.name), withKID(str(kid), s.sign), ErrUnknownKey})
			}
		}
	}
	cases = append(cases,
		verifyCase{"K08/kid-number", withKID(`0`, f.sign), ErrMalformed},
		verifyCase{"K08/kid-array", withKID(`["a","b"]`, f.sign), ErrMalformed},
		verifyCase{"K08/kid-object", withKID(`{"$ne":null}`, f.sign), ErrMalformed},
		verifyCase{"K08/kid-true", withKID(`true`, f.sign), ErrMalformed},
		verifyCase{"K09/single-key/kid-null", withKID(`null`, f.sign), ErrMalformed},
		verifyCase{"K09/single-key/kid-absent", craft(h.without("kid").String(), cs, f.sign), nil},
		verifyCase{"K09/single-key/kid-empty", withKID(`""`, f.sign), ErrUnknownKey},
		verifyCase{"K09/single-key/kid-K1", withKID(`"K1"`, f.sign), ErrUnknownKey},
		verifyCase{"K09/single-key/kid-k1-space", withKID(`"k1 "`, f.sign), ErrUnknownKey},
		verifyCase{"K09/single-key/kid-escaped-k1", withKID(`"\u006b1"`, f.sign), nil},
	)
	runAccess(t, f.ver, cases)
	// The lookup is a map access: nothing sleeps, execs or queries. The
	// bound is generous; a `sleep 10` would exceed it.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("K07: the hostile kid rows took %s", d)
	}

	// K-09 with two keys: a token must name its key.
	k1 := f.key
	k2 := mustKey(t)(NewHMACKey("k2", HS256, testSecret("k2", 32)))
	two, err := NewKeySet(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	tf := fixtureOn(t, two, k1, f.sign)
	sign2 := hmacSign(HS256, testSecret("k2", 32))
	runAccess(t, tf.ver, []verifyCase{
		{"K09/two-keys/k1", f.valid(), nil},
		{"K09/two-keys/k2", withKID(`"k2"`, sign2), nil},
		{"K09/two-keys/k2-named-signed-by-k1", withKID(`"k2"`, f.sign), ErrSignature},
		{"K09/two-keys/kid-absent", craft(h.without("kid").String(), cs, f.sign), ErrUnknownKey},
		{"K09/two-keys/kid-absent-signed-by-k2", craft(h.without("kid").String(), cs, sign2), ErrUnknownKey},
		{"K09/two-keys/kid-empty", withKID(`""`, f.sign), ErrUnknownKey},
		{"K09/two-keys/kid-null", withKID(`null`, f.sign), ErrMalformed},
		{"K09/two-keys/kid-star", withKID(`"*"`, f.sign), ErrUnknownKey},
		{"K09/two-keys/kid-default", withKID(`"default"`, f.sign), ErrUnknownKey},
		{"K09/two-keys/kid-0", withKID(`"0"`, f.sign), ErrUnknownKey},
	})

	t.Run("K09/unusual-kid-round-trip", func(t *testing.T) {
		for _, kid := range []string{`a"b`, `a\b`, "ключ", "tab\there", "</script>"} {
			key := mustKey(t)(NewHMACKey(kid, HS256, keyK()))
			kf := newFixture(t, key, f.sign)
			tok := kf.issue(t, Grant{Subject: "alice"})
			c, err := kf.ver.VerifyAccess(t.Context(), tok)
			if err != nil {
				t.Fatalf("kid %q: %v", kid, err)
			}
			if c.KeyID != kid {
				t.Fatalf("KeyID = %q, want %q", c.KeyID, kid)
			}
		}
	})
}

// TestKeyConstruction covers the checks made when keys, key sets, issuers
// and verifiers are built, K-11, K-12, K-15 and C-08.
func TestKeyConstruction(t *testing.T) {
	rsaPriv := loadRSA(t, "rsa2048.pem")
	rsa1024 := loadRSA(t, "rsa1024.pem")
	p256 := loadEC(t, "ec-p256.pem")
	p384 := loadEC(t, "ec-p384.pem")
	ed := loadEd(t)
	hs := mustKey(t)(NewHMACKey("h1", HS256, keyK()))
	hs2 := mustKey(t)(NewHMACKey("h2", HS256, testSecret("h2", 32)))
	hsDup := mustKey(t)(NewHMACKey("h1", HS256, testSecret("h1b", 32)))
	hsNoID := mustKey(t)(newHMACKey("", HS256, keyK())) // as a published JWK without kid
	rs := mustKey(t)(NewSigningKey("r1", RS256, rsaPriv))
	ps := mustKey(t)(NewSigningKey("p1", PS256, rsaPriv))
	rsPub := mustKey(t)(newVerificationKey("r2", RS256, &rsaPriv.PublicKey))
	es := mustKey(t)(NewSigningKey("e1", ES256, p256))
	eds := mustKey(t)(NewSigningKey("d1", EdDSA, ed))
	hsSet := func() *KeySet { s, _ := NewKeySet(hs); return s }
	verifyOnly, _ := NewKeySet(nil, rsPub)

	// The FastAPI recipe's published example key, used as the recipe does:
	// the 64 hexadecimal characters themselves are the secret. It is long
	// enough, but anyone can sign with it.
	const recipeKey = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"
	weakE := &rsa.PublicKey{N: rsaPriv.N, E: 1}
	evenE := &rsa.PublicKey{N: rsaPriv.N, E: 65536}
	e3 := &rsa.PublicKey{N: rsaPriv.N, E: 3}

	for _, tc := range []struct {
		name    string
		build   func() error
		wantErr error
	}{
		{"A14/HS256-0-bytes", hmacLen(HS256, 0), ErrWeakKey},
		{"A15/HS256-1-byte", hmacLen(HS256, 1), ErrWeakKey},
		{"A15/HS256-31-bytes", hmacLen(HS256, 31), ErrWeakKey},
		{"A15/HS256-32-bytes", hmacLen(HS256, 32), nil},
		{"A15/HS384-47-bytes", hmacLen(HS384, 47), ErrWeakKey},
		{"A15/HS384-48-bytes", hmacLen(HS384, 48), nil},
		{"A15/HS512-63-bytes", hmacLen(HS512, 63), ErrWeakKey},
		{"A15/HS512-64-bytes", hmacLen(HS512, 64), nil},
		{"A15/HS256-nil", func() error { _, err := NewHMACKey("k", HS256, nil); return err }, ErrWeakKey},
		{"A15/recipe-key-refused", func() error { _, err := NewHMACKey("k", HS256, []byte(recipeKey)); return err }, ErrWeakKey},
		{"A15/recipe-key-HS512-refused", func() error { _, err := NewHMACKey("k", HS512, []byte(recipeKey)); return err }, ErrWeakKey},
		{"A15/recipe-key-hex-decoded-refused", func() error { _, err := NewHMACKey("k", HS256, hexDecode(t, recipeKey)); return err }, ErrWeakKey},
		{"A15/recipe-key-upper-case-refused", func() error { _, err := NewHMACKey("k", HS256, []byte(strings.ToUpper(recipeKey))); return err }, ErrWeakKey},
		{"A15/recipe-key-newline-refused", func() error { _, err := KeyFromString("k", HS256, recipeKey+"\n"); return err }, ErrWeakKey},
		{"A15/recipe-key-quoted-refused", func() error { _, err := KeyFromString("k", HS256, `"`+recipeKey+`"`); return err }, ErrWeakKey},
		{"A15/jwt-io-secret-refused", func() error {
			_, err := KeyFromString("k", HS256, "a-string-secret-at-least-256-bits-long")
			return err
		}, ErrWeakKey},
		{"A15/similar-secret-accepted", func() error { _, err := NewHMACKey("k", HS256, []byte(recipeKey[:63]+"0")); return err }, nil},
		{"K13/HMAC-key-for-RS256", func() error { _, err := NewHMACKey("k", RS256, keyK()); return err }, ErrKeyMismatch},
		{"K13/HMAC-key-for-none", func() error { _, err := NewHMACKey("k", "none", keyK()); return err }, ErrKeyMismatch},
		{"K15/RSA-1024-signing", func() error { _, err := NewSigningKey("r", RS256, rsa1024); return err }, ErrWeakKey},
		{"K15/RSA-1024-verification", func() error { _, err := newVerificationKey("r", RS256, &rsa1024.PublicKey); return err }, ErrWeakKey},
		{"K15/RSA-1024-PS256", func() error { _, err := newVerificationKey("r", PS256, &rsa1024.PublicKey); return err }, ErrWeakKey},
		{"K15/RSA-e-1", func() error { _, err := newVerificationKey("r", RS256, weakE); return err }, ErrWeakKey},
		{"K15/RSA-e-even", func() error { _, err := newVerificationKey("r", RS256, evenE); return err }, ErrWeakKey},
		{"K15/RSA-e-3-accepted", func() error { _, err := newVerificationKey("r", RS256, e3); return err }, nil},
		{"K15/RSA-nil-modulus", func() error { _, err := newVerificationKey("r", RS256, &rsa.PublicKey{E: 65537}); return err }, ErrKeyMismatch},
		{"K15/RSA-key-for-ES256", func() error { _, err := NewSigningKey("r", ES256, rsaPriv); return err }, ErrKeyMismatch},
		{"K15/ES256-with-P384", func() error { _, err := NewSigningKey("e", ES256, p384); return err }, ErrKeyMismatch},
		{"K15/ES256-with-P384-public", func() error { _, err := newVerificationKey("e", ES256, &p384.PublicKey); return err }, ErrKeyMismatch},
		{"K15/ES384-with-P256", func() error { _, err := NewSigningKey("e", ES384, p256); return err }, ErrKeyMismatch},
		{"K15/ES256-with-Ed25519", func() error { _, err := NewSigningKey("e", ES256, ed); return err }, ErrKeyMismatch},
		{"K15/EdDSA-with-ECDSA", func() error { _, err := NewSigningKey("d", EdDSA, p256); return err }, ErrKeyMismatch},
		{"K15/EdDSA-short-public-key", func() error {
			_, err := newVerificationKey("d", EdDSA, ed.Public().(ed25519.PublicKey)[:31])
			return err
		}, ErrKeyMismatch},
		{"K15/EdDSA-public-by-pointer", func() error { pub := ed.Public(); _, err := newVerificationKey("d", EdDSA, &pub); return err }, ErrKeyMismatch},
		{"K15/nil-signer", func() error { _, err := NewSigningKey("r", RS256, nil); return err }, ErrKeyMismatch},
		{"K15/nil-public", func() error { _, err := newVerificationKey("r", RS256, nil); return err }, ErrKeyMismatch},
		{"K15/HS256-public-key", func() error { _, err := newVerificationKey("h", HS256, &rsaPriv.PublicKey); return err }, ErrKeyMismatch},
		{"K15/unsupported-alg", func() error { _, err := newVerificationKey("r", "RSA1_5", &rsaPriv.PublicKey); return err }, ErrKeyMismatch},
		{"K15/generate-none", func() error { _, err := GenerateKey("k", "none"); return err }, ErrKeyMismatch},
		{"K15/kid-invalid-utf8", func() error { _, err := NewHMACKey("k\xff", HS256, keyK()); return err }, ErrConfig},
		// Families may mix (algorithm migration); each key keeps its alg,
		// which TestMixedKeySet_* hold the verifier to.
		{"K11/HMAC-and-RSA", func() error { _, err := NewKeySet(hs, rs); return err }, nil},
		{"K11/RSA-and-HMAC", func() error { _, err := NewKeySet(rs, hs); return err }, nil},
		{"K11/verify-only-HMAC-and-RSA", func() error { _, err := NewKeySet(nil, hs, rsPub); return err }, nil},
		{"K11/ECDSA-and-EdDSA", func() error { _, err := NewKeySet(es, eds); return err }, nil},
		{"K11/RS256-and-PS256-one-family", func() error { _, err := NewKeySet(rs, ps); return err }, nil},
		{"K11/rotate-to-other-family", func() error { return hsSet().Rotate(rs, hs) }, nil},
		{"K12/duplicate-kid", func() error { _, err := NewKeySet(hs, hsDup); return err }, ErrConfig},
		{"K12/same-key-twice", func() error { _, err := NewKeySet(hs, hs); return err }, ErrConfig},
		{"K12/rotate-duplicate-kid", func() error { return hsSet().Rotate(hs2, hs2) }, ErrConfig},
		{"K09/several-keys-one-without-kid", func() error { _, err := NewKeySet(hs, hsNoID); return err }, ErrConfig},
		{"K09/one-key-without-kid", func() error { _, err := NewKeySet(hsNoID); return err }, nil},
		{"keyset/empty", func() error { _, err := NewKeySet(nil); return err }, ErrConfig},
		{"keyset/nil-verify-only", func() error { _, err := NewKeySet(hs, nil); return err }, ErrConfig},
		{"keyset/active-without-private-key", func() error { _, err := NewKeySet(rsPub); return err }, ErrConfig},
		{"issuer/nil-keys", func() error { _, err := NewIssuer(IssuerConfig{}); return err }, ErrConfig},
		{"issuer/verify-only-set", func() error { _, err := NewIssuer(IssuerConfig{Keys: verifyOnly}); return err }, ErrConfig},
		{"issuer/negative-ttl", func() error { _, err := NewIssuer(IssuerConfig{Keys: hsSet(), AccessTTL: -1}); return err }, ErrConfig},
		{"issuer/issuer-invalid-utf8", func() error { _, err := NewIssuer(IssuerConfig{Keys: hsSet(), Issuer: "a\xff"}); return err }, ErrConfig},
		{"issuer/audience-invalid-utf8", func() error {
			_, err := NewIssuer(IssuerConfig{Keys: hsSet(), Audience: []string{"a", "b\xff"}})
			return err
		}, ErrConfig},
		{"verifier/nil-keys", func() error { _, err := NewVerifier(VerifierConfig{Issuer: testIssuer}); return err }, ErrConfig},
		{"verifier/nil-key-set", func() error {
			_, err := NewVerifier(VerifierConfig{Keys: (*KeySet)(nil), Issuer: testIssuer})
			return err
		}, ErrConfig},
		{"verifier/no-issuer", func() error { _, err := NewVerifier(VerifierConfig{Keys: hsSet()}); return err }, ErrConfig},
		{"verifier/issuer-and-any-issuer", func() error {
			_, err := NewVerifier(VerifierConfig{Keys: hsSet(), Issuer: testIssuer, AnyIssuer: true})
			return err
		}, ErrConfig},
		{"verifier/audience-and-any-audience", func() error {
			_, err := NewVerifier(VerifierConfig{Keys: hsSet(), Issuer: testIssuer, Audience: "api", AnyAudience: true})
			return err
		}, ErrConfig},
		{"C08/leeway-1h", leeway(hsSet(), time.Hour), ErrConfig},
		{"C08/leeway-5m-plus-1ns", leeway(hsSet(), MaxLeeway+1), ErrConfig},
		{"C08/leeway-negative", leeway(hsSet(), -time.Second), ErrConfig},
		{"C08/leeway-5m", leeway(hsSet(), MaxLeeway), nil},
		{"verifier/negative-max-bytes", func() error {
			_, err := NewVerifier(VerifierConfig{Keys: hsSet(), Issuer: testIssuer, MaxTokenBytes: -1})
			return err
		}, ErrConfig},
		{"verifier/negative-max-ttl", func() error {
			_, err := NewVerifier(VerifierConfig{Keys: hsSet(), Issuer: testIssuer, MaxRefreshTTL: -1})
			return err
		}, ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func hmacLen(alg Algorithm, n int) func() error {
	return func() error {
		_, err := NewHMACKey("k", alg, testSecret("len", n))
		return err
	}
}

func leeway(keys *KeySet, d time.Duration) func() error {
	return func() error {
		_, err := NewVerifier(VerifierConfig{Keys: keys, Issuer: testIssuer, Leeway: d})
		return err
	}
}

func hexDecode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestKeyProperties checks the accessors of Key and Algorithm, that String
// never prints key material, and that NewHMACKey copies the secret.
func TestKeyProperties(t *testing.T) {
	k := mustKey(t)(NewHMACKey("h1", HS256, keyK()))
	if !k.IsSymmetric() || !k.CanSign() || k.public != nil || k.alg != HS256 || k.ID() != "h1" {
		t.Fatalf("HMAC key: %v", k)
	}
	if s := k.String(); strings.Contains(s, string(keyK())) || strings.Contains(s, fmt.Sprintf("%x", keyK())[:16]) || !strings.Contains(s, "h1") {
		t.Fatalf("String() = %q", s)
	}
	// The secret is copied.
	secret := testSecret("copy", 32)
	kc := mustKey(t)(NewHMACKey("c", HS256, secret))
	tok := craft(accessHeader(HS256, "c").String(), validClaims().String(), hmacSign(HS256, secret))
	secret[0] ^= 0xff
	cf := newFixture(t, kc, nil)
	if _, err := cf.ver.VerifyAccess(t.Context(), tok); err != nil {
		t.Fatalf("key changed with the caller's slice: %v", err)
	}
	rsaPriv := loadRSA(t, "rsa2048.pem")
	pub := mustKey(t)(newVerificationKey("r", RS256, &rsaPriv.PublicKey))
	if pub.CanSign() || pub.IsSymmetric() || pub.public == nil {
		t.Fatalf("verification key: %v", pub)
	}
	for _, alg := range []Algorithm{HS256, HS384, HS512, RS256, PS256, ES256, ES384, ES512, EdDSA} {
		if !alg.valid() {
			t.Fatalf("%s", alg)
		}
	}
	for _, alg := range []Algorithm{"none", "None", "", "hs256", "HS256 ", "ES256K", "RSA-OAEP"} {
		if alg.valid() {
			t.Fatalf("%q is valid", alg)
		}
	}
}

// TestKeySetRotate covers K-17.
func TestKeySetRotate(t *testing.T) {
	k1 := mustKey(t)(NewHMACKey("k1", HS256, testSecret("rot-k1", 32)))
	k2 := mustKey(t)(NewHMACKey("k2", HS256, testSecret("rot-k2", 32)))
	keys, err := NewKeySet(k1)
	if err != nil {
		t.Fatal(err)
	}
	f := fixtureOn(t, keys, k1, nil)
	t1 := f.issue(t, Grant{Subject: "alice"})

	if err := keys.Rotate(k2, k1); err != nil {
		t.Fatal(err)
	}
	if keys.Active() != k2 || len(keys.Keys()) != 2 || keys.Keys()[0] != k2 {
		t.Fatalf("after rotation: active %v, keys %v", keys.Active(), keys.Keys())
	}
	t2 := f.issue(t, Grant{Subject: "bob"})
	c2, err := f.ver.VerifyAccess(t.Context(), t2)
	if err != nil || c2.KeyID != "k2" {
		t.Fatalf("K17/new-token: %v %v", c2, err)
	}
	c1, err := f.ver.VerifyAccess(t.Context(), t1)
	if err != nil || c1.KeyID != "k1" || c1.Subject != "alice" {
		t.Fatalf("K17/old-token-during-overlap: %v %v", c1, err)
	}

	// A failed rotation leaves the set as it was.
	rsaKey := mustKey(t)(NewSigningKey("r", RS256, loadRSA(t, "rsa2048.pem")))
	if err := keys.Rotate(rsaKey, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("rotation with a nil key: %v", err)
	}
	if err := keys.Rotate(k2, k2); !errors.Is(err, ErrConfig) {
		t.Fatalf("rotation with duplicate kid: %v", err)
	}
	if _, err := f.ver.VerifyAccess(t.Context(), t1); err != nil {
		t.Fatalf("failed rotations changed the set: %v", err)
	}

	if err := keys.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	_, err = f.ver.VerifyAccess(t.Context(), t1)
	checkResult(t, t1, err, ErrUnknownKey)
	if _, err := f.ver.VerifyAccess(t.Context(), t2); err != nil {
		t.Fatalf("K17/new-token-after-removal: %v", err)
	}

	// A verify-only set stops the issuer, not the verifier.
	if err := keys.Rotate(nil, k2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iss.IssueAccess(context.Background(), Grant{Subject: "alice"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("issuing from a verify-only set: %v", err)
	}
	if _, err := f.ver.VerifyAccess(t.Context(), t2); err != nil {
		t.Fatal(err)
	}
}

// TestKeySetRotateConcurrent rotates while goroutines verify tokens of
// both keys and issue new ones; every key used stays in the set, so no
// verification may fail. Run with -race.
func TestKeySetRotateConcurrent(t *testing.T) {
	k1 := mustKey(t)(NewHMACKey("k1", HS256, testSecret("rot-k1", 32)))
	k2 := mustKey(t)(NewHMACKey("k2", HS256, testSecret("rot-k2", 32)))
	keys, err := NewKeySet(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	f := fixtureOn(t, keys, k1, nil)
	t1 := f.issue(t, Grant{Subject: "one"})
	if err := keys.Rotate(k2, k1); err != nil {
		t.Fatal(err)
	}
	t2 := f.issue(t, Grant{Subject: "two"})

	const rotations, verifiers = 300, 4
	var stop atomic.Bool
	var failures atomic.Int64
	var wg sync.WaitGroup
	for i := range verifiers {
		wg.Go(func() {
			for n := 0; !stop.Load() || n < 100; n++ {
				tok, want := t1, "one"
				if (n+i)%2 == 1 {
					tok, want = t2, "two"
				}
				c, err := f.ver.VerifyAccess(context.Background(), tok)
				if err != nil || c.Subject != want {
					failures.Add(1)
					t.Errorf("spurious failure: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for n := 0; !stop.Load() || n < 100; n++ {
			tok, err := f.iss.IssueAccess(context.Background(), Grant{Subject: "fresh"})
			if err != nil {
				failures.Add(1)
				t.Errorf("issue: %v", err)
				return
			}
			if _, err := f.ver.VerifyAccess(context.Background(), tok.Raw); err != nil {
				failures.Add(1)
				t.Errorf("fresh token: %v", err)
				return
			}
		}
	})
	for n := range rotations {
		var err error
		if n%2 == 0 {
			err = keys.Rotate(k1, k2)
		} else {
			err = keys.Rotate(k2, k1)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d failures", failures.Load())
	}
}

// roleClaims are custom claims as a service would define them.
type roleClaims struct {
	Role   string   `json:"role"`
	Tenant int      `json:"tenant"`
	Groups []string `json:"groups,omitempty"`
}

// TestCustomClaims covers Grant.Extra, Claims.Decode, Claims.Raw and
// Claim[T], and the refusals at issue time.
func TestCustomClaims(t *testing.T) {
	f := hsFixture(t)
	tok, err := f.iss.IssueAccess(context.Background(), Grant{Subject: "alice", Extra: roleClaims{Role: "editor", Tenant: 7, Groups: []string{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	verified, err := f.ver.VerifyAccess(t.Context(), tok.Raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Claims{"issued": tok.Claims, "verified": verified} {
		t.Run("round-trip/"+name, func(t *testing.T) {
			var got struct {
				roleClaims
				Sub string `json:"sub"`
				Exp int64  `json:"exp"`
			}
			if err := c.Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got.Role != "editor" || got.Tenant != 7 || len(got.Groups) != 2 || got.Sub != "alice" || got.Exp != unix((15*time.Minute)) {
				t.Fatalf("Decode: %+v", got)
			}
			role, ok, err := Claim[string](c, "role")
			if err != nil || !ok || role != "editor" {
				t.Fatalf("Claim[string](role) = %q, %t, %v", role, ok, err)
			}
			tenant, ok, err := Claim[int](c, "tenant")
			if err != nil || !ok || tenant != 7 {
				t.Fatalf("Claim[int](tenant) = %d, %t, %v", tenant, ok, err)
			}
			groups, ok, err := Claim[[]string](c, "groups")
			if err != nil || !ok || strings.Join(groups, ",") != "a,b" {
				t.Fatalf("Claim[[]string](groups) = %q, %t, %v", groups, ok, err)
			}
			if _, ok, err := Claim[string](c, "missing"); ok || err != nil {
				t.Fatalf("absent claim: %t, %v", ok, err)
			}
			if _, ok, err := Claim[int](c, "role"); !ok || !errors.Is(err, ErrInvalidClaim) {
				t.Fatalf("Claim[int](role): %t, %v", ok, err)
			}
			if raw, ok := c.rawClaim("tenant"); !ok || string(raw) != "7" {
				t.Fatalf("Raw(tenant) = %s, %t", raw, ok)
			}
			if _, ok := c.rawClaim("missing"); ok {
				t.Fatal("Raw(missing) reported present")
			}
			var wrong struct {
				Tenant string `json:"tenant"`
			}
			if err := c.Decode(&wrong); !errors.Is(err, ErrInvalidClaim) {
				t.Fatalf("Decode into a wrong type: %v", err)
			}
		})
	}
	t.Run("decode-empty-claims", func(t *testing.T) {
		var v map[string]any
		if err := new(Claims).Decode(&v); !errors.Is(err, ErrMissingClaim) {
			t.Fatalf("got %v", err)
		}
	})

	big := map[string]int{}
	for i := range maxJSONMembers - len(registeredClaims) {
		big[fmt.Sprintf("c%02d", i)] = i
	}
	tooBig := map[string]int{"extra": 1}
	for k, v := range big {
		tooBig[k] = v
	}
	type caseVariant struct {
		A int `json:"a"`
		B int `json:"A"`
	}
	for _, tc := range []struct {
		name    string
		extra   any
		wantErr error
	}{
		{"extra/struct", roleClaims{Role: "x"}, nil},
		{"extra/map", map[string]any{"role": "x", "nested": map[string]any{"sub": "not-top-level"}}, nil},
		{"extra/empty-map", map[string]any{}, nil},
		{"extra/raw-json", json.RawMessage(` { "role" : "x" } `), nil},
		{"extra/as-many-as-fit", big, nil},
		{"extra/collides-sub", map[string]any{"sub": "admin"}, ErrInvalidClaim},
		{"extra/collides-SUB", map[string]any{"SUB": "admin"}, ErrInvalidClaim},
		{"extra/collides-exp", map[string]any{"exp": 4102444800}, ErrInvalidClaim},
		{"extra/collides-Scope", map[string]any{"Scope": "admin"}, ErrInvalidClaim},
		{"extra/collides-long-s-sub", map[string]any{"ſub": "admin"}, ErrInvalidClaim},
		{"extra/collides-iss", map[string]any{"iss": "x"}, ErrInvalidClaim},
		{"extra/collides-aud", map[string]any{"aud": "x"}, ErrInvalidClaim},
		{"extra/collides-nbf", map[string]any{"nbf": 0}, ErrInvalidClaim},
		{"extra/collides-jti", map[string]any{"jti": "x"}, ErrInvalidClaim},
		{"extra/collides-sid", map[string]any{"sid": "x"}, ErrInvalidClaim},
		{"extra/collides-typ", map[string]any{"typ": "x"}, ErrInvalidClaim},
		{"extra/collides-client_id", map[string]any{"client_id": "x"}, ErrInvalidClaim},
		{"extra/case-variant-fields", caseVariant{1, 2}, ErrInvalidClaim},
		{"extra/too-many", tooBig, ErrInvalidClaim},
		{"extra/array", []int{1, 2}, ErrInvalidClaim},
		{"extra/string", "role", ErrInvalidClaim},
		{"extra/number", 5, ErrInvalidClaim},
		{"extra/nil-map", map[string]any(nil), ErrInvalidClaim},
		{"extra/unmarshalable", map[string]any{"c": make(chan int)}, ErrInvalidClaim},
		{"extra/raw-json-trailing-data", json.RawMessage(`{"a":1}{"b":2}`), ErrInvalidClaim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := f.iss.IssueAccess(context.Background(), Grant{Subject: "alice", Extra: tc.extra})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Whatever the issuer accepts, its verifier accepts.
			if _, err := f.ver.VerifyAccess(t.Context(), tok.Raw); err != nil {
				t.Fatalf("issued token refused: %v", err)
			}
		})
	}
}

func splitCompactErr(raw string, maxBytes int) error {
	_, _, err := splitCompact(raw, maxBytes)
	return err
}
