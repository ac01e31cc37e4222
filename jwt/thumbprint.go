package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
)

// Thumbprint returns the key's RFC 7638 JWK thumbprint: the SHA-256 hash
// of the JWK's required members in lexicographic order and without
// whitespace (EC: crv, kty, x, y; RSA: e, kty, n; OKP: crv, kty, x; oct:
// k, kty), base64url encoded without padding.
//
// It is the default key ID of asymmetric keys: NewSigningKey, ParseKeyPEM
// and GenerateKey given an empty kid use it, so every instance loading the
// same key file publishes the same kid, and the kid can be recomputed from
// the public key alone.
//
// For an HMAC key the thumbprint is a hash of the secret. It is never used
// as a key ID: a kid travels in the header of every token, and a secret
// of little entropy could be guessed offline from a plain hash of it. The
// default key ID of an HMAC key is instead an HMAC-SHA-256, keyed with the
// secret, of a fixed jwtkit label, truncated to 128 bits. Checking a guess
// against it costs one HMAC, exactly what checking the guess against the
// signature of any token already costs, so it tells an attacker nothing a
// token does not. Keep the thumbprint of an HMAC key as secret as the key.
func (k *Key) Thumbprint() string {
	var doc []byte
	switch pub := k.public.(type) {
	case *rsa.PublicKey:
		doc = thumbprintDoc("e", jwkB64(big.NewInt(int64(pub.E)).Bytes()), "kty", "RSA", "n", jwkB64(pub.N.Bytes()))
	case *ecdsa.PublicKey:
		pt, err := pub.Bytes()
		if err != nil {
			return ""
		}
		size := (len(pt) - 1) / 2
		doc = thumbprintDoc("crv", jwkCurveName(pub.Curve), "kty", "EC", "x", jwkB64(pt[1:1+size]), "y", jwkB64(pt[1+size:]))
	case ed25519.PublicKey:
		doc = thumbprintDoc("crv", "Ed25519", "kty", "OKP", "x", jwkB64(pub))
	default:
		secret, _ := k.verifier.([]byte)
		doc = thumbprintDoc("k", jwkB64(secret), "kty", "oct")
	}
	sum := sha256.Sum256(doc)
	return jwkB64(sum[:])
}

// thumbprintDoc writes the members, given as name and value pairs already
// in order, as a JSON object. Names and values are base64url text or fixed
// names, so none needs escaping.
func thumbprintDoc(members ...string) []byte {
	b := []byte{'{'}
	for i := 0; i < len(members); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, members[i]...)
		b = append(b, `":"`...)
		b = append(b, members[i+1]...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// hmacKIDLabel separates the default key ID of an HMAC key from any other
// use of the secret.
const hmacKIDLabel = "jwtkit default key ID v1"

// defaultID returns the key ID a key built without one gets.
func (k *Key) defaultID() string {
	if secret, ok := k.verifier.([]byte); ok {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(hmacKIDLabel))
		return jwkB64(mac.Sum(nil)[:16])
	}
	return k.Thumbprint()
}
