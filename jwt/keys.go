package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Algorithm is a JWS signature algorithm (RFC 7518, RFC 8037). Only the
// exported constants are accepted; "none" does not exist here.
type Algorithm string

// The supported algorithms.
const (
	HS256 Algorithm = "HS256"
	HS384 Algorithm = "HS384"
	HS512 Algorithm = "HS512"
	RS256 Algorithm = "RS256"
	RS384 Algorithm = "RS384"
	RS512 Algorithm = "RS512"
	PS256 Algorithm = "PS256"
	PS384 Algorithm = "PS384"
	PS512 Algorithm = "PS512"
	ES256 Algorithm = "ES256"
	ES384 Algorithm = "ES384"
	ES512 Algorithm = "ES512"
	EdDSA Algorithm = "EdDSA"
)

// keyFamily groups algorithms whose keys are of one kind. A key set may
// hold several families; what keeps a public key from being taken for an
// HMAC secret is that every key is bound to one algorithm and a token
// must name exactly that algorithm.
type keyFamily uint8

const (
	familyHMAC keyFamily = iota + 1
	familyRSA
	familyEC
	familyEdDSA
)

func (a Algorithm) family() keyFamily {
	switch a {
	case HS256, HS384, HS512:
		return familyHMAC
	case RS256, RS384, RS512, PS256, PS384, PS512:
		return familyRSA
	case ES256, ES384, ES512:
		return familyEC
	case EdDSA:
		return familyEdDSA
	}
	return 0
}

// hmacMinBytes is the hash output size, the RFC 7518 §3.2 floor.
func (a Algorithm) hmacMinBytes() int {
	switch a {
	case HS256:
		return 32
	case HS384:
		return 48
	case HS512:
		return 64
	}
	return 0
}

func (a Algorithm) curve() elliptic.Curve {
	switch a {
	case ES256:
		return elliptic.P256()
	case ES384:
		return elliptic.P384()
	case ES512:
		return elliptic.P521()
	}
	return nil
}

// valid reports whether a is one of the supported algorithms.
func (a Algorithm) valid() bool { return a.family() != 0 }

// minRSABits is the smallest RSA modulus jwtkit accepts (RFC 7518 §3.3).
const minRSABits = 2048

// Key is one signing or verification key, bound to exactly one algorithm
// and identified by a key ID (the kid header). A Key is immutable and safe
// for concurrent use.
type Key struct {
	id        string
	alg       Algorithm
	signer    any // []byte for HMAC, crypto.Signer otherwise; nil if verify-only
	verifier  any // []byte for HMAC, the public key otherwise
	public    crypto.PublicKey
	hdrAccess string // base64url protected header for access tokens
	hdrRefres string // base64url protected header for refresh tokens
	// pending bounds the Sign calls of a signer outside the process (an
	// HSM or KMS handle without SignContext) still running on their own
	// goroutines; nil for keys in memory.
	pending chan struct{}
}

// ID returns the key ID. Keys built by this package's constructors with
// an empty kid get a default one (see [Key.Thumbprint]); only a key read
// from a published JWKS without kid has none.
func (k *Key) ID() string { return k.id }

// CanSign reports whether the key holds private or secret material.
func (k *Key) CanSign() bool { return k.signer != nil }

// IsSymmetric reports whether the key is an HMAC secret.
func (k *Key) IsSymmetric() bool { return k.alg.family() == familyHMAC }

func (k *Key) String() string {
	// Never print key material.
	return fmt.Sprintf("jwt.Key{kid:%q alg:%s signing:%t}", k.id, k.alg, k.CanSign())
}

// NewHMACKey returns an HMAC key for HS256, HS384 or HS512. The secret must
// be at least as long as the hash output (32, 48 or 64 bytes); shorter
// secrets fail with [ErrWeakKey], and so do published example secrets
// (the FastAPI recipe's, jwt.io's and the like, in any letter case or
// with surrounding white space or quotes), which anyone can sign with.
// The secret is copied. An empty kid gets
// the default key ID of an HMAC key, described at [Key.Thumbprint].
func NewHMACKey(kid string, alg Algorithm, secret []byte) (*Key, error) {
	return withDefaultID(newHMACKey(kid, alg, secret))
}

