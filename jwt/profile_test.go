package jwt_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// providerShape is an access token as an identity provider documents it:
// header members, claims, and the verifier settings that accept it.
type providerShape struct {
	header      map[string]any
	claims      map[string]any
	plainJWT    bool
	profile     jwt.AccessProfile
	audience    string
	wantScopes  []string
	wantSubject string
}

// providerShapes holds the access-token shapes of common identity
// providers, from their public documentation; the README lists them.
// Times are filled in by shapeToken.
func providerShapes() map[string]providerShape {
	return map[string]providerShape{
		// Auth0: typ JWT, aud an array (API + userinfo), scope a string.
		"Auth0": {
			header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"},
			claims: map[string]any{
				"iss": "https://tenant.auth0.example/", "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
				"aud": []string{"https://api.example", "https://tenant.auth0.example/userinfo"},
				"azp": "my-client", "scope": "openid profile read:items", "permissions": []string{"read:items"},
			},
			plainJWT: true, audience: "https://api.example",
			wantScopes: []string{"openid", "profile", "read:items"}, wantSubject: "auth0|5f7c8ec7c33c6c004bbafe82",
		},
		// Okta custom authorization server: no typ, scp an array, cid.
		"Okta": {
			header: map[string]any{"alg": "RS256", "kid": "k1"},
			claims: map[string]any{
				"ver": 1, "jti": "AT.jx3TzsqcD0rFZnC1qeeWTWXhLxnlWPaArUnn0thvL6E",
				"iss": "https://dev-1.okta.example/oauth2/default", "aud": "api://default",
				"cid": "0oa1b2c3d4", "uid": "00u1b2c3d4", "scp": []string{"openid", "items.read"},
				"sub": "alice@example.com", "auth_time": 1700000000,
			},
			plainJWT: true, profile: jwt.AccessProfile{ScopeClaim: "scp", ScopeArray: true}, audience: "api://default",
			wantScopes: []string{"openid", "items.read"}, wantSubject: "alice@example.com",
		},
		// Microsoft Entra ID v2.0: typ JWT with x5t, scp a string.
		"Entra ID": {
			header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1", "x5t": "k1"},
			claims: map[string]any{
				"aud": "api://6e74172b-be56-4843-9ff4-e66a39bb12e3",
				"iss": "https://login.microsoftonline.example/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
				"azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "azpacr": "0", "ver": "2.0",
				"oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474", "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
				"scp": "items.read items.write", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
				"roles": []string{"Items.Admin"}, "uti": "fqiBqXLPj0eQa82S-IYFAA",
			},
			plainJWT: true, profile: jwt.AccessProfile{ScopeClaim: "scp"}, audience: "api://6e74172b-be56-4843-9ff4-e66a39bb12e3",
			wantScopes: []string{"items.read", "items.write"}, wantSubject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
		},
		// Keycloak: typ JWT, a typ claim "Bearer", scope a string, sid.
		"Keycloak": {
			header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"},
			claims: map[string]any{
				"jti": "0b2a3c4d-1111-2222-3333-444455556666", "iss": "https://kc.example/realms/main",
				"aud": []string{"items-api", "account"}, "sub": "f1e2d3c4-aaaa-bbbb-cccc-ddddeeeeffff",
				"typ": "Bearer", "azp": "web", "sid": "9a8b7c6d", "acr": "1",
				"realm_access": map[string]any{"roles": []string{"offline_access"}},
				"scope":        "openid email profile", "preferred_username": "alice",
			},
			plainJWT: true, audience: "items-api",
			wantScopes: []string{"openid", "email", "profile"}, wantSubject: "f1e2d3c4-aaaa-bbbb-cccc-ddddeeeeffff",
		},
		// Amazon Cognito: no typ, no aud, client_id, scope a string.
		"Cognito": {
			header: map[string]any{"alg": "RS256", "kid": "k1"},
			claims: map[string]any{
				"sub": "aaaaaaaa-bbbb-cccc-dddd-example", "cognito:groups": []string{"admin"},
				"iss":       "https://cognito-idp.us-east-1.amazonaws.example/us-east-1_example",
				"client_id": "1example23456789", "origin_jti": "aaaaaaaa-bbbb", "token_use": "access",
				"scope": "aws.cognito.signin.user.admin items/read", "username": "alice", "version": 2,
				"jti": "aaaaaaaa-cccc",
			},
			plainJWT: true, profile: jwt.AccessProfile{RequiredClaims: []string{"client_id"}},
			wantScopes: []string{"aws.cognito.signin.user.admin", "items/read"}, wantSubject: "aaaaaaaa-bbbb-cccc-dddd-example",
		},
		// RFC 9068 (and jwtkit): typ at+jwt, client_id and jti required.
		"RFC 9068": {
			header: map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "k1"},
			claims: map[string]any{
				"iss": "https://as.example", "sub": "5ba552d67", "aud": "https://rs.example",
				"client_id": "s6BhdRkqt3", "jti": "dbe39bf3a3ba4238a513f51d6e1691c4", "scope": "openid items",
			},
			profile: jwt.AccessProfile{RequiredClaims: []string{"client_id", "jti"}}, audience: "https://rs.example",
			wantScopes: []string{"openid", "items"}, wantSubject: "5ba552d67",
		},
	}
}

