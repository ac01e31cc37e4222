package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// This file is the baseline: a JWT verifier and issuer written with the
// standard library only (crypto/*, encoding/base64, encoding/json into
// structs), the way a careful engineer would write one for a single
// service. It applies the same policy as the other paths.

var b64 = base64.RawURLEncoding

var errStd = errors.New("std: invalid token")

// Audience is the aud claim: a string or an array of strings.
type StdAudience []string

// UnmarshalJSON accepts both forms of aud.
func (a *StdAudience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = StdAudience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

// StdClaims are the claims the baseline reads.
type StdClaims struct {
	Issuer    string      `json:"iss"`
	Subject   string      `json:"sub"`
	Audience  StdAudience `json:"aud"`
	ExpiresAt *int64      `json:"exp"`
	NotBefore *int64      `json:"nbf"`
	IssuedAt  *int64      `json:"iat"`
	ID        string      `json:"jti"`
	Scope     string      `json:"scope,omitempty"`
	SessionID string      `json:"sid,omitempty"`
}

type stdHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// StdVerifier verifies one algorithm with one key.
type StdVerifier struct {
	alg    string
	secret []byte
	pub    crypto.PublicKey
}

// NewStdVerifier returns the baseline verifier for f's algorithm and key.
func NewStdVerifier(f *Fixture) *StdVerifier {
	return &StdVerifier{alg: string(f.Alg), secret: f.Secret, pub: f.Pub}
}

// IsAccessTyp reports whether a typ header names an access token (RFC 9068).
func IsAccessTyp(typ string) bool {
	typ = strings.TrimPrefix(strings.ToLower(typ), "application/")
	return typ == "at+jwt"
}

// Verify checks token and returns its claims.
func (v *StdVerifier) Verify(token string) (*StdClaims, error) {
	if len(token) > 8<<10 {
		return nil, errStd
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errStd
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") {
		return nil, errStd
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return nil, errStd
	}
	var hdr stdHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, errStd
	}
	if hdr.Alg != v.alg || hdr.Kid != KID || !IsAccessTyp(hdr.Typ) {
		return nil, errStd
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, errStd
	}
	if !v.checkSignature([]byte(token[:len(h)+1+len(p)]), sig) {
		return nil, errStd
	}
	pb, err := b64.DecodeString(p)
	if err != nil {
		return nil, errStd
	}
	var c StdClaims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, errStd
	}
	if err := checkStdClaims(&c, time.Now()); err != nil {
		return nil, err
	}
	return &c, nil
}

func (v *StdVerifier) checkSignature(signed, sig []byte) bool {
	switch v.alg {
	case "HS256":
		mac := hmac.New(sha256.New, v.secret)
		mac.Write(signed)
		return hmac.Equal(sig, mac.Sum(nil))
	case "RS256":
		sum := sha256.Sum256(signed)
		return rsa.VerifyPKCS1v15(v.pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig) == nil
	case "ES256":
		if len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(signed)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(v.pub.(*ecdsa.PublicKey), sum[:], r, s)
	case "EdDSA":
		return ed25519.Verify(v.pub.(ed25519.PublicKey), signed, sig)
	}
	return false
}

func checkStdClaims(c *StdClaims, now time.Time) error {
	t := now.Unix()
	l := int64(Leeway / time.Second)
	switch {
	case c.ExpiresAt == nil || t >= *c.ExpiresAt+l:
		return fmt.Errorf("%w: expired", errStd)
	case c.NotBefore != nil && t+l < *c.NotBefore:
		return fmt.Errorf("%w: not yet valid", errStd)
	case c.IssuedAt != nil && t+l < *c.IssuedAt:
		return fmt.Errorf("%w: issued in the future", errStd)
	case c.IssuedAt != nil && *c.ExpiresAt-*c.IssuedAt > int64(MaxTTL/time.Second)+l,
		*c.ExpiresAt-t > int64(MaxTTL/time.Second)+l:
		return fmt.Errorf("%w: lifetime too long", errStd)
	case c.Subject == "":
		return fmt.Errorf("%w: no subject", errStd)
	case c.Issuer != Issuer:
		return fmt.Errorf("%w: wrong issuer", errStd)
	}
	for _, a := range c.Audience {
		if a == Audience {
			return nil
		}
	}
	return fmt.Errorf("%w: wrong audience", errStd)
}

