package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/store"
)

// bearerTokens are tokens of every kind the H and T rows need.
type bearerTokens struct {
	valid, expired, wrongSig, tampered, algNone, refresh, kidInjection, quotesInSub string
}

func newBearerTokens(t *testing.T, f *fixture) bearerTokens {
	t.Helper()
	var bt bearerTokens
	bt.valid = f.access(t, jwt.Grant{Subject: johnID, Scopes: []string{"read"}})

	exp, err := f.issuerAt(t, time.Now().Add(-2*time.Hour)).IssueAccess(context.Background(), jwt.Grant{Subject: johnID})
	if err != nil {
		t.Fatal(err)
	}
	bt.expired = exp.Raw

	otherKey, err := jwt.NewHMACKey(testKeyID, jwt.HS256, []byte("another-secret-of-thirty-two-by!"))
	if err != nil {
		t.Fatal(err)
	}
	otherKeys, _ := jwt.NewKeySet(otherKey)
	otherIss, _ := jwt.NewIssuer(jwt.IssuerConfig{Keys: otherKeys, Issuer: testIssuer, Audience: []string{testAudience}})
	ws, err := otherIss.IssueAccess(context.Background(), jwt.Grant{Subject: johnID})
	if err != nil {
		t.Fatal(err)
	}
	bt.wrongSig = ws.Raw

	parts := strings.Split(bt.valid, ".")
	bt.tampered = parts[0] + "." + b64(validClaims(johnID, `,"scope":"admin"`)) + "." + parts[2]
	bt.algNone = b64(`{"alg":"none","typ":"at+jwt"}`) + "." + b64(validClaims(johnID, "")) + "."

	rt, err := f.issuer.IssueRefresh(context.Background(), jwt.Grant{Subject: johnID, FamilyID: tokenid.New()})
	if err != nil {
		t.Fatal(err)
	}
	bt.refresh = rt.Raw

	bt.kidInjection = forgeHS256(testSecret, `{"alg":"HS256","typ":"at+jwt","kid":"\"\r\nSet-Cookie: a=b"}`, validClaims(johnID, `,"jti":"j1"`))
	bt.quotesInSub = forgeHS256(testSecret, accessHeader, validClaims(`"\r\nX-Injected: \"1\"`, `,"jti":"j2"`))
	return bt
}

