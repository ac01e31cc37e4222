package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	auth0validator "github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/go-chi/jwtauth/v5"
	gjwt "github.com/golang-jwt/jwt/v5"
	jwxv2 "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxv3 "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

// Each library is configured for the policy described in fixtures.go,
// through the extension point that library offers for it.

var errPeer = errors.New("peer: invalid token")

// hasAccessTyp decodes a token's protected header and checks its typ.
// jwtauth and the auth0 middleware have no hook that sees the header, so
// their paths call this before handing the token over.
func hasAccessTyp(token string) bool {
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return false
	}
	var hdr struct {
		Typ string `json:"typ"`
	}
	return json.Unmarshal(hb, &hdr) == nil && IsAccessTyp(hdr.Typ)
}

// lifetimeOK is the lifetime ceiling on exp-iat and exp-now.
func lifetimeOK(exp, iat, now time.Time) bool {
	limit := MaxTTL + Leeway
	if !iat.IsZero() && exp.Sub(iat) > limit {
		return false
	}
	return exp.Sub(now) <= limit
}

// ---- golang-jwt/jwt v5 ----

// GJClaims are the claims read with golang-jwt.
type GJClaims struct {
	gjwt.RegisteredClaims
	Scope     string `json:"scope,omitempty"`
	SessionID string `json:"sid,omitempty"`
}

// Validate adds the checks golang-jwt has no option for (ClaimsValidator).
func (c *GJClaims) Validate() error {
	if c.Subject == "" || c.ExpiresAt == nil {
		return errors.New("sub or exp missing")
	}
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time
	}
	if !lifetimeOK(c.ExpiresAt.Time, iat, time.Now()) {
		return errors.New("lifetime too long")
	}
	return nil
}

// GolangJWT verifies with golang-jwt's ParseWithClaims.
type GolangJWT struct {
	parser  *gjwt.Parser
	keyFunc gjwt.Keyfunc
}

// NewGolangJWT configures golang-jwt for f.
func NewGolangJWT(f *Fixture) *GolangJWT {
	key := f.VerifyKey()
	return &GolangJWT{
		parser: gjwt.NewParser(
			gjwt.WithValidMethods([]string{string(f.Alg)}),
			gjwt.WithIssuer(Issuer),
			gjwt.WithAudience(Audience),
			gjwt.WithExpirationRequired(),
			gjwt.WithLeeway(Leeway),
			gjwt.WithIssuedAt(),
		),
		keyFunc: func(t *gjwt.Token) (any, error) {
			if kid, _ := t.Header["kid"].(string); kid != KID {
				return nil, errors.New("unknown kid")
			}
			if typ, _ := t.Header["typ"].(string); !IsAccessTyp(typ) {
				return nil, errors.New("not an access token")
			}
			return key, nil
		},
	}
}

// Verify checks token and returns its claims.
func (g *GolangJWT) Verify(token string) (*GJClaims, error) {
	c := &GJClaims{}
	if _, err := g.parser.ParseWithClaims(token, c, g.keyFunc); err != nil {
		return nil, err
	}
	return c, nil
}

// Sign mints an access token with golang-jwt.
func GolangJWTSign(f *Fixture) (string, error) {
	now := time.Now()
	t := gjwt.NewWithClaims(gjwt.GetSigningMethod(string(f.Alg)), &GJClaims{
		RegisteredClaims: gjwt.RegisteredClaims{
			Issuer: Issuer, Subject: Subject, Audience: gjwt.ClaimStrings{Audience},
			ExpiresAt: gjwt.NewNumericDate(now.Add(15 * time.Minute)), IssuedAt: gjwt.NewNumericDate(now),
			ID: NewStdID(),
		},
		Scope: strings.Join(Scopes, " "), SessionID: NewStdID(),
	})
	t.Header["kid"] = KID
	t.Header["typ"] = "at+jwt"
	return t.SignedString(f.SignKey())
}

type gjCtxKey struct{}

// GolangJWTMiddleware is a hand-written net/http middleware on golang-jwt:
// Bearer header, ParseWithClaims, claims into the context, 401 otherwise.
func GolangJWTMiddleware(g *GolangJWT) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			if len(auth) < 7 || !strings.EqualFold(auth[:7], "Bearer ") {
				w.Header().Set("WWW-Authenticate", "Bearer")
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			c, err := g.Verify(auth[7:])
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), gjCtxKey{}, c)))
		})
	}
}

// GolangJWTSubject returns the subject stored by GolangJWTMiddleware.
func GolangJWTSubject(r *http.Request) string {
	c, _ := r.Context().Value(gjCtxKey{}).(*GJClaims)
	if c == nil {
		return ""
	}
	return c.Subject
}

// ---- lestrrat-go/jwx v3 (what jwtkit uses for signatures) ----

// JWXv3 verifies with jwx v3's jwt.ParseString.
type JWXv3 struct {
	opts []jwxv3.ParseOption
}

