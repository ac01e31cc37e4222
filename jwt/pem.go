package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// ParseKeyPEM builds a key bound to alg from one PEM-encoded key.
//
// Private keys give a signing key: "RSA PRIVATE KEY" (PKCS #1), "PRIVATE
// KEY" (PKCS #8: RSA, ECDSA or Ed25519) and "EC PRIVATE KEY" (SEC 1; an
// "EC PARAMETERS" block before it, as openssl ecparam writes, is skipped).
// Public keys give a verification-only key: "PUBLIC KEY" (PKIX) and "RSA
// PUBLIC KEY" (PKCS #1).
//
// The same checks as [NewSigningKey] apply: the key type must fit alg
// ([ErrKeyMismatch]) and RSA moduli need at least [minRSABits] bits
// ([ErrWeakKey]). Encrypted PEM, certificates, several keys in one input,
// HMAC algorithms and anything that is not a PEM key fail with
// [ErrConfig] or [ErrKeyMismatch]. HMAC secrets are loaded with
// [NewHMACKey] or [KeyFromString]. An empty kid becomes the key's
// [Key.Thumbprint].
func ParseKeyPEM(kid string, alg Algorithm, pemBytes []byte) (*Key, error) {
	if !alg.valid() {
		return nil, fmt.Errorf("%w: unsupported algorithm %q", ErrKeyMismatch, alg)
	}
	if alg.family() == familyHMAC {
		return nil, fmt.Errorf("%w: %s keys are secrets, not PEM keys; use NewHMACKey or KeyFromString", ErrKeyMismatch, alg)
	}
	block, err := pemKeyBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	var parsed any
	switch block.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		parsed, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		return nil, fmt.Errorf("%w: PEM block is a certificate; extract its public key (openssl x509 -pubkey -noout) and pass that", ErrConfig)
	default:
		return nil, fmt.Errorf("%w: unsupported PEM block type %q", ErrConfig, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, strings.ToLower(block.Type), err)
	}
	switch k := parsed.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return NewSigningKey(kid, alg, k.(crypto.Signer))
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return withDefaultID(newVerificationKey(kid, alg, k))
	}
	return nil, fmt.Errorf("%w: %s needs an RSA, ECDSA or Ed25519 key, the PEM holds %T", ErrKeyMismatch, alg, parsed)
}

// pemKeyBlock returns the single key block of data. Text before the first
// block is ignored, as encoding/pem does; anything but whitespace after it
// is refused, so that a file with two keys is never read as its first.
func pemKeyBlock(data []byte) (*pem.Block, error) {
	rest := data
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: no PEM block found", ErrConfig)
		}
		rest = next
		if block.Type == "EC PARAMETERS" {
			continue
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("%w: encrypted PEM keys are not supported; decrypt the key first", ErrConfig)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			if extra, _ := pem.Decode(rest); extra != nil {
				return nil, fmt.Errorf("%w: the PEM input holds more than one block (%s, then %s)", ErrConfig, block.Type, extra.Type)
			}
			return nil, fmt.Errorf("%w: unexpected data after the PEM block", ErrConfig)
		}
		return block, nil
	}
}

// KeyFromString builds a key from text as it is kept in an environment
// variable or a secret store, such as the JWT_SECRET of the FastAPI
// recipe: kid, alg and s as for the other constructors, so that
// KeyFromString("", jwt.HS256, os.Getenv("JWT_SECRET")) gives the key
// every other service reading the same variable uses.
//
// For HS256, HS384 and HS512 the secret is the bytes of s as they are,
// the reading of python-jose, PyJWT and most other libraries: a value is
// one key everywhere. s must be at least as long as the hash output (32,
// 48 or 64 bytes; [ErrWeakKey]). Leading or trailing white space, which
// echo and editors add as a final newline, is refused with [ErrConfig]
// rather than kept (a key other services do not have) or trimmed (a key
// other than the one written). A value that starts like PEM is refused
// too, and so is a published example secret such as the FastAPI recipe's,
// also with white space, quotes or another letter case ([ErrWeakKey]).
// Generate a secret with, for example, openssl rand -hex 32.
//
// For RS*, PS*, ES* and EdDSA s is a PEM key as accepted by
// [ParseKeyPEM]. Because environment files and container platforms often
// cannot hold newlines, a value without line breaks but with literal \n
// sequences has them turned into line breaks first.
//
// An empty s fails with [ErrConfig]. Error messages never include s.
func KeyFromString(kid string, alg Algorithm, s string) (*Key, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: the key is empty", ErrConfig)
	}
	if alg.family() == familyHMAC {
		if isPublishedSecret([]byte(s)) {
			return nil, fmt.Errorf("%w: the secret is a published example secret that anyone can sign with; generate your own (e.g. openssl rand -hex 32)", ErrWeakKey)
		}
		if strings.TrimSpace(s) != s {
			return nil, fmt.Errorf("%w: the HMAC secret has leading or trailing white space (a newline from echo or an editor?); remove it", ErrConfig)
		}
		if strings.HasPrefix(s, "-----BEGIN") {
			return nil, fmt.Errorf("%w: an HMAC secret is a string, not a PEM block", ErrConfig)
		}
		secret := []byte(s)
		defer clear(secret)
		return NewHMACKey(kid, alg, secret)
	}
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") && strings.Contains(s, `\n`) {
		s = strings.ReplaceAll(s, `\n`, "\n")
	}
	return ParseKeyPEM(kid, alg, []byte(s))
}

// MarshalPEM returns the key in PEM form: the private key as PKCS #8
// ("PRIVATE KEY") for a signing key, or the public key as PKIX ("PUBLIC
// KEY") for a verification-only key. It fails with [ErrKeyMismatch] for
// HMAC keys and for signers that do not expose their private key (HSM or
// KMS handles). The output of a signing key is secret: write it with
// restrictive permissions.
func (k *Key) MarshalPEM() ([]byte, error) {
	if k.IsSymmetric() {
		return nil, fmt.Errorf("%w: HMAC secrets have no PEM form", ErrKeyMismatch)
	}
	if !k.CanSign() {
		return k.publicPEM()
	}
	switch k.signer.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: the private key (%T) cannot be exported", ErrKeyMismatch, k.signer)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.signer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyMismatch, err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	return out, nil
}

// publicPEM returns the public key as PKIX PEM ("PUBLIC KEY"). It fails
// with [ErrKeyMismatch] for HMAC keys, which have no public half.
func (k *Key) publicPEM() ([]byte, error) {
	if k.public == nil {
		return nil, fmt.Errorf("%w: HMAC keys have no public key", ErrKeyMismatch)
	}
	der, err := x509.MarshalPKIXPublicKey(k.public)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyMismatch, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