// TestRequireBearer_HeaderAndTokenRows runs every H row that a recorder
// can express, and the token-substitution rows, through RequireBearer
// with users and revocations configured.
func TestRequireBearer_HeaderAndTokenRows(t *testing.T) {
	f := newFixture(t)
	bt := newBearerTokens(t, f)
	const ok = "sub=" + johnID + " user=" + johnName

	tests := []struct {
		name          string
		target        string
		headers       []string
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{"valid token", "/", []string{"Bearer " + bt.valid}, 200, "", ok},

		{"H-01 no credentials", "/", nil, 401, challengeNoToken, bodyNotAuthenticated},

		{"H-02 lower-case scheme", "/", []string{"bearer " + bt.valid}, 200, "", ok},
		{"H-02 upper-case scheme", "/", []string{"BEARER " + bt.valid}, 200, "", ok},
		{"H-02 mixed-case scheme", "/", []string{"BeArEr " + bt.valid}, 200, "", ok},

		{"H-03 Basic", "/", []string{"Basic dXNlcjpwYXNz"}, 401, challengeNoToken, bodyNotAuthenticated},
		{"H-03 Token", "/", []string{"Token " + bt.valid}, 401, challengeNoToken, bodyNotAuthenticated},
		{"H-03 JWT", "/", []string{"JWT " + bt.valid}, 401, challengeNoToken, bodyNotAuthenticated},
		{"H-03 Bearerx", "/", []string{"Bearerx"}, 401, challengeNoToken, bodyNotAuthenticated},
		{"H-03 Bearerx and token", "/", []string{"Bearerx " + bt.valid}, 401, challengeNoToken, bodyNotAuthenticated},
		{"H-03 Bear x", "/", []string{"Bear " + bt.valid}, 401, challengeNoToken, bodyNotAuthenticated},

		{"H-04 three SP", "/", []string{"Bearer   " + bt.valid}, 200, "", ok},
		{"H-04 HTAB", "/", []string{"Bearer\t" + bt.valid}, 200, "", ok},
		{"H-04 NBSP", "/", []string{"Bearer\u00a0" + bt.valid}, 401, challengeInvalid, bodyInvalidToken},
		{"H-04 U+3000", "/", []string{"Bearer\u3000" + bt.valid}, 401, challengeInvalid, bodyInvalidToken},
		{"H-04 U+2003", "/", []string{"Bearer\u2003" + bt.valid}, 401, challengeInvalid, bodyInvalidToken},

		{"H-05 two tokens", "/", []string{"Bearer " + bt.valid + " b"}, 401, challengeInvalid, bodyInvalidToken},
		{"H-05 two bearer credentials", "/", []string{"Bearer " + bt.valid + ", Bearer b"}, 401, challengeInvalid, bodyInvalidToken},
		{"H-05 bearer and basic", "/", []string{"Bearer " + bt.valid + ", Basic b"}, 401, challengeInvalid, bodyInvalidToken},

		{"H-06 Bearer", "/", []string{"Bearer"}, 401, challengeInvalid, bodyInvalidToken},
		{"H-06 Bearer SP", "/", []string{"Bearer "}, 401, challengeInvalid, bodyInvalidToken},
		{"H-06 quoted empty", "/", []string{`Bearer ""`}, 401, challengeInvalid, bodyInvalidToken},

		{"H-07 two headers", "/", []string{"Bearer " + bt.valid, "Bearer " + bt.expired}, 400, challengeRequest, bodyInvalidRequest},
		{"H-07 the same header twice", "/", []string{"Bearer " + bt.valid, "Bearer " + bt.valid}, 400, challengeRequest, bodyInvalidRequest},

		{"H-08 query token alone", "/?access_token=" + bt.valid, nil, 401, challengeNoToken, bodyNotAuthenticated},
		{"H-08 header and query token", "/?access_token=" + bt.valid, []string{"Bearer " + bt.valid}, 400, challengeRequest, bodyInvalidRequest},

		{"H-09 token of 8 KiB + 1", "/", []string{"Bearer " + strings.Repeat("a", 8<<10+1)}, 401, challengeInvalid, bodyInvalidToken},
		{"H-09 valid prefix, oversize", "/", []string{"Bearer " + bt.valid + strings.Repeat("A", 8<<10)}, 401, challengeInvalid, bodyInvalidToken},

		{"H-11 kid with CR LF and quotes", "/", []string{"Bearer " + bt.kidInjection}, 401, challengeInvalid, bodyInvalidToken},
		{"H-11 sub with CR LF and quotes", "/", []string{"Bearer " + bt.quotesInSub}, 401, challengeInvalid, bodyInvalidToken},

		{"garbage", "/", []string{"Bearer abc"}, 401, challengeInvalid, bodyInvalidToken},
		{"C-01 expired", "/", []string{"Bearer " + bt.expired}, 401, challengeInvalid, bodyInvalidToken},
		{"wrong signature", "/", []string{"Bearer " + bt.wrongSig}, 401, challengeInvalid, bodyInvalidToken},
		{"tampered payload", "/", []string{"Bearer " + bt.tampered}, 401, challengeInvalid, bodyInvalidToken},
		{"alg none", "/", []string{"Bearer " + bt.algNone}, 401, challengeInvalid, bodyInvalidToken},
		{"T-01 refresh token as access token", "/", []string{"Bearer " + bt.refresh}, 401, challengeInvalid, bodyInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := &protectedHandler{}
			h := middleware.RequireBearer(f.verifier, middleware.WithUsers(f.store), middleware.WithRevocations(f.store),
				middleware.WithLogger(discardLogger()))(next)
			rec := get(h, tc.target, tc.headers...)
			checkResponse(t, rec, tc.wantStatus, tc.wantChallenge, tc.wantBody)
			wantCalls := 0
			if tc.wantStatus == http.StatusOK {
				wantCalls = 1
			}
			if next.calls() != wantCalls {
				t.Errorf("next handler called %d times, want %d", next.calls(), wantCalls)
			}
			if tc.wantStatus != http.StatusOK {
				// H-13: one content type, no library error text.
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if rec.Header().Get("Set-Cookie") != "" || rec.Header().Get("X-Injected") != "" {
					t.Errorf("injected header reached the response: %v", rec.Header())
				}
			}
		})
	}
}

func TestRequireBearer_H01_Realm(t *testing.T) {
	f := newFixture(t)
	h := middleware.RequireBearer(f.verifier, middleware.WithRealm("api"))(&protectedHandler{})
	checkResponse(t, get(h, "/"), 401, `Bearer realm="api"`, bodyNotAuthenticated)
	checkResponse(t, get(h, "/", "Bearer abc"), 401,
		`Bearer realm="api", error="invalid_token", error_description="the access token is invalid"`, bodyInvalidToken)
	checkResponse(t, get(h, "/", "Bearer a", "Bearer b"), 400,
		`Bearer realm="api", error="invalid_request", error_description="more than one set of credentials"`, bodyInvalidRequest)
}

