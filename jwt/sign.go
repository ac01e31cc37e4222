package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// ContextSigner is a [crypto.Signer] whose signing can be cancelled: a
// key held by a cloud KMS or a network HSM, where each signature is a
// remote call. An [Issuer] passes the context of IssueAccess and
// IssueRefresh to SignContext, so a request deadline or a client that
// went away ends the call.
//
// SignContext has the contract of crypto.Signer's Sign without the
// random source, which stays inside the key manager:
//   - RS256, RS384, RS512: digest is the SHA-2 hash of the signing input
//     and opts is the crypto.Hash; the result is the PKCS #1 v1.5
//     signature.
//   - PS256, PS384, PS512: as above, opts is an *rsa.PSSOptions with
//     SaltLength rsa.PSSSaltLengthEqualsHash (what RFC 7518 §3.5 needs).
//   - ES256, ES384, ES512: digest is the hash and the result is the ASN.1
//     DER signature, as ecdsa.PrivateKey.Sign returns it; the Issuer
//     converts it to the fixed-size JWS form.
//   - EdDSA: digest is the whole signing input and opts.HashFunc() is 0,
//     as for ed25519.PrivateKey.
//
// SignContext must return an error wrapping ctx.Err() once ctx is done.
// Public returns the public key the key manager signs for; the Issuer
// checks every signature of a signer it does not hold in memory against
// it before the token leaves.
//
// A plain crypto.Signer works too: the Issuer then calls Sign on another
// goroutine and returns as soon as ctx is done, leaving that call to end
// in the background and discarding its result.
type ContextSigner interface {
	crypto.Signer
	SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// hash returns the hash function of a's signature, or 0 for EdDSA and
// unknown algorithms.
func (a Algorithm) hash() crypto.Hash {
	switch a {
	case HS256, RS256, PS256, ES256:
		return crypto.SHA256
	case HS384, RS384, PS384, ES384:
		return crypto.SHA384
	case HS512, RS512, PS512, ES512:
		return crypto.SHA512
	}
	return 0
}

// sign returns the JWS signature of input with k. Keys in memory sign on
// the calling goroutine after a check of ctx (they take microseconds and
// cannot be interrupted); any other crypto.Signer signs in a way that
// honours ctx (see [ContextSigner]) and its signature is checked against
// the public key.
func (k *Key) sign(ctx context.Context, input []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, k.signError(err)
	}
	switch k.signer.(type) {
	case []byte, *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		sig, err := jwsbb.Sign(k.signer, string(k.alg), input, nil)
		if err != nil {
			return nil, k.signError(err)
		}
		return sig, nil
	}
	signer, ok := k.signer.(crypto.Signer)
	if !ok {
		return nil, k.signError(fmt.Errorf("%w: the key cannot sign", ErrConfig))
	}
	var digest []byte
	var opts crypto.SignerOpts
	switch h := k.alg.hash(); k.alg.family() {
	case familyEdDSA:
		digest, opts = input, crypto.Hash(0)
	case familyRSA:
		d := h.New()
		d.Write(input)
		digest, opts = d.Sum(nil), h
		if k.alg == PS256 || k.alg == PS384 || k.alg == PS512 {
			opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
		}
	default: // familyEC
		d := h.New()
		d.Write(input)
		digest, opts = d.Sum(nil), h
	}
	sig, err := signWithContext(ctx, signer, k.pending, digest, opts)
	if err != nil {
		return nil, k.signError(err)
	}
	if k.alg.family() == familyEC {
		if sig, err = ecdsaRawSignature(sig, (k.alg.curve().Params().BitSize+7)/8); err != nil {
			return nil, k.signError(err)
		}
	}
	// A signer that signs with another key than it claims (a wrong key
	// version, an adapter returning the wrong encoding) is caught here,
	// not by every verifier.
	if err := jwsbb.Verify(k.verifier, string(k.alg), input, sig); err != nil {
		return nil, k.signError(fmt.Errorf("%w: the signer's signature does not verify with its public key: %w", ErrKeyMismatch, err))
	}
	return sig, nil
}

func (k *Key) signError(err error) error {
	return fmt.Errorf("jwt: signing with key %q: %w", k.id, err)
}

// maxPendingSigns bounds, per key, the Sign calls left running after
// their callers gave up: a signer that hangs (an HSM or KMS outage) then
// fails new issuances at once instead of piling up goroutines and
// sessions with every request.
const maxPendingSigns = 64

// signWithContext calls s.SignContext when s has it; otherwise it runs
// s.Sign on another goroutine, holding a place in pending (when not nil)
// until Sign returns, and stops waiting when ctx is done.
func signWithContext(ctx context.Context, s crypto.Signer, pending chan struct{}, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if cs, ok := s.(ContextSigner); ok {
		sig, err := cs.SignContext(ctx, digest, opts)
		if err == nil && ctx.Err() != nil {
			// The signature is good, but the caller has given up.
			err = ctx.Err()
		}
		return sig, err
	}
	if ctx.Done() == nil {
		return safeSign(s, digest, opts)
	}
	if pending != nil {
		select {
		case pending <- struct{}{}:
		default:
			return nil, fmt.Errorf("%d signatures of this key are still pending: the signer is not answering", cap(pending))
		}
	}
	type result struct {
		sig []byte
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned Sign never blocks
	go func() {
		sig, err := safeSign(s, digest, opts)
		if pending != nil {
			<-pending
		}
		done <- result{sig, err}
	}()
	select {
	case r := <-done:
		return r.sig, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// safeSign calls s.Sign, turning a panic into an error: on a goroutine of
// its own a panic would end the process (net/http recovers only the
// handler's goroutine), and a signer is code jwtkit does not control.
func safeSign(s crypto.Signer, digest []byte, opts crypto.SignerOpts) (sig []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			sig, err = nil, fmt.Errorf("the signer panicked: %v", p)
		}
	}()
	return s.Sign(rand.Reader, digest, opts)
}

// ecdsaRawSignature turns an ASN.1 DER ECDSA signature into the JWS form
// (RFC 7518 §3.4): r and s as big-endian integers of size bytes each.
func ecdsaRawSignature(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil ||
		rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, fmt.Errorf("%w: the signer returned no ASN.1 ECDSA signature", ErrKeyMismatch)
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}
