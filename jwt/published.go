package jwt

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// recipeSecret is the example secret of FastAPI's OAuth2-with-JWT recipe,
// copied into countless services.
const recipeSecret = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"

// publishedSecrets holds the SHA-256 of example HMAC secrets that tutorials
// print and repositories copy. Anyone can sign tokens with one, so no key
// is built from them, whatever their length.
var publishedSecrets = func() [][sha256.Size]byte {
	recipeBytes, _ := hex.DecodeString(recipeSecret)
	var sums [][sha256.Size]byte
	for _, s := range []string{
		recipeSecret,
		string(recipeBytes),                      // the same, read as the 32 bytes it encodes
		"your-256-bit-secret",                    // jwt.io's
		"a-string-secret-at-least-256-bits-long", // jwt.io's, later
		"your-secret-key",
		"your_secret_key",
		"secret",
		"changethis",
		"changeme",
		"super-secret",
		"supersecret",
		"supersecretkeythatisatleast32bytes",
	} {
		sums = append(sums, sha256.Sum256([]byte(s)))
	}
	return sums
}()

// isPublishedSecret reports whether secret is a published example secret,
// as it is or in a common variation: surrounding white space or quotes
// (from a .env file or echo), or another letter case.
func isPublishedSecret(secret []byte) bool {
	norm := strings.ToLower(strings.Trim(strings.TrimSpace(string(secret)), `"'`))
	found := 0
	for _, c := range [][]byte{secret, []byte(norm)} {
		sum := sha256.Sum256(c)
		for _, p := range publishedSecrets {
			found |= subtle.ConstantTimeCompare(sum[:], p[:])
		}
	}
	return found == 1
}