// TestRequireBearer_RealServer covers the rows that only a real listener
// shows: Go's own refusal of control characters and oversized headers
// (H-09, H-10) before the middleware runs, and obs-fold unfolding.
func TestRequireBearer_RealServer(t *testing.T) {
	f := newFixture(t)
	next := &protectedHandler{}
	srv := httptest.NewServer(middleware.RequireBearer(f.verifier)(next))
	t.Cleanup(srv.Close)
	valid := f.access(t, jwt.Grant{Subject: johnID})

	raw := func(t *testing.T, authLines string) int {
		t.Helper()
		req := "GET / HTTP/1.1\r\nHost: test\r\n" + authLines + "Connection: close\r\n\r\n"
		return rawStatus(t, srv.Listener.Addr().String(), req)
	}
	t.Run("H-10 NUL in value", func(t *testing.T) {
		if got := raw(t, "Authorization: Bearer a\x00b\r\n"); got != http.StatusBadRequest {
			t.Fatalf("status %d, want 400 from net/http", got)
		}
	})
	t.Run("H-10 bare CR in value", func(t *testing.T) {
		if got := raw(t, "Authorization: Bearer a\rb\r\n"); got != http.StatusBadRequest {
			t.Fatalf("status %d, want 400 from net/http", got)
		}
	})
	if next.calls() != 0 {
		t.Fatalf("next handler ran %d times for requests net/http refuses", next.calls())
	}
	t.Run("H-10 obs-fold is unfolded by net/http", func(t *testing.T) {
		// The middleware then sees "Bearer <token>", a normal header.
		if got := raw(t, "Authorization: Bearer\r\n "+valid+"\r\n"); got != http.StatusOK {
			t.Fatalf("status %d, want 200", got)
		}
		// A fold inside the credentials becomes a space: two tokens.
		if got := raw(t, "Authorization: Bearer "+valid[:10]+"\r\n "+valid[10:]+"\r\n"); got != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", got)
		}
	})
	if next.calls() != 1 {
		t.Fatalf("next handler ran %d times, want 1", next.calls())
	}
	t.Run("H-09 1 MiB header", func(t *testing.T) {
		// Within net/http's 1 MiB (+4 KiB slack) limit: refused by the
		// middleware's cap. Beyond it: 431 from net/http.
		for _, tc := range []struct{ n, want int }{
			{1 << 20, http.StatusUnauthorized},
			{2 << 20, http.StatusRequestHeaderFieldsTooLarge},
		} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("a", tc.n))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%d-byte token: status %d, want %d", tc.n, resp.StatusCode, tc.want)
			}
		}
	})
	t.Run("valid token over the wire", func(t *testing.T) {
		if got := raw(t, "Authorization: Bearer "+valid+"\r\n"); got != http.StatusOK {
			t.Fatalf("status %d, want 200", got)
		}
	})
}

func TestRequireBearer_T01_RefreshTokenAsAccessToken(t *testing.T) {
	f := newFixture(t)
	family := "fam-1"
	refreshTok, err := f.issuer.IssueRefresh(context.Background(), jwt.Grant{Subject: johnID, FamilyID: family})
	if err != nil {
		t.Fatal(err)
	}
	pair := struct{ AccessToken, RefreshToken string }{f.access(t, jwt.Grant{Subject: johnID, FamilyID: family}), refreshTok.Raw}
	next := &protectedHandler{}
	mw := middleware.RequireBearer(f.verifier, middleware.WithUsers(f.store), middleware.WithRevocations(f.store))(next)

	checkResponse(t, get(mw, "/", "Bearer "+pair.RefreshToken), 401, challengeInvalid, bodyInvalidToken)
	if next.calls() != 0 {
		t.Fatal("refresh token opened the route")
	}
	a := mustAuthenticator(t, f.verifier)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+pair.RefreshToken)
	if _, _, err := a.Authenticate(r); !errors.Is(err, middleware.ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenUse) {
		t.Fatalf("Authenticate error = %v, want ErrInvalidToken wrapping jwt.ErrTokenUse", err)
	}
	checkResponse(t, get(mw, "/", "Bearer "+pair.AccessToken), 200, "", "sub="+johnID+" user="+johnName)
}

func TestRequireBearer_C13_TokenWithoutJTI(t *testing.T) {
	f := newFixture(t)
	noJTI := forgeHS256(testSecret, accessHeader, validClaims(johnID, ""))
	if c, err := f.verifier.VerifyAccess(t.Context(), noJTI); err != nil || c.ID != "" {
		t.Fatalf("fixture: token without jti does not verify: %v", err)
	}

	next := &protectedHandler{}
	withRevocations := middleware.RequireBearer(f.verifier, middleware.WithRevocations(f.store))(next)
	checkResponse(t, get(withRevocations, "/", "Bearer "+noJTI), 401, challengeInvalid, bodyInvalidToken)
	if next.calls() != 0 {
		t.Fatal("a token that cannot be revoked passed a revocation-checking route")
	}

	// Without a revocation store there is nothing to check against.
	stateless := middleware.RequireBearer(f.verifier)(next)
	checkResponse(t, get(stateless, "/", "Bearer "+noJTI), 200, "", "sub="+johnID+" user=-")
}

