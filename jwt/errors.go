package jwt

import "errors"

// Sentinel errors. Every error returned by [Verifier.VerifyAccess] and
// [Verifier.VerifyRefresh] wraps exactly one of the verification sentinels
// (ErrMalformed through ErrNoKeys), so callers branch with errors.Is and
// never on message text.
var (
	// ErrMalformed reports a token that is not a strict compact JWS: wrong
	// length, segment count or alphabet, non-canonical base64url, or
	// header or claims that are not one well-formed JSON object.
	ErrMalformed = errors.New("jwt: malformed token")
	// ErrHeader reports a protected header member jwtkit never honours
	// (crit, b64, zip, jku, x5u, jwk, x5c, cty and JWE members).
	ErrHeader = errors.New("jwt: header member not allowed")
	// ErrAlgorithm reports a missing alg header or one that differs from
	// the algorithm of the key that verifies the token.
	ErrAlgorithm = errors.New("jwt: algorithm not allowed")
	// ErrUnknownKey reports a kid that names no key of the key source, or
	// a missing kid where the key source holds more than one key.
	ErrUnknownKey = errors.New("jwt: unknown key")
	// ErrSignature reports a signature that does not verify.
	ErrSignature = errors.New("jwt: invalid signature")
	// ErrExpired reports a token at or past its exp (plus leeway).
	ErrExpired = errors.New("jwt: token expired")
	// ErrNotYetValid reports a token before its nbf (minus leeway).
	ErrNotYetValid = errors.New("jwt: token not valid yet")
	// ErrIssuedInFuture reports an iat later than now (plus leeway).
	ErrIssuedInFuture = errors.New("jwt: token issued in the future")
	// ErrLifetime reports a token whose lifetime exceeds the verifier's
	// maximum for its kind.
	ErrLifetime = errors.New("jwt: token lifetime too long")
	// ErrIssuer reports a missing or different iss.
	ErrIssuer = errors.New("jwt: wrong issuer")
	// ErrAudience reports a missing aud, or one that does not contain the
	// verifier's audience, or an aud on a token presented to a verifier
	// that names no audience (and does not set AnyAudience).
	ErrAudience = errors.New("jwt: wrong audience")
	// ErrTokenUse reports a token of the wrong kind: a refresh token
	// presented as an access token, or the other way round.
	ErrTokenUse = errors.New("jwt: wrong token use")
	// ErrMissingClaim reports that a required claim is absent or empty.
	ErrMissingClaim = errors.New("jwt: required claim missing")
	// ErrInvalidClaim reports a claim of the wrong JSON type or form.
	ErrInvalidClaim = errors.New("jwt: invalid claim")
	// ErrNoKeys reports that the key source has no usable keys (for
	// example a remote JWKS that has never been fetched successfully).
	ErrNoKeys = errors.New("jwt: keys unavailable")

	// ErrWeakKey reports a key below jwtkit's floor: an HMAC secret
	// shorter than the hash output, an RSA modulus under 2048 bits.
	ErrWeakKey = errors.New("jwt: key too weak")
	// ErrKeyMismatch reports a key whose type does not fit its algorithm,
	// or a JWKS document mixing HMAC secrets with public keys.
	ErrKeyMismatch = errors.New("jwt: key does not fit algorithm")
	// ErrConfig reports an invalid Issuer or Verifier configuration.
	ErrConfig = errors.New("jwt: invalid configuration")
)

// ErrDiscovery reports that [DiscoverKeySet] could not read or accept an
// issuer's metadata.
var ErrDiscovery = errors.New("jwt: issuer metadata unusable")

// verificationSentinels lists every error a verification may wrap. The fuzz
// tests hold the verifier to it.
var verificationSentinels = []error{
	ErrMalformed, ErrHeader, ErrAlgorithm, ErrUnknownKey, ErrSignature,
	ErrExpired, ErrNotYetValid, ErrIssuedInFuture, ErrLifetime, ErrIssuer,
	ErrAudience, ErrTokenUse, ErrMissingClaim, ErrInvalidClaim, ErrNoKeys,
}

// verifyError carries a sentinel and a fixed detail without formatting on
// the hot path. Its message never includes token data.
type verifyError struct {
	sentinel error
	detail   string
	cause    error
}

func (e *verifyError) Error() string {
	msg := e.sentinel.Error()
	if e.detail != "" {
		msg += ": " + e.detail
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *verifyError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.sentinel, e.cause}
	}
	return []error{e.sentinel}
}

func fail(sentinel error, detail string) error {
	return &verifyError{sentinel: sentinel, detail: detail}
}