// shapeToken signs claims under header with the test RSA key, with iat,
// nbf and exp around now.
func shapeToken(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	now := time.Now().Unix()
	c := map[string]any{"iat": now, "nbf": now, "exp": now + 3600}
	for n, v := range claims {
		c[n] = v
	}
	return ktCraft(t, header, c, ktRS256(t, ktSigner(t, "rsa").(*rsa.PrivateKey)))
}

func shapeVerifier(t *testing.T, s providerShape) *jwt.Verifier {
	t.Helper()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys:          ktSet(t, ktKey(t, "k1", jwt.RS256, "rsa")),
		Issuer:        s.claims["iss"].(string),
		Audience:      s.audience,
		AllowPlainJWT: s.plainJWT,
		Profile:       s.profile,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Access tokens shaped as identity providers document them verify with
// the settings the README gives for each.
func TestProfile_ProviderShapes(t *testing.T) {
	for name, s := range providerShapes() {
		t.Run(name, func(t *testing.T) {
			v := shapeVerifier(t, s)
			c, err := v.VerifyAccess(context.Background(), shapeToken(t, s.header, s.claims))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Scopes, s.wantScopes) || c.Subject != s.wantSubject {
				t.Fatalf("scopes %q, subject %q", c.Scopes, c.Subject)
			}
		})
	}
}

// Without the settings, each shape fails closed: refused, or verified
// without the scopes it carries in a claim the verifier was not told of.
func TestProfile_DefaultsFailClosed(t *testing.T) {
	for name, s := range providerShapes() {
		t.Run(name, func(t *testing.T) {
			strict := s
			strict.plainJWT, strict.profile = false, jwt.AccessProfile{}
			_, err := shapeVerifier(t, strict).VerifyAccess(context.Background(), shapeToken(t, s.header, s.claims))
			switch {
			case s.plainJWT:
				if !errors.Is(err, jwt.ErrTokenUse) {
					t.Fatalf("typ %v: want ErrTokenUse, got %v", s.header["typ"], err)
				}
			case err != nil:
				t.Fatal(err)
			}
			if s.profile.ScopeClaim == "" || s.profile.ScopeClaim == "scope" {
				return
			}
			// typ allowed, scope settings left out: no scope is granted
			// from scp, or the array is refused.
			strict.plainJWT = s.plainJWT
			c, err := shapeVerifier(t, strict).VerifyAccess(context.Background(), shapeToken(t, s.header, s.claims))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Scopes) != 0 {
				t.Fatalf("scopes %q read from %s without ScopeClaim", c.Scopes, s.profile.ScopeClaim)
			}
		})
	}
}

