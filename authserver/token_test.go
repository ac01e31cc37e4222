package authserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
)

// auditLog collects audit events.
type auditLog struct {
	mu     sync.Mutex
	events []authserver.AuditEvent
}

func (a *auditLog) record(_ context.Context, e authserver.AuditEvent) {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
}

func (a *auditLog) all() []authserver.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.events)
}

// headersWithoutDate returns a copy of h without Date.
func headersWithoutDate(h http.Header) http.Header {
	c := h.Clone()
	c.Del("Date")
	return c
}

// TestTokenEndpoint_E01_E09_L04_IdenticalFailures: wrong password, unknown
// user and disabled user (with the right or a wrong password) get the same
// bytes: status, every header, body.
func TestTokenEndpoint_E01_E09_L04_IdenticalFailures(t *testing.T) {
	f := newFixture(t)
	var audit auditLog
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Audit = audit.record })

	wrong := login(h, johnName, "wrong-password")
	checkResponse(t, wrong, 401, "Bearer", bodyBadCredentials)
	if got := wrong.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	ref := headersWithoutDate(wrong.Header())

	for _, tc := range []struct{ name, user, pw string }{
		{"E-01 unknown user", "nobody", johnPassword},
		{"E-09 disabled user, right password", aliceName, alicePassword},
		{"L-04 disabled user, wrong password", aliceName, "wrong-password"},
		{"E-01 wrong password again", johnName, "Secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := login(h, tc.user, tc.pw)
			if rec.Code != wrong.Code {
				t.Errorf("status %d, want %d", rec.Code, wrong.Code)
			}
			if got := headersWithoutDate(rec.Header()); !reflect.DeepEqual(got, ref) {
				t.Errorf("headers %v, want %v", got, ref)
			}
			if !bytes.Equal(rec.Body.Bytes(), wrong.Body.Bytes()) {
				t.Errorf("body %q, want %q", rec.Body.String(), wrong.Body.String())
			}
		})
	}

	// The audit trail tells the cases apart; the client never can.
	var reasons []string
	for _, e := range audit.all() {
		if e.Kind != authserver.AuditLoginFailure {
			t.Errorf("audit event %q, want only login failures", e.Kind)
		}
		if e.Subject != "" {
			t.Errorf("failure event names a subject: %+v", e)
		}
		reasons = append(reasons, e.Reason)
	}
	if want := []string{"bad_credentials", "bad_credentials", "disabled", "bad_credentials", "bad_credentials"}; !slices.Equal(reasons, want) {
		t.Errorf("audit reasons %q, want %q", reasons, want)
	}
}

// TestTokenEndpoint_E01_RealServer compares the failures over a real
// connection, where net/http adds Date and may add other headers.
func TestTokenEndpoint_E01_RealServer(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.tokenHandler(t, nil))
	t.Cleanup(srv.Close)
	type answer struct {
		status int
		header http.Header
		body   string
	}
	do := func(user, pw string) answer {
		resp, err := srv.Client().PostForm(srv.URL, url.Values{"username": {user}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return answer{resp.StatusCode, headersWithoutDate(resp.Header), b.String()}
	}
	wrong := do(johnName, "wrong-password")
	if wrong.status != 401 || wrong.body != bodyBadCredentials {
		t.Fatalf("wrong password: %d %q", wrong.status, wrong.body)
	}
	for _, other := range []answer{do("nobody", "wrong-password"), do(aliceName, alicePassword)} {
		if !reflect.DeepEqual(other, wrong) {
			t.Errorf("got %+v, want %+v", other, wrong)
		}
	}
}

func TestTokenEndpoint_E02_E03_E04_E05_BadRequests(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	valid := "grant_type=password&username=johndoe&password=secret"
	tests := []struct {
		name       string
		target     string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"E-02 no username", "/token", "grant_type=password&password=secret", 400, bodyInvalidReq("username is required")},
		{"E-02 empty username", "/token", "grant_type=password&username=&password=secret", 400, bodyInvalidReq("username is required")},
		{"E-02 no password", "/token", "grant_type=password&username=johndoe", 400, bodyInvalidReq("password is required")},
		{"E-02 P-05 empty password", "/token", "grant_type=password&username=johndoe&password=", 400, bodyInvalidReq("password is required")},
		{"E-02 empty body", "/token", "", 400, bodyInvalidReq("username is required")},

		{"E-03 client_credentials", "/token", "grant_type=client_credentials&username=johndoe&password=secret", 400, bodyUnsupported},
		{"E-03 Password is case-sensitive", "/token", "grant_type=Password&username=johndoe&password=secret", 400, bodyUnsupported},
		{"E-03 PASSWORD", "/token", "grant_type=PASSWORD&username=johndoe&password=secret", 400, bodyUnsupported},
		{"E-03 authorization_code", "/token", "grant_type=authorization_code&code=x", 400, bodyUnsupported},
		{"E-03 empty grant_type", "/token", "grant_type=&username=johndoe&password=secret", 400, bodyInvalidReq("grant_type is required")},

		{"E-04 repeated username", "/token", "grant_type=password&username=a&username=johndoe&password=secret", 400, bodyInvalidReq("parameter username is repeated")},
		{"E-04 repeated password", "/token", "grant_type=password&username=johndoe&password=x&password=secret", 400, bodyInvalidReq("parameter password is repeated")},
		{"E-04 repeated grant_type", "/token", "grant_type=password&grant_type=password&username=johndoe&password=secret", 400, bodyInvalidReq("parameter grant_type is repeated")},
		{"E-04 repeated scope", "/token", valid + "&scope=read&scope=items", 400, bodyInvalidReq("parameter scope is repeated")},
		{"E-04 repeated odd name is not echoed", "/token", valid + "&%22%3Cx%3E=1&%22%3Cx%3E=2", 400, bodyInvalidReq("parameter (name) is repeated")},
		{"E-04 malformed form", "/token", valid + "&%zz=1", 400, bodyInvalidReq("malformed form body")},

		{"E-05 credentials only in the query", "/token?grant_type=password&username=johndoe&password=secret", "", 400, bodyInvalidReq("credentials must be sent in the request body")},
		{"E-05 password in the query", "/token?password=secret", valid, 400, bodyInvalidReq("credentials must be sent in the request body")},
		{"E-05 username in the query", "/token?username=johndoe", "grant_type=password&password=secret", 400, bodyInvalidReq("credentials must be sent in the request body")},
		{"E-05 refresh_token in the query", "/token?refresh_token=x", "grant_type=refresh_token", 400, bodyInvalidReq("credentials must be sent in the request body")},
		{"E-05 client_secret in the query", "/token?client_secret=x", valid, 400, bodyInvalidReq("credentials must be sent in the request body")},
		{"E-05 malformed query", "/token?%zz", valid, 400, bodyInvalidReq("malformed query string")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := postForm(h, tc.target, tc.body)
			checkResponse(t, rec, tc.wantStatus, "", tc.wantBody)
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if strings.Contains(rec.Body.String(), "access_token") {
				t.Error("a refused request got a token")
			}
		})
	}

	t.Run("E-03 absent grant_type is the recipe's password grant", func(t *testing.T) {
		mustTokens(t, postForm(h, "/token", "username=johndoe&password=secret"))
	})
	t.Run("E-03 RequireGrantType refuses absent grant_type", func(t *testing.T) {
		strict := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.RequireGrantType = true })
		checkResponse(t, postForm(strict, "/token", "username=johndoe&password=secret"), 400, "", bodyInvalidReq("grant_type is required"))
		mustTokens(t, postForm(strict, "/token", valid))
	})
	t.Run("E-05 unrelated query parameters are harmless", func(t *testing.T) {
		mustTokens(t, postForm(h, "/token?client=web", valid))
	})
	t.Run("refresh grant without a refresh store", func(t *testing.T) {
		noRefresh := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Refresh = nil })
		checkResponse(t, postForm(noRefresh, "/token", "grant_type=refresh_token&refresh_token=x"), 400, "",
			`{"detail":"Unsupported grant type","error":"unsupported_grant_type","error_description":"refresh tokens are not enabled"}`+"\n")
		tb := mustTokens(t, login(noRefresh, johnName, johnPassword))
		if tb.RefreshToken != "" {
			t.Error("refresh token issued without a refresh store")
		}
	})
}

