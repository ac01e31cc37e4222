package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sync"
)

// This file reads and writes JSON Web Keys (RFC 7517, RFC 7518 §6,
// RFC 8037). Key material is decoded here with the standard library rather
// than through jwx's jwk package: jwx's import floor can be changed by any
// other package of the binary through jwk.Configure, and jwtkit's key
// policy must not depend on such global state. Every member is decoded as
// strict, unpadded base64url.

// maxRSABits caps RSA moduli read from JWKs. Larger keys could never verify
// a jwtkit token, whose signature is capped at 1 KiB.
const maxRSABits = 8192

// maxJWKSKeys caps the number of keys ParseJWKS accepts, and is the
// default cap of a remote set.
const maxJWKSKeys = 100

// parseJWK parses one JSON Web Key into a [Key]. A key with private
// material ("d", or an "oct" key) becomes a signing key, otherwise a
// verification-only key.
//
// jwtkit binds every key to one algorithm, so the JWK must carry "alg" (one
// of the [Algorithm] constants) and a non-empty "kid". It is refused with
// an error wrapping:
//   - [ErrKeyMismatch] when "kty" or "crv" does not fit "alg" (an RSA key
//     labelled ES256, a P-384 key labelled ES256, material members of
//     another key type), when "use" is present and not "sig", when
//     "key_ops" lists anything but "sign" and "verify" or lacks the
//     operation the key is for, for multi-prime RSA ("oth"), and when
//     private and public members do not belong together;
//   - [ErrWeakKey] for an HMAC secret shorter than the hash output, an RSA
//     modulus under [minRSABits] bits or with the ROCA fingerprint
//     (CVE-2017-15361), or an RSA exponent below 3 or even;
//   - [ErrConfig] for anything that is not a well-formed JWK: invalid JSON,
//     duplicate members, a missing "kid" or "alg", or a member that is not
//     strict base64url.
//
// Certificate members (x5c, x5u, x5t) are ignored: nothing is fetched and
// no certificate chain is checked.
func parseJWK(data []byte) (*Key, error) {
	f, err := readJWK(string(bytes.TrimSpace(data)))
	if err != nil {
		return nil, err
	}
	return f.toKey(jwkPolicy{})
}