func TestRequireBearer_RevokedToken(t *testing.T) {
	f := newFixture(t)
	tok, err := f.issuer.IssueAccess(context.Background(), jwt.Grant{Subject: johnID})
	if err != nil {
		t.Fatal(err)
	}
	next := &protectedHandler{}
	h := middleware.RequireBearer(f.verifier, middleware.WithRevocations(f.store))(next)
	checkResponse(t, get(h, "/", "Bearer "+tok.Raw), 200, "", "sub="+johnID+" user=-")

	ref := store.TokenRef{ID: tok.Claims.ID, Subject: johnID, IssuedAt: tok.Claims.IssuedAt}
	if err := f.store.RevokeToken(t.Context(), ref, tok.Claims.ExpiresAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	checkResponse(t, get(h, "/", "Bearer "+tok.Raw), 401, challengeInvalid, bodyInvalidToken)
	if next.calls() != 1 {
		t.Fatalf("next handler called %d times, want 1 (before the revocation only)", next.calls())
	}
}

func TestRequireBearer_H14_RevocationStoreDown(t *testing.T) {
	f := newFixture(t)
	valid := f.access(t, jwt.Grant{Subject: johnID})

	t.Run("fail closed", func(t *testing.T) {
		var logs syncBuffer
		rev := &failingRevocations{}
		next := &protectedHandler{}
		h := middleware.RequireBearer(f.verifier, middleware.WithRevocations(rev),
			middleware.WithLogger(slogJSON(&logs)))(next)
		rec := get(h, "/", "Bearer "+valid)
		checkResponse(t, rec, 503, "", bodyUnavailable)
		if got := rec.Header().Get("Retry-After"); got != "5" {
			t.Errorf("Retry-After = %q, want 5", got)
		}
		if next.calls() != 0 {
			t.Error("next handler ran while the revocation store was down")
		}
		if rev.calls != 1 {
			t.Errorf("revocation store asked %d times, want 1", rev.calls)
		}
		if !strings.Contains(logs.String(), "revocation check failed") {
			t.Errorf("store failure not logged: %s", logs.String())
		}
		if strings.Contains(logs.String(), valid) {
			t.Error("token in the log")
		}
	})
	t.Run("fail open by explicit option", func(t *testing.T) {
		var logs syncBuffer
		next := &protectedHandler{}
		h := middleware.RequireBearer(f.verifier, middleware.WithRevocations(&failingRevocations{}),
			middleware.WithInsecureRevocationFailOpen(), middleware.WithLogger(slogJSON(&logs)))(next)
		checkResponse(t, get(h, "/", "Bearer "+valid), 200, "", "sub="+johnID+" user=-")
		if next.calls() != 1 {
			t.Errorf("next handler called %d times, want 1", next.calls())
		}
		if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), "fail-open") {
			t.Errorf("fail-open request not logged at warning level: %s", logs.String())
		}
	})
	t.Run("fail open still refuses bad tokens", func(t *testing.T) {
		next := &protectedHandler{}
		h := middleware.RequireBearer(f.verifier, middleware.WithRevocations(&failingRevocations{}),
			middleware.WithInsecureRevocationFailOpen(), middleware.WithLogger(discardLogger()))(next)
		checkResponse(t, get(h, "/", "Bearer abc"), 401, challengeInvalid, bodyInvalidToken)
		if next.calls() != 0 {
			t.Error("next handler ran")
		}
	})
	t.Run("slow store is bounded by WithStoreTimeout", func(t *testing.T) {
		next := &protectedHandler{}
		h := middleware.RequireBearer(f.verifier, middleware.WithRevocations(&blockingRevocations{}),
			middleware.WithStoreTimeout(20*time.Millisecond), middleware.WithLogger(discardLogger()))(next)
		checkResponse(t, get(h, "/", "Bearer "+valid), 503, "", bodyUnavailable)
		if next.calls() != 0 {
			t.Error("next handler ran")
		}
	})
}

// blockingRevocations answers only when the caller's context ends.
type blockingRevocations struct{ failingRevocations }

func (*blockingRevocations) IsRevoked(ctx context.Context, _ store.TokenRef) (bool, error) {
	<-ctx.Done()
	return false, fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
}

func TestRequireBearer_H16_UserDeletedOrDisabledAfterIssuance(t *testing.T) {
	f := newFixture(t)
	users := newMutableUsers(f.store)
	next := &protectedHandler{}
	h := middleware.RequireBearer(f.verifier, middleware.WithUsers(users))(next)
	john := f.access(t, jwt.Grant{Subject: johnID})
	reader := f.access(t, jwt.Grant{Subject: readerID})

	checkResponse(t, get(h, "/", "Bearer "+john), 200, "", "sub="+johnID+" user="+johnName)
	checkResponse(t, get(h, "/", "Bearer "+reader), 200, "", "sub="+readerID+" user="+readerName)

	users.remove(johnID)
	users.disable(readerID)
	checkResponse(t, get(h, "/", "Bearer "+john), 401, challengeInvalid, bodyInvalidToken)
	checkResponse(t, get(h, "/", "Bearer "+reader), 401, challengeInvalid, bodyInvalidToken)
	// A token for an account that never existed, and one for alice, who
	// was disabled before issuance.
	checkResponse(t, get(h, "/", "Bearer "+f.access(t, jwt.Grant{Subject: "uid-nobody"})), 401, challengeInvalid, bodyInvalidToken)
	checkResponse(t, get(h, "/", "Bearer "+f.access(t, jwt.Grant{Subject: aliceID})), 401, challengeInvalid, bodyInvalidToken)
	if next.calls() != 2 {
		t.Fatalf("next handler called %d times, want 2", next.calls())
	}

	// A user store that cannot answer is an outage, not a bad token.
	down := middleware.RequireBearer(f.verifier, middleware.WithUsers(failingUsers{}), middleware.WithLogger(discardLogger()))(next)
	rec := get(down, "/", "Bearer "+reader)
	checkResponse(t, rec, 503, "", bodyUnavailable)
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if next.calls() != 2 {
		t.Fatal("next handler ran while the user store was down")
	}
}