func TestTokenEndpoint_E06_Method(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	const body405 = `{"detail":"Method Not Allowed","error":"invalid_request","error_description":"use POST"}` + "\n"
	endpoints := map[string]http.Handler{
		"token": h, "refresh": h.RefreshHandler(), "revoke": h.RevokeHandler(),
	}
	for name, ep := range endpoints {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead} {
			t.Run(name+" "+m, func(t *testing.T) {
				r := httptest.NewRequest(m, "/token?username=johndoe&password=secret", strings.NewReader("username=johndoe&password=secret"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				ep.ServeHTTP(rec, r)
				checkResponse(t, rec, 405, "", body405)
				if got := rec.Header().Get("Allow"); got != "POST" {
					t.Errorf("Allow = %q, want POST", got)
				}
			})
		}
	}
	t.Run("logout GET", func(t *testing.T) {
		rec := get(h.LogoutHandler(), "/logout")
		checkResponse(t, rec, 405, "", body405)
		if got := rec.Header().Get("Allow"); got != "POST" {
			t.Errorf("Allow = %q, want POST", got)
		}
	})
}

func TestTokenEndpoint_E07_ContentTypeAndSize(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	const creds = "grant_type=password&username=johndoe&password=secret"
	notForm := bodyInvalidReq("the body must be application/x-www-form-urlencoded")
	tooLarge := `{"detail":"Request body too large","error":"invalid_request","error_description":"request body too large"}` + "\n"

	// A form body of exactly n bytes that logs in.
	padded := func(n int) string {
		s := creds + "&pad="
		return s + strings.Repeat("p", n-len(s))
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantBody    string
	}{
		{"JSON", "application/json", `{"username":"johndoe","password":"secret"}`, 400, notForm},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njohndoe\r\n--x--\r\n", 400, notForm},
		{"no content type", "", creds, 400, notForm},
		{"text/plain", "text/plain", creds, 400, notForm},
		{"malformed media type", "application/x-www-form-urlencoded; =", creds, 400, notForm},
		{"form with charset", "application/x-www-form-urlencoded; charset=utf-8", creds, 200, ""},
		{"form in upper case", "Application/X-WWW-Form-Urlencoded", creds, 200, ""},
		{"body at the 16 KiB cap", "application/x-www-form-urlencoded", padded(16 << 10), 200, ""},
		{"body one byte over the cap", "application/x-www-form-urlencoded", padded(16<<10 + 1), 413, tooLarge},
		{"11 MB body", "application/x-www-form-urlencoded", padded(11 << 20), 413, tooLarge},
		{"11 MB JSON body", "application/json", strings.Repeat("x", 11<<20), 400, notForm},
	}
	for _, tc := range tests {
		t.Run("E-07 "+tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if tc.wantStatus == 200 {
				mustTokens(t, rec)
				return
			}
			checkResponse(t, rec, tc.wantStatus, "", tc.wantBody)
		})
	}

	t.Run("E-07 11 MB body over a real connection", func(t *testing.T) {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		resp, err := srv.Client().Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(padded(11<<20)))
		if err != nil {
			// The server may close the connection while the client is
			// still sending; what matters is that it never served 500.
			t.Logf("client error after the early answer: %v", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
	})
}

func TestTokenEndpoint_E08_Success(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	rec := login(h, johnName, johnPassword)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if rec.Header().Get("WWW-Authenticate") != "" {
		t.Error("success carries a challenge")
	}

	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, []string{"access_token", "expires_in", "refresh_token", "scope", "token_type"}) {
		t.Errorf("fields %q", keys)
	}
	for _, k := range []string{"access_token", "refresh_token", "token_type", "scope"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("%s is %T, want string", k, m[k])
		}
	}
	if m["token_type"] != "bearer" {
		t.Errorf("token_type = %v, want bearer", m["token_type"])
	}
	n, ok := m["expires_in"].(json.Number)
	if !ok || strings.ContainsAny(n.String(), ".eE") {
		t.Errorf("expires_in = %v (%T), want an integer", m["expires_in"], m["expires_in"])
	}
	if secs, _ := n.Int64(); secs != int64((15*time.Minute)/time.Second) {
		t.Errorf("expires_in = %d, want %d", secs, int64((15*time.Minute)/time.Second))
	}
	if m["scope"] != "read items" {
		t.Errorf("scope = %v, want the user's scopes", m["scope"])
	}

	at, err := f.verifier.VerifyAccess(t.Context(), m["access_token"].(string))
	if err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}
	rt, err := f.verifier.VerifyRefresh(t.Context(), m["refresh_token"].(string))
	if err != nil {
		t.Fatalf("refresh token does not verify: %v", err)
	}
	if at.Subject != johnID || rt.Subject != johnID || at.FamilyID == "" || at.FamilyID != rt.FamilyID {
		t.Errorf("access %+v / refresh %+v: want subject %s and one family", at, rt, johnID)
	}
	if !slices.Equal(at.Scopes, []string{"read", "items"}) {
		t.Errorf("access scopes %q", at.Scopes)
	}

	t.Run("AccessTTL and a narrower scope", func(t *testing.T) {
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.AccessTTL = 30 * time.Minute })
		tb := mustTokens(t, login(h, johnName, johnPassword, "scope", "read"))
		if tb.ExpiresIn != 1800 || tb.Scope != "read" {
			t.Errorf("expires_in %d scope %q, want 1800 read", tb.ExpiresIn, tb.Scope)
		}
		c, err := f.verifier.VerifyAccess(t.Context(), tb.AccessToken)
		if err != nil || !slices.Equal(c.Scopes, []string{"read"}) {
			t.Errorf("access token scopes %v, %v", c, err)
		}
	})
}