func TestProfile_ScopeFormats(t *testing.T) {
	header := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "k1"}
	base := map[string]any{"iss": ktIssuer, "sub": "u"}
	for name, tc := range map[string]struct {
		profile jwt.AccessProfile
		value   any
		want    []string
		err     error
	}{
		"string by default":         {value: "a b", want: []string{"a", "b"}},
		"array refused by default":  {value: []string{"a"}, err: jwt.ErrInvalidClaim},
		"array with ScopeArray":     {profile: jwt.AccessProfile{ScopeArray: true}, value: []string{"a", "b"}, want: []string{"a", "b"}},
		"string with ScopeArray":    {profile: jwt.AccessProfile{ScopeArray: true}, value: "a b", want: []string{"a", "b"}},
		"empty array":               {profile: jwt.AccessProfile{ScopeArray: true}, value: []string{}, want: nil},
		"element with a space":      {profile: jwt.AccessProfile{ScopeArray: true}, value: []string{"a b"}, err: jwt.ErrInvalidClaim},
		"empty element":             {profile: jwt.AccessProfile{ScopeArray: true}, value: []string{""}, err: jwt.ErrInvalidClaim},
		"non-string element":        {profile: jwt.AccessProfile{ScopeArray: true}, value: []any{"a", 1}, err: jwt.ErrInvalidClaim},
		"nested array":              {profile: jwt.AccessProfile{ScopeArray: true}, value: []any{[]string{"a"}}, err: jwt.ErrInvalidClaim},
		"object":                    {profile: jwt.AccessProfile{ScopeArray: true}, value: map[string]any{"a": true}, err: jwt.ErrInvalidClaim},
		"double space":              {value: "a  b", err: jwt.ErrInvalidClaim},
		"many scopes in an array":   {profile: jwt.AccessProfile{ScopeArray: true}, value: []string{"a", "b", "c", "d", "e", "f"}, want: []string{"a", "b", "c", "d", "e", "f"}},
		"scp string, scope ignored": {profile: jwt.AccessProfile{ScopeClaim: "scp"}, value: "x", want: nil},
	} {
		t.Run(name, func(t *testing.T) {
			claims := map[string]any{}
			for k, v := range base {
				claims[k] = v
			}
			claims["scope"] = tc.value
			v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: ktSet(t, ktKey(t, "k1", jwt.RS256, "rsa")), Issuer: ktIssuer, Profile: tc.profile})
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.VerifyAccess(context.Background(), shapeToken(t, header, claims))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("want %v, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Scopes, tc.want) {
				t.Fatalf("scopes %q, want %q", c.Scopes, tc.want)
			}
		})
	}
}

func TestProfile_RequiredClaims(t *testing.T) {
	header := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "k1"}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys: ktSet(t, ktKey(t, "k1", jwt.RS256, "rsa")), Issuer: ktIssuer,
		Profile: jwt.AccessProfile{RequiredClaims: []string{"client_id", "jti"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		clientID any
		absent   bool
		ok       bool
	}{
		"present":      {clientID: "c1", ok: true},
		"a number":     {clientID: 7, ok: true},
		"absent":       {absent: true},
		"null":         {clientID: nil},
		"empty string": {clientID: ""},
		"empty array":  {clientID: []string{}},
		"empty object": {clientID: map[string]any{}},
	} {
		t.Run(name, func(t *testing.T) {
			claims := map[string]any{"iss": ktIssuer, "sub": "u", "jti": "j1"}
			if !tc.absent {
				claims["client_id"] = tc.clientID
			}
			_, err := v.VerifyAccess(context.Background(), shapeToken(t, header, claims))
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, jwt.ErrMissingClaim)) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// The profile is for access tokens: refresh tokens keep jwtkit's shape.
func TestProfile_RefreshTokensUnaffected(t *testing.T) {
	keys := ktSet(t, ktKey(t, "k1", jwt.RS256, "rsa"))
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: ktIssuer})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := iss.IssueRefresh(t.Context(), jwt.Grant{Subject: "u", Scopes: []string{"a"}, FamilyID: "f1"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: ktIssuer,
		Profile: jwt.AccessProfile{ScopeClaim: "scp", RequiredClaims: []string{"client_id"}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.VerifyRefresh(context.Background(), rt.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Scopes, []string{"a"}) {
		t.Fatalf("scopes %q", c.Scopes)
	}
}

func TestProfile_ConfigRefused(t *testing.T) {
	for name, p := range map[string]jwt.AccessProfile{
		"scope claim sub":       {ScopeClaim: "sub"},
		"scope claim aud":       {ScopeClaim: "aud"},
		"scope claim exp":       {ScopeClaim: "exp"},
		"scope claim space":     {ScopeClaim: "a b"},
		"empty required claim":  {RequiredClaims: []string{""}},
		"padded required claim": {RequiredClaims: []string{" client_id"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: ktSet(t, ktKey(t, "k1", jwt.RS256, "rsa")), Issuer: ktIssuer, Profile: p})
			if !errors.Is(err, jwt.ErrConfig) {
				t.Fatalf("want ErrConfig, got %v", err)
			}
		})
	}
}
