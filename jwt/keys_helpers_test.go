package jwt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// Helpers of the key, JWKS and remote-key-set tests. Names start with kt
// so they cannot collide with other test files of the package.

const ktIssuer = "https://issuer.keys.test"

// ktRaw caches generated private keys: RSA key generation is slow under
// the race detector.
var ktRaw = struct {
	sync.Mutex
	m map[string]crypto.Signer
}{m: map[string]crypto.Signer{}}

// ktSigner returns a cached private key for name: "rsa", "rsa2", "rsa1024",
// "p256", "p256b", "p384", "p521", "ed", "ed2".
func ktSigner(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	ktRaw.Lock()
	defer ktRaw.Unlock()
	if s, ok := ktRaw.m[name]; ok {
		return s
	}
	var s crypto.Signer
	var err error
	switch name {
	case "rsa", "rsa2", "rsa3":
		s, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa1024":
		s, err = rsa.GenerateKey(rand.Reader, 1024)
	case "p256", "p256b":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		s, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p521":
		s, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ed", "ed2":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("unknown test key %q", name)
	}
	if err != nil {
		tb.Fatal(err)
	}
	ktRaw.m[name] = s
	return s
}

// ktKey returns a signing key for alg over the cached private key name.
func ktKey(tb testing.TB, kid string, alg jwt.Algorithm, name string) *jwt.Key {
	tb.Helper()
	k, err := jwt.NewSigningKey(kid, alg, ktSigner(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// ktPublic returns the verification-only twin of k.
func ktPublic(tb testing.TB, k *jwt.Key) *jwt.Key {
	tb.Helper()
	p, err := jwt.NewVerificationKey(k.ID(), k.Algorithm(), k.Public())
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func ktSet(tb testing.TB, active *jwt.Key, more ...*jwt.Key) *jwt.KeySet {
	tb.Helper()
	s, err := jwt.NewKeySet(active, more...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// ktIssue mints an access token with the active key of keys.
func ktIssue(tb testing.TB, keys *jwt.KeySet, iss string, scopes ...string) string {
	tb.Helper()
	i, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: iss})
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := i.IssueAccess(context.Background(), jwt.Grant{Subject: "user-1", Scopes: scopes})
	if err != nil {
		tb.Fatal(err)
	}
	return tok.Raw
}

func ktVerifier(tb testing.TB, keys jwt.KeySource, iss string) *jwt.Verifier {
	tb.Helper()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: iss})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// ktJWKS returns the public JWKS of keys.
func ktJWKS(tb testing.TB, keys ...*jwt.Key) []byte {
	tb.Helper()
	s := ktSet(tb, nil, keys...)
	b, err := s.PublicJWKS()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ktRelabel rewrites the protected header of raw with edit and keeps the
// payload and signature segments.
func ktRelabel(tb testing.TB, raw string, edit func(h map[string]any)) string {
	tb.Helper()
	parts := strings.Split(raw, ".")
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		tb.Fatal(err)
	}
	h := map[string]any{}
	if err := json.Unmarshal(hb, &h); err != nil {
		tb.Fatal(err)
	}
	edit(h)
	nb, err := json.Marshal(h)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(nb) + "." + parts[1] + "." + parts[2]
}

// ktResign replaces the signature segment of raw.
func ktResign(raw string, sig []byte) string {
	i := strings.LastIndexByte(raw, '.')
	return raw[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// ktSig returns the decoded signature of raw.
func ktSig(tb testing.TB, raw string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func ktWantErr(tb testing.TB, err, want error) {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		tb.Fatalf("error = %v, want one wrapping %v", err, want)
	}
}

// ktQuiet is a logger that drops everything.
var ktQuiet = slog.New(slog.DiscardHandler)

// ktClock is a settable clock for the unknown-kid cooldown.
type ktClock struct{ ns atomic.Int64 }

func newKTClock() *ktClock {
	c := &ktClock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *ktClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *ktClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// ktJWKSServer is a JWKS endpoint whose answer tests can change, and which
// counts requests.
type ktJWKSServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	handler  http.HandlerFunc // overrides body when set
	requests atomic.Int64
}

func newKTJWKSServer(tb testing.TB, body []byte, tls bool) *ktJWKSServer {
	tb.Helper()
	s := &ktJWKSServer{body: body}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		body, handler := s.body, s.handler
		s.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	})
	s.Server = httptest.NewUnstartedServer(h)
	// Handshake failures are part of some tests; keep them out of the output.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	tb.Cleanup(s.Close)
	return s
}

func (s *ktJWKSServer) set(body []byte) {
	s.mu.Lock()
	s.body, s.handler = body, nil
	s.mu.Unlock()
}

func (s *ktJWKSServer) setHandler(h http.HandlerFunc) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// ktRemote builds a RemoteKeySet for srv and waits for the first fetch.
func ktRemote(tb testing.TB, srv *ktJWKSServer, cfg jwt.RemoteKeySetConfig) *jwt.RemoteKeySet {
	tb.Helper()
	cfg.URL = srv.URL + "/jwks.json"
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = srv.Client()
	}
	if cfg.Logger == nil {
		cfg.Logger = ktQuiet
	}
	r, err := jwt.NewRemoteKeySet(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.Refresh(ctx)
	return r
}

// ktFailTransport fails the test on any request it is asked to make.
type ktFailTransport struct {
	tb    testing.TB
	calls atomic.Int64
}

func (f *ktFailTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	f.tb.Errorf("unexpected outbound request to %s", req.URL.Redacted())
	return nil, errors.New("outbound requests are not allowed in this test")
}

// ktHandlerTransport serves requests in memory with h (for synctest).
type ktHandlerTransport struct{ h http.Handler }

func (t ktHandlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}
