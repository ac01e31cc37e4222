package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id hashes use the PHC string format as argon2-cffi, passlib and
// pwdlib write it:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
//
// with salt and hash in the standard base64 alphabet without padding.
// Exactly these fields, in this order, are accepted: no optional keyid or
// data parameters, no version-less (0x10) hashes.

// argon2Version is the only Argon2 version accepted (0x13).
const argon2Version = argon2.Version

// Bounds on stored Argon2id hashes that come from the algorithm: below
// them the hash is malformed. The ceilings are shared with new hashes.
const (
	minStoredArgon2SaltLen = 8  // RFC 9106 minimum
	minStoredArgon2KeyLen  = 16 // the shortest default among common producers
)

var argon2Encoding = base64.RawStdEncoding.Strict()

// hashArgon2id hashes a password already checked by checkPassword with
// parameters already checked by config.
func hashArgon2id(password []byte, a Argon2Params) string {
	salt := make([]byte, a.SaltLen)
	_, _ = rand.Read(salt) // never fails (crypto/rand since Go 1.24)
	key := argon2.IDKey(password, salt, a.Time, a.Memory, a.Threads, a.KeyLen)
	return formatArgon2id(a, salt, key)
}

func formatArgon2id(a Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2Version,
		a.Memory, a.Time, a.Threads,
		argon2Encoding.EncodeToString(salt), argon2Encoding.EncodeToString(key))
}

// dummyArgon2id returns a well-formed hash with parameters a, a random salt
// and a random key: comparing against it costs what comparing against a
// real hash with these parameters costs, and no password matches it.
func dummyArgon2id(a Argon2Params) string {
	raw := make([]byte, a.SaltLen+a.KeyLen)
	_, _ = rand.Read(raw) // never fails (crypto/rand since Go 1.24)
	return formatArgon2id(a, raw[:a.SaltLen], raw[a.SaltLen:])
}

// parseArgon2id parses a hash whose identifier is argon2id.
func parseArgon2id(s string) (*parsedHash, error) {
	// s = "$argon2id$" + version + "$" + params + "$" + salt + "$" + key
	f := strings.Split(s, "$")
	if len(f) == 5 && strings.HasPrefix(f[2], "m=") {
		return nil, fmt.Errorf("%w: argon2id without version (0x10); only v=%d is supported", ErrUnsupportedHash, argon2Version)
	}
	if len(f) != 6 {
		return nil, fmt.Errorf("%w: argon2id hash needs $v=$m=,t=,p=$salt$hash", ErrMalformedHash)
	}
	ver, ok := cutUint(f[2], "v=")
	if !ok {
		return nil, fmt.Errorf("%w: argon2id version", ErrMalformedHash)
	}
	if ver != argon2Version {
		return nil, fmt.Errorf("%w: argon2id version %d; only v=%d is supported", ErrUnsupportedHash, ver, argon2Version)
	}
	ps := strings.Split(f[3], ",")
	if len(ps) != 3 {
		return nil, fmt.Errorf("%w: argon2id parameters must be m=,t=,p=", ErrMalformedHash)
	}
	m, okM := cutUint(ps[0], "m=")
	t, okT := cutUint(ps[1], "t=")
	p, okP := cutUint(ps[2], "p=")
	if !okM || !okT || !okP {
		return nil, fmt.Errorf("%w: argon2id parameters must be m=,t=,p=", ErrMalformedHash)
	}
	salt, err := argon2Encoding.DecodeString(f[4])
	if err != nil {
		return nil, fmt.Errorf("%w: argon2id salt: %w", ErrMalformedHash, err)
	}
	key, err := argon2Encoding.DecodeString(f[5])
	if err != nil {
		return nil, fmt.Errorf("%w: argon2id hash: %w", ErrMalformedHash, err)
	}
	// Limits of the algorithm first: the hash cannot be valid.
	switch {
	case t < 1 || p < 1 || m < 8*p:
		return nil, fmt.Errorf("%w: argon2id needs t>=1, p>=1 and m>=8p", ErrMalformedHash)
	case len(salt) < minStoredArgon2SaltLen || len(salt) > maxArgon2SaltLen:
		return nil, fmt.Errorf("%w: argon2id salt of %d bytes outside %d..%d", ErrMalformedHash, len(salt), minStoredArgon2SaltLen, maxArgon2SaltLen)
	case len(key) < minStoredArgon2KeyLen || len(key) > maxArgon2KeyLen:
		return nil, fmt.Errorf("%w: argon2id hash of %d bytes outside %d..%d", ErrMalformedHash, len(key), minStoredArgon2KeyLen, maxArgon2KeyLen)
	}
	// Then the ceilings: valid, but too expensive to compute here.
	if m > maxArgon2Memory || t > maxArgon2Time || p > maxArgon2Threads {
		return nil, fmt.Errorf("%w: stored argon2id m=%d,t=%d,p=%d above m=%d,t=%d,p=%d",
			ErrCost, m, t, p, maxArgon2Memory, maxArgon2Time, maxArgon2Threads)
	}
	return &parsedHash{
		encoded: s,
		scheme:  Argon2id,
		argon2: Argon2Params{
			Memory:  uint32(m),
			Time:    uint32(t),
			Threads: uint8(p),
			SaltLen: uint32(len(salt)),
			KeyLen:  uint32(len(key)),
		},
		salt: salt,
		key:  key,
	}, nil
}

// cutUint parses prefix followed by a canonical decimal number: digits
// only, no sign, no leading zero, at most 10 digits.
func cutUint(s, prefix string) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || len(digits) == 0 || len(digits) > 10 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// verifyArgon2id recomputes the key with the stored parameters and compares
// it with the stored key in constant time.
func verifyArgon2id(p *parsedHash, password []byte) bool {
	a := p.argon2
	key := argon2.IDKey(password, p.salt, a.Time, a.Memory, a.Threads, a.KeyLen)
	return subtle.ConstantTimeCompare(key, p.key) == 1
}