// TestTokenEndpoint_E10_UsernameTricks: usernames are compared exactly.
func TestTokenEndpoint_E10_UsernameTricks(t *testing.T) {
	f := newFixture(t)
	// Subtests run in parallel; the queue wait keeps the hashing bound
	// from shedding them.
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.HashQueueWait = time.Minute })
	tests := []struct {
		name       string
		username   string
		wantStatus int
		wantBody   string
	}{
		{"SQL comment", "johndoe' --", 401, bodyBadCredentials},
		{"SQL tautology", "' OR '1'='1", 401, bodyBadCredentials},
		{"case", "JohnDoe", 401, bodyBadCredentials},
		{"fullwidth", "ｊｏｈｎｄｏｅ", 401, bodyBadCredentials},
		{"trailing NUL", "johndoe\x00", 401, bodyBadCredentials},
		{"trailing space", "johndoe ", 401, bodyBadCredentials},
		{"at the 256-byte cap", strings.Repeat("j", 256), 401, bodyBadCredentials},
		{"one byte over the cap", strings.Repeat("j", 256+1), 400, bodyInvalidReq("username too long")},
		{"10 KiB", strings.Repeat("j", 10<<10), 400, bodyInvalidReq("username too long")},
	}
	for _, tc := range tests {
		t.Run("E-10 "+tc.name, func(t *testing.T) {
			t.Parallel()
			rec := login(h, tc.username, johnPassword)
			challenge := ""
			if tc.wantStatus == 401 {
				challenge = "Bearer"
			}
			checkResponse(t, rec, tc.wantStatus, challenge, tc.wantBody)
		})
	}
}

// TestTokenEndpoint_P02_VerifyTimeTruncation: bcrypt reads 72 bytes; a
// 73-byte password must not match a hash of its first 72.
func TestTokenEndpoint_P02_VerifyTimeTruncation(t *testing.T) {
	f := newFixture(t)
	pw72 := strings.Repeat("a", password.MaxBcryptBytes)
	hash, err := bcrypt.GenerateFromPassword([]byte(pw72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pw72+"b")) != nil {
		t.Fatal("premise: x/crypto no longer matches the truncated password")
	}
	if err := f.store.AddUser(store.User{ID: "uid-long", Username: "long", PasswordHash: string(hash)}); err != nil {
		t.Fatal(err)
	}
	h := f.tokenHandler(t, nil)
	checkResponse(t, login(h, "long", pw72+"b"), 401, "Bearer", bodyBadCredentials)
	checkResponse(t, login(h, "long", pw72+strings.Repeat("z", 100)), 401, "Bearer", bodyBadCredentials)
	mustTokens(t, login(h, "long", pw72))
}

