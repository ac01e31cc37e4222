// Package store defines the storage contract shared by jwtkit's backends:
// user accounts, refresh-token families and revocations. It imports no
// database driver; the backends live in sub-packages (memstore, pgstore,
// redisstore) and all of them pass the conformance suite in storetest.
//
// The interfaces are small role interfaces. A component asks only for the
// role it uses: the login handler needs [Users], the refresh grant needs
// [RefreshTokens], and the bearer middleware needs [Revocations].
//
// # Identifiers
//
// Refresh-token records are keyed by an identifier derived from the token's
// jti (see [TokenID]), never by the raw token string: a token whose base64
// encoding was altered still maps to the same record, and a dump of the
// store is not a set of usable tokens.
//
// # Time
//
// Every time a backend compares against comes from the caller (the Now
// fields of the request structs); backends never read their own clock for
// decisions, so all instances of a service judge with one clock and tests
// can inject time. Backends may use their own clock for housekeeping only
// (Redis TTLs, sweeps), with a margin.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// User is an account as the login flow sees it.
type User struct {
	// ID is the immutable identifier of the account. Tokens name users by
	// ID in their sub claim, so a deleted and re-created username never
	// inherits old tokens.
	ID string
	// Username is the login name, compared exactly (no case folding).
	Username string
	// PasswordHash is the encoded hash (bcrypt or argon2id, see package
	// password). It never leaves the server.
	PasswordHash string
	// Disabled accounts can neither log in nor use tokens they hold.
	Disabled bool
	// Scopes lists the scopes this user may be granted. A token request
	// for a scope outside this list is refused.
	Scopes []string
	// Profile holds optional display fields (full_name, email, …).
	Profile map[string]string
	// CreatedAt is when the account was created.
	CreatedAt time.Time
}