func newHMACKey(kid string, alg Algorithm, secret []byte) (*Key, error) {
	if alg.family() != familyHMAC {
		return nil, fmt.Errorf("%w: %s is not an HMAC algorithm", ErrKeyMismatch, alg)
	}
	if min := alg.hmacMinBytes(); len(secret) < min {
		return nil, fmt.Errorf("%w: %s needs a secret of at least %d bytes, got %d", ErrWeakKey, alg, min, len(secret))
	}
	if isPublishedSecret(secret) {
		return nil, fmt.Errorf("%w: the secret is a published example secret that anyone can sign with; generate your own (e.g. openssl rand -hex 32)", ErrWeakKey)
	}
	s := append([]byte(nil), secret...)
	return newKey(kid, alg, s, s, nil)
}

// NewSigningKey returns a key that signs with the private key priv
// (*rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or any
// crypto.Signer with such a public key, e.g. an HSM or KMS handle) and
// verifies with its public half. The key type must fit alg
// ([ErrKeyMismatch]) and RSA moduli must have at least [minRSABits] bits
// and an odd exponent of at least 3, and must not have the ROCA fingerprint
// of CVE-2017-15361 ([ErrWeakKey]). An empty kid becomes the key's
// [Key.Thumbprint].
func NewSigningKey(kid string, alg Algorithm, priv crypto.Signer) (*Key, error) {
	return withDefaultID(newSigningKey(kid, alg, priv))
}

func newSigningKey(kid string, alg Algorithm, priv crypto.Signer) (*Key, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrKeyMismatch)
	}
	pub := priv.Public()
	if err := checkPublic(alg, pub); err != nil {
		return nil, err
	}
	return newKey(kid, alg, priv, pub, pub)
}

// newVerificationKey returns a verification-only key for the public key
// pub (*rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey). The same
// checks as [NewSigningKey] apply.
func newVerificationKey(kid string, alg Algorithm, pub crypto.PublicKey) (*Key, error) {
	if err := checkPublic(alg, pub); err != nil {
		return nil, err
	}
	return newKey(kid, alg, nil, pub, pub)
}