// dummyHashOf reads the dummy hash a password.Hasher builds on the first
// CompareDummy. The field is unexported; reading it here is the only way
// to observe, without timing, that the login handler ran the dummy
// comparison and that its hash is a real one at the configured cost.
func dummyHashOf(t *testing.T, h *password.Hasher) (string, bool) {
	t.Helper()
	d := reflect.ValueOf(h).Elem().FieldByName("dummy")
	if !d.IsValid() || d.Kind() != reflect.Pointer {
		t.Fatal("password.Hasher has no dummy pointer field any more; update dummyHashOf")
	}
	if d.IsNil() {
		return "", false
	}
	enc := d.Elem().FieldByName("encoded")
	if !enc.IsValid() || enc.Kind() != reflect.String {
		t.Fatal("password.Hasher's dummy has no encoded string any more; update dummyHashOf")
	}
	return enc.String(), true
}

// TestTokenEndpoint_L01_L02_UnknownUserDoesDummyComparison checks the
// mechanism behind equal login timing, not timing itself: timings are
// reported by benchmarks, never asserted.
func TestTokenEndpoint_L01_L02_UnknownUserDoesDummyComparison(t *testing.T) {
	f := newFixture(t)
	const cost = 10
	if f.hasher.Cost != cost {
		t.Fatalf("fixture hasher cost %d", f.hasher.Cost)
	}
	// A hash at the configured cost: a failure against a cheaper legacy
	// hash also learns the dummy comparison's cost (L-03).
	current, err := f.hasher.Hash("current-pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddUser(store.User{ID: "uid-current", Username: "current", PasswordHash: current}); err != nil {
		t.Fatal(err)
	}
	h := f.tokenHandler(t, nil)
	if _, built := dummyHashOf(t, f.hasher); built {
		t.Fatal("dummy hash exists before any login")
	}

	// A known user with a wrong password is compared against the stored
	// hash; the dummy is not involved.
	checkResponse(t, login(h, "current", "wrong-password"), 401, "Bearer", bodyBadCredentials)
	if _, built := dummyHashOf(t, f.hasher); built {
		t.Fatal("wrong password for a known user used the dummy hash")
	}

	// An unknown user costs a comparison against the dummy hash.
	checkResponse(t, login(h, "nobody", "wrong-password"), 401, "Bearer", bodyBadCredentials)
	dummy, built := dummyHashOf(t, f.hasher)
	if !built {
		t.Fatal("unknown-user login did not run CompareDummy")
	}

	// L-02: the dummy is a valid bcrypt hash at the configured cost, so
	// comparing against it takes the full time ("dummyhash" would return
	// at once).
	got, err := bcrypt.Cost([]byte(dummy))
	if err != nil {
		t.Fatalf("dummy hash does not parse: %v", err)
	}
	if got != cost {
		t.Fatalf("dummy hash cost %d, want %d", got, cost)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(dummy), []byte("wrong-password")); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Fatalf("comparing against the dummy hash: %v, want a computed mismatch", err)
	}
	if !strings.HasPrefix(dummy, "$2b$10$") || len(dummy) != 60 {
		t.Fatalf("dummy hash has the wrong form (%d bytes)", len(dummy))
	}
}

// TestTokenEndpoint_L05_UserStoreDown: an outage is 503, not 401.
func TestTokenEndpoint_L05_UserStoreDown(t *testing.T) {
	f := newFixture(t)
	healthy := f.tokenHandler(t, nil)
	pair := mustTokens(t, login(healthy, johnName, johnPassword))

	var logs syncBuffer
	down := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Users = failingUsers{}
		c.Logger = slogJSON(&logs)
	})
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"password grant": login(down, johnName, johnPassword),
		"refresh grant":  postForm(down, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken),
		"/refresh":       postForm(down.RefreshHandler(), "/refresh", "refresh_token="+pair.RefreshToken),
	} {
		t.Run("L-05 "+name, func(t *testing.T) {
			checkResponse(t, rec, 503, "", bodyStoreDown)
			if got := rec.Header().Get("Retry-After"); got != "5" {
				t.Errorf("Retry-After = %q, want 5", got)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
		})
	}
	if !strings.Contains(logs.String(), "user lookup failed") {
		t.Errorf("outage not logged: %s", logs.String())
	}
	for _, secret := range []string{johnPassword + `"`, pair.RefreshToken} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains a credential: %s", logs.String())
		}
	}
	// The refresh token was not consumed by the failed attempts.
	mustTokens(t, postForm(healthy, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken))
}

// slowHash is a bcrypt cost-11 hash of "slow-password": slow enough to
// hold the only hashing slot well past a 50 ms queue wait.
const slowHash = "$2a$11$BnZtHC3DKpdsbkAguIf/puvR/T/trttr2WrxOmGX.0KIhMcRSyaS."

// TestTokenEndpoint_HashingBound: with one hashing slot and a short queue
// wait, concurrent logins are shed with 503 and Retry-After instead of
// queueing without bound.
func TestTokenEndpoint_HashingBound(t *testing.T) {
	f := newFixture(t)
	if err := f.store.AddUser(store.User{ID: "uid-slow", Username: "slow", PasswordHash: slowHash}); err != nil {
		t.Fatal(err)
	}
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.MaxConcurrentHashes = 1
		c.HashQueueWait = 50 * time.Millisecond
	})
	const n = 4
	recs := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			recs[i] = login(h, "slow", "wrong-password")
		})
	}
	close(start)
	wg.Wait()

	counts := map[int]int{}
	for _, rec := range recs {
		counts[rec.Code]++
		switch rec.Code {
		case 401:
			checkResponse(t, rec, 401, "Bearer", bodyBadCredentials)
		case 503:
			checkResponse(t, rec, 503, "", bodyBusy)
			if got := rec.Header().Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After = %q, want 1", got)
			}
		default:
			t.Errorf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
	if counts[503] == 0 || counts[401] == 0 {
		t.Fatalf("statuses %v: want some logins computed (401) and some shed (503)", counts)
	}
	// The slot is released: a later login is served.
	mustTokens(t, login(h, johnName, johnPassword))
}