// Users looks up accounts. Implementations return an error wrapping
// [ErrNotFound] for unknown users and [ErrUnavailable] when the backend
// cannot answer. UserByUsername matches the username exactly: the login
// throttle counts failures per username as submitted, so a lookup that
// folds case (citext, a case-insensitive collation) would give "Alice"
// and "alice" a failure budget each; canonicalise usernames before they
// reach the token endpoint if yours does.
type Users interface {
	UserByUsername(ctx context.Context, username string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
}

// UserWriter creates accounts and updates password hashes (used when a
// login upgrades an outdated hash).
type UserWriter interface {
	// CreateUser stores u. It returns an error wrapping [ErrExists] when
	// the ID or the username is taken.
	CreateUser(ctx context.Context, u User) error
	// SetPasswordHash replaces the hash of user id. It returns an error
	// wrapping [ErrNotFound] for an unknown id.
	SetPasswordHash(ctx context.Context, id, hash string) error
	// CompareAndSwapPasswordHash replaces the hash of user id with new
	// only if it is still old, in one atomic step, and reports whether
	// it did. A login that upgrades an outdated hash uses it, so that a
	// password changed meanwhile is never overwritten with a hash of the
	// old password. An unknown id is not swapped and is not an error.
	CompareAndSwapPasswordHash(ctx context.Context, id, old, new string) (swapped bool, err error)
}

// RefreshToken is the stored record of one refresh token.
type RefreshToken struct {
	// ID is derived from the token's jti with [TokenID].
	ID string
	// FamilyID names the login session the token belongs to.
	FamilyID string
	// Subject is the user ID the token was issued to.
	Subject string
	// IssuedAt is when the token was issued.
	IssuedAt time.Time
	// ExpiresAt is when this token expires. Backends clamp it to the
	// family's absolute expiry.
	ExpiresAt time.Time
}

// Family describes a login session: all refresh tokens descended from one
// login.
type Family struct {
	ID      string
	Subject string
	// CreatedAt is the login time, with sub-second precision.
	CreatedAt time.Time
	// ExpiresAt is the absolute end of the session; rotation never
	// extends it. Access tokens issued for the family must not outlive
	// it (issuers clamp their exp).
	ExpiresAt time.Time
}

// Rotation asks a backend to consume one refresh token and store its
// successor, atomically.
type Rotation struct {
	// PresentedID is the [TokenID] of the refresh token the client sent.
	PresentedID string
	// Subject and FamilyID are the sub and family claims of the presented
	// (signature-verified) token. A record whose subject or family differs
	// is treated as not found.
	Subject  string
	FamilyID string
	// Next is the successor; its ID, FamilyID and Subject must be set.
	Next RefreshToken
	// Now is the time of the request.
	Now time.Time
	// Grace, when positive, lets the immediately preceding token of the
	// family be presented again for this long after it was rotated (a
	// client that lost the response retries), as long as its successor
	// has not rotated: once it has, the preceding token is an older one.
	// The retry replaces the family's current token with Next; it never
	// creates a second live branch. Zero disables the window: any second
	// use is reuse.
	Grace time.Duration
}

// RefreshTokens stores refresh-token families. Every method is atomic:
// concurrent calls behave as if run one after another.
//
// A family's state has a fixed size, however often it rotates: its
// current token and the ID of the one before it. Older tokens need no
// record, because callers present only tokens whose signature they
// verified, and every refresh token the server signs was its family's
// current token when it was handed out. So a token that names a family
// but is neither its current nor its previous token is an older one (or
// one a grace retry replaced): presenting it is reuse.
type RefreshTokens interface {
	// CreateFamily starts a new family with its first token. It returns
	// an error wrapping [ErrExists] if the family ID is taken. Token IDs
	// are random and need only be unique within their family.
	CreateFamily(ctx context.Context, f Family, first RefreshToken) error

	// Rotate consumes the token r.PresentedID and stores r.Next as the
	// family's current token, in one atomic step, and returns the stored
	// successor (ExpiresAt clamped to the family expiry). Errors:
	//   - [ErrNotFound]: no such family, or a family of another subject
	//     (fail closed: nothing is created);
	//   - [ErrReused]: the token is not the family's current token and
	//     is not covered by an exact repeat or the grace window; the
	//     whole family is now revoked;
	//   - [ErrRevoked]: the family was revoked (logout, reuse, or a
	//     subject-wide revocation whose cut-off is later than the
	//     family's creation);
	//   - [ErrExpired]: the presented token or its family has expired;
	//   - [ErrSuperseded]: the presented token is the previous one and
	//     r.Now is before the rotation that consumed it: a request
	//     delivered late, after a retry that won. Nothing changes, so the
	//     retry's token stays live (only with a grace window; without one
	//     this is reuse);
	//   - [ErrUnavailable]: the backend could not answer; nothing is
	//     known to have changed.
	//
	// Repeating a successful rotation with the same r.Next.ID returns the
	// same successor, so a client library that resends a request after a
	// lost reply does not trigger reuse detection.
	//
	// Preconditions: r.Next.ExpiresAt is set, and r.Next.FamilyID and
	// r.Next.Subject equal r.FamilyID and r.Subject. Breaking one returns
	// an error that wraps none of the sentinels.
	Rotate(ctx context.Context, r Rotation) (RefreshToken, error)

	// RevokeFamily revokes the family familyID of subject: none of its
	// tokens rotates again and, where the same backend serves
	// [Revocations], its access tokens are reported revoked. Revoking an
	// unknown or already revoked family is not an error. (Families are
	// addressed with their subject so that a sharded backend can keep a
	// subject's records together.)
	RevokeFamily(ctx context.Context, subject, familyID string) error
}

// TokenRef identifies an access token for a revocation check.
type TokenRef struct {
	// ID is the token's jti.
	ID string
	// Subject is the token's sub.
	Subject string
	// FamilyID is the refresh family the token was issued with, or "".
	FamilyID string
	// IssuedAt is the token's iat (whole seconds on the wire).
	IssuedAt time.Time
}

// Revocations records revoked access tokens, revoked families and
// per-subject cut-offs.
type Revocations interface {
	// RevokeToken denylists the access token t (by t.ID, its jti) until
	// the given time (its exp plus the verifier's leeway). Repeating it is
	// not an error.
	RevokeToken(ctx context.Context, t TokenRef, until time.Time) error

	// RevokeSubject revokes every token issued to subject before at:
	// access tokens with an earlier iat and every family created before
	// at. Tokens and families created at or after at are unaffected. The
	// cut-off is kept for maxAge, the longest lifetime a token of the
	// subject can have; families created before at stay revoked until
	// they expire, however short maxAge is.
	RevokeSubject(ctx context.Context, subject string, at time.Time, maxAge time.Duration) error

	// IsRevoked reports whether the access token t was revoked: by its
	// jti, through its family, or by a subject cut-off C. Because iat has
	// whole-second resolution: a token whose iat is at least one second
	// before C is revoked; if C falls within the second after iat, the
	// token counts as not revoked only when t.FamilyID names an existing
	// family of t.Subject created at or after C. A token naming a family
	// of its subject created before C is revoked whatever its iat. Errors
	// wrap
	// [ErrUnavailable]; a caller must not treat an error as "not
	// revoked".
	IsRevoked(ctx context.Context, t TokenRef) (bool, error)
}

// Sweeper deletes expired state. Backends whose storage expires by itself
// (Redis TTLs) need not implement it.
type Sweeper interface {
	// Sweep deletes records that expired before now, at most limit of
	// them (0: a backend default), and returns how many it deleted. A
	// record is a denylist entry, a subject cut-off, or a family
	// together with all its tokens: a family counts once, however many
	// tokens it has, and is deleted whole or not at all. Both the limit
	// and the returned count are in these units. It keeps a family
	// until the family expires, because reuse detection needs it.
	// Callers pass a now that lags the clock by at
	// least the verifiers' leeway, so that a revoked family outlives
	// every access token it revokes.
	Sweep(ctx context.Context, now time.Time, limit int) (int, error)
}

// TokenID derives the storage identifier of a refresh token from its jti:
// the unpadded base64url SHA-256 of the jti. Backends never see the jti
// itself, so the store holds nothing a client could present.
func TokenID(jti string) string {
	sum := sha256.Sum256([]byte(jti))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
