package middleware_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// Fixed responses of DefaultErrorHandler and the token endpoint.
const (
	challengeNoToken = `Bearer`
	challengeInvalid = `Bearer error="invalid_token", error_description="the access token is invalid"`
	challengeRequest = `Bearer error="invalid_request", error_description="more than one set of credentials"`

	bodyNotAuthenticated = `{"detail":"Not authenticated"}` + "\n"
	bodyInvalidToken     = `{"detail":"Could not validate credentials"}` + "\n"
	bodyInvalidRequest   = `{"detail":"Invalid request"}` + "\n"
	bodyForbidden        = `{"detail":"Not enough permissions"}` + "\n"
	bodyUnavailable      = `{"detail":"Service unavailable"}` + "\n"
)

func challengeScope(scope string) string {
	return `Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="` + scope + `"`
}

const (
	testIssuer   = "https://issuer.test"
	testAudience = "api"
	testKeyID    = "k1"
)

// testSecret is the HS256 key of every fixture; tests forge tokens with it.
var testSecret = []byte("jwtkit-middleware-test-secret-32")

// Demo accounts. Their stored hashes use bcrypt cost 4, which
// password.Hasher verifies but never produces: tests that are not about
// hashing work stay fast. Unknown users still cost a comparison at the
// Hasher's configured cost.
const (
	johnID, johnName, johnPassword    = "uid-john", "johndoe", "secret"
	aliceID, aliceName, alicePassword = "uid-alice", "alice", "secret2" // disabled
	readerID, readerName              = "uid-reader", "reader"          // scope read only
	readerPassword                    = "reader-pass"
)

// fastHashes caches cost-4 hashes across the package's tests.
var fastHashes = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

