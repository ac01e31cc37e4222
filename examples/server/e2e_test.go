package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// e2eKey is the HS256 secret of the end-to-end server (40 bytes).
const e2eKey = "e2e-hs256-key-0123456789abcdefghijklmnop"

const (
	e2eNotAuthenticated = `{"detail":"Not authenticated"}` + "\n"
	e2eInvalidToken     = `{"detail":"Could not validate credentials"}` + "\n"
	e2eBadCredentials   = `{"detail":"Incorrect username or password","error":"invalid_grant","error_description":"incorrect username or password"}` + "\n"
	e2eBadRefresh       = `{"detail":"Invalid refresh token","error":"invalid_grant","error_description":"the refresh token is invalid, expired or revoked"}` + "\n"
	e2eLoggedOut        = `{"detail":"Logged out"}` + "\n"
	e2eChallengeInvalid = `Bearer error="invalid_token", error_description="the access token is invalid"`
)

// lockedBuffer collects log output written from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// e2eResponse is what a test needs from one answer.
type e2eResponse struct {
	status    int
	challenge string
	header    http.Header
	body      string
}

// e2eClient talks to a server started by run.
type e2eClient struct {
	t    *testing.T
	base string
	mu   sync.Mutex
	seen []string // every token the server handed out
}

func (c *e2eClient) do(req *http.Request) e2eResponse {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	return e2eResponse{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), h, string(body)}
}

func (c *e2eClient) post(path string, form url.Values, bearer string) e2eResponse {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return c.do(req)
}

func (c *e2eClient) get(path, authorization string) e2eResponse {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return c.do(req)
}

type e2eTokens struct {
	Access    string `json:"access_token"`
	Refresh   string `json:"refresh_token"`
	TokenType string `json:"token_type"`
	ExpiresIn int64  `json:"expires_in"`
}

// tokens decodes a 200 token response and remembers the tokens.
func (c *e2eClient) tokens(r e2eResponse) e2eTokens {
	c.t.Helper()
	if r.status != http.StatusOK {
		c.t.Fatalf("token response %d: %s", r.status, r.body)
	}
	var tk e2eTokens
	if err := json.Unmarshal([]byte(r.body), &tk); err != nil || tk.Access == "" || tk.Refresh == "" {
		c.t.Fatalf("token body %q: %v", r.body, err)
	}
	if tk.TokenType != "bearer" || tk.ExpiresIn != 1800 {
		c.t.Errorf("token_type %q expires_in %d, want bearer 1800", tk.TokenType, tk.ExpiresIn)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		c.t.Errorf("token response without Cache-Control: no-store")
	}
	c.mu.Lock()
	c.seen = append(c.seen, tk.Access, tk.Refresh)
	c.mu.Unlock()
	return tk
}

func (c *e2eClient) login(user, pw string) e2eResponse {
	c.t.Helper()
	return c.post("/token", url.Values{"username": {user}, "password": {pw}}, "")
}

func (c *e2eClient) refresh(rt string) e2eResponse {
	c.t.Helper()
	return c.post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "")
}

func expect(t *testing.T, what string, r e2eResponse, status int, challenge, body string) {
	t.Helper()
	if r.status != status || r.challenge != challenge || r.body != body {
		t.Errorf("%s: got %d %q %q, want %d %q %q", what, r.status, r.challenge, r.body, status, challenge, body)
	}
}

// parallel runs fns at once and waits for them: the server hashes two
// passwords at a time, which halves the bcrypt wall time.
func parallel(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(fn)
	}
	wg.Wait()
}

// startServer runs the example server on a loopback port and returns its
// base URL and a function that stops it and waits for run to return. The
// server is also stopped when the test ends.
func startServer(t *testing.T, logger *slog.Logger) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	getenv := func(k string) string {
		if k == "JWT_SECRET" {
			return e2eKey
		}
		return "" // memory store, no Redis
	}
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, getenv, logger, ready) }()
	select {
	case addr := <-ready:
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("run returned %v after shutdown", err)
				}
			})
		}
		t.Cleanup(stop)
		return "http://" + addr, stop
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start within 60 s")
	}
	return "", nil
}

