package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// The server publishes its metadata, and a resource server given only the
// issuer URL verifies the server's access tokens with it.
func TestMetadataDiscovery(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	defer srv.Close()
	a, err := newApp(context.Background(), config{alg: "ES256", store: "memory", issuer: srv.URL, keyFile: t.TempDir() + "/key.pem"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv.Config.Handler = a.Handler()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys, err := jwt.DiscoverKeySet(ctx, srv.URL, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.ES256}, AllowHTTP: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(srv.URL+"/token", url.Values{"username": {"johndoe"}, "password": {"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	if c, err := v.VerifyAccess(ctx, tok.AccessToken); err != nil || !c.HasScope("me") {
		t.Fatalf("claims %+v, err %v", c, err)
	}

	resp, err = http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.OpenAPI != "3.1.0" || len(doc.Components.SecuritySchemes) != 2 {
		t.Fatalf("openapi.json: %+v, %v", doc, err)
	}
	if s := string(doc.Components.SecuritySchemes["OAuth2Password"]); !strings.Contains(s, srv.URL+"/token") {
		t.Fatalf("OAuth2Password scheme %s", s)
	}
}

// An issuer that is neither https nor loopback cannot be published: the
// server still starts, without the metadata.
func TestMetadataNotPublishedForPlainHTTPIssuer(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(context.Background(), config{alg: "HS256", store: "memory", secret: e2eKey, issuer: "http://auth.example"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-authorization-server", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
}