// fastHash returns a bcrypt cost-4 hash of pw.
func fastHash(t testing.TB, pw string) string {
	t.Helper()
	fastHashes.Lock()
	defer fastHashes.Unlock()
	if h, ok := fastHashes.m[pw]; ok {
		return h
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	fastHashes.m[pw] = string(h)
	return string(h)
}

// fixture is one isolated service: key, issuer, verifier, a memory store
// with the demo accounts.
type fixture struct {
	keys     *jwt.KeySet
	issuer   *jwt.Issuer
	verifier *jwt.Verifier
	store    *memstore.Store
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	key, err := jwt.NewHMACKey(testKeyID, jwt.HS256, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	keys, iss, ver := tokensOn(t, key)
	f := &fixture{keys: keys, issuer: iss, verifier: ver, store: memstore.New()}
	for _, u := range []store.User{
		{ID: johnID, Username: johnName, PasswordHash: fastHash(t, johnPassword), Scopes: []string{"read", "items"},
			Profile: map[string]string{"full_name": "John Doe"}},
		{ID: aliceID, Username: aliceName, PasswordHash: fastHash(t, alicePassword), Disabled: true, Scopes: []string{"read"}},
		{ID: readerID, Username: readerName, PasswordHash: fastHash(t, readerPassword), Scopes: []string{"read"}},
	} {
		if err := f.store.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// tokensOn returns a key set holding key, and an issuer and a verifier on
// it with the fixture's issuer, audience and leeway.
func tokensOn(t testing.TB, key *jwt.Key) (*jwt.KeySet, *jwt.Issuer, *jwt.Verifier) {
	t.Helper()
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: testIssuer, Audience: []string{testAudience}})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: testIssuer, Audience: testAudience, Leeway: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return keys, iss, ver
}

// access issues an access token.
func (f *fixture) access(t testing.TB, g jwt.Grant) string {
	t.Helper()
	tok, err := f.issuer.IssueAccess(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

// issuerAt returns an issuer on the fixture's key whose clock is at.
func (f *fixture) issuerAt(t testing.TB, at time.Time) *jwt.Issuer {
	t.Helper()
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: f.keys, Issuer: testIssuer, Audience: []string{testAudience},
		Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// syncBuffer is a bytes.Buffer safe for a logger used by concurrent
// requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// b64 encodes a JWT segment.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forgeHS256 signs header and claims (JSON texts, taken as given) with
// secret: for tokens the Issuer would never produce.
func forgeHS256(secret []byte, header, claims string) string {
	in := b64(header) + "." + b64(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validClaims returns a claim set the fixture's verifier accepts, with
// extra members appended (a JSON fragment starting with a comma, or "").
func validClaims(sub string, extra string) string {
	now := time.Now().Unix()
	c, _ := json.Marshal(map[string]any{"sub": sub, "iss": testIssuer, "aud": testAudience, "iat": now, "exp": now + 600})
	return strings.TrimSuffix(string(c), "}") + extra + "}"
}

const accessHeader = `{"alg":"HS256","typ":"at+jwt","kid":"k1"}`

// protectedHandler records whether it ran and answers 200 with the
// subject and the username it found in the context.
type protectedHandler struct {
	mu     sync.Mutex
	called int
}

func (p *protectedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.called++
	p.mu.Unlock()
	sub := "-"
	if c, ok := middleware.ClaimsFromContext(r.Context()); ok {
		sub = c.Subject
	}
	user := "-"
	if u, ok := middleware.UserFromContext(r.Context()); ok {
		user = u.Username
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "sub="+sub+" user="+user)
}

func (p *protectedHandler) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.called
}

// checkResponse compares status, WWW-Authenticate and body exactly.
func checkResponse(t testing.TB, rec *httptest.ResponseRecorder, status int, challenge, body string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d (body %q)", rec.Code, status, rec.Body.String())
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != challenge {
		t.Errorf("WWW-Authenticate = %q, want %q", got, challenge)
	}
	if n := len(rec.Header().Values("WWW-Authenticate")); challenge != "" && n != 1 {
		t.Errorf("%d WWW-Authenticate headers, want 1", n)
	}
	if got := rec.Body.String(); got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
}

// get sends GET / with the given Authorization header values.
func get(h http.Handler, target string, authorization ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, a := range authorization {
		r.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// failingRevocations is a store.Revocations whose backend is down.
type failingRevocations struct {
	mu    sync.Mutex
	calls int
}

func (f *failingRevocations) RevokeToken(context.Context, store.TokenRef, time.Time) error {
	return store.ErrUnavailable
}

func (f *failingRevocations) RevokeSubject(context.Context, string, time.Time, time.Duration) error {
	return store.ErrUnavailable
}

func (f *failingRevocations) IsRevoked(context.Context, store.TokenRef) (bool, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return false, store.ErrUnavailable
}

// failingUsers is a store.Users whose backend is down.
type failingUsers struct{}

func (failingUsers) UserByUsername(context.Context, string) (store.User, error) {
	return store.User{}, store.ErrUnavailable
}

func (failingUsers) UserByID(context.Context, string) (store.User, error) {
	return store.User{}, store.ErrUnavailable
}

// mutableUsers wraps a store.Users so that a test can delete or disable
// an account after tokens were issued (memstore has no such operations).
type mutableUsers struct {
	store.Users
	mu       sync.Mutex
	deleted  map[string]bool
	disabled map[string]bool
}

func newMutableUsers(u store.Users) *mutableUsers {
	return &mutableUsers{Users: u, deleted: map[string]bool{}, disabled: map[string]bool{}}
}

func (m *mutableUsers) UserByID(ctx context.Context, id string) (store.User, error) {
	m.mu.Lock()
	del, dis := m.deleted[id], m.disabled[id]
	m.mu.Unlock()
	if del {
		return store.User{}, store.ErrNotFound
	}
	u, err := m.Users.UserByID(ctx, id)
	if dis {
		u.Disabled = true
	}
	return u, err
}

func (m *mutableUsers) remove(id string) {
	m.mu.Lock()
	m.deleted[id] = true
	m.mu.Unlock()
}

func (m *mutableUsers) disable(id string) {
	m.mu.Lock()
	m.disabled[id] = true
	m.mu.Unlock()
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// rawStatus writes req as is to addr and returns the response status.
func rawStatus(t testing.TB, addr, req string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