// keysDown is an AccessVerifier whose key source has nothing yet.
type keysDown struct{}

func (keysDown) VerifyAccess(context.Context, string) (*jwt.Claims, error) {
	return nil, fmt.Errorf("remote: %w", jwt.ErrNoKeys)
}

// TestAuthenticate_Sentinels checks the error each refusal carries.
func TestAuthenticate_Sentinels(t *testing.T) {
	f := newFixture(t)
	bt := newBearerTokens(t, f)
	revoked, err := f.issuer.IssueAccess(context.Background(), jwt.Grant{Subject: johnID})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.RevokeToken(t.Context(), store.TokenRef{ID: revoked.Claims.ID, Subject: johnID}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	noJTI := forgeHS256(testSecret, accessHeader, validClaims(johnID, ""))

	full := mustAuthenticator(t, f.verifier, middleware.WithUsers(f.store), middleware.WithRevocations(f.store))
	tests := []struct {
		name    string
		auth    *middleware.Authenticator
		headers []string
		wantErr []error
	}{
		{"H-01 no header", full, nil, []error{middleware.ErrNoToken}},
		{"H-03 other scheme", full, []string{"Basic x"}, []error{middleware.ErrNoToken}},
		{"H-05 malformed header", full, []string{"Bearer a b"}, []error{middleware.ErrBadHeader}},
		{"H-07 two headers", full, []string{"Bearer a", "Bearer b"}, []error{middleware.ErrAmbiguousCredentials}},
		{"C-01 expired", full, []string{"Bearer " + bt.expired}, []error{middleware.ErrInvalidToken, jwt.ErrExpired}},
		{"signature", full, []string{"Bearer " + bt.wrongSig}, []error{middleware.ErrInvalidToken, jwt.ErrSignature}},
		{"T-01 refresh token", full, []string{"Bearer " + bt.refresh}, []error{middleware.ErrInvalidToken, jwt.ErrTokenUse}},
		{"H-11 unknown kid", full, []string{"Bearer " + bt.kidInjection}, []error{middleware.ErrInvalidToken, jwt.ErrUnknownKey}},
		{"C-13 no jti", full, []string{"Bearer " + noJTI}, []error{middleware.ErrInvalidToken}},
		{"revoked", full, []string{"Bearer " + revoked.Raw}, []error{middleware.ErrRevoked}},
		{"H-16 unknown user", full, []string{"Bearer " + f.access(t, jwt.Grant{Subject: "uid-nobody"})}, []error{middleware.ErrUnknownUser, store.ErrNotFound}},
		{"H-16 disabled user", full, []string{"Bearer " + f.access(t, jwt.Grant{Subject: aliceID})}, []error{middleware.ErrUnknownUser}},
		{"L-05 users down", mustAuthenticator(t, f.verifier, middleware.WithUsers(failingUsers{}), middleware.WithLogger(discardLogger())),
			[]string{"Bearer " + bt.valid}, []error{middleware.ErrUnavailable, store.ErrUnavailable}},
		{"H-14 revocations down", mustAuthenticator(t, f.verifier, middleware.WithRevocations(&failingRevocations{}), middleware.WithLogger(discardLogger())),
			[]string{"Bearer " + bt.valid}, []error{middleware.ErrUnavailable, store.ErrUnavailable}},
		{"keys unavailable", mustAuthenticator(t, keysDown{}), []string{"Bearer " + bt.valid}, []error{middleware.ErrUnavailable, jwt.ErrNoKeys}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			c, u, err := tc.auth.Authenticate(r)
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("Authenticate error = %v, want it to wrap %v", err, want)
				}
			}
			if c != nil || u != nil {
				t.Errorf("Authenticate returned claims %v / user %v with an error", c, u)
			}
		})
	}

	t.Run("success", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+bt.valid)
		c, u, err := full.Authenticate(r)
		if err != nil || c.Subject != johnID || u == nil || u.Username != johnName {
			t.Fatalf("Authenticate = %+v, %+v, %v", c, u, err)
		}
	})
	t.Run("keys unavailable answers 503", func(t *testing.T) {
		next := &protectedHandler{}
		rec := get(middleware.RequireBearer(keysDown{})(next), "/", "Bearer "+bt.valid)
		checkResponse(t, rec, 503, "", bodyUnavailable)
		if next.calls() != 0 {
			t.Fatal("next handler ran")
		}
	})
}

