package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

// Path is one compared verification path.
type Path struct {
	Name   string
	Verify func(token string) error
	// NoKID marks paths configured with a single key and no kid lookup
	// (jwtauth, auth0): they accept any kid, so the unknown-kid case does
	// not apply to them.
	NoKID bool
}

// VerifyPaths returns the token-level verification paths for f.
func VerifyPaths(f *Fixture) ([]Path, error) {
	std := NewStdVerifier(f)
	gj := NewGolangJWT(f)
	jx, err := NewJWXv3(f)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	return []Path{
		{Name: "jwtkit", Verify: func(t string) error { _, err := f.Verifier.VerifyAccess(ctx, t); return err }},
		{Name: "std", Verify: func(t string) error { _, err := std.Verify(t); return err }},
		{Name: "golang-jwt", Verify: func(t string) error { _, err := gj.Verify(t); return err }},
		{Name: "jwx-v3", Verify: func(t string) error { _, err := jx.Verify(t); return err }},
	}, nil
}

// Middleware is one compared net/http middleware.
type Middleware struct {
	Name    string
	Handler http.Handler // the middleware around a handler that reads the subject
	NoKID   bool
}

// MiddlewareOptions adds jwtkit middleware variants (stores, cache).
type MiddlewareOptions struct {
	// Extra are additional RequireBearer configurations, by name.
	Extra map[string][]middleware.Option
}

// Middlewares returns the middleware paths for f. Every handler answers
// 204 when the middleware let the request through with the right subject.
func Middlewares(f *Fixture, mo MiddlewareOptions) ([]Middleware, error) {
	next := func(subject func(*http.Request) string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subject(r) != Subject {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	a0, err := NewAuth0Validator(f)
	if err != nil {
		return nil, err
	}
	ms := []Middleware{
		{Name: "jwtkit", Handler: middleware.RequireBearer(f.Verifier)(next(JWTKitSubject))},
		{Name: "golang-jwt", Handler: GolangJWTMiddleware(NewGolangJWT(f))(next(GolangJWTSubject))},
		{Name: "jwtauth", Handler: JWTAuthMiddleware(NewJWTAuth(f))(next(JWTAuthSubject)), NoKID: true},
		{Name: "auth0", Handler: Auth0Middleware(a0)(next(Auth0Subject)), NoKID: true},
	}
	for name, opts := range mo.Extra {
		ms = append(ms, Middleware{Name: name, Handler: middleware.RequireBearer(f.Verifier, opts...)(next(JWTKitSubject))})
	}
	return ms, nil
}

// Case is a token every path must accept (Valid) or refuse.
type Case struct {
	Name  string
	Token string
	Valid bool
	// NeedsKID marks cases that only a path with a kid lookup refuses.
	NeedsKID bool
}

// Claims builds a claim set that passes every check; tests edit it.
func Claims(now time.Time) map[string]any {
	return map[string]any{
		"iss":   Issuer,
		"aud":   Audience,
		"sub":   Subject,
		"exp":   now.Add(15 * time.Minute).Unix(),
		"iat":   now.Unix(),
		"jti":   NewStdID(),
		"scope": "read write",
	}
}

// Cases returns the equivalence cases for f.
func Cases(f *Fixture) ([]Case, error) {
	now := time.Now()
	s := NewStdSigner(f)
	hdr := func(alg, kid, typ string) string {
		m := map[string]string{"alg": alg}
		if kid != "" {
			m["kid"] = kid
		}
		if typ != "" {
			m["typ"] = typ
		}
		return s.EncodeHeader(m)
	}
	access := hdr(string(f.Alg), KID, "at+jwt")
	var cases []Case
	var firstErr error
	add := func(name string, valid, needsKID bool, tok string, err error) {
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", name, err)
		}
		cases = append(cases, Case{Name: name, Token: tok, Valid: valid, NeedsKID: needsKID})
	}
	with := func(edit func(map[string]any)) map[string]any {
		c := Claims(now)
		edit(c)
		return c
	}

	add("valid/jwtkit-issued", true, false, f.Token, nil)
	tok, err := s.SignRaw(access, Claims(now))
	add("valid/std-issued", true, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { c["aud"] = []string{"other", Audience} }))
	add("valid/aud-array", true, false, tok, err)

	tok, err = s.SignRaw(access, with(func(c map[string]any) {
		c["exp"], c["iat"] = now.Add(-time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
	}))
	add("expired", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { delete(c, "exp") }))
	add("no-exp", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { c["iss"] = "https://evil.example.com" }))
	add("wrong-iss", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { delete(c, "iss") }))
	add("no-iss", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { c["aud"] = "https://other.example.com" }))
	add("wrong-aud", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { delete(c, "sub") }))
	add("no-sub", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }))
	add("nbf-future", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) {
		c["iat"], c["exp"] = now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
	}))
	add("iat-future", false, false, tok, err)
	tok, err = s.SignRaw(access, with(func(c map[string]any) { c["exp"] = now.Add(48 * time.Hour).Unix() }))
	add("lifetime-too-long", false, false, tok, err)

	// Header attacks.
	none := hdr("none", KID, "at+jwt") + "." + b64.EncodeToString([]byte(`{"iss":"`+Issuer+`","aud":"`+Audience+`","sub":"`+Subject+`","exp":`+fmt.Sprint(now.Add(time.Hour).Unix())+`}`))
	add("alg-none", false, false, none+".", nil)
	add("alg-none-sig-kept", false, false, none+"."+strings.Split(f.Token, ".")[2], nil)
	tok, err = s.SignRaw(hdr(string(f.Alg), KID, "refresh+jwt"), Claims(now))
	add("typ-refresh", false, false, tok, err)
	rt, err := f.Issuer.IssueRefresh(context.Background(), jwt.Grant{Subject: Subject, FamilyID: tokenid.New()})
	if err == nil {
		tok = rt.Raw
	}
	add("jwtkit-refresh-token", false, false, tok, err)
	tok, err = s.SignRaw(hdr(string(f.Alg), KID, ""), Claims(now))
	add("no-typ", false, false, tok, err)
	tok, err = s.SignRaw(hdr(string(f.Alg), "k2", "at+jwt"), Claims(now))
	add("unknown-kid", false, true, tok, err)

	// Wrong keys.
	wrong := &Fixture{Alg: jwt.HS256, Secret: make([]byte, 32)}
	_, _ = rand.Read(wrong.Secret)
	ws := NewStdSigner(wrong)
	tok, err = ws.SignRaw(hdr("HS256", KID, "at+jwt"), Claims(now))
	add("hs256-wrong-key", false, false, tok, err)
	if f.Alg != jwt.HS256 {
		other, err := otherKey(f.Alg)
		if err == nil {
			tok, err = NewStdSigner(other).SignRaw(access, Claims(now))
		}
		add("same-alg-other-key", false, false, tok, err)
		if der, err := publicBytes(f); err == nil {
			conf := &Fixture{Alg: jwt.HS256, Secret: der}
			tok, err = NewStdSigner(conf).SignRaw(hdr("HS256", KID, "at+jwt"), Claims(now))
			add("alg-confusion-hs256-public-key", false, false, tok, err)
		}
	}

	// Tampering.
	parts := strings.Split(f.Token, ".")
	evil := with(func(c map[string]any) { c["sub"] = "admin" })
	tok, err = s.SignRaw(access, evil)
	if err == nil {
		tok = parts[0] + "." + strings.Split(tok, ".")[1] + "." + parts[2]
	}
	add("tampered-payload", false, false, tok, err)
	sig := []byte(parts[2])
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}
	add("tampered-signature", false, false, parts[0]+"."+parts[1]+"."+string(sig), nil)
	add("truncated", false, false, parts[0]+"."+parts[1], nil)
	return cases, firstErr
}

