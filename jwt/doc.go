// Package jwt issues and verifies JSON Web Tokens (RFC 7519) for access
// and refresh use.
//
// An [Issuer] and a [Verifier] are built once from a config and then used
// from any number of goroutines:
//
//	key, _ := jwt.NewHMACKey("k1", jwt.HS256, secret)
//	keys, _ := jwt.NewKeySet(key)
//	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://auth.example"})
//	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://auth.example"})
//	tok, _ := iss.IssueAccess(ctx, jwt.Grant{Subject: userID})
//	claims, err := ver.VerifyAccess(ctx, tok.Raw)
//
// Signatures are computed and checked by github.com/lestrrat-go/jwx/v3;
// jwtkit parses the token form, header and claims itself, strictly, and
// keeps jwx types out of its API.
//
// # Keys in a KMS or HSM
//
// [NewSigningKey] takes any crypto.Signer, so a key held by an HSM (over
// PKCS #11) or a cloud KMS signs without its private half entering the
// process. The context given to [Issuer.IssueAccess] and
// [Issuer.IssueRefresh] bounds the signature: an adapter implementing
// [ContextSigner] receives it, and a plain crypto.Signer is abandoned
// when it ends. An adapter for a cloud KMS is a few lines: Public returns
// the key's public half, SignContext sends the digest to the KMS's sign
// call and returns its result unchanged (see the [ContextSigner] example).
//
// # Changing algorithms
//
// A [KeySet] may hold keys of several algorithms, and
// [NewScheduledKeySet] names the time each signing key takes over, so a
// service moves from HS256 or RS256 to ES256 by publishing the new key,
// switching at a set time on every instance, and retiring the old key
// once its tokens have expired; the README gives the runbook.
//
// # Security
//
// Algorithms are pinned by the keys: every [Key] is bound to one
// algorithm, and the token header never chooses a key type or an
// algorithm. A [KeySet] may hold keys of several algorithms while a
// service moves from one to another; each key still verifies only its own
// algorithm, and HMAC keys are never published. A header alg that is missing or
// differs from the key's algorithm is refused ([ErrAlgorithm]); "none" does
// not exist. Headers that ask for a processing model jwtkit does not
// implement (crit, b64, zip, jku, x5u, jwk, x5c, cty, JWE members) are
// refused ([ErrHeader]); no key is ever fetched or taken from a token.
//
// Tokens are checked for strict compact form before any decoding: at most
// 8 KiB by default, exactly two dots, only base64url characters, canonical
// unpadded encoding. A byte string therefore has exactly one accepted
// encoding, and a token cannot be malleated into another accepted string
// (except where the signature scheme itself allows it, such as ECDSA's
// high-S form; revocation is keyed on jti for that reason).
//
// Header and claims must each be one JSON object with valid UTF-8, no
// duplicate member names (claims: not even differing in case) and nothing
// after the object. exp is required and must be a JSON number; nbf and iat
// are checked when present; exp may not lie further from iat than the
// configured maximum lifetime.
//
// Access tokens carry typ "at+jwt" (RFC 9068) and refresh tokens typ
// "refresh+jwt"; [Verifier.VerifyAccess] and [Verifier.VerifyRefresh] each
// accept only their own kind. Tokens minted by other libraries without
// that marker (typ absent or "JWT", as python-jose writes them) are
// accepted as access tokens only with [VerifierConfig.AllowPlainJWT].
// Identity providers' access tokens, which also place scopes differently
// (scp, arrays) or carry claims a service requires (client_id), are
// described by an [AccessProfile].
//
// A resource server can be given its issuer's identifier alone:
// [DiscoverKeySet] reads the issuer's RFC 8414 (or OpenID Connect)
// metadata, checks that it names the same issuer, and returns a
// [RemoteKeySet] for the published jwks_uri.
//
// HMAC secrets shorter than the hash output and RSA moduli under 2048 bits
// are refused ([ErrWeakKey]).
package jwt
