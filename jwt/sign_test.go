package jwt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// ktOpaque hides the private key type behind crypto.Signer, as an HSM or
// KMS handle does, so the issuer takes the external-signer path.
type ktOpaque struct{ crypto.Signer }

// ktCtxSigner is a ContextSigner over an in-memory key that records the
// context it was given.
type ktCtxSigner struct {
	crypto.Signer
	got atomic.Pointer[context.Context]
}

func (s *ktCtxSigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.got.Store(&ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Signer.Sign(rand.Reader, digest, opts)
}

// ktBlockingSigner signs only once released.
type ktBlockingSigner struct {
	crypto.Signer
	release chan struct{}
}

func (s ktBlockingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	<-s.release
	return s.Signer.Sign(r, digest, opts)
}

// ktWrongKey claims one public key and signs with another.
type ktWrongKey struct {
	crypto.Signer
	claims crypto.PublicKey
}

func (s ktWrongKey) Public() crypto.PublicKey { return s.claims }

// ktRawECDSA signs a truncated digest: well-formed DER that does not
// verify, as from an adapter that hashes differently.
type ktRawECDSA struct{ *ecdsa.PrivateKey }

func (s ktRawECDSA) Sign(r io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	return ecdsa.SignASN1(r, s.PrivateKey, digest[:16]) // valid DER over the wrong digest
}

func ktIssuerFor(t *testing.T, k *jwt.Key) (*jwt.Issuer, *jwt.Verifier) {
	t.Helper()
	set := ktSet(t, k)
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: set, Issuer: ktIssuer})
	if err != nil {
		t.Fatal(err)
	}
	return iss, ktVerifier(t, set, ktIssuer)
}

// A key behind an opaque crypto.Signer or a ContextSigner signs tokens of
// every asymmetric algorithm that verify with its public key alone.
func TestSign_ExternalSigner(t *testing.T) {
	for _, tc := range []struct {
		alg  jwt.Algorithm
		name string
	}{
		{jwt.RS256, "rsa"}, {jwt.RS512, "rsa"}, {jwt.PS256, "rsa"}, {jwt.PS384, "rsa"},
		{jwt.ES256, "p256"}, {jwt.ES384, "p384"}, {jwt.ES512, "p521"}, {jwt.EdDSA, "ed"},
	} {
		for wrap, signer := range map[string]crypto.Signer{
			"opaque":         ktOpaque{ktSigner(t, tc.name)},
			"context signer": &ktCtxSigner{Signer: ktSigner(t, tc.name)},
		} {
			t.Run(string(tc.alg)+"/"+wrap, func(t *testing.T) {
				k, err := jwt.NewSigningKey("hsm", tc.alg, signer)
				if err != nil {
					t.Fatal(err)
				}
				iss, _ := ktIssuerFor(t, k)
				tok, err := iss.IssueAccess(t.Context(), jwt.Grant{Subject: "u"})
				if err != nil {
					t.Fatal(err)
				}
				v := ktVerifier(t, ktSet(t, nil, ktPublic(t, k)), ktIssuer)
				if _, err := v.VerifyAccess(t.Context(), tok.Raw); err != nil {
					t.Fatal(err)
				}
				if cs, ok := signer.(*ktCtxSigner); ok && cs.got.Load() == nil {
					t.Fatal("SignContext was not called")
				}
			})
		}
	}
}

// The issuing context reaches a ContextSigner: a request deadline bounds
// the remote call.
func TestSign_ContextSignerGetsTheContext(t *testing.T) {
	s := &ktCtxSigner{Signer: ktSigner(t, "p256")}
	k, _ := jwt.NewSigningKey("kms", jwt.ES256, s)
	iss, _ := ktIssuerFor(t, k)
	type key struct{}
	ctx := context.WithValue(t.Context(), key{}, "request")
	if _, err := iss.IssueRefresh(ctx, jwt.Grant{Subject: "u", FamilyID: "f"}); err != nil {
		t.Fatal(err)
	}
	if got := s.got.Load(); got == nil || (*got).Value(key{}) != "request" {
		t.Fatal("SignContext did not get the issuing context")
	}
}