// TestNewAuthenticator_RefusesInvalidConfiguration: a nil verifier and
// negative option values are errors, never a panic or a silent default;
// RequireBearer built on such a configuration refuses every request.
func TestNewAuthenticator_RefusesInvalidConfiguration(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for name, tc := range map[string]struct {
		v    middleware.AccessVerifier
		opts []middleware.Option
	}{
		"nil verifier":          {nil, nil},
		"negative timeout":      {f.verifier, []middleware.Option{middleware.WithStoreTimeout(-time.Second)}},
		"negative header limit": {f.verifier, []middleware.Option{middleware.WithMaxHeaderBytes(-1)}},
	} {
		if _, err := middleware.NewAuthenticator(tc.v, tc.opts...); !errors.Is(err, middleware.ErrConfig) {
			t.Errorf("%s: NewAuthenticator = %v, want ErrConfig", name, err)
		}
		opts := append([]middleware.Option{middleware.WithLogger(discardLogger())}, tc.opts...)
		next := &protectedHandler{}
		rec := get(middleware.RequireBearer(tc.v, opts...)(next), "/", "Bearer "+f.access(t, jwt.Grant{Subject: johnID}))
		checkResponse(t, rec, 503, "", bodyUnavailable)
		if next.calls() != 0 {
			t.Errorf("%s: the handler ran under an invalid configuration", name)
		}
	}
}

func mustAuthenticator(t testing.TB, v middleware.AccessVerifier, opts ...middleware.Option) *middleware.Authenticator {
	t.Helper()
	a, err := middleware.NewAuthenticator(v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestWithErrorHandler_H13 replaces every refusal, including RequireScope's.
func TestWithErrorHandler_H13(t *testing.T) {
	f := newFixture(t)
	bt := newBearerTokens(t, f)
	var seen []error
	custom := func(w http.ResponseWriter, r *http.Request, err error) {
		seen = append(seen, err)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("custom refusal"))
	}
	next := &protectedHandler{}
	auth := middleware.RequireBearer(f.verifier, middleware.WithErrorHandler(custom), middleware.WithRealm("ignored"))
	h := auth(middleware.RequireScope("admin")(next))

	for _, hdr := range [][]string{nil, {"Bearer " + bt.expired}, {"Bearer a", "Bearer b"}, {"Bearer " + bt.valid}} {
		rec := get(h, "/", hdr...)
		if rec.Code != http.StatusTeapot || rec.Body.String() != "custom refusal" || rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("headers %q: got %d %q %v, want the custom response only", hdr, rec.Code, rec.Body.String(), rec.Header())
		}
	}
	if next.calls() != 0 {
		t.Fatal("next handler ran")
	}
	if len(seen) != 4 {
		t.Fatalf("custom handler saw %d errors, want 4", len(seen))
	}
	if !errors.Is(seen[0], middleware.ErrNoToken) {
		t.Errorf("no token: got %v", seen[0])
	}
	if !errors.Is(seen[1], middleware.ErrInvalidToken) || !errors.Is(seen[1], jwt.ErrExpired) {
		t.Errorf("expired: got %v", seen[1])
	}
	if !errors.Is(seen[2], middleware.ErrAmbiguousCredentials) {
		t.Errorf("two headers: got %v", seen[2])
	}
	var se *middleware.ScopeError
	if !errors.As(seen[3], &se) || !errors.Is(seen[3], middleware.ErrInsufficientScope) || strings.Join(se.Required, " ") != "admin" {
		t.Errorf("scope: got %v", seen[3])
	}
}

func TestOptionalBearer(t *testing.T) {
	f := newFixture(t)
	bt := newBearerTokens(t, f)
	tests := []struct {
		name          string
		headers       []string
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{"no credentials pass without claims", nil, 200, "", "sub=- user=-"},
		{"other scheme passes without claims", []string{"Basic dXNlcjpwYXNz"}, 200, "", "sub=- user=-"},
		{"valid token", []string{"Bearer " + bt.valid}, 200, "", "sub=" + johnID + " user=" + johnName},
		{"invalid token refused", []string{"Bearer " + bt.expired}, 401, challengeInvalid, bodyInvalidToken},
		{"malformed header refused", []string{"Bearer a b"}, 401, challengeInvalid, bodyInvalidToken},
		{"two headers refused", []string{"Bearer a", "Bearer b"}, 400, challengeRequest, bodyInvalidRequest},
		{"refresh token refused", []string{"Bearer " + bt.refresh}, 401, challengeInvalid, bodyInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := &protectedHandler{}
			h := middleware.OptionalBearer(f.verifier, middleware.WithUsers(f.store))(next)
			checkResponse(t, get(h, "/", tc.headers...), tc.wantStatus, tc.wantChallenge, tc.wantBody)
			if want := map[bool]int{true: 1, false: 0}[tc.wantStatus == 200]; next.calls() != want {
				t.Errorf("next handler called %d times, want %d", next.calls(), want)
			}
		})
	}
}

