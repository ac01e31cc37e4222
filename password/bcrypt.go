package password

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// A bcrypt hash is "$2b$" + two-digit cost + "$" + 22 characters of salt
// (16 bytes) + 31 characters of checksum (23 bytes), in bcrypt's own
// base64 alphabet without padding: 60 bytes in all.
const (
	bcryptHashLen     = 60
	bcryptSaltBytes   = 16
	bcryptDigestBytes = 23
)

var bcryptEncoding = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").
	WithPadding(base64.NoPadding)

// hashBcrypt hashes a password already checked by checkPassword at a cost
// already checked by config.
func hashBcrypt(password []byte, cost int) (string, error) {
	out, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		// Unreachable: length and cost were checked, and crypto/rand
		// does not fail. Mapped anyway so that callers see a sentinel.
		var costErr bcrypt.InvalidCostError
		switch {
		case errors.Is(err, bcrypt.ErrPasswordTooLong):
			return "", fmt.Errorf("%w: %w", ErrTooLong, err)
		case errors.As(err, &costErr):
			return "", fmt.Errorf("%w: %w", ErrCost, err)
		}
		return "", fmt.Errorf("password: bcrypt: %w", err)
	}
	// x/crypto writes the "$2a$" identifier. For inputs of at most 72
	// bytes, 2a and 2b compute the same digest (2b only fixed a length
	// wraparound past 255 bytes), so the identifier is rewritten to the
	// "$2b$" that passlib and OpenBSD write.
	if len(out) != bcryptHashLen || string(out[:4]) != "$2a$" {
		return "", fmt.Errorf("%w: unexpected bcrypt output layout", ErrMalformedHash)
	}
	out[2] = 'b'
	return string(out), nil
}

// parseBcrypt parses a hash whose identifier is 2a, 2b or 2y.
func parseBcrypt(s string) (*parsedHash, error) {
	if len(s) != bcryptHashLen {
		return nil, fmt.Errorf("%w: bcrypt hash of %d bytes, want %d", ErrMalformedHash, len(s), bcryptHashLen)
	}
	d1, d2 := s[4], s[5]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' || s[6] != '$' {
		return nil, fmt.Errorf("%w: bcrypt cost is not two digits", ErrMalformedHash)
	}
	for i := 7; i < len(s); i++ {
		if !isBcryptChar(s[i]) {
			return nil, fmt.Errorf("%w: bcrypt salt or checksum outside the bcrypt alphabet", ErrMalformedHash)
		}
	}
	cost := int(d1-'0')*10 + int(d2-'0')
	if cost < minStoredCost || cost > MaxCost {
		return nil, fmt.Errorf("%w: stored bcrypt cost %d outside %d..%d", ErrCost, cost, minStoredCost, MaxCost)
	}
	return &parsedHash{encoded: s, scheme: Bcrypt, minor: s[2], cost: cost}, nil
}

func isBcryptChar(c byte) bool {
	return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}

// verifyBcrypt computes bcrypt at the stored cost and salt. x/crypto
// compares the digests in constant time; the password's length has been
// checked by the caller, as x/crypto would silently use only its first 72
// bytes.
func verifyBcrypt(p *parsedHash, password []byte) bool {
	return bcrypt.CompareHashAndPassword([]byte(p.encoded), password) == nil
}

// dummyBcrypt returns a well-formed "$2b$" hash at cost with a random salt
// and a random checksum. Comparing against it costs exactly what comparing
// against a real hash of that cost costs, and no password matches it.
func dummyBcrypt(cost int) string {
	var raw [bcryptSaltBytes + bcryptDigestBytes]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand since Go 1.24)
	return fmt.Sprintf("$2b$%02d$%s%s", cost,
		bcryptEncoding.EncodeToString(raw[:bcryptSaltBytes]),
		bcryptEncoding.EncodeToString(raw[bcryptSaltBytes:]))
}
