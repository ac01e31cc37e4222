package password

import "errors"

// Sentinel errors. Every error that [Hasher.Compare] and [Hasher.Validate]
// return, and every error [Hasher.Hash] returns for its input or
// configuration, is or wraps with %w exactly one of these, so callers
// branch with errors.Is and never on message text. No message contains a
// password or a stored hash.
var (
	// ErrMismatch reports a password that does not match the stored hash.
	ErrMismatch = errors.New("password: mismatch")
	// ErrEmpty reports an empty password, at hashing and at comparison.
	ErrEmpty = errors.New("password: empty")
	// ErrTooLong reports a password over the scheme's input limit:
	// [MaxBcryptBytes] for bcrypt, [MaxArgon2Bytes] for Argon2id. The
	// password is refused, never truncated.
	ErrTooLong = errors.New("password: too long")
	// ErrInvalidPassword reports a password containing a NUL byte, which C
	// bcrypt implementations (and so passlib) treat as the end of input.
	ErrInvalidPassword = errors.New("password: invalid password")
	// ErrMalformedHash reports a stored hash that is not well formed for its
	// scheme: wrong length, alphabet, encoding or layout, or Argon2
	// parameters that the algorithm itself does not allow.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupportedHash reports a well-formed hash identifier of a scheme or
	// variant this package does not verify ($2x$, $2$, $1$, $argon2i$,
	// Argon2 versions other than 19, ...), or a [Scheme] value it does not
	// know in a [Hasher] configuration.
	ErrUnsupportedHash = errors.New("password: unsupported hash")
	// ErrCost reports a work factor or size parameter out of range: in a
	// [Hasher] configuration, or in a stored hash whose cost exceeds the
	// ceilings that protect the server from planted expensive hashes.
	ErrCost = errors.New("password: cost out of range")
)