func otherKey(alg jwt.Algorithm) (*Fixture, error) {
	f := &Fixture{Alg: alg}
	switch alg {
	case jwt.RS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		f.Priv, f.Pub = k, &k.PublicKey
	case jwt.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		f.Priv, f.Pub = k, &k.PublicKey
	case jwt.EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		f.Priv, f.Pub = priv, pub
	}
	return f, nil
}

// publicBytes returns the public key as PEM, the classic HS256 confusion
// secret.
func publicBytes(f *Fixture) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(f.Pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ResponseWriter is a reusable http.ResponseWriter that discards the body.
type ResponseWriter struct {
	H    http.Header
	Code int
}

// NewResponseWriter returns a ResponseWriter.
func NewResponseWriter() *ResponseWriter { return &ResponseWriter{H: make(http.Header)} }

// Header returns the header map.
func (w *ResponseWriter) Header() http.Header { return w.H }

// Write discards b.
func (w *ResponseWriter) Write(b []byte) (int, error) {
	if w.Code == 0 {
		w.Code = http.StatusOK
	}
	return len(b), nil
}

// WriteHeader records the status.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.Code == 0 {
		w.Code = code
	}
}

// Reset prepares w for the next request.
func (w *ResponseWriter) Reset() {
	w.Code = 0
	if len(w.H) > 0 {
		clear(w.H)
	}
}

// BearerRequest returns a GET request carrying token.
func BearerRequest(token string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/users/me", nil)
	if err != nil {
		panic(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}
