package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

func fixture(b *testing.B, alg jwt.Algorithm) *Fixture {
	b.Helper()
	fs, err := Fixtures()
	if err != nil {
		b.Fatal(err)
	}
	return fs[alg]
}

// BenchmarkVerify: one token, every compared verifier, same checks.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range Algorithms {
		f := fixture(b, alg)
		paths, err := VerifyPaths(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range paths {
			b.Run(string(alg)+"/"+p.Name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := p.Verify(f.Token); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSignatureOnly is the raw signature check of the benchmark token
// with crypto/*, without decoding or claims: the floor under every
// verifier.
func BenchmarkSignatureOnly(b *testing.B) {
	for _, alg := range Algorithms {
		f := fixture(b, alg)
		i := strings.LastIndexByte(f.Token, '.')
		signed := []byte(f.Token[:i])
		sig, err := b64.DecodeString(f.Token[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		var check func() bool
		switch alg {
		case jwt.HS256:
			check = func() bool {
				m := hmac.New(sha256.New, f.Secret)
				m.Write(signed)
				return hmac.Equal(m.Sum(nil), sig)
			}
		case jwt.RS256:
			check = func() bool {
				h := sha256.Sum256(signed)
				return rsa.VerifyPKCS1v15(f.Pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
			}
		case jwt.ES256:
			check = func() bool {
				h := sha256.Sum256(signed)
				return ecdsa.Verify(f.Pub.(*ecdsa.PublicKey), h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
			}
		case jwt.EdDSA:
			check = func() bool { return ed25519.Verify(f.Pub.(ed25519.PublicKey), signed, sig) }
		}
		b.Run(string(alg)+"/crypto", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !check() {
					b.Fatal("signature")
				}
			}
		})
	}
}

// BenchmarkSign: one access token with iss, aud, sub, exp, iat, a random
// jti, scope and sid, header alg/kid/typ.
func BenchmarkSign(b *testing.B) {
	for _, alg := range Algorithms {
		f := fixture(b, alg)
		s := NewStdSigner(f)
		run := func(name string, sign func() error) {
			b.Run(string(alg)+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := sign(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		run("jwtkit", func() error {
			_, err := f.Issuer.IssueAccess(context.Background(), jwt.Grant{Subject: Subject, Scopes: Scopes, FamilyID: tokenid.New()})
			return err
		})
		run("std", func() error { _, err := s.IssueAccess(Subject, Scopes, NewStdID()); return err })
		run("golang-jwt", func() error { _, err := GolangJWTSign(f); return err })
	}
}

// BenchmarkIssuePair: a login's tokens, a refresh token of a new session
// and the first access token.
func BenchmarkIssuePair(b *testing.B) {
	f := fixture(b, jwt.HS256)
	s := NewStdSigner(f)
	b.Run("HS256/jwtkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sid := tokenid.New()
			if _, err := f.Issuer.IssueRefresh(context.Background(), jwt.Grant{Subject: Subject, Scopes: Scopes, FamilyID: sid}); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Issuer.IssueAccess(context.Background(), jwt.Grant{Subject: Subject, Scopes: Scopes, FamilyID: sid}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("HS256/std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.IssuePair(Subject, Scopes); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func storesFor(b *testing.B) *memstore.Store {
	mem := memstore.New()
	err := mem.CreateUser(context.Background(), store.User{
		ID: Subject, Username: "bench", PasswordHash: "x",
		Profile: map[string]string{"full_name": "Bench User", "email": "bench@example.com"},
	})
	if err != nil {
		b.Fatal(err)
	}
	return mem
}

// BenchmarkMiddleware: one request through each middleware into a handler
// that reads the subject. no-auth is the handler alone.
func BenchmarkMiddleware(b *testing.B) {
	for _, alg := range Algorithms {
		f := fixture(b, alg)
		mem := storesFor(b)
		ms, err := Middlewares(f, MiddlewareOptions{Extra: map[string][]middleware.Option{
			"jwtkit-cache":        {middleware.WithTokenCache(newCache(b))},
			"jwtkit-stores":       {middleware.WithUsers(mem), middleware.WithRevocations(mem)},
			"jwtkit-stores-cache": {middleware.WithUsers(mem), middleware.WithRevocations(mem), middleware.WithTokenCache(newCache(b))},
		}})
		if err != nil {
			b.Fatal(err)
		}
		ms = append([]Middleware{{Name: "no-auth", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})}}, ms...)
		for _, m := range ms {
			b.Run(string(alg)+"/"+m.Name, func(b *testing.B) {
				r := BearerRequest(f.Token)
				w := NewResponseWriter()
				b.ReportAllocs()
				for b.Loop() {
					w.Reset()
					m.Handler.ServeHTTP(w, r)
					if w.Code != http.StatusNoContent {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		}
	}
}

// BenchmarkAuthenticate: the Authenticator's decision for a request, with
// a cold verification (no cache) and with a token-cache hit.
func BenchmarkAuthenticate(b *testing.B) {
	for _, alg := range Algorithms {
		f := fixture(b, alg)
		for _, name := range []string{"cold", "cached"} {
			var opts []middleware.Option
			if name == "cached" {
				opts = append(opts, middleware.WithTokenCache(newCache(b)))
			}
			a := mustAuthenticator(b, f.Verifier, opts...)
			b.Run(string(alg)+"/"+name, func(b *testing.B) {
				r := BearerRequest(f.Token)
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := a.Authenticate(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func newCache(tb testing.TB) *middleware.TokenCache {
	tb.Helper()
	c, err := middleware.NewTokenCache(middleware.TokenCacheConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func mustAuthenticator(t testing.TB, v middleware.AccessVerifier, opts ...middleware.Option) *middleware.Authenticator {
	t.Helper()
	a, err := middleware.NewAuthenticator(v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
