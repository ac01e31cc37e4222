// Package tokenid makes the random identifiers of tokens and refresh
// families, shared by package jwt (jti) and the authorization server
// (family IDs).
package tokenid

import (
	"crypto/rand"
	"encoding/base64"
)

// New returns 128 random bits, base64url encoded without padding.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
