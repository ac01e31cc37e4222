package authserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

var _ http.Handler = (*JWKSHandler)(nil)

func jwksTestKey(t *testing.T, kid string) *jwt.Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwt.NewSigningKey(kid, jwt.ES256, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwksTestSet(t *testing.T, active *jwt.Key, more ...*jwt.Key) *jwt.KeySet {
	t.Helper()
	s, err := jwt.NewKeySet(active, more...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jwksServe(h http.Handler, method string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/.well-known/jwks.json", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestJWKSHandler_ServesPublicSet(t *testing.T) {
	k1 := jwksTestKey(t, "k1")
	keys := jwksTestSet(t, k1)
	h, err := NewJWKSHandler(JWKSConfig{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	rec := jwksServe(h, http.MethodGet)
	want, _ := keys.PublicJWKS()
	if rec.Code != 200 || rec.Body.String() != string(want) {
		t.Fatalf("GET: %d %s", rec.Code, rec.Body)
	}
	for name, v := range map[string]string{
		"Content-Type":           "application/jwk-set+json",
		"Cache-Control":          "public, max-age=300",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	etag := rec.Header().Get("ETag")
	if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Fatalf("ETag %q", etag)
	}
	if strings.Contains(rec.Body.String(), `"d"`) {
		t.Fatal("private member published")
	}

	head := jwksServe(h, http.MethodHead)
	if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("ETag") != etag || head.Header().Get("Content-Length") != rec.Header().Get("Content-Length") {
		t.Fatalf("HEAD: %d %q %v", head.Code, head.Body, head.Header())
	}

	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		nm := jwksServe(h, http.MethodGet, "If-None-Match", inm)
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 || nm.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d", inm, nm.Code)
		}
	}
	if nm := jwksServe(h, http.MethodGet, "If-None-Match", `"stale"`); nm.Code != 200 {
		t.Errorf("stale If-None-Match: %d", nm.Code)
	}

	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, "PATCH"} {
		r := jwksServe(h, m)
		if r.Code != http.StatusMethodNotAllowed || r.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow=%q", m, r.Code, r.Header().Get("Allow"))
		}
	}
}

// The handler follows KeySet.Rotate, and rebuilds the document only when
// the keys change.
func TestJWKSHandler_K17_FollowsRotation(t *testing.T) {
	k1, k2 := jwksTestKey(t, "k1"), jwksTestKey(t, "k2")
	keys := jwksTestSet(t, k1)
	h, err := NewJWKSHandler(JWKSConfig{Keys: keys, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	first := jwksServe(h, http.MethodGet)
	if first.Header().Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("Cache-Control %q", first.Header().Get("Cache-Control"))
	}
	doc := h.cached.Load()
	jwksServe(h, http.MethodGet)
	if h.cached.Load() != doc {
		t.Fatal("document rebuilt without a change")
	}
	if allocs := testing.AllocsPerRun(50, func() { jwksServe(h, http.MethodHead) }); allocs > 40 {
		t.Errorf("%v allocations per cached request", allocs)
	}

	if err := keys.Rotate(k2, k1); err != nil {
		t.Fatal(err)
	}
	second := jwksServe(h, http.MethodGet)
	if h.cached.Load() == doc {
		t.Fatal("document not rebuilt after Rotate")
	}
	if second.Header().Get("ETag") == first.Header().Get("ETag") {
		t.Fatal("ETag unchanged after Rotate")
	}
	var got struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(second.Body.Bytes(), &got); err != nil || len(got.Keys) != 2 || got.Keys[0].Kid != "k2" || got.Keys[1].Kid != "k1" {
		t.Fatalf("after rotation: %s", second.Body)
	}
	if nm := jwksServe(h, http.MethodGet, "If-None-Match", first.Header().Get("ETag")); nm.Code != 200 {
		t.Fatalf("old ETag matched after rotation: %d", nm.Code)
	}
}

func TestJWKSHandler_K16_Refused(t *testing.T) {
	hk, err := jwt.NewHMACKey("h", jwt.HS256, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]JWKSConfig{
		"nil set":      {},
		"HMAC set":     {Keys: jwksTestSet(t, hk)},
		"max-age -1s":  {Keys: jwksTestSet(t, jwksTestKey(t, "k")), MaxAge: -time.Second},
		"max-age 10ms": {Keys: jwksTestSet(t, jwksTestKey(t, "k")), MaxAge: 10 * time.Millisecond},
	} {
		if _, err := NewJWKSHandler(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// End to end: an issuer publishes its keys with JWKSHandler, a resource
// server verifies through RemoteKeySet and RequireBearer, and a rotation
// on the issuer side reaches the resource server.
func TestJWKSHandler_RemoteKeySetEndToEnd(t *testing.T) {
	const issuer = "https://issuer.e2e.test"
	k1, k2 := jwksTestKey(t, "k1"), jwksTestKey(t, "k2")
	keys := jwksTestSet(t, k1)
	h, err := NewJWKSHandler(JWKSConfig{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	jwksSrv := httptest.NewTLSServer(h)
	defer jwksSrv.Close()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{
		URL:        jwksSrv.URL + "/.well-known/jwks.json",
		HTTPClient: jwksSrv.Client(),
		Algorithms: []jwt.Algorithm{jwt.ES256},
		Logger:     slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return time.Unix(0, now.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if err := remote.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: remote, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(middleware.RequireBearer(ver)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		io.WriteString(w, c.Subject+" "+c.KeyID)
	})))
	defer api.Close()
	call := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	mint := func() string {
		tok, err := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Raw
	}
	t1 := mint()
	if code, body := call(t1); code != 200 || body != "alice k1" {
		t.Fatalf("k1: %d %s", code, body)
	}
	if err := keys.Rotate(k2, k1); err != nil {
		t.Fatal(err)
	}
	t2 := mint()
	if code, _ := call(t2); code != http.StatusUnauthorized {
		t.Fatalf("k2 within the cooldown: %d", code)
	}
	now.Add(int64(30 * time.Second))
	if code, body := call(t2); code != 200 || body != "alice k2" {
		t.Fatalf("k2 after the cooldown: %d %s", code, body)
	}
	if code, _ := call(t1); code != 200 {
		t.Fatalf("k1 during rotation: %d", code)
	}
}

// The zero KeySet, not built by jwt.NewKeySet, is refused like a nil one.
func TestNewJWKSHandler_ZeroKeySet(t *testing.T) {
	t.Parallel()
	var keys jwt.KeySet
	if _, err := NewJWKSHandler(JWKSConfig{Keys: &keys}); !errors.Is(err, jwt.ErrConfig) {
		t.Fatalf("NewJWKSHandler(zero KeySet) = %v, want ErrConfig", err)
	}
}