// TestOptionalBearer_ScopeUsesConfiguredErrorHandler: an anonymous
// request that reaches RequireScope is answered with the handler and realm
// configured on OptionalBearer, as for RequireBearer.
func TestOptionalBearer_ScopeUsesConfiguredErrorHandler(t *testing.T) {
	f := newFixture(t)
	next := &protectedHandler{}
	h := middleware.OptionalBearer(f.verifier, middleware.WithRealm("api"))(middleware.RequireScope("read")(next))
	checkResponse(t, get(h, "/"), 401, `Bearer realm="api"`, bodyNotAuthenticated)

	var seen error
	custom := func(w http.ResponseWriter, r *http.Request, err error) {
		seen = err
		w.WriteHeader(http.StatusTeapot)
	}
	h = middleware.OptionalBearer(f.verifier, middleware.WithErrorHandler(custom))(middleware.RequireScope("read")(next))
	if rec := get(h, "/"); rec.Code != http.StatusTeapot || !errors.Is(seen, middleware.ErrNoToken) {
		t.Fatalf("got %d, error %v; want the custom handler with ErrNoToken", rec.Code, seen)
	}
	if next.calls() != 0 {
		t.Fatal("next handler ran")
	}
	// The anonymous request still has no claims and no user.
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, hasClaims := middleware.ClaimsFromContext(r.Context())
		_, hasUser := middleware.UserFromContext(r.Context())
		if hasClaims || hasUser {
			t.Errorf("anonymous request has claims %v / user %v", hasClaims, hasUser)
		}
	})
	get(middleware.OptionalBearer(f.verifier)(probe), "/")
}

func TestRequireScope_C14(t *testing.T) {
	f := newFixture(t)
	tok := func(scopes ...string) string { return f.access(t, jwt.Grant{Subject: johnID, Scopes: scopes}) }
	tests := []struct {
		name          string
		required      []string
		token         string
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{"C-14 read on an admin route", []string{"admin"}, tok("read"), 403, challengeScope("admin"), bodyForbidden},
		{"C-14 readadmin is not admin", []string{"admin"}, tok("readadmin"), 403, challengeScope("admin"), bodyForbidden},
		{"C-14 case matters", []string{"admin"}, tok("Admin"), 403, challengeScope("admin"), bodyForbidden},
		{"C-14 no scope at all", []string{"admin"}, tok(), 403, challengeScope("admin"), bodyForbidden},
		{"C-14 exact scope", []string{"admin"}, tok("admin"), 200, "", "sub=" + johnID + " user=-"},
		{"C-14 one of several", []string{"admin"}, tok("read", "admin"), 200, "", "sub=" + johnID + " user=-"},
		{"H-12 every required scope is named", []string{"admin", "write"}, tok("admin"), 403, challengeScope("admin write"), bodyForbidden},
		{"several required, all granted", []string{"admin", "write"}, tok("write", "admin"), 200, "", "sub=" + johnID + " user=-"},
		// Scope claims that are not single-space-delimited strings are
		// refused by the verifier before any scope check.
		{"C-14 double space", []string{"admin"},
			forgeHS256(testSecret, accessHeader, validClaims(johnID, `,"jti":"j","scope":"read  admin"`)), 401, challengeInvalid, bodyInvalidToken},
		{"C-14 array form", []string{"admin"},
			forgeHS256(testSecret, accessHeader, validClaims(johnID, `,"jti":"j","scope":["admin"]`)), 401, challengeInvalid, bodyInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := &protectedHandler{}
			h := middleware.RequireBearer(f.verifier)(middleware.RequireScope(tc.required...)(next))
			checkResponse(t, get(h, "/", "Bearer "+tc.token), tc.wantStatus, tc.wantChallenge, tc.wantBody)
			if want := map[bool]int{true: 1, false: 0}[tc.wantStatus == 200]; next.calls() != want {
				t.Errorf("next handler called %d times, want %d", next.calls(), want)
			}
		})
	}

	t.Run("realm of RequireBearer is kept", func(t *testing.T) {
		h := middleware.RequireBearer(f.verifier, middleware.WithRealm("api"))(middleware.RequireScope("admin")(&protectedHandler{}))
		checkResponse(t, get(h, "/", "Bearer "+tok("read")), 403,
			`Bearer realm="api", error="insufficient_scope", error_description="the token lacks a required scope", scope="admin"`, bodyForbidden)
	})
	t.Run("without RequireBearer", func(t *testing.T) {
		next := &protectedHandler{}
		checkResponse(t, get(middleware.RequireScope("admin")(next), "/", "Bearer "+tok("admin")), 401, challengeNoToken, bodyNotAuthenticated)
		if next.calls() != 0 {
			t.Fatal("next handler ran without verified claims")
		}
	})
}