// NewJWXv3 configures jwx v3 for f. The key provider pins kid and typ and
// supplies the key with its algorithm.
func NewJWXv3(f *Fixture) (*JWXv3, error) {
	alg, ok := jwa.LookupSignatureAlgorithm(string(f.Alg))
	if !ok {
		return nil, errors.New("jwx: unknown algorithm")
	}
	key := f.VerifyKey()
	kp := jws.KeyProviderFunc(func(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		h := sig.ProtectedHeaders()
		if kid, _ := h.KeyID(); kid != KID {
			return errors.New("unknown kid")
		}
		if typ, _ := h.Type(); !IsAccessTyp(typ) {
			return errors.New("not an access token")
		}
		sink.Key(alg, key)
		return nil
	})
	return &JWXv3{opts: []jwxv3.ParseOption{
		jwxv3.WithKeyProvider(kp),
		jwxv3.WithIssuer(Issuer),
		jwxv3.WithAudience(Audience),
		jwxv3.WithAcceptableSkew(Leeway),
		jwxv3.WithRequiredClaim("exp"),
		jwxv3.WithRequiredClaim("sub"),
		jwxv3.WithValidator(jwxv3.ValidatorFunc(func(_ context.Context, t jwxv3.Token) error {
			exp, _ := t.Expiration()
			iat, _ := t.IssuedAt()
			if !lifetimeOK(exp, iat, time.Now()) {
				return errors.New("lifetime too long")
			}
			return nil
		})),
	}}, nil
}

// Verify checks token.
func (j *JWXv3) Verify(token string) (jwxv3.Token, error) {
	return jwxv3.ParseString(token, j.opts...)
}

// ---- go-chi/jwtauth v5 (jwx v2) ----

// NewJWTAuth configures jwtauth for f.
func NewJWTAuth(f *Fixture) *jwtauth.JWTAuth {
	var sign, verify any = f.Secret, nil
	if f.Alg != jwt.HS256 {
		sign, verify = f.Priv, f.Pub
	}
	return jwtauth.New(string(f.Alg), sign, verify,
		jwxv2.WithIssuer(Issuer),
		jwxv2.WithAudience(Audience),
		jwxv2.WithAcceptableSkew(Leeway),
		jwxv2.WithRequiredClaim("exp"),
		jwxv2.WithRequiredClaim("sub"),
		jwxv2.WithValidator(jwxv2.ValidatorFunc(func(_ context.Context, t jwxv2.Token) jwxv2.ValidationError {
			if !lifetimeOK(t.Expiration(), t.IssuedAt(), time.Now()) {
				return jwxv2.NewValidationError(errors.New("lifetime too long"))
			}
			return nil
		})),
	)
}

// tokenFromHeaderTyped is jwtauth.TokenFromHeader that also requires the
// access-token typ.
func tokenFromHeaderTyped(r *http.Request) string {
	t := jwtauth.TokenFromHeader(r)
	if t == "" || !hasAccessTyp(t) {
		return ""
	}
	return t
}

// JWTAuthMiddleware is jwtauth's documented chain: Verify then Authenticator.
func JWTAuthMiddleware(ja *jwtauth.JWTAuth) func(http.Handler) http.Handler {
	verify := jwtauth.Verify(ja, tokenFromHeaderTyped)
	authn := jwtauth.Authenticator(ja)
	return func(next http.Handler) http.Handler { return verify(authn(next)) }
}

// JWTAuthSubject returns the subject stored by jwtauth.
func JWTAuthSubject(r *http.Request) string {
	t, _ := r.Context().Value(jwtauth.TokenCtxKey).(jwxv2.Token)
	if t == nil {
		return ""
	}
	return t.Subject()
}

// ---- auth0/go-jwt-middleware v2 ----

// auth0Claims adds the checks the auth0 validator lacks (exp and sub
// required, lifetime ceiling) through its CustomClaims hook.
type auth0Claims struct {
	Exp *int64 `json:"exp"`
	Iat *int64 `json:"iat"`
	Sub string `json:"sub"`
}

func (c *auth0Claims) Validate(context.Context) error {
	if c.Exp == nil || c.Sub == "" {
		return errors.New("exp or sub missing")
	}
	var iat time.Time
	if c.Iat != nil {
		iat = time.Unix(*c.Iat, 0)
	}
	if !lifetimeOK(time.Unix(*c.Exp, 0), iat, time.Now()) {
		return errors.New("lifetime too long")
	}
	return nil
}

// NewAuth0Validator configures the auth0 validator for f and wraps it with
// the typ check.
func NewAuth0Validator(f *Fixture) (jwtmiddleware.ValidateToken, error) {
	key := f.VerifyKey()
	v, err := auth0validator.New(
		func(context.Context) (any, error) { return key, nil },
		auth0validator.SignatureAlgorithm(f.Alg),
		Issuer, []string{Audience},
		auth0validator.WithAllowedClockSkew(Leeway),
		auth0validator.WithCustomClaims(func() auth0validator.CustomClaims { return &auth0Claims{} }),
	)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, token string) (any, error) {
		if !hasAccessTyp(token) {
			return nil, errPeer
		}
		return v.ValidateToken(ctx, token)
	}, nil
}

// Auth0Middleware is the auth0 middleware's CheckJWT.
func Auth0Middleware(validate jwtmiddleware.ValidateToken) func(http.Handler) http.Handler {
	m := jwtmiddleware.New(validate)
	return m.CheckJWT
}

// Auth0Subject returns the subject stored by the auth0 middleware.
func Auth0Subject(r *http.Request) string {
	c, _ := r.Context().Value(jwtmiddleware.ContextKey{}).(*auth0validator.ValidatedClaims)
	if c == nil {
		return ""
	}
	return c.RegisteredClaims.Subject
}

// ---- jwtkit ----

// JWTKitSubject returns the subject stored by RequireBearer.
func JWTKitSubject(r *http.Request) string {
	c, ok := middleware.ClaimsFromContext(r.Context())
	if !ok {
		return ""
	}
	return c.Subject
}
