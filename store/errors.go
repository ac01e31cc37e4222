package store

import "errors"

// Sentinel errors shared by every backend. Backends wrap them, keeping the
// driver's error as the cause, so callers test with errors.Is.
var (
	// ErrNotFound reports an unknown user, token or family.
	ErrNotFound = errors.New("store: not found")
	// ErrExists reports a create whose key is already taken.
	ErrExists = errors.New("store: already exists")
	// ErrReused reports a second use of a consumed refresh token; the
	// family has been revoked as a consequence.
	ErrReused = errors.New("store: refresh token reused")
	// ErrRevoked reports a token or family that was revoked.
	ErrRevoked = errors.New("store: revoked")
	// ErrExpired reports a token or family past its expiry.
	ErrExpired = errors.New("store: expired")
	// ErrSuperseded reports a rotation older than the one that already
	// consumed its token (its Now is before that rotation's): a request
	// that a store stall delivered late, after the client's retry. Nothing
	// changed; the family stays as the later rotation left it.
	ErrSuperseded = errors.New("store: rotation superseded by a later one")
	// ErrUnavailable reports that the backend could not answer (network,
	// server down, timeout). The operation's outcome is unknown to the
	// caller, who must fail closed. A cancelled or expired context also
	// yields an error wrapping ErrUnavailable and ctx.Err().
	ErrUnavailable = errors.New("store: backend unavailable")
)
