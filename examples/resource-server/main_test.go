package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/jwt"
)

const testIssuer = "https://issuer.example"

// startResourceServer runs the command on a real listener and returns its
// base URL; the server is shut down at the end of the test.
func startResourceServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logger := slog.New(slog.DiscardHandler)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), logger, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the resource server did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("graceful shutdown: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("the resource server did not stop")
		}
	})
	return "http://" + addr
}

func get(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestResourceServer(t *testing.T) {
	key, err := jwt.GenerateKey("rs-1", jwt.RS256)
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
	mux.Handle("/.well-known/jwks.json", jwks)
	issuerSrv := httptest.NewServer(mux) // a real listener on 127.0.0.1
	defer issuerSrv.Close()

	base := startResourceServer(t, "-jwks", issuerSrv.URL+"/.well-known/jwks.json", "-issuer", testIssuer, "-alg", "RS256")
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: testIssuer})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(scopes ...string) string {
		tok, err := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "johndoe", Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Raw
	}
	user, adminTok := mint("me", "items"), mint("me", "admin")

	res, body := get(t, base+"/whoami", user)
	var claims map[string]any
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &claims) != nil || claims["sub"] != "johndoe" || claims["iss"] != testIssuer {
		t.Fatalf("/whoami: %d %s", res.StatusCode, body)
	}

	res, body = get(t, base+"/whoami", "")
	if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") || strings.Contains(res.Header.Get("WWW-Authenticate"), "error=") {
		t.Fatalf("no token: %d %q %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
	}

	res, body = get(t, base+"/admin", user)
	if res.StatusCode != 403 || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("/admin without the scope: %d %q %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
	}
	if res, body = get(t, base+"/admin", adminTok); res.StatusCode != 200 || !strings.Contains(body, "johndoe") {
		t.Fatalf("/admin with the scope: %d %s", res.StatusCode, body)
	}

	// A token from a key the issuer never published, and one for another
	// issuer, are refused.
	rogue, _ := jwt.GenerateKey("rs-1", jwt.RS256)
	rogueKeys, _ := jwt.NewKeySet(rogue)
	rogueIss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: rogueKeys, Issuer: testIssuer})
	forged, _ := rogueIss.IssueAccess(context.Background(), jwt.Grant{Subject: "johndoe", Scopes: []string{"admin"}})
	otherIss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://other.example"})
	other, _ := otherIss.IssueAccess(context.Background(), jwt.Grant{Subject: "johndoe"})
	for name, tok := range map[string]string{"forged": forged.Raw, "other issuer": other.Raw} {
		if res, _ := get(t, base+"/admin", tok); res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: %d %q", name, res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
	}
	if res, body := get(t, base+"/healthz", ""); res.StatusCode != 200 || body != `{"status":"ok"}`+"\n" {
		t.Fatalf("/healthz: %d %q", res.StatusCode, body)
	}
}

// Until the JWKS can be fetched, requests get 503, not 401.
func TestResourceServer_IssuerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/jwks.json"
	ln.Close()
	base := startResourceServer(t, "-jwks", deadURL)
	key, _ := jwt.GenerateKey("rs-1", jwt.RS256)
	keys, _ := jwt.NewKeySet(key)
	iss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "http://" + ln.Addr().String()})
	tok, _ := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "u"})
	if res, _ := get(t, base+"/whoami", tok.Raw); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/whoami with the issuer down: %d", res.StatusCode)
	}
	if res, body := get(t, base+"/healthz", ""); res.StatusCode != http.StatusServiceUnavailable || body != `{"status":"no keys yet"}`+"\n" {
		t.Fatalf("/healthz: %d %q", res.StatusCode, body)
	}
}

func TestResourceServer_RefusesPlainHTTPToRemoteHost(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-jwks", "http://issuer.example/jwks.json"}, slog.New(slog.DiscardHandler), nil)
	if !errors.Is(err, jwt.ErrConfig) {
		t.Fatalf("plain http to a remote host: %v", err)
	}
	cfg, err := parseConfig([]string{"-jwks", "https://login.example:8443/keys"}, io.Discard)
	if err != nil || cfg.issuer != "https://login.example:8443" {
		t.Fatalf("default issuer: %q %v", cfg.issuer, err)
	}
	for jwks, want := range map[string]bool{
		"http://localhost:8000/jwks.json":  true,
		"http://127.0.0.1:8000/jwks.json":  true,
		"http://[::1]:8000/jwks.json":      true,
		"http://issuer.example/jwks.json":  false,
		"http://10.0.0.1/jwks.json":        false,
		"https://login.example:8443/keys":  false,
		"https://localhost:8443/jwks.json": false,
	} {
		if cfg, err := parseConfig([]string{"-jwks", jwks}, io.Discard); err != nil || cfg.allowHTTP != want {
			t.Errorf("-jwks %s: allowHTTP %v, %v; want %v", jwks, cfg.allowHTTP, err, want)
		}
	}
}