// TestServer_EndToEnd runs the example server over a real listener and
// walks the recipe's flows and their failures, then checks that no
// credential reached the log.
func TestServer_EndToEnd(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	base, stop := startServer(t, logger)
	c := &e2eClient{t: t, base: base}

	// Bcrypt work at cost 12, two at a time: two sessions, then the
	// three failures that must look alike.
	var l1, l2, wrong, unknown, disabled e2eResponse
	parallel(func() { l1 = c.login("johndoe", "secret") }, func() { l2 = c.login("johndoe", "secret") })
	parallel(func() { wrong = c.login("johndoe", "wrong-password") }, func() { unknown = c.login("nobody", "secret") })
	disabled = c.login("alice", "secret2")
	s1, s2 := c.tokens(l1), c.tokens(l2)

	t.Run("E-01 E-09 failed logins are identical", func(t *testing.T) {
		expect(t, "wrong password", wrong, 401, "Bearer", e2eBadCredentials)
		for name, r := range map[string]e2eResponse{"unknown user": unknown, "disabled user": disabled} {
			if r.status != wrong.status || r.body != wrong.body || !reflect.DeepEqual(r.header, wrong.header) {
				t.Errorf("%s: %d %v %q differs from wrong password: %d %v %q", name, r.status, r.header, r.body, wrong.status, wrong.header, wrong.body)
			}
		}
	})

	t.Run("users/me", func(t *testing.T) {
		want := map[string]any{"username": "johndoe", "email": "johndoe@example.com", "full_name": "John Doe", "disabled": false}
		for _, path := range []string{"/users/me", "/users/me/"} {
			r := c.get(path, "Bearer "+s1.Access)
			var got map[string]any
			if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GET %s: %d %q", path, r.status, r.body)
			}
			if r.header.Get("Content-Type") != "application/json" {
				t.Errorf("GET %s: Content-Type %q", path, r.header.Get("Content-Type"))
			}
		}
	})

	t.Run("healthz without auth", func(t *testing.T) {
		expect(t, "healthz", c.get("/healthz", ""), 200, "", `{"status":"ok"}`+"\n")
	})

	t.Run("refused requests", func(t *testing.T) {
		key, err := jwt.KeyFromString("", jwt.HS256, e2eKey)
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := jwt.NewKeySet(key)
		const issuer = "http://127.0.0.1:0" // the server's default: http:// plus -addr
		ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: issuer})
		if err != nil {
			t.Fatal(err)
		}
		claims, err := ver.VerifyAccess(t.Context(), s1.Access)
		if err != nil {
			t.Fatalf("the server's token does not verify with the test's key: %v", err)
		}
		forge := func(now time.Time) string {
			iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := iss.IssueAccess(context.Background(), jwt.Grant{Subject: claims.Subject, TTL: 30 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return tok.Raw
		}
		// The forging itself is right: a current token is accepted.
		if r := c.get("/users/me", "Bearer "+forge(time.Now())); r.status != 200 {
			t.Fatalf("forged current token: %d %s", r.status, r.body)
		}

		expect(t, "H-01 no header", c.get("/users/me", ""), 401, "Bearer", e2eNotAuthenticated)
		expect(t, "H-03 basic", c.get("/users/me", "Basic am9obmRvZTpzZWNyZXQ="), 401, "Bearer", e2eNotAuthenticated)
		expect(t, "bad token", c.get("/users/me", "Bearer abc.def.ghi"), 401, e2eChallengeInvalid, e2eInvalidToken)
		expect(t, "C-01 expired", c.get("/users/me", "Bearer "+forge(time.Now().Add(-2*time.Hour))), 401, e2eChallengeInvalid, e2eInvalidToken)
		expect(t, "T-01 refresh token as access token", c.get("/users/me", "Bearer "+s1.Refresh), 401, e2eChallengeInvalid, e2eInvalidToken)
		expect(t, "T-02 access token as refresh token", c.refresh(s1.Access), 400, "", e2eBadRefresh)
		r := c.get("/users/me?access_token="+s1.Access, "")
		expect(t, "H-08 query token", r, 401, "Bearer", e2eNotAuthenticated)
	})

	t.Run("refresh, reuse ends the session", func(t *testing.T) {
		r2 := c.tokens(c.refresh(s1.Refresh))
		if r := c.get("/users/me", "Bearer "+r2.Access); r.status != 200 {
			t.Fatalf("refreshed access token: %d", r.status)
		}
		// The recipe's POST /refresh.
		r3 := c.tokens(c.post("/refresh", url.Values{"refresh_token": {r2.Refresh}}, ""))

		expect(t, "R-02 reuse", c.refresh(s1.Refresh), 400, "", e2eBadRefresh)
		expect(t, "R-02 newest refresh token after reuse", c.refresh(r3.Refresh), 400, "", e2eBadRefresh)
		expect(t, "R-02 access token after reuse", c.get("/users/me", "Bearer "+r3.Access), 401, e2eChallengeInvalid, e2eInvalidToken)
		expect(t, "R-02 first access token after reuse", c.get("/users/me", "Bearer "+s1.Access), 401, e2eChallengeInvalid, e2eInvalidToken)
	})

	t.Run("logout", func(t *testing.T) {
		if r := c.get("/users/me", "Bearer "+s2.Access); r.status != 200 {
			t.Fatalf("second session before logout: %d", r.status)
		}
		form := url.Values{"refresh_token": {s2.Refresh}}
		expect(t, "E-13 logout", c.post("/logout", form, s2.Access), 200, "", e2eLoggedOut)
		expect(t, "E-13 access token after logout", c.get("/users/me", "Bearer "+s2.Access), 401, e2eChallengeInvalid, e2eInvalidToken)
		expect(t, "E-13 refresh token after logout", c.refresh(s2.Refresh), 400, "", e2eBadRefresh)
		expect(t, "E-13 second logout", c.post("/logout", form, s2.Access), 200, "", e2eLoggedOut)
	})

	t.Run("E-06 E-05 token endpoint hygiene", func(t *testing.T) {
		if r := c.get("/token", ""); r.status != 405 {
			t.Errorf("GET /token: %d", r.status)
		}
		r := c.post("/token?username=johndoe&password=secret", url.Values{}, "")
		if r.status != 400 || strings.Contains(r.body, "access_token") {
			t.Errorf("credentials in the query: %d %s", r.status, r.body)
		}
	})

	// Log hygiene over the whole flow: stop the server first so that
	// every line is written.
	stop()
	t.Run("logs hold no credentials", func(t *testing.T) {
		out := logs.String()
		if !strings.Contains(out, `"msg":"listening"`) || !strings.Contains(out, "login_failure") {
			t.Fatalf("log capture did not see the flow:\n%s", out)
		}
		forbidden := []string{"secret", "$2b$", "$2a$", "Authorization", "authorization", "Bearer ey", e2eKey, "wrong-password"}
		c.mu.Lock()
		forbidden = append(forbidden, c.seen...)
		c.mu.Unlock()
		for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
			for _, s := range forbidden {
				if strings.Contains(line, s) {
					t.Errorf("log line %d contains %.20q…: %.200s", i+1, s, line)
				}
			}
		}
	})
}