func TestTokenEndpoint_E11_RefreshGrantFailures(t *testing.T) {
	f := newFixture(t)
	users := newMutableUsers(f.store)
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Users = users })

	expired, err := f.issuerAt(t, time.Now().Add(-8*24*time.Hour)).IssueRefresh(context.Background(), jwt.Grant{Subject: johnID, FamilyID: tokenid.New()})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := jwt.NewHMACKey(testKeyID, jwt.HS256, []byte("another-secret-of-thirty-two-by!"))
	otherKeys, _ := jwt.NewKeySet(otherKey)
	otherIss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: otherKeys, Issuer: testIssuer, Audience: []string{testAudience}})
	wrongSig, err := otherIss.IssueRefresh(context.Background(), jwt.Grant{Subject: johnID, FamilyID: tokenid.New()})
	if err != nil {
		t.Fatal(err)
	}
	// Signed by the right key but never stored.
	unknownFamily, err := f.issuer.IssueRefresh(context.Background(), jwt.Grant{Subject: johnID, FamilyID: tokenid.New()})
	if err != nil {
		t.Fatal(err)
	}
	revoked := mustTokens(t, login(h, johnName, johnPassword))
	if rec := postForm(h.RevokeHandler(), "/revoke", "token="+revoked.RefreshToken); rec.Code != 200 {
		t.Fatalf("revoke: %d", rec.Code)
	}
	disabledLater := mustTokens(t, login(h, readerName, readerPassword))
	users.disable(readerID)
	deletedLater := mustTokens(t, login(h, johnName, johnPassword))
	users.remove(johnID)
	parts := strings.Split(unknownFamily.Raw, ".")

	for _, tc := range []struct{ name, token string }{
		{"malformed", "garbage"},
		{"JWT-shaped garbage", "a.b.c"},
		{"expired", expired.Raw},
		{"wrong signature", wrongSig.Raw},
		{"tampered", parts[0] + "." + b64(`{"sub":"uid-john"}`) + "." + parts[2]},
		{"unknown family", unknownFamily.Raw},
		{"revoked", revoked.RefreshToken},
		{"R-07 user disabled after login", disabledLater.RefreshToken},
		{"R-07 user deleted after login", deletedLater.RefreshToken},
	} {
		t.Run("E-11 "+tc.name, func(t *testing.T) {
			rec := postForm(h, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tc.token}}.Encode())
			checkResponse(t, rec, 400, "", bodyBadRefresh)
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
		})
	}
	t.Run("E-11 missing refresh_token", func(t *testing.T) {
		checkResponse(t, postForm(h, "/token", "grant_type=refresh_token"), 400, "", bodyInvalidReq("refresh_token is required"))
	})
}

func TestTokenEndpoint_R01_R02_RotationAndReuse(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	mw := middleware.RequireBearer(f.verifier, middleware.WithRevocations(f.store))(&protectedHandler{})
	rt1 := mustTokens(t, login(h, johnName, johnPassword))
	rt2 := mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+rt1.RefreshToken))
	if rt2.RefreshToken == rt1.RefreshToken || rt2.AccessToken == rt1.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	// The recipe's POST /refresh, with a JSON body.
	r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+rt2.RefreshToken+`"}`))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.RefreshHandler().ServeHTTP(rec, r)
	rt3 := mustTokens(t, rec)
	checkResponse(t, get(mw, "/", "Bearer "+rt3.AccessToken), 200, "", "sub="+johnID+" user=-")

	// presenting rt1 again ends the session.
	checkResponse(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+rt1.RefreshToken), 400, "", bodyBadRefresh)
	checkResponse(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+rt3.RefreshToken), 400, "", bodyBadRefresh)
	checkResponse(t, get(mw, "/", "Bearer "+rt3.AccessToken), 401, challengeInvalid, bodyInvalidToken)
}

func TestTokenEndpoint_T02_AccessTokenAsRefreshToken(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	pair := mustTokens(t, login(h, johnName, johnPassword))

	checkResponse(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.AccessToken), 400, "", bodyBadRefresh)
	checkResponse(t, postForm(h.RefreshHandler(), "/refresh", "refresh_token="+pair.AccessToken), 400, "", bodyBadRefresh)
	r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+pair.AccessToken+`"}`))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.RefreshHandler().ServeHTTP(rec, r)
	checkResponse(t, rec, 400, "", bodyBadRefresh)

	// The session is untouched by the failed attempts.
	mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken))

	t.Run("JSON body with a non-string value", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":1}`))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.RefreshHandler().ServeHTTP(rec, r)
		checkResponse(t, rec, 400, "", bodyInvalidReq("parameter refresh_token must be a string"))
	})
}