// TestRequireScope_InvalidScopeFailsClosed: a scope no token can carry is
// a configuration error; the route refuses everyone rather than panic.
func TestRequireScope_InvalidScopeFailsClosed(t *testing.T) {
	t.Parallel()
	claims := &jwt.Claims{Subject: "uid-7", Scopes: []string{"read"}}
	for _, s := range []string{"", "a b", `"admin"`, `a\b`, "é", "a\x00"} {
		next := &protectedHandler{}
		h := middleware.RequireScope("read", s)(next)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r = r.WithContext(middleware.ContextWithClaims(r.Context(), claims))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusServiceUnavailable || next.calls() != 0 {
			t.Errorf("RequireScope(%q): status %d, handler calls %d", s, rec.Code, next.calls())
		}
	}
}

// TestContextWithClaims shows a handler tested without minting tokens.
func TestContextWithClaims(t *testing.T) {
	claims := &jwt.Claims{Subject: "uid-7", Scopes: []string{"admin"}}
	next := &protectedHandler{}
	h := middleware.RequireScope("admin")(next)

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(middleware.ContextWithClaims(r.Context(), claims))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != "sub=uid-7 user=-" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	if got, ok := middleware.ClaimsFromContext(r.Context()); !ok || got != claims {
		t.Fatalf("ClaimsFromContext = %v, %v; want the claims given", got, ok)
	}
	if _, ok := middleware.UserFromContext(r.Context()); ok {
		t.Fatal("UserFromContext reports a user that was never stored")
	}

	u := store.User{ID: "uid-7", Username: "grace"}
	r = r.WithContext(middleware.ContextWithUser(context.Background(), claims, u))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != "sub=uid-7 user=grace" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}

	rec = httptest.NewRecorder()
	reader := middleware.ContextWithClaims(context.Background(), &jwt.Claims{Subject: "uid-8", Scopes: []string{"read"}})
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(reader))
	checkResponse(t, rec, 403, challengeScope("admin"), bodyForbidden)

	if _, ok := middleware.ClaimsFromContext(context.Background()); ok {
		t.Fatal("ClaimsFromContext found claims in an empty context")
	}
	if _, ok := middleware.ClaimsFromContext(middleware.ContextWithClaims(context.Background(), nil)); ok {
		t.Fatal("ClaimsFromContext reports nil claims as present")
	}
}

// TestDefaultErrorHandler_Table checks the documented table, sentinel by
// sentinel, including wrapped errors.
func TestDefaultErrorHandler_Table(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{"ErrNoToken", middleware.ErrNoToken, 401, challengeNoToken, bodyNotAuthenticated},
		{"ErrBadHeader", middleware.ErrBadHeader, 401, challengeInvalid, bodyInvalidToken},
		{"ErrInvalidToken wrapping jwt", fmt.Errorf("%w: %w", middleware.ErrInvalidToken, jwt.ErrExpired), 401, challengeInvalid, bodyInvalidToken},
		{"ErrRevoked", middleware.ErrRevoked, 401, challengeInvalid, bodyInvalidToken},
		{"ErrUnknownUser", middleware.ErrUnknownUser, 401, challengeInvalid, bodyInvalidToken},
		{"ErrAmbiguousCredentials", middleware.ErrAmbiguousCredentials, 400, challengeRequest, bodyInvalidRequest},
		{"ScopeError", &middleware.ScopeError{Required: []string{"a", "b"}}, 403, challengeScope("a b"), bodyForbidden},
		{"ErrInsufficientScope without ScopeError", middleware.ErrInsufficientScope, 403,
			`Bearer error="insufficient_scope", error_description="the token lacks a required scope"`, bodyForbidden},
		{"ErrUnavailable", fmt.Errorf("%w: %w", middleware.ErrUnavailable, store.ErrUnavailable), 503, "", bodyUnavailable},
		{"unknown error", errors.New("boom: secret detail"), 503, "", bodyUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			middleware.DefaultErrorHandler(rec, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
			checkResponse(t, rec, tc.wantStatus, tc.wantChallenge, tc.wantBody)
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cl := rec.Header().Get("Content-Length"); cl != fmt.Sprint(len(tc.wantBody)) {
				t.Errorf("Content-Length = %q, want %d", cl, len(tc.wantBody))
			}
			if ra := rec.Header().Get("Retry-After"); (tc.wantStatus == 503) != (ra == "5") {
				t.Errorf("Retry-After = %q for status %d", ra, tc.wantStatus)
			}
		})
	}
	t.Run("NewErrorHandler realm", func(t *testing.T) {
		rec := httptest.NewRecorder()
		middleware.NewErrorHandler("api")(rec, httptest.NewRequest(http.MethodGet, "/", nil), middleware.ErrNoToken)
		checkResponse(t, rec, 401, `Bearer realm="api"`, bodyNotAuthenticated)
	})
}
