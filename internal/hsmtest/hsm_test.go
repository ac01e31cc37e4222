package hsmtest

import (
	"context"
	"crypto"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
)

const issuer = "https://auth.hsm.test"

// hsmAlgorithms are the algorithms tested with a key inside the token.
var hsmAlgorithms = []jwt.Algorithm{jwt.RS256, jwt.PS256, jwt.ES256}

func hsmIssuer(t testing.TB, alg jwt.Algorithm) (*jwt.Issuer, *jwt.KeySet, *jwt.Key, crypto.PublicKey) {
	t.Helper()
	signer := hsmSigner(t, alg)
	key, err := jwt.NewSigningKey("hsm-"+strings.ToLower(string(alg)), alg, signer)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	return iss, keys, key, signer.Public()
}

// Tokens signed inside the token verify with the public key alone: from
// the published JWKS parsed locally, from the JWKS served over HTTPS and
// read by a RemoteKeySet, and with jwx directly.
func TestHSM_SignedTokensVerifyWithThePublicKey(t *testing.T) {
	for _, alg := range hsmAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			iss, keys, key, public := hsmIssuer(t, alg)
			ctx := t.Context()
			access, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "42", Scopes: []string{"read"}})
			if err != nil {
				t.Fatal(err)
			}
			refresh, err := iss.IssueRefresh(ctx, jwt.Grant{Subject: "42", FamilyID: "fam-1"})
			if err != nil {
				t.Fatal(err)
			}

			doc, err := keys.PublicJWKS()
			if err != nil {
				t.Fatal(err)
			}
			pub, err := jwt.ParseJWKS(doc)
			if err != nil {
				t.Fatal(err)
			}
			if pub[0].CanSign() {
				t.Fatal("the published JWKS holds private material")
			}
			local := verifier(t, mustSet(t, pub...))
			if c, err := local.VerifyAccess(ctx, access.Raw); err != nil || c.Subject != "42" || c.KeyID != key.ID() {
				t.Fatalf("access token, published key: %v %v", c, err)
			}
			if c, err := local.VerifyRefresh(ctx, refresh.Raw); err != nil || c.FamilyID != "fam-1" {
				t.Fatalf("refresh token, published key: %v %v", c, err)
			}

			jwks, err := authserver.NewJWKSHandler(authserver.JWKSConfig{Keys: keys})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewTLSServer(jwks)
			defer srv.Close()
			remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{
				URL: srv.URL + "/jwks.json", Algorithms: []jwt.Algorithm{alg}, HTTPClient: srv.Client(),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer remote.Close()
			if c, err := verifier(t, remote).VerifyAccess(ctx, access.Raw); err != nil || c.KeyID != key.ID() {
				t.Fatalf("access token, remote JWKS: %v %v", c, err)
			}

			jalg, ok := jwa.LookupSignatureAlgorithm(string(alg))
			if !ok {
				t.Fatalf("jwx has no %s", alg)
			}
			if _, err := jws.Verify([]byte(access.Raw), jws.WithKey(jalg, public)); err != nil {
				t.Fatalf("jwx: %v", err)
			}
		})
	}
}

// A context that is cancelled or past its deadline stops signing before
// the token is asked for a signature, with an error naming the key and
// wrapping the context's error.
func TestHSM_DoneContextStopsSigning(t *testing.T) {
	iss, _, key, _ := hsmIssuer(t, jwt.ES256)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithTimeout(t.Context(), -time.Second)
	defer cancel2()
	for _, tc := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		_, err := iss.IssueAccess(tc.ctx, jwt.Grant{Subject: "42"})
		if !errors.Is(err, tc.want) {
			t.Fatalf("got %v, want %v", err, tc.want)
		}
		if !strings.Contains(err.Error(), `signing with key "`+key.ID()+`"`) {
			t.Fatalf("the error does not name the key: %v", err)
		}
	}
	// The same issuer signs again once given a live context.
	if _, err := iss.IssueAccess(t.Context(), jwt.Grant{Subject: "42"}); err != nil {
		t.Fatal(err)
	}
}

// The private key cannot be exported through jwtkit.
func TestHSM_PrivateKeyNotExportable(t *testing.T) {
	_, _, key, _ := hsmIssuer(t, jwt.RS256)
	if _, err := key.MarshalPEM(); !errors.Is(err, jwt.ErrKeyMismatch) {
		t.Fatalf("MarshalPEM: %v, want ErrKeyMismatch", err)
	}
}

func verifier(t testing.TB, keys jwt.KeySource) *jwt.Verifier {
	t.Helper()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustSet(t testing.TB, keys ...*jwt.Key) *jwt.KeySet {
	t.Helper()
	s, err := jwt.NewKeySet(nil, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A key set moving from an in-memory RS256 key to an ES256 key inside the
// token switches at its scheduled time; both keys verify throughout from
// the published JWKS alone.
func TestHSM_ScheduledSwitchToTokenKey(t *testing.T) {
	mem, err := jwt.GenerateKey("rs256-file", jwt.RS256)
	if err != nil {
		t.Fatal(err)
	}
	hsmKey, err := jwt.NewSigningKey("es256-hsm", jwt.ES256, hsmSigner(t, jwt.ES256))
	if err != nil {
		t.Fatal(err)
	}
	clock := jwttest.NewClock(time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	switchAt := clock.Now().Add(time.Minute)
	keys, err := jwt.NewScheduledKeySet([]jwt.ScheduledKey{{Key: mem}, {Key: hsmKey, From: switchAt}})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := keys.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwt.ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: mustSet(t, pub...), Issuer: issuer, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var toks []*jwt.Token
	for _, want := range []string{"rs256-file", "es256-hsm"} {
		tok, err := iss.IssueAccess(t.Context(), jwt.Grant{Subject: "42"})
		if err != nil {
			t.Fatal(err)
		}
		if tok.Claims.KeyID != want {
			t.Fatalf("at %s signed by %q, want %q", clock.Now(), tok.Claims.KeyID, want)
		}
		toks = append(toks, tok)
		clock.Set(switchAt)
	}
	for _, tok := range toks {
		if _, err := ver.VerifyAccess(t.Context(), tok.Raw); err != nil {
			t.Fatalf("%s: %v", tok.Claims.KeyID, err)
		}
	}
}