// A context that is already done stops signing with an error wrapping its
// cause, for keys in memory and external signers alike.
func TestSign_DoneContextRefused(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	keys := map[string]*jwt.Key{
		"HMAC":           ktHMAC(t, "h"),
		"RSA in memory":  ktKey(t, "r", jwt.RS256, "rsa"),
		"opaque":         mustSigningKey(t, jwt.ES256, ktOpaque{ktSigner(t, "p256")}),
		"context signer": mustSigningKey(t, jwt.ES256, &ktCtxSigner{Signer: ktSigner(t, "p256")}),
	}
	for name, k := range keys {
		iss, _ := ktIssuerFor(t, k)
		for cname, c := range map[string]struct {
			ctx  context.Context
			want error
		}{"cancelled": {cancelled, context.Canceled}, "expired": {expired, context.DeadlineExceeded}} {
			_, err := iss.IssueAccess(c.ctx, jwt.Grant{Subject: "u"})
			if !errors.Is(err, c.want) {
				t.Errorf("%s, %s context: %v, want %v", name, cname, err, c.want)
			}
		}
	}
}

// A plain crypto.Signer that hangs (an unreachable HSM) does not hold the
// issuer past the context's deadline; the abandoned call ends on its own.
func TestSign_HangingSignerStopsAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := ktBlockingSigner{Signer: ktSigner(t, "p256"), release: make(chan struct{})}
		k := mustSigningKey(t, jwt.ES256, s)
		iss, _ := ktIssuerFor(t, k)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "u"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Fatalf("returned after %s, want the 2s deadline", waited)
		}
		close(s.release)
		synctest.Wait()
	})
}

// A hanging signer does not pile up goroutines: once 64 abandoned Sign
// calls of a key are pending, issuing with it fails at once, and works
// again when the signer answers.
func TestSign_HangingSignerBoundsPendingCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := ktBlockingSigner{Signer: ktSigner(t, "p256"), release: make(chan struct{})}
		iss, _ := ktIssuerFor(t, mustSigningKey(t, jwt.ES256, s))
		issue := func() error {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "u"})
			return err
		}
		for i := range 64 {
			if err := issue(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("issuance %d: %v, want DeadlineExceeded", i, err)
			}
		}
		start := time.Now()
		err := issue()
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "pending") {
			t.Fatalf("issuance with 64 calls pending: %v, want an immediate refusal", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("the refusal took %v, want none", waited)
		}
		close(s.release)
		synctest.Wait() // the pending calls return and give their places back
		if err := issue(); err != nil {
			t.Fatalf("after the signer answered: %v", err)
		}
	})
}

// A signer whose signatures do not verify with the public key it claims
// is caught at issuance, not by every verifier.
func TestSign_SignerNotMatchingItsPublicKeyRefused(t *testing.T) {
	other := ktSigner(t, "rsa2")
	for name, s := range map[string]crypto.Signer{
		"other RSA key":      ktWrongKey{Signer: ktSigner(t, "rsa"), claims: other.Public()},
		"ECDSA wrong digest": ktRawECDSA{ktSigner(t, "p256").(*ecdsa.PrivateKey)},
	} {
		alg := jwt.RS256
		if _, ok := s.(ktRawECDSA); ok {
			alg = jwt.ES256
		}
		iss, _ := ktIssuerFor(t, mustSigningKey(t, alg, s))
		_, err := iss.IssueAccess(t.Context(), jwt.Grant{Subject: "u"})
		if !errors.Is(err, jwt.ErrKeyMismatch) {
			t.Errorf("%s: %v, want ErrKeyMismatch", name, err)
		}
	}
}

// An ECDSA signer that returns something other than ASN.1 DER is refused
// with a clear error.
func TestSign_ECDSASignerNotDERRefused(t *testing.T) {
	iss, _ := ktIssuerFor(t, mustSigningKey(t, jwt.ES256, ktRawSig{ktSigner(t, "p256")}))
	_, err := iss.IssueAccess(t.Context(), jwt.Grant{Subject: "u"})
	if !errors.Is(err, jwt.ErrKeyMismatch) {
		t.Fatalf("got %v, want ErrKeyMismatch", err)
	}
}

// A signer that panics on its own goroutine fails the issuance instead
// of the process.
func TestSign_PanickingSignerIsAnError(t *testing.T) {
	iss, _ := ktIssuerFor(t, mustSigningKey(t, jwt.ES256, ktPanicking{ktSigner(t, "p256")}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "u"})
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("got %v", err)
	}
}

type ktPanicking struct{ crypto.Signer }

func (ktPanicking) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	panic("token removed")
}

type ktRawSig struct{ crypto.Signer }

func (ktRawSig) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return make([]byte, 64), nil
}

func mustSigningKey(tb testing.TB, alg jwt.Algorithm, s crypto.Signer) *jwt.Key {
	tb.Helper()
	k, err := jwt.NewSigningKey("", alg, s)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