// StdSigner signs tokens with one algorithm and key. It is also used by the
// tests to forge tokens that only a key holder could make.
type StdSigner struct {
	alg       string
	secret    []byte
	priv      crypto.Signer
	hdrAccess string
	hdrRefres string
}

// NewStdSigner returns the baseline signer for f's algorithm and key.
func NewStdSigner(f *Fixture) *StdSigner {
	s := &StdSigner{alg: string(f.Alg), secret: f.Secret, priv: f.Priv}
	s.hdrAccess = s.EncodeHeader(map[string]string{"alg": s.alg, "kid": KID, "typ": "at+jwt"})
	s.hdrRefres = s.EncodeHeader(map[string]string{"alg": s.alg, "kid": KID, "typ": "refresh+jwt"})
	return s
}

// EncodeHeader returns the base64url JSON of hdr.
func (s *StdSigner) EncodeHeader(hdr any) string {
	b, err := json.Marshal(hdr)
	if err != nil {
		panic(err)
	}
	return b64.EncodeToString(b)
}

// SignRaw signs the already encoded header with the JSON of claims.
func (s *StdSigner) SignRaw(header string, claims any) (string, error) {
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 0, len(header)+1+b64.EncodedLen(len(pb))+1+b64.EncodedLen(512))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, pb)
	sig, err := s.sign(buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}

func (s *StdSigner) sign(signed []byte) ([]byte, error) {
	switch s.alg {
	case "HS256":
		mac := hmac.New(sha256.New, s.secret)
		mac.Write(signed)
		return mac.Sum(nil), nil
	case "RS256":
		sum := sha256.Sum256(signed)
		return rsa.SignPKCS1v15(nil, s.priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case "ES256":
		sum := sha256.Sum256(signed)
		r, ss, err := ecdsa.Sign(rand.Reader, s.priv.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		ss.FillBytes(out[32:])
		return out, nil
	case "EdDSA":
		return ed25519.Sign(s.priv.(ed25519.PrivateKey), signed), nil
	}
	return nil, fmt.Errorf("std: unsupported algorithm %s", s.alg)
}

// StdIssueClaims is what the baseline issuer writes.
type StdIssueClaims struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	Subject   string `json:"sub"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
	Scope     string `json:"scope,omitempty"`
	SessionID string `json:"sid,omitempty"`
}

// NewStdID returns 128 random bits, base64url encoded.
func NewStdID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

// IssueAccess mints one access token.
func (s *StdSigner) IssueAccess(sub string, scopes []string, sid string) (string, error) {
	now := time.Now()
	return s.SignRaw(s.hdrAccess, &StdIssueClaims{
		Issuer: Issuer, Audience: Audience, Subject: sub,
		ExpiresAt: now.Add(15 * time.Minute).Unix(), IssuedAt: now.Unix(),
		ID: NewStdID(), Scope: strings.Join(scopes, " "), SessionID: sid,
	})
}

// IssuePair mints a refresh token of a new session and its first access
// token: the work of a login.
func (s *StdSigner) IssuePair(sub string, scopes []string) (access, refresh string, err error) {
	now := time.Now()
	sid := NewStdID()
	scope := strings.Join(scopes, " ")
	refresh, err = s.SignRaw(s.hdrRefres, &StdIssueClaims{
		Issuer: Issuer, Audience: Audience, Subject: sub,
		ExpiresAt: now.Add(7 * 24 * time.Hour).Unix(), IssuedAt: now.Unix(),
		ID: NewStdID(), Scope: scope, SessionID: sid,
	})
	if err != nil {
		return "", "", err
	}
	access, err = s.SignRaw(s.hdrAccess, &StdIssueClaims{
		Issuer: Issuer, Audience: Audience, Subject: sub,
		ExpiresAt: now.Add(15 * time.Minute).Unix(), IssuedAt: now.Unix(),
		ID: NewStdID(), Scope: scope, SessionID: sid,
	})
	return access, refresh, err
}
