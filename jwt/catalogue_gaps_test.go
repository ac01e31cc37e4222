package jwt_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
)

// TestCatalogue_A04_F14_F15_EveryKeySource runs the header rows whose jwx
// behaviour depends on how verification is called (SECURITY.md 0.2 item 1)
// against an asymmetric key held locally and fetched from a remote JWKS,
// with a live and a cancelled context. Every token is signed by the real
// key, so only the header check can refuse it. (TestVerifyA04HeaderAlgMismatch
// and TestVerifyJSON cover the HMAC key sources.)
func TestCatalogue_A04_F14_F15_EveryKeySource(t *testing.T) {
	key := ktKey(t, "k1", jwt.RS256, "rsa")
	sign := ktRS256(t, ktSigner(t, "rsa").(*rsa.PrivateKey))
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "k1"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(h, kv[i].(string))
			} else {
				h[kv[i].(string)] = kv[i+1]
			}
		}
		return h
	}
	rows := []struct {
		name   string
		header map[string]any
		want   error
	}{
		{"baseline", hdr(), nil},
		{"A04/no-alg", hdr("alg", nil), jwt.ErrAlgorithm},
		{"A04/alg-none", hdr("alg", "none"), jwt.ErrAlgorithm},
		{"A04/alg-lower-case", hdr("alg", "rs256"), jwt.ErrAlgorithm},
		{"A04/alg-PS256-over-RS256-signature", hdr("alg", "PS256"), jwt.ErrAlgorithm},
		{"F14/crit-x-foo", hdr("crit", []string{"x-foo"}, "x-foo", 1), jwt.ErrHeader},
		{"F14/crit-empty", hdr("crit", []string{}), jwt.ErrHeader},
		{"F14/crit-alg", hdr("crit", []string{"alg"}), jwt.ErrHeader},
		{"F15/b64-false-with-crit", hdr("b64", false, "crit", []string{"b64"}), jwt.ErrHeader},
		{"F15/b64-false", hdr("b64", false), jwt.ErrHeader},
		{"F15/b64-true", hdr("b64", true), jwt.ErrHeader},
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for src, v := range ktSources(t, key) {
		for ctxName, ctx := range map[string]context.Context{"live": context.Background(), "cancelled": cancelled} {
			for _, row := range rows {
				t.Run(src+"/"+ctxName+"/"+row.name, func(t *testing.T) {
					_, err := v.VerifyAccess(ctx, ktCraft(t, row.header, ktClaims(), sign))
					if (row.want == nil) != (err == nil) || (row.want != nil && !errors.Is(err, row.want)) {
						t.Fatalf("VerifyAccess = %v, want %v", err, row.want)
					}
				})
			}
		}
	}
}
