package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/jwt"
)

// With -issuer-url, the JWKS URL comes from the issuer's metadata.
func TestResourceServer_IssuerURL(t *testing.T) {
	key, err := jwt.GenerateKey("es-1", jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := authserver.NewJWKSHandler(authserver.JWKSConfig{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	issuerSrv := httptest.NewServer(mux) // a real listener on 127.0.0.1
	defer issuerSrv.Close()
	issuer := issuerSrv.URL
	md, err := authserver.NewMetadataHandler(authserver.MetadataConfig{
		Issuer: issuer, TokenEndpoint: issuer + "/token", JWKSURI: issuer + "/keys",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range md.WellKnownPaths() {
		mux.Handle("GET "+p, md)
	}
	mux.Handle("GET /keys", jwks)

	base := startResourceServer(t, "-issuer-url", issuer, "-alg", "ES256")
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.IssueAccess(t.Context(), jwt.Grant{Subject: "johndoe", Scopes: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if res, body := get(t, base+"/admin", tok.Raw); res.StatusCode != http.StatusOK || !strings.Contains(body, "johndoe") {
		t.Fatalf("/admin: %d %s", res.StatusCode, body)
	}
	other, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer + "/other"})
	otherTok, _ := other.IssueAccess(t.Context(), jwt.Grant{Subject: "johndoe"})
	if res, _ := get(t, base+"/whoami", otherTok.Raw); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token of another issuer: %d", res.StatusCode)
	}
}

func TestResourceServer_IssuerURLRefusals(t *testing.T) {
	for name, args := range map[string][]string{
		"with -jwks":   {"-issuer-url", "https://issuer.example", "-jwks", "https://issuer.example/jwks"},
		"with -issuer": {"-issuer-url", "https://issuer.example", "-issuer", "https://issuer.example"},
		"relative":     {"-issuer-url", "/issuer"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A plain-http issuer on another host is refused before any request.
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-issuer-url", "http://issuer.example"}, slog.New(slog.DiscardHandler), nil)
	if !errors.Is(err, jwt.ErrConfig) {
		t.Fatalf("plain http to a remote issuer: %v", err)
	}
}