// GenerateKey creates a fresh key for alg: a random secret of the hash
// size for HMAC, RSA 2048 for RS*/PS*, the matching NIST curve for ES*, and
// Ed25519 for EdDSA. An empty kid gets the default key ID (see
// [Key.Thumbprint]). It is meant for development and tests; production
// keys come from a key manager or a file (see ParseKeyPEM).
func GenerateKey(kid string, alg Algorithm) (*Key, error) {
	switch alg.family() {
	case familyHMAC:
		secret := make([]byte, alg.hmacMinBytes())
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		return NewHMACKey(kid, alg, secret)
	case familyRSA:
		priv, err := rsa.GenerateKey(rand.Reader, minRSABits)
		if err != nil {
			return nil, err
		}
		return NewSigningKey(kid, alg, priv)
	case familyEC:
		priv, err := ecdsa.GenerateKey(alg.curve(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return NewSigningKey(kid, alg, priv)
	case familyEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return NewSigningKey(kid, alg, priv)
	}
	return nil, fmt.Errorf("%w: unsupported algorithm %q", ErrKeyMismatch, alg)
}

func checkPublic(alg Algorithm, pub crypto.PublicKey) error {
	switch alg.family() {
	case familyRSA:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k == nil || k.N == nil {
			return fmt.Errorf("%w: %s needs an RSA key, got %T", ErrKeyMismatch, alg, pub)
		}
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("%w: RSA modulus of %d bits, at least %d required", ErrWeakKey, k.N.BitLen(), minRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("%w: RSA public exponent %d", ErrWeakKey, k.E)
		}
		if rsaROCAFingerprint(k.N) {
			return fmt.Errorf("%w: RSA modulus has the ROCA fingerprint (CVE-2017-15361)", ErrWeakKey)
		}
	case familyEC:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k == nil || k.Curve == nil {
			return fmt.Errorf("%w: %s needs an ECDSA key, got %T", ErrKeyMismatch, alg, pub)
		}
		if k.Curve != alg.curve() {
			return fmt.Errorf("%w: %s needs curve %s, got %s", ErrKeyMismatch, alg, alg.curve().Params().Name, k.Curve.Params().Name)
		}
	case familyEdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: EdDSA needs an Ed25519 key, got %T", ErrKeyMismatch, pub)
		}
	case familyHMAC:
		return fmt.Errorf("%w: %s keys are secrets; use NewHMACKey", ErrKeyMismatch, alg)
	default:
		return fmt.Errorf("%w: unsupported algorithm %q", ErrKeyMismatch, alg)
	}
	return nil
}

// withDefaultID gives a key built without kid its default key ID.
func withDefaultID(k *Key, err error) (*Key, error) {
	if err != nil || k.id != "" {
		return k, err
	}
	return newKey(k.defaultID(), k.alg, k.signer, k.verifier, k.public)
}

func newKey(kid string, alg Algorithm, signer, verifier any, public crypto.PublicKey) (*Key, error) {
	k := &Key{id: kid, alg: alg, signer: signer, verifier: verifier, public: public}
	switch signer.(type) {
	case nil, []byte, *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, ContextSigner:
	default:
		k.pending = make(chan struct{}, maxPendingSigns)
	}
	var ok bool
	if k.hdrAccess, ok = encodeHeader(alg, kid, typAccess); !ok {
		return nil, fmt.Errorf("%w: key ID is not valid UTF-8", ErrConfig)
	}
	k.hdrRefres, _ = encodeHeader(alg, kid, typRefresh)
	return k, nil
}

func encodeHeader(alg Algorithm, kid, typ string) (string, bool) {
	b := []byte(`{"alg":"` + string(alg) + `"`)
	if kid != "" {
		var ok bool
		b = append(b, `,"kid":`...)
		if b, ok = appendJSONString(b, kid); !ok {
			return "", false
		}
	}
	b = append(b, `,"typ":"`+typ+`"}`...)
	return base64.RawURLEncoding.EncodeToString(b), true
}

// KeySet holds the signing key and any number of verification-only keys,
// with distinct key IDs. Tokens name their key with kid; a token without
// kid is accepted only when the set holds exactly one key.
//
// A set may mix algorithms and key families (say an HS256 secret and an
// ES256 key pair while a service moves from one to the other). Every key
// stays bound to its own algorithm: a token whose alg header differs from
// the algorithm of the key its kid names is refused, so a public key can
// never be used as an HMAC secret, and [KeySet.PublicJWKS] never
// publishes an HMAC key.
//
// The signing key is either fixed ([NewKeySet]) or chosen by time
// ([NewScheduledKeySet]).
//
// A KeySet is safe for concurrent use. [KeySet.Rotate] swaps the whole set
// atomically, so an Issuer and a Verifier built on it follow a rotation
// without being rebuilt and no request ever sees a half-updated set.
type KeySet struct {
	snap atomic.Pointer[keySnapshot]
}

type keySnapshot struct {
	active   *Key
	schedule []ScheduledKey // latest From first; nil unless scheduled
	byID     map[string]*Key
	only     *Key // the single key, when there is exactly one
	keys     []*Key
	algs     []Algorithm // the algorithms of keys, each once
}

// ScheduledKey is a signing key of a scheduled [KeySet] and the time it
// starts signing.
type ScheduledKey struct {
	// Key signs tokens from From on, until the From of a later key.
	Key *Key
	// From is when Key becomes the signing key. The zero time is
	// "always": the key that signs until the next one takes over.
	From time.Time
}

// NewKeySet builds a key set. active signs new tokens and may be nil for a
// verify-only set; verifyOnly keys verify tokens signed earlier (rotation)
// or elsewhere. Duplicate key IDs and keys without an ID in a set of
// several keys are refused.
func NewKeySet(active *Key, verifyOnly ...*Key) (*KeySet, error) {
	snap, err := newSnapshot(active, nil, verifyOnly)
	if err != nil {
		return nil, err
	}
	s := &KeySet{}
	s.snap.Store(snap)
	return s, nil
}

// NewScheduledKeySet builds a key set whose signing key changes at set
// times: an [Issuer] signs with the key of schedule that has the latest
// From not after its clock ([IssuerConfig.Now]). Every key of schedule
// verifies from the start, and a key that will sign is published in
// [KeySet.PublicJWKS] before it does, so several instances given the same
// schedule switch keys together without talking to each other, and
// verifiers have had the new key all along. verifyOnly keys verify only,
// as for [NewKeySet].
//
// Every scheduled key must be able to sign, and no two may share a From
// ([ErrConfig]). Before the earliest From no key signs and issuing fails
// with [ErrConfig]. The migration runbook in the README shows the use.
func NewScheduledKeySet(schedule []ScheduledKey, verifyOnly ...*Key) (*KeySet, error) {
	if len(schedule) == 0 {
		return nil, fmt.Errorf("%w: a scheduled key set needs at least one scheduled key", ErrConfig)
	}
	snap, err := newSnapshot(nil, schedule, verifyOnly)
	if err != nil {
		return nil, err
	}
	s := &KeySet{}
	s.snap.Store(snap)
	return s, nil
}

// Rotate replaces the set's keys atomically with the same rules as
// [NewKeySet]. Typical use: the new key becomes active and the previous
// active key moves to verifyOnly until the tokens it signed have expired.
// The new key may be of another algorithm or family than the old one; see
// the README's migration runbook.
func (s *KeySet) Rotate(active *Key, verifyOnly ...*Key) error {
	snap, err := newSnapshot(active, nil, verifyOnly)
	if err != nil {
		return err
	}
	s.snap.Store(snap)
	return nil
}

// Active returns the key that signs now: the fixed signing key, or for a
// scheduled set the key whose time has come by the wall clock (an
// [Issuer] uses its own clock instead). It returns nil for a verify-only
// set, before a schedule's first key, and for the zero KeySet.
func (s *KeySet) Active() *Key {
	if snap := s.snap.Load(); snap != nil {
		return snap.activeAt(time.Now())
	}
	return nil
}

// Keys returns every key of the set, the signing keys first (a schedule
// latest first); nil for the zero KeySet.
func (s *KeySet) Keys() []*Key {
	if snap := s.snap.Load(); snap != nil {
		return append([]*Key(nil), snap.keys...)
	}
	return nil
}

// canSign reports whether the set has a fixed or scheduled signing key.
func (s *KeySet) canSign() bool {
	snap := s.snap.Load()
	return snap != nil && (snap.active != nil || len(snap.schedule) > 0)
}

func (snap *keySnapshot) activeAt(now time.Time) *Key {
	if snap.schedule == nil {
		return snap.active
	}
	for _, sk := range snap.schedule {
		if !sk.From.After(now) {
			return sk.Key
		}
	}
	return nil
}

func newSnapshot(active *Key, schedule []ScheduledKey, verifyOnly []*Key) (*keySnapshot, error) {
	all := make([]*Key, 0, 1+len(schedule)+len(verifyOnly))
	if active != nil {
		if !active.CanSign() {
			return nil, fmt.Errorf("%w: the active key %q has no private material", ErrConfig, active.id)
		}
		all = append(all, active)
	}
	var sched []ScheduledKey
	if len(schedule) > 0 {
		sched = slices.Clone(schedule)
		slices.SortStableFunc(sched, func(a, b ScheduledKey) int { return b.From.Compare(a.From) })
		for n, sk := range sched {
			if sk.Key == nil {
				return nil, fmt.Errorf("%w: nil scheduled key", ErrConfig)
			}
			if !sk.Key.CanSign() {
				return nil, fmt.Errorf("%w: the scheduled key %q has no private material", ErrConfig, sk.Key.id)
			}
			if n > 0 && sk.From.Equal(sched[n-1].From) {
				return nil, fmt.Errorf("%w: keys %q and %q are scheduled for the same time", ErrConfig, sched[n-1].Key.id, sk.Key.id)
			}
			all = append(all, sk.Key)
		}
	}
	for _, k := range verifyOnly {
		if k == nil {
			return nil, fmt.Errorf("%w: nil key", ErrConfig)
		}
		all = append(all, k)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: a key set needs at least one key", ErrConfig)
	}
	snap := &keySnapshot{active: active, schedule: sched, byID: make(map[string]*Key, len(all)), keys: all}
	for _, k := range all {
		if !k.alg.valid() {
			return nil, fmt.Errorf("%w: key %q has no supported algorithm", ErrConfig, k.id)
		}
		if k.id == "" && len(all) > 1 {
			return nil, fmt.Errorf("%w: every key of a set of several keys needs a key ID", ErrConfig)
		}
		if _, dup := snap.byID[k.id]; dup {
			return nil, fmt.Errorf("%w: duplicate key ID %q", ErrConfig, k.id)
		}
		snap.byID[k.id] = k
		if !slices.Contains(snap.algs, k.alg) {
			snap.algs = append(snap.algs, k.alg)
		}
	}
	if len(all) == 1 {
		snap.only = all[0]
	}
	return snap, nil
}

// KeySource supplies verification keys to a [Verifier]. It is implemented
// by [*KeySet] and by the remote key sets of this package only; the method
// set is unexported so that every source applies the same lookup rules.
type KeySource interface {
	// verificationKey returns the key for kid (hasKID false: the token
	// has no kid). Errors wrap ErrUnknownKey or ErrNoKeys.
	verificationKey(ctx context.Context, kid string, hasKID bool) (*Key, error)
	// holds reports whether the source holds a key with this kid now,
	// without fetching.
	holds(kid string) bool
	// accepts reports whether some key of the source may hold alg, so
	// that a token of any other algorithm is refused before a lookup.
	accepts(alg Algorithm) bool
	// built reports an error wrapping ErrConfig unless the source was
	// made by its constructor (a nil pointer or a zero value holds no
	// keys and cannot fetch any).
	built() error
}

// errZeroKeySet is the error of every constructor given a nil or zero
// KeySet.
var errZeroKeySet = fmt.Errorf("%w: the KeySet is nil or its zero value; build it with NewKeySet", ErrConfig)

func (s *KeySet) built() error {
	if s == nil || s.snap.Load() == nil {
		return errZeroKeySet
	}
	return nil
}

func (s *KeySet) accepts(alg Algorithm) bool { return slices.Contains(s.snap.Load().algs, alg) }

func (s *KeySet) holds(kid string) bool { return s.snap.Load().byID[kid] != nil }

func (s *KeySet) verificationKey(_ context.Context, kid string, hasKID bool) (*Key, error) {
	snap := s.snap.Load()
	return snap.lookup(kid, hasKID)
}

func (snap *keySnapshot) lookup(kid string, hasKID bool) (*Key, error) {
	if !hasKID {
		if snap.only != nil {
			return snap.only, nil
		}
		return nil, fail(ErrUnknownKey, "token has no kid and the key set holds several keys")
	}
	if k, ok := snap.byID[kid]; ok {
		return k, nil
	}
	return nil, fail(ErrUnknownKey, "no key with this kid")
}
