package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

var _ http.Handler = (*MetadataHandler)(nil)

func metadataTestConfig(issuer string) MetadataConfig {
	return MetadataConfig{
		Issuer:             issuer,
		TokenEndpoint:      issuer + "/token",
		JWKSURI:            issuer + "/.well-known/jwks.json",
		RevocationEndpoint: issuer + "/revoke",
		Scopes:             []string{"items:read", "items:write"},
	}
}

func TestMetadataHandler_Document(t *testing.T) {
	h, err := NewMetadataHandler(metadataTestConfig("https://auth.example"))
	if err != nil {
		t.Fatal(err)
	}
	rec := jwksServe(h, http.MethodGet)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                     "https://auth.example",
		"token_endpoint":                             "https://auth.example/token",
		"jwks_uri":                                   "https://auth.example/.well-known/jwks.json",
		"revocation_endpoint":                        "https://auth.example/revoke",
		"scopes_supported":                           []any{"items:read", "items:write"},
		"response_types_supported":                   []any{},
		"grant_types_supported":                      []any{"password", "refresh_token"},
		"token_endpoint_auth_methods_supported":      []any{"none"},
		"revocation_endpoint_auth_methods_supported": []any{"none"},
	}
	for k, v := range want {
		got, _ := json.Marshal(doc[k])
		exp, _ := json.Marshal(v)
		if string(got) != string(exp) {
			t.Errorf("%s = %s, want %s", k, got, exp)
		}
	}
	if len(doc) != len(want) {
		t.Errorf("document has %d members, want %d: %s", len(doc), len(want), rec.Body)
	}
	// jwtkit issues no ID tokens: no ID-token algorithms are announced.
	if _, ok := doc["id_token_signing_alg_values_supported"]; ok {
		t.Error("id_token_signing_alg_values_supported published")
	}
}

func TestMetadataHandler_WellKnownPaths(t *testing.T) {
	for issuer, want := range map[string][]string{
		"https://auth.example":          {"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"},
		"https://auth.example/":         {"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"},
		"https://auth.example/tenant/a": {"/.well-known/oauth-authorization-server/tenant/a", "/tenant/a/.well-known/openid-configuration"},
	} {
		h, err := NewMetadataHandler(metadataTestConfig(issuer))
		if err != nil {
			t.Fatal(err)
		}
		if got := h.WellKnownPaths(); !slices.Equal(got, want) {
			t.Errorf("%s: paths %v, want %v", issuer, got, want)
		}
	}
}

func TestMetadataHandler_CachingAndMethods(t *testing.T) {
	h, err := NewMetadataHandler(MetadataConfig{Issuer: "http://127.0.0.1:8000", TokenEndpoint: "http://127.0.0.1:8000/token", MaxAge: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rec := jwksServe(h, http.MethodGet)
	etag := rec.Header().Get("ETag")
	for name, v := range map[string]string{
		"Cache-Control":               "public, max-age=600",
		"X-Content-Type-Options":      "nosniff",
		"Access-Control-Allow-Origin": "*",
	} {
		if got := rec.Header().Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q", etag)
	}
	if rec := jwksServe(h, http.MethodGet, "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: status %d", rec.Code)
	}
	if rec := jwksServe(h, http.MethodHead); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
	rec = jwksServe(h, http.MethodPost)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestMetadataHandler_ConfigRefused(t *testing.T) {
	good := metadataTestConfig("https://auth.example")
	for name, edit := range map[string]func(*MetadataConfig){
		"no issuer":               func(c *MetadataConfig) { c.Issuer = "" },
		"no token endpoint":       func(c *MetadataConfig) { c.TokenEndpoint = "" },
		"relative issuer":         func(c *MetadataConfig) { c.Issuer = "/auth" },
		"http issuer":             func(c *MetadataConfig) { c.Issuer = "http://auth.example" },
		"http private address":    func(c *MetadataConfig) { c.Issuer = "http://10.0.0.1" },
		"issuer query":            func(c *MetadataConfig) { c.Issuer = "https://auth.example/?t=1" },
		"issuer fragment":         func(c *MetadataConfig) { c.Issuer = "https://auth.example/#x" },
		"issuer credentials":      func(c *MetadataConfig) { c.Issuer = "https://u:p@auth.example" },
		"ftp jwks":                func(c *MetadataConfig) { c.JWKSURI = "ftp://auth.example/jwks" },
		"relative token endpoint": func(c *MetadataConfig) { c.TokenEndpoint = "/token" },
		"http revocation":         func(c *MetadataConfig) { c.RevocationEndpoint = "http://auth.example/revoke" },
		"scope with space":        func(c *MetadataConfig) { c.Scopes = []string{"a b"} },
		"empty scope":             func(c *MetadataConfig) { c.Scopes = []string{""} },
		"short max-age":           func(c *MetadataConfig) { c.MaxAge = time.Millisecond },
		"negative max-age":        func(c *MetadataConfig) { c.MaxAge = -time.Second },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			edit(&cfg)
			if _, err := NewMetadataHandler(cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("want ErrConfig, got %v", err)
			}
		})
	}
	for _, host := range []string{"localhost", "127.0.0.1", "127.1.2.3", "[::1]"} {
		cfg := metadataTestConfig("http://" + host + ":8000")
		if _, err := NewMetadataHandler(cfg); err != nil {
			t.Errorf("loopback %s refused: %v", host, err)
		}
	}
}