// TestServer_RefusesWeakOrPublishedSecrets: run fails before listening.
func TestServer_RefusesWeakOrPublishedSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		wantErr      error // nil: any error
		wantText     string
	}{
		{name: "FastAPI recipe key", secret: "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7", wantErr: jwt.ErrWeakKey, wantText: "published"},
		{name: "FastAPI recipe key, upper case", secret: "09D25E094FAA6CA2556C818166B7A9563B93F7099F6F0F4CAA6CF63B88E8D3E7", wantErr: jwt.ErrWeakKey, wantText: "published"},
		{name: "FastAPI recipe key, trailing newline", secret: "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7\n", wantErr: jwt.ErrWeakKey, wantText: "published"},
		{name: "31 bytes", secret: strings.Repeat("k", 31), wantErr: jwt.ErrWeakKey},
		{name: "short", secret: "hunter2", wantErr: jwt.ErrWeakKey},
		{name: "trailing newline", secret: strings.Repeat("k", 40) + "\n", wantErr: jwt.ErrConfig, wantText: "white space"},
		{name: "leading space", secret: " " + strings.Repeat("k", 40), wantErr: jwt.ErrConfig, wantText: "white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedBuffer
			ready := make(chan string, 1)
			getenv := func(k string) string {
				if k == "JWT_SECRET" {
					return tc.secret
				}
				return ""
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := run(ctx, []string{"-addr", "127.0.0.1:0"}, getenv, slog.New(slog.NewJSONHandler(&logs, nil)), ready)
			if err == nil {
				t.Fatal("run accepted the secret")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not mention %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), tc.secret) || strings.Contains(logs.String(), tc.secret) {
				t.Error("the secret appears in the error or the log")
			}
			select {
			case addr := <-ready:
				t.Errorf("server listened on %s", addr)
			default:
			}
		})
	}
}