func TestTokenEndpoint_C15_ScopeEscalation(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	notGranted := bodyInvalidScope("a requested scope is not granted to this user")

	checkResponse(t, login(h, readerName, readerPassword, "scope", "admin"), 400, "", notGranted)
	checkResponse(t, login(h, readerName, readerPassword, "scope", "read admin"), 400, "", notGranted)
	checkResponse(t, login(h, readerName, readerPassword, "scope", "read  admin"), 400, "", bodyInvalidScope("malformed scope"))
	checkResponse(t, login(h, readerName, readerPassword, "scope", `"read"`), 400, "", bodyInvalidScope("malformed scope"))
	// A wrong password with a bad scope is still just bad credentials.
	checkResponse(t, login(h, readerName, "wrong", "scope", "admin"), 401, "Bearer", bodyBadCredentials)

	reader := mustTokens(t, login(h, readerName, readerPassword, "scope", "read"))
	widen := bodyInvalidScope("a refresh cannot widen the granted scope")
	for _, s := range []string{"admin", "read admin", "items"} {
		rec := postForm(h, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {reader.RefreshToken}, "scope": {s}}.Encode())
		checkResponse(t, rec, 400, "", widen)
	}
	// Refused escalations did not consume the refresh token.
	again := mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+reader.RefreshToken))
	if again.Scope != "read" {
		t.Errorf("scope after refresh %q, want read", again.Scope)
	}

	// Narrowing at refresh is allowed, and the session keeps its grant.
	john := mustTokens(t, login(h, johnName, johnPassword))
	narrow := mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&scope=read&refresh_token="+john.RefreshToken))
	if narrow.Scope != "read" {
		t.Errorf("narrowed scope %q", narrow.Scope)
	}
	back := mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&scope=items&refresh_token="+narrow.RefreshToken))
	if back.Scope != "items" {
		t.Errorf("scope %q, want items (originally granted)", back.Scope)
	}
}

func TestRevokeHandler_E12(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	revoke := h.RevokeHandler()
	mw := middleware.RequireBearer(f.verifier, middleware.WithRevocations(f.store))(&protectedHandler{})
	unknown, _ := f.issuer.IssueRefresh(context.Background(), jwt.Grant{Subject: johnID, FamilyID: tokenid.New()})

	for _, tc := range []struct{ name, body string }{
		{"garbage token", "token=garbage"},
		{"JWT-shaped garbage", "token=a.b.c"},
		{"unknown refresh token", "token=" + unknown.Raw},
		{"unknown hint", "token=garbage&token_type_hint=id_token"},
		{"already revoked", "token=" + unknown.Raw},
	} {
		t.Run("E-12 "+tc.name, func(t *testing.T) {
			rec := postForm(revoke, "/revoke", tc.body)
			if rec.Code != 200 || rec.Body.Len() != 0 {
				t.Fatalf("got %d %q, want 200 with no body", rec.Code, rec.Body.String())
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
		})
	}
	t.Run("E-12 no token", func(t *testing.T) {
		checkResponse(t, postForm(revoke, "/revoke", "token_type_hint=refresh_token"), 400, "", bodyInvalidReq("token is required"))
		checkResponse(t, postForm(revoke, "/revoke", "token="), 400, "", bodyInvalidReq("token is required"))
	})
	t.Run("E-12 refresh token ends its session", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		if rec := postForm(revoke, "/revoke", "token="+pair.RefreshToken+"&token_type_hint=refresh_token"); rec.Code != 200 {
			t.Fatalf("revoke: %d", rec.Code)
		}
		checkResponse(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken), 400, "", bodyBadRefresh)
		checkResponse(t, get(mw, "/", "Bearer "+pair.AccessToken), 401, challengeInvalid, bodyInvalidToken)
	})
	t.Run("T-07 the hint is only a hint", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		if rec := postForm(revoke, "/revoke", "token="+pair.RefreshToken+"&token_type_hint=access_token"); rec.Code != 200 {
			t.Fatalf("revoke: %d", rec.Code)
		}
		checkResponse(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken), 400, "", bodyBadRefresh)
	})
	t.Run("E-12 access token is denylisted", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		if rec := postForm(revoke, "/revoke", "token="+pair.AccessToken); rec.Code != 200 {
			t.Fatalf("revoke: %d", rec.Code)
		}
		checkResponse(t, get(mw, "/", "Bearer "+pair.AccessToken), 401, challengeInvalid, bodyInvalidToken)
		// Revoking an access token does not end the session.
		mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken))
	})
	t.Run("store down is 503", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		down := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Revocations = &failingRevocations{} })
		rec := postForm(down.RevokeHandler(), "/revoke", "token="+pair.AccessToken)
		checkResponse(t, rec, 503, "", bodyStoreDown)
	})
	t.Run("refresh store down is 503 and not audited", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		var audit auditLog
		down := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Refresh, c.Audit = failingRefresh{}, audit.record })
		checkResponse(t, postForm(down.RevokeHandler(), "/revoke", "token="+pair.RefreshToken), 503, "", bodyStoreDown)
		if ev := audit.all(); len(ev) != 0 {
			t.Errorf("audit events %+v for a revocation that failed", ev)
		}
		up := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Audit = audit.record })
		if rec := postForm(up.RevokeHandler(), "/revoke", "token="+pair.RefreshToken); rec.Code != 200 {
			t.Fatalf("revoke: %d", rec.Code)
		}
		if ev := audit.all(); len(ev) != 1 || ev[0].Kind != authserver.AuditRevoke || ev[0].Subject != johnID || ev[0].FamilyID == "" {
			t.Errorf("audit events %+v, want one revoke naming john's session", ev)
		}
	})
}