// The handler's own document, published with a JWKSHandler, is enough for
// jwt.DiscoverKeySet to verify the issuer's tokens.
func TestMetadataHandler_DiscoveredByVerifier(t *testing.T) {
	key := jwksTestKey(t, "k1")
	keys := jwksTestSet(t, key)
	jwks, err := NewJWKSHandler(JWKSConfig{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	issuer := srv.URL + "/tenant"
	md, err := NewMetadataHandler(MetadataConfig{Issuer: issuer, TokenEndpoint: issuer + "/token", JWKSURI: srv.URL + "/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range md.WellKnownPaths() {
		mux.Handle("GET "+p, md)
	}
	mux.Handle("GET /jwks.json", jwks)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	remote, err := jwt.DiscoverKeySet(ctx, issuer, jwt.RemoteKeySetConfig{
		Algorithms: []jwt.Algorithm{jwt.ES256}, HTTPClient: srv.Client(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.IssueAccess(t.Context(), jwt.Grant{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: remote, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := v.VerifyAccess(ctx, tok.Raw); err != nil || c.Subject != "alice" {
		t.Fatalf("claims %+v, err %v", c, err)
	}
}

func TestMetadataHandler_OpenAPISecuritySchemes(t *testing.T) {
	for name, tc := range map[string]struct {
		grants      []string
		wantRefresh bool
	}{
		"default grants": {wantRefresh: true},
		"password only":  {grants: []string{"password"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := metadataTestConfig("https://auth.example")
			cfg.GrantTypes = tc.grants
			h, err := NewMetadataHandler(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var schemes map[string]struct {
				Type         string
				Scheme       string
				BearerFormat string
				Flows        map[string]struct {
					TokenURL   string            `json:"tokenUrl"`
					RefreshURL *string           `json:"refreshUrl"`
					Scopes     map[string]string `json:"scopes"`
				}
			}
			if err := json.Unmarshal(h.OpenAPISecuritySchemes(), &schemes); err != nil {
				t.Fatal(err)
			}
			pw := schemes[OpenAPIPasswordScheme]
			flow, ok := pw.Flows["password"]
			if pw.Type != "oauth2" || !ok || flow.TokenURL != "https://auth.example/token" || len(flow.Scopes) != 2 {
				t.Fatalf("password scheme %+v", pw)
			}
			if (flow.RefreshURL != nil) != tc.wantRefresh || (tc.wantRefresh && *flow.RefreshURL != flow.TokenURL) {
				t.Fatalf("refreshUrl %v", flow.RefreshURL)
			}
			if b := schemes[OpenAPIBearerScheme]; b.Type != "http" || b.Scheme != "bearer" || b.BearerFormat != "JWT" {
				t.Fatalf("bearer scheme %+v", b)
			}
		})
	}
}
