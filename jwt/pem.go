package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxKeyFileBytes caps what LoadKeyFile reads. An RSA 8192 private key in
// PEM is about 6.5 KiB.
const maxKeyFileBytes = 64 << 10

// ParseKeyPEM builds a key bound to alg from one PEM-encoded key.
//
// Private keys give a signing key: "RSA PRIVATE KEY" (PKCS #1), "PRIVATE
// KEY" (PKCS #8: RSA, ECDSA or Ed25519) and "EC PRIVATE KEY" (SEC 1; an
// "EC PARAMETERS" block before it, as openssl ecparam writes, is skipped).
// Public keys give a verification-only key: "PUBLIC KEY" (PKIX) and "RSA
// PUBLIC KEY" (PKCS #1).
//
// The same checks as [NewSigningKey] apply: the key type must fit alg
// ([ErrKeyMismatch]) and RSA moduli need at least [MinRSABits] bits
// ([ErrWeakKey]). Encrypted PEM, certificates, several keys in one input,
// HMAC algorithms and anything that is not a PEM key fail with
// [ErrConfig] or [ErrKeyMismatch]. HMAC secrets are loaded with
// [NewHMACKey] or [KeyFromEnv].
func ParseKeyPEM(kid string, alg Algorithm, pemBytes []byte) (*Key, error) {
	if !alg.Valid() {
		return nil, fmt.Errorf("%w: unsupported algorithm %q", ErrKeyMismatch, alg)
	}
	if alg.family() == familyHMAC {
		return nil, fmt.Errorf("%w: %s keys are secrets, not PEM keys; use NewHMACKey or KeyFromEnv", ErrKeyMismatch, alg)
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
		return NewVerificationKey(kid, alg, k)
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

// LoadKeyFile reads a PEM key file (at most 64 KiB) and parses it with
// [ParseKeyPEM].
func LoadKeyFile(kid string, alg Algorithm, path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: key file: %w", ErrConfig, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: key file %s: %w", ErrConfig, path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("%w: key file %s is larger than %d bytes", ErrConfig, path, maxKeyFileBytes)
	}
	k, err := ParseKeyPEM(kid, alg, data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// KeyFromEnv reads a key from the environment variable envVar.
//
// For RS*, PS*, ES* and EdDSA the value is a PEM key as accepted by
// [ParseKeyPEM]. Because environment files and container platforms often
// cannot hold newlines, a value without line breaks but with literal `\n`
// sequences has them turned into line breaks first.
//
// For HS256, HS384 and HS512 the value is the secret encoded in base64 or
// base64url, with or without padding (e.g. the output of
// `openssl rand -base64 32`). The decoded secret must be at least as long
// as the hash output ([ErrWeakKey]). Plain text is not accepted: a
// password is not a key (RFC 8725 §3.5), and decoding makes the length
// check mean bytes of key material.
//
// An unset or empty variable fails with [ErrConfig]. Error messages name
// the variable but never include its value.
func KeyFromEnv(kid string, alg Algorithm, envVar string) (*Key, error) {
	val, ok := os.LookupEnv(envVar)
	val = strings.TrimSpace(val)
	if !ok || val == "" {
		return nil, fmt.Errorf("%w: environment variable %s is not set", ErrConfig, envVar)
	}
	if alg.family() == familyHMAC {
		secret, err := decodeSecret(val)
		if err != nil {
			return nil, fmt.Errorf("%w: environment variable %s: %w", ErrConfig, envVar, err)
		}
		k, err := NewHMACKey(kid, alg, secret)
		clear(secret)
		if err != nil {
			return nil, fmt.Errorf("environment variable %s: %w", envVar, err)
		}
		return k, nil
	}
	if !strings.ContainsAny(val, "\r\n") && strings.Contains(val, `\n`) {
		val = strings.ReplaceAll(val, `\n`, "\n")
	}
	k, err := ParseKeyPEM(kid, alg, []byte(val))
	if err != nil {
		return nil, fmt.Errorf("environment variable %s: %w", envVar, err)
	}
	return k, nil
}

// decodeSecret accepts standard and URL-safe base64, padded or not.
func decodeSecret(s string) ([]byte, error) {
	if strings.HasPrefix(s, "-----BEGIN") {
		return nil, errors.New("an HMAC secret must be base64 encoded, not PEM")
	}
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, errors.New("the HMAC secret is not valid base64 or base64url")
	}
	return b, nil
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
		return k.PublicPEM()
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

// PublicPEM returns the public key as PKIX PEM ("PUBLIC KEY"). It fails
// with [ErrKeyMismatch] for HMAC keys, which have no public half.
func (k *Key) PublicPEM() ([]byte, error) {
	if k.public == nil {
		return nil, fmt.Errorf("%w: HMAC keys have no public key", ErrKeyMismatch)
	}
	der, err := x509.MarshalPKIXPublicKey(k.public)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyMismatch, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