func TestLogoutHandler_E13(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	logout := h.LogoutHandler()
	mw := middleware.RequireBearer(f.verifier, middleware.WithRevocations(f.store))(&protectedHandler{})
	const loggedOut = `{"detail":"Logged out"}` + "\n"
	const noToken = `Bearer error="invalid_token", error_description="no valid token to log out"`
	post := func(bearer, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/logout", strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		logout.ServeHTTP(rec, r)
		return rec
	}
	refresh := func(rt string) *httptest.ResponseRecorder {
		return postForm(h, "/token", "grant_type=refresh_token&refresh_token="+rt)
	}

	t.Run("E-13 access and refresh token", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		// A second access token of the same session, from a rotation.
		rotated := mustTokens(t, refresh(pair.RefreshToken))
		checkResponse(t, post(rotated.AccessToken, "refresh_token="+rotated.RefreshToken), 200, "", loggedOut)
		checkResponse(t, get(mw, "/", "Bearer "+rotated.AccessToken), 401, challengeInvalid, bodyInvalidToken)
		checkResponse(t, get(mw, "/", "Bearer "+pair.AccessToken), 401, challengeInvalid, bodyInvalidToken)
		checkResponse(t, refresh(rotated.RefreshToken), 400, "", bodyBadRefresh)
		// Idempotent.
		checkResponse(t, post(rotated.AccessToken, "refresh_token="+rotated.RefreshToken), 200, "", loggedOut)
		checkResponse(t, post(rotated.AccessToken, ""), 200, "", loggedOut)
	})
	t.Run("E-13 access token is denylisted by jti", func(t *testing.T) {
		// A token outside any session can only be revoked by its jti.
		tok := f.access(t, jwt.Grant{Subject: johnID})
		checkResponse(t, get(mw, "/", "Bearer "+tok), 200, "", "sub="+johnID+" user=-")
		checkResponse(t, post(tok, ""), 200, "", loggedOut)
		checkResponse(t, get(mw, "/", "Bearer "+tok), 401, challengeInvalid, bodyInvalidToken)

		// the denylist entry outlives exp plus the largest leeway a
		// verifier may have.
		c, err := f.verifier.VerifyAccess(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		ref := store.TokenRef{ID: c.ID, Subject: c.Subject, IssuedAt: c.IssuedAt}
		if _, err := f.store.Sweep(t.Context(), c.ExpiresAt.Add(jwt.MaxLeeway), 0); err != nil {
			t.Fatal(err)
		}
		if revoked, err := f.store.IsRevoked(t.Context(), ref); err != nil || !revoked {
			t.Fatalf("denylist entry gone at exp+leeway: %v, %v", revoked, err)
		}
	})
	t.Run("E-13 refresh token alone ends the session", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		checkResponse(t, post("", "refresh_token="+pair.RefreshToken), 200, "", loggedOut)
		checkResponse(t, get(mw, "/", "Bearer "+pair.AccessToken), 401, challengeInvalid, bodyInvalidToken)
		checkResponse(t, refresh(pair.RefreshToken), 400, "", bodyBadRefresh)
	})
	t.Run("E-13 access token alone ends the session", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		checkResponse(t, post(pair.AccessToken, ""), 200, "", loggedOut)
		checkResponse(t, refresh(pair.RefreshToken), 400, "", bodyBadRefresh)
	})
	t.Run("E-13 other sessions survive", func(t *testing.T) {
		a := mustTokens(t, login(h, johnName, johnPassword))
		b := mustTokens(t, login(h, johnName, johnPassword))
		checkResponse(t, post(a.AccessToken, "refresh_token="+a.RefreshToken), 200, "", loggedOut)
		checkResponse(t, get(mw, "/", "Bearer "+b.AccessToken), 200, "", "sub="+johnID+" user=-")
		mustTokens(t, refresh(b.RefreshToken))
	})
	t.Run("nothing valid to log out", func(t *testing.T) {
		const bodyInvalidToken = `{"detail":"Could not validate credentials","error":"invalid_token","error_description":"no valid token to log out"}` + "\n"
		checkResponse(t, post("", ""), 401, noToken, bodyInvalidToken)
		checkResponse(t, post("garbage", "refresh_token=garbage"), 401, noToken, bodyInvalidToken)
		pair := mustTokens(t, login(h, johnName, johnPassword))
		// A refresh token in the Authorization header is not an access token.
		checkResponse(t, post(pair.RefreshToken, ""), 401, noToken, bodyInvalidToken)
		mustTokens(t, refresh(pair.RefreshToken))
	})
	t.Run("store down is 503", func(t *testing.T) {
		pair := mustTokens(t, login(h, johnName, johnPassword))
		down := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Revocations = &failingRevocations{} })
		r := httptest.NewRequest(http.MethodPost, "/logout", nil)
		r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		rec := httptest.NewRecorder()
		down.LogoutHandler().ServeHTTP(rec, r)
		checkResponse(t, rec, 503, "", bodyStoreDown)
	})
}

// TestRevokeAll_R08: tokens issued before RevokeAll stop working; a login
// right after it works.
func TestRevokeAll_R08(t *testing.T) {
	f := newFixture(t)
	var audit auditLog
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Audit = audit.record })
	mw := middleware.RequireBearer(f.verifier, middleware.WithUsers(f.store), middleware.WithRevocations(f.store))(&protectedHandler{})

	before := mustTokens(t, login(h, johnName, johnPassword))
	outsideSession := f.access(t, jwt.Grant{Subject: johnID})
	other := mustTokens(t, login(h, readerName, readerPassword))
	checkResponse(t, get(mw, "/", "Bearer "+before.AccessToken), 200, "", "sub="+johnID+" user="+johnName)

	if err := h.RevokeAll(t.Context(), johnID); err != nil {
		t.Fatal(err)
	}
	checkResponse(t, get(mw, "/", "Bearer "+before.AccessToken), 401, challengeInvalid, bodyInvalidToken)
	checkResponse(t, get(mw, "/", "Bearer "+outsideSession), 401, challengeInvalid, bodyInvalidToken)
	checkResponse(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+before.RefreshToken), 400, "", bodyBadRefresh)

	// Within the same second as the cut-off.
	after := mustTokens(t, login(h, johnName, johnPassword))
	checkResponse(t, get(mw, "/", "Bearer "+after.AccessToken), 200, "", "sub="+johnID+" user="+johnName)
	rotated := mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+after.RefreshToken))
	checkResponse(t, get(mw, "/", "Bearer "+rotated.AccessToken), 200, "", "sub="+johnID+" user="+johnName)

	// Other users are untouched.
	checkResponse(t, get(mw, "/", "Bearer "+other.AccessToken), 200, "", "sub="+readerID+" user="+readerName)

	found := false
	for _, e := range audit.all() {
		if e.Kind == authserver.AuditRevokeAll && e.Subject == johnID {
			found = true
		}
	}
	if !found {
		t.Error("no revoke_all audit event")
	}

	noStore := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Revocations = nil })
	if err := noStore.RevokeAll(t.Context(), johnID); !errors.Is(err, authserver.ErrNoRevocationStore) {
		t.Fatalf("RevokeAll without a store: %v, want ErrNoRevocationStore", err)
	}
	down := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Revocations = &failingRevocations{} })
	if err := down.RevokeAll(t.Context(), johnID); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("RevokeAll with the store down: %v, want store.ErrUnavailable", err)
	}
}