// ParseJWKS parses a JSON Web Key Set ({"keys":[…]}) with the rules of
// parseJWK for every key, and refuses the whole set ([ErrConfig]) when
// any key is invalid, when two keys share a kid, when the set is empty or
// holds more than 100 keys. Keys of several public-key algorithms and
// families may be mixed, each bound to its own alg; a document mixing
// HMAC secrets with public keys fails with [ErrKeyMismatch], since such a
// file is one careless copy away from publishing the secret (build a
// [KeySet] from separately loaded keys instead). The keys are returned in
// document order.
//
// ParseJWKS is meant for key material the application configures itself.
// A set published by someone else is read with [NewRemoteKeySet], which
// skips unusable keys instead of failing.
func ParseJWKS(data []byte) ([]*Key, error) {
	raws, err := readJWKSDoc(data, maxJWKSKeys)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("%w: the JWKS holds no keys", ErrConfig)
	}
	keys := make([]*Key, 0, len(raws))
	seen := make(map[string]bool, len(raws))
	for i, raw := range raws {
		f, err := readJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i, err)
		}
		k, err := f.toKey(jwkPolicy{})
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i, err)
		}
		if seen[k.id] {
			return nil, fmt.Errorf("%w: JWKS key %d: duplicate kid %q", ErrConfig, i, k.id)
		}
		seen[k.id] = true
		if len(keys) > 0 && k.IsSymmetric() != keys[0].IsSymmetric() {
			return nil, fmt.Errorf("%w: JWKS key %d: a JWKS document holds secrets or public keys, not both; %s and %s mixed", ErrKeyMismatch, i, keys[0].alg, k.alg)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// readJWKSDoc returns the raw JSON text of each member of the "keys" array.
func readJWKSDoc(data []byte, maxKeys int) ([]string, error) {
	doc := string(bytes.TrimSpace(data))
	var keysVal jsonValue
	found := false
	err := readObject(doc, false, func(name string, v jsonValue) error {
		if name == "keys" {
			keysVal, found = v, true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: the JWKS is not one well-formed JSON object", ErrConfig)
	}
	if !found || keysVal.kind != kindArray {
		return nil, fmt.Errorf(`%w: the JWKS has no "keys" array`, ErrConfig)
	}
	var raws []string
	err = jwkEachElement(keysVal.raw, func(v jsonValue) error {
		if v.kind != kindObject {
			return fmt.Errorf(`%w: a member of "keys" is not a JSON object`, ErrConfig)
		}
		if len(raws) == maxKeys {
			return fmt.Errorf("%w: the JWKS holds more than %d keys", ErrConfig, maxKeys)
		}
		raws = append(raws, v.raw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return raws, nil
}

// jwkEachElement calls visit for each element of the JSON array raw, which
// readObject has already validated.
func jwkEachElement(raw string, visit func(jsonValue) error) error {
	r := jsonReader{s: raw, pos: 1}
	r.skipSpace()
	if r.peek() == ']' {
		return nil
	}
	for {
		r.skipSpace()
		v, ok := r.readValue(2)
		if !ok {
			return fmt.Errorf("%w: invalid JSON array", ErrConfig)
		}
		if err := visit(v); err != nil {
			return err
		}
		r.skipSpace()
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			return nil
		default:
			return fmt.Errorf("%w: invalid JSON array", ErrConfig)
		}
	}
}

// jwkFields are the members of one JWK that jwtkit reads.
type jwkFields struct {
	kty, kid, alg, use, crv string
	hasKID, hasAlg, hasUse  bool
	keyOps                  []string
	hasKeyOps               bool
	material                map[string]string // n, e, d, p, q, dp, dq, qi, x, y, k
	hasOth                  bool
}

// jwkMaterial lists the key-material members per key type.
var jwkMaterial = map[string][]string{
	"RSA": {"n", "e", "d", "p", "q", "dp", "dq", "qi"},
	"EC":  {"crv", "x", "y", "d"},
	"OKP": {"crv", "x", "d"},
	"oct": {"k"},
}

var jwkKty = map[keyFamily]string{familyHMAC: "oct", familyRSA: "RSA", familyEC: "EC", familyEdDSA: "OKP"}

var jwkAllMaterial = []string{"n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y", "k", "crv", "oth"}

func readJWK(s string) (*jwkFields, error) {
	f := &jwkFields{material: map[string]string{}}
	var memberErr error
	err := readObject(s, false, func(name string, v jsonValue) error {
		str := func(dst *string, has *bool) {
			if v.kind != kindString {
				memberErr = fmt.Errorf("%w: JWK member %q is not a string", ErrConfig, name)
				return
			}
			*dst = v.str
			if has != nil {
				*has = true
			}
		}
		switch name {
		case "kty":
			str(&f.kty, nil)
		case "kid":
			str(&f.kid, &f.hasKID)
		case "alg":
			str(&f.alg, &f.hasAlg)
		case "use":
			str(&f.use, &f.hasUse)
		case "crv":
			str(&f.crv, nil)
			f.material["crv"] = f.crv
		case "oth":
			f.hasOth = true
		case "key_ops":
			f.hasKeyOps = true
			if v.kind != kindArray {
				memberErr = fmt.Errorf("%w: JWK member key_ops is not an array", ErrConfig)
				return memberErr
			}
			err := jwkEachElement(v.raw, func(op jsonValue) error {
				if op.kind != kindString {
					return fmt.Errorf("%w: key_ops holds a non-string", ErrConfig)
				}
				if slices.Contains(f.keyOps, op.str) {
					return fmt.Errorf("%w: key_ops lists %q twice", ErrConfig, op.str)
				}
				f.keyOps = append(f.keyOps, op.str)
				return nil
			})
			if err != nil {
				memberErr = err
			}
		case "n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y", "k":
			var s string
			str(&s, nil)
			f.material[name] = s
		}
		return memberErr
	})
	if memberErr != nil {
		return nil, memberErr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the JWK is not one well-formed JSON object without duplicate members", ErrConfig)
	}
	return f, nil
}

// jwkPolicy adjusts toKey for keys published by someone else.
type jwkPolicy struct {
	// algs, when set, lists the acceptable algorithms; a key whose alg is
	// not among them is refused, and a key without alg is bound to algs[0]
	// when algs holds exactly one algorithm.
	algs []Algorithm
	// optionalKID lets a key without kid through (the caller decides).
	optionalKID bool
	// publicOnly refuses keys that carry private material.
	publicOnly bool
}

// errorf formats a key error that names the key.
func (f *jwkFields) errorf(sentinel error, format string, args ...any) error {
	name := "JWK"
	if f.kid != "" {
		name = fmt.Sprintf("JWK %q", f.kid)
	}
	return fmt.Errorf("%w: %s: %s", sentinel, name, fmt.Sprintf(format, args...))
}

func (f *jwkFields) toKey(p jwkPolicy) (*Key, error) {
	if !f.hasKID || f.kid == "" {
		if !p.optionalKID {
			return nil, f.errorf(ErrConfig, `"kid" is required`)
		}
	}
	if p.publicOnly && f.kty == "oct" {
		return nil, f.errorf(ErrKeyMismatch, "symmetric keys are never taken from a published key set")
	}
	alg := Algorithm(f.alg)
	switch {
	case !f.hasAlg && len(p.algs) == 1:
		alg = p.algs[0]
	case !f.hasAlg:
		return nil, f.errorf(ErrConfig, `"alg" is required: jwtkit binds every key to one algorithm`)
	case !alg.valid():
		return nil, f.errorf(ErrKeyMismatch, "unsupported alg %q", f.alg)
	case p.algs != nil && !slices.Contains(p.algs, alg):
		return nil, f.errorf(ErrKeyMismatch, "alg %s is not among the accepted algorithms", alg)
	}
	wantKty := jwkKty[alg.family()]
	if f.kty != wantKty {
		return nil, f.errorf(ErrKeyMismatch, "alg %s needs kty %q, got %q", alg, wantKty, f.kty)
	}
	for _, m := range jwkAllMaterial {
		_, present := f.material[m]
		if m == "oth" {
			present = f.hasOth
		}
		if present && !slices.Contains(jwkMaterial[f.kty], m) {
			if m == "oth" {
				return nil, f.errorf(ErrKeyMismatch, "multi-prime RSA keys are not supported")
			}
			return nil, f.errorf(ErrKeyMismatch, "member %q does not belong to a %s key", m, f.kty)
		}
	}
	_, private := f.material["d"]
	if f.kty == "oct" {
		private = true
	}
	if f.hasUse && f.use != "sig" {
		return nil, f.errorf(ErrKeyMismatch, `"use" is %q, not "sig"`, f.use)
	}
	if f.hasKeyOps {
		for _, op := range f.keyOps {
			if op != "sign" && op != "verify" {
				return nil, f.errorf(ErrKeyMismatch, "key_ops lists %q; a signature key may only list sign and verify", op)
			}
		}
		if !slices.Contains(f.keyOps, "verify") && !(private && slices.Contains(f.keyOps, "sign")) {
			return nil, f.errorf(ErrKeyMismatch, `key_ops does not allow "verify"`)
		}
	}
	if private && p.publicOnly {
		return nil, f.errorf(ErrKeyMismatch, "the key carries private material, which must never be published")
	}
	switch f.kty {
	case "oct":
		return f.hmacKey(alg)
	case "RSA":
		return f.rsaKey(alg)
	case "EC":
		return f.ecKey(alg)
	default:
		return f.okpKey(alg)
	}
}

// bytes decodes the material member name; required members must be
// present and non-empty.
func (f *jwkFields) bytes(name string) ([]byte, error) {
	s, ok := f.material[name]
	if !ok || s == "" {
		return nil, f.errorf(ErrConfig, "member %q is missing", name)
	}
	b, err := strictB64.DecodeString(s)
	if err != nil {
		return nil, f.errorf(ErrConfig, "member %q is not unpadded base64url", name)
	}
	return b, nil
}

func (f *jwkFields) hmacKey(alg Algorithm) (*Key, error) {
	if s, ok := f.material["k"]; ok && s == "" {
		return nil, f.errorf(ErrWeakKey, "empty HMAC secret")
	}
	k, err := f.bytes("k")
	if err != nil {
		return nil, err
	}
	defer clear(k)
	if min := alg.hmacMinBytes(); len(k) < min {
		return nil, f.errorf(ErrWeakKey, "%s needs a secret of at least %d bytes, got %d", alg, min, len(k))
	}
	return newHMACKey(f.kid, alg, k)
}

func (f *jwkFields) rsaKey(alg Algorithm) (*Key, error) {
	nb, err := f.bytes("n")
	if err != nil {
		return nil, err
	}
	eb, err := f.bytes("e")
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < minRSABits {
		return nil, f.errorf(ErrWeakKey, "RSA modulus of %d bits, at least %d required", bits, minRSABits)
	} else if bits > maxRSABits {
		return nil, f.errorf(ErrConfig, "RSA modulus of %d bits, at most %d supported", bits, maxRSABits)
	}
	eb = bytes.TrimLeft(eb, "\x00")
	if len(eb) > 4 {
		return nil, f.errorf(ErrConfig, "RSA public exponent too large")
	}
	e := 0
	for _, c := range eb {
		e = e<<8 | int(c)
	}
	if e < 3 || e%2 == 0 || e > 1<<31-1 {
		return nil, f.errorf(ErrWeakKey, "RSA public exponent %d", e)
	}
	pub := &rsa.PublicKey{N: n, E: e}
	if _, ok := f.material["d"]; !ok {
		for _, m := range []string{"p", "q", "dp", "dq", "qi"} {
			if _, ok := f.material[m]; ok {
				return nil, f.errorf(ErrKeyMismatch, "member %q without the private exponent d", m)
			}
		}
		return newVerificationKey(f.kid, alg, pub)
	}
	var parts [3]*big.Int
	for i, m := range []string{"d", "p", "q"} {
		b, err := f.bytes(m)
		if err != nil {
			if m != "d" {
				return nil, f.errorf(ErrConfig, "RSA private keys need the primes p and q")
			}
			return nil, err
		}
		parts[i] = new(big.Int).SetBytes(b)
		clear(b)
	}
	priv := &rsa.PrivateKey{PublicKey: *pub, D: parts[0], Primes: []*big.Int{parts[1], parts[2]}}
	if err := priv.Validate(); err != nil {
		return nil, f.errorf(ErrKeyMismatch, "inconsistent RSA private key: %v", err)
	}
	priv.Precompute()
	return newSigningKey(f.kid, alg, priv)
}

var jwkCurveNames = map[Algorithm]string{ES256: "P-256", ES384: "P-384", ES512: "P-521"}

func (f *jwkFields) ecKey(alg Algorithm) (*Key, error) {
	if want := jwkCurveNames[alg]; f.crv != want {
		return nil, f.errorf(ErrKeyMismatch, "%s needs crv %q, got %q", alg, want, f.crv)
	}
	curve := alg.curve()
	size := (curve.Params().BitSize + 7) / 8
	x, err := f.bytes("x")
	if err != nil {
		return nil, err
	}
	y, err := f.bytes("y")
	if err != nil {
		return nil, err
	}
	if len(x) != size || len(y) != size {
		return nil, f.errorf(ErrConfig, "coordinates of %s must be %d bytes long", f.crv, size)
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, f.errorf(ErrConfig, "invalid %s point: %v", f.crv, err)
	}
	if _, ok := f.material["d"]; !ok {
		return newVerificationKey(f.kid, alg, pub)
	}
	d, err := f.bytes("d")
	if err != nil {
		return nil, err
	}
	defer clear(d)
	priv, err := ecdsa.ParseRawPrivateKey(curve, d)
	if err != nil {
		return nil, f.errorf(ErrConfig, "invalid %s private key: %v", f.crv, err)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, f.errorf(ErrKeyMismatch, "the private key d does not match x and y")
	}
	return newSigningKey(f.kid, alg, priv)
}

func (f *jwkFields) okpKey(alg Algorithm) (*Key, error) {
	if f.crv != "Ed25519" {
		return nil, f.errorf(ErrKeyMismatch, `EdDSA needs crv "Ed25519", got %q`, f.crv)
	}
	x, err := f.bytes("x")
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, f.errorf(ErrConfig, "an Ed25519 public key is %d bytes long", ed25519.PublicKeySize)
	}
	pub := ed25519.PublicKey(x)
	if _, ok := f.material["d"]; !ok {
		return newVerificationKey(f.kid, alg, pub)
	}
	d, err := f.bytes("d")
	if err != nil {
		return nil, err
	}
	defer clear(d)
	if len(d) != ed25519.SeedSize {
		return nil, f.errorf(ErrConfig, "an Ed25519 private key is %d bytes long", ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(d)
	if !pub.Equal(priv.Public()) {
		return nil, f.errorf(ErrKeyMismatch, "the private key d does not match x")
	}
	return newSigningKey(f.kid, alg, priv)
}

// publicJWK is the published form of one public key.
type publicJWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// PublicJWKS returns the set's public keys as a JSON Web Key Set, ready to
// be served at a jwks_uri: RSA keys with n and e, EC keys with crv, x and
// y, Ed25519 keys as OKP with crv and x, each with its kid, alg and
// "use":"sig", in the order of [KeySet.Keys].
//
// Only public members are ever written. HMAC keys are secrets and are
// never included: an HMAC key set yields {"keys":[]}.
func (s *KeySet) PublicJWKS() ([]byte, error) {
	if err := s.built(); err != nil {
		return nil, err
	}
	keys := s.Keys()
	doc := struct {
		Keys []publicJWK `json:"keys"`
	}{Keys: make([]publicJWK, 0, len(keys))}
	for _, k := range keys {
		if k.IsSymmetric() {
			continue
		}
		j := publicJWK{Use: "sig", Alg: string(k.alg), Kid: k.id}
		switch pub := k.public.(type) {
		case *rsa.PublicKey:
			j.Kty = "RSA"
			j.N = jwkB64(pub.N.Bytes())
			j.E = jwkB64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			pt, err := pub.Bytes()
			if err != nil {
				return nil, fmt.Errorf("%w: key %q: %w", ErrKeyMismatch, k.id, err)
			}
			size := (len(pt) - 1) / 2
			j.Kty = "EC"
			j.Crv = jwkCurveName(pub.Curve)
			j.X = jwkB64(pt[1 : 1+size])
			j.Y = jwkB64(pt[1+size:])
		case ed25519.PublicKey:
			j.Kty = "OKP"
			j.Crv = "Ed25519"
			j.X = jwkB64(pub)
		default:
			return nil, fmt.Errorf("%w: key %q has no publishable public key (%T)", ErrKeyMismatch, k.id, k.public)
		}
		doc.Keys = append(doc.Keys, j)
	}
	return json.Marshal(doc)
}

func jwkCurveName(c elliptic.Curve) string {
	for alg, name := range jwkCurveNames {
		if alg.curve() == c {
			return name
		}
	}
	return c.Params().Name
}

func jwkB64(b []byte) string { return strictB64.EncodeToString(b) }

// ROCA (CVE-2017-15361): RSA keys generated by a vulnerable Infineon
// library have primes of the form k·M + (65537^a mod M), M the product of
// the first primes, so for each of those primes p the modulus N mod p lies
// in the subgroup that 65537 generates in Z/pZ*. For a random modulus that
// happens with a probability of about 2^-83 over the first 71 primes,
// which every affected key size of 2048 bits or more uses; such keys can be
// factored, so they are refused like short ones.
var rocaTables = sync.OnceValue(func() (t struct {
	primes []int64
	member [][]bool
}) {
	for p := int64(3); len(t.primes) < 70; p += 2 {
		prime := true
		for _, q := range t.primes {
			if q*q > p {
				break
			}
			if p%q == 0 {
				prime = false
				break
			}
		}
		if !prime {
			continue
		}
		in := make([]bool, p)
		for x := int64(1); !in[x]; x = x * (65537 % p) % p {
			in[x] = true
		}
		t.primes = append(t.primes, p)
		t.member = append(t.member, in)
	}
	return t
})

// rsaROCAFingerprint reports whether n has the ROCA structure.
func rsaROCAFingerprint(n *big.Int) bool {
	t := rocaTables()
	var m, r big.Int
	for i, p := range t.primes {
		m.SetInt64(p)
		if !t.member[i][r.Mod(n, &m).Int64()] {
			return false
		}
	}
	return true
}