func TestNewTokenHandler_Config(t *testing.T) {
	f := newFixture(t)
	base := func() authserver.TokenHandlerConfig {
		return authserver.TokenHandlerConfig{Users: f.store, Issuer: f.issuer, Verifier: f.verifier}
	}
	for _, tc := range []struct {
		name string
		mod  func(*authserver.TokenHandlerConfig)
		want error
	}{
		{"no users", func(c *authserver.TokenHandlerConfig) { c.Users = nil }, authserver.ErrConfig},
		{"no issuer", func(c *authserver.TokenHandlerConfig) { c.Issuer = nil }, authserver.ErrConfig},
		{"no verifier", func(c *authserver.TokenHandlerConfig) { c.Verifier = nil }, authserver.ErrConfig},
		{"bad hasher cost", func(c *authserver.TokenHandlerConfig) { c.Passwords = &password.Hasher{Cost: 3} }, password.ErrCost},
		{"negative AccessTTL", func(c *authserver.TokenHandlerConfig) { c.AccessTTL = -1 }, authserver.ErrConfig},
		{"negative RefreshTTL", func(c *authserver.TokenHandlerConfig) { c.RefreshTTL = -1 }, authserver.ErrConfig},
		{"negative FamilyTTL", func(c *authserver.TokenHandlerConfig) { c.FamilyTTL = -1 }, authserver.ErrConfig},
		{"negative Grace", func(c *authserver.TokenHandlerConfig) { c.Grace = -1 }, authserver.ErrConfig},
		{"negative MaxBody", func(c *authserver.TokenHandlerConfig) { c.MaxBody = -1 }, authserver.ErrConfig},
		{"negative MaxConcurrentHashes", func(c *authserver.TokenHandlerConfig) { c.MaxConcurrentHashes = -1 }, authserver.ErrConfig},
		{"negative HashQueueWait", func(c *authserver.TokenHandlerConfig) { c.HashQueueWait = -1 }, authserver.ErrConfig},
		{"negative StoreTimeout", func(c *authserver.TokenHandlerConfig) { c.StoreTimeout = -1 }, authserver.ErrConfig},
		{"grace above a minute", func(c *authserver.TokenHandlerConfig) { c.Grace = 2 * time.Minute }, authserver.ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mod(&cfg)
			if h, err := authserver.NewTokenHandler(cfg); !errors.Is(err, tc.want) || h != nil {
				t.Fatalf("NewTokenHandler = %v, %v; want an error wrapping %v", h, err, tc.want)
			}
		})
	}
	if _, err := authserver.NewTokenHandler(base()); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
}

// shrinkingUsers serves the fixture's users, with the scopes in removed
// taken away from every account once shrink is set.
type shrinkingUsers struct {
	store.Users
	removed []string
	shrink  bool
}

func (u *shrinkingUsers) UserByID(ctx context.Context, id string) (store.User, error) {
	usr, err := u.Users.UserByID(ctx, id)
	if err == nil && u.shrink {
		usr.Scopes = slices.DeleteFunc(slices.Clone(usr.Scopes), func(s string) bool { return slices.Contains(u.removed, s) })
	}
	return usr, err
}

// TestTokenEndpoint_C15_RevokedScopeEndsAtRefresh: a scope taken from a
// user after login is not granted again by the next refresh, neither in
// the access token nor in the refresh token that follows it.
func TestTokenEndpoint_C15_RevokedScopeEndsAtRefresh(t *testing.T) {
	f := newFixture(t)
	users := &shrinkingUsers{Users: f.store, removed: []string{"items"}}
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Users = users })

	john := mustTokens(t, login(h, johnName, johnPassword))
	if john.Scope != "read items" {
		t.Fatalf("login scope %q", john.Scope)
	}
	users.shrink = true
	// Asked for by name, the removed scope is refused (and the refresh
	// token is not consumed).
	rec := postForm(h, "/token", "grant_type=refresh_token&scope=read+items&refresh_token="+john.RefreshToken)
	checkResponse(t, rec, 400, "", bodyInvalidScope("a requested scope is not granted to this user"))

	next := mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+john.RefreshToken))
	if next.Scope != "read" {
		t.Errorf("scope after refresh %q, want read", next.Scope)
	}
	at, err := f.verifier.VerifyAccess(context.Background(), next.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if at.HasScope("items") {
		t.Errorf("access token after refresh: scopes %v", at.Scopes)
	}
	rt, err := f.verifier.VerifyRefresh(context.Background(), next.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if rt.HasScope("items") {
		t.Errorf("refresh token after refresh: scopes %v", rt.Scopes)
	}
	// Asking for the removed scope explicitly does not bring it back.
	rec = postForm(h, "/token", "grant_type=refresh_token&scope=items&refresh_token="+next.RefreshToken)
	checkResponse(t, rec, 400, "", bodyInvalidScope("a refresh cannot widen the granted scope"))
}
