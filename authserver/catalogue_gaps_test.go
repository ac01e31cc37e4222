package authserver_test

import (
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// TestCatalogue_C10_RecreatedUsernameGetsNoOldTokens: tokens name the
// account by its immutable ID, so after bob is deleted and an account
// named bob is created again, bob's old token does not open the new
// account (the deleted and disabled cases are H-16).
func TestCatalogue_C10_RecreatedUsernameGetsNoOldTokens(t *testing.T) {
	f := newFixture(t)
	bob := store.User{ID: "uid-bob-1", Username: "bob", PasswordHash: fastHash(t, "bob-pass"), Scopes: []string{"read"}}
	if err := f.store.AddUser(bob); err != nil {
		t.Fatal(err)
	}
	old := mustTokens(t, login(f.tokenHandler(t, nil), "bob", "bob-pass"))
	if c, err := f.verifier.VerifyAccess(t.Context(), old.AccessToken); err != nil || c.Subject != bob.ID {
		t.Fatalf("sub of bob's token = %v (%v), want the account ID %q", c, err, bob.ID)
	}

	// The account table after the deletion and the re-creation.
	recreated := memstore.New()
	if err := recreated.AddUser(store.User{ID: "uid-bob-2", Username: "bob", PasswordHash: bob.PasswordHash, Scopes: bob.Scopes}); err != nil {
		t.Fatal(err)
	}
	next := &protectedHandler{}
	mw := middleware.RequireBearer(f.verifier, middleware.WithUsers(recreated))(next)
	checkResponse(t, get(mw, "/", "Bearer "+old.AccessToken), 401, challengeInvalid, bodyInvalidToken)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+old.AccessToken)
	if _, _, err := mustAuthenticator(t, f.verifier, middleware.WithUsers(recreated)).Authenticate(r); !errors.Is(err, middleware.ErrUnknownUser) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Authenticate error = %v, want ErrUnknownUser wrapping store.ErrNotFound", err)
	}

	// The new bob logs in and gets his own tokens.
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Users = recreated
		c.Refresh = recreated
		c.Revocations = recreated
	})
	fresh := mustTokens(t, login(h, "bob", "bob-pass"))
	checkResponse(t, get(mw, "/", "Bearer "+fresh.AccessToken), 200, "", "sub=uid-bob-2 user=bob")
	if next.calls() != 1 {
		t.Fatalf("next handler ran %d times, want 1", next.calls())
	}
}

// TestCatalogue_R10_MalleatedCopiesOfRevokedToken: an access token
// revoked through /revoke stays refused in every re-encoding a third
// party can make of it: ECDSA high-S (s' = n − s, which crypto/ecdsa
// accepts, A-10) and non-canonical base64 (F-04). Revocation is keyed on
// the jti, so this also holds with a token cache that served the copies
// before the revocation.
func TestCatalogue_R10_MalleatedCopiesOfRevokedToken(t *testing.T) {
	f := newFixture(t)
	key, err := jwt.GenerateKey("e1", jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	_, iss, ver := tokensOn(t, key)
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Issuer, c.Verifier = iss, ver })
	raw := mustTokens(t, login(h, johnName, johnPassword)).AccessToken
	seg := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(seg[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("ES256 signature: %d bytes, %v", len(sig), err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(seg[1])
	highS := new(big.Int).Sub(elliptic.P256().Params().N, new(big.Int).SetBytes(sig[32:])).FillBytes(make([]byte, 32))
	copies := map[string]string{
		"high-S":                        seg[0] + "." + seg[1] + "." + base64.RawURLEncoding.EncodeToString(append(sig[:32:32], highS...)),
		"signature std alphabet padded": seg[0] + "." + seg[1] + "." + base64.StdEncoding.EncodeToString(sig),
		"padding appended":              raw + "=",
		"payload padded":                seg[0] + "." + base64.URLEncoding.EncodeToString(payload) + "." + seg[2],
	}

	cache, err := middleware.NewTokenCache(middleware.TokenCacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	auths := map[string]*middleware.Authenticator{
		"no cache": mustAuthenticator(t, ver, middleware.WithRevocations(f.store)),
		"cache":    mustAuthenticator(t, ver, middleware.WithRevocations(f.store), middleware.WithTokenCache(cache)),
	}
	// Before the revocation the original passes (and is cached), and so
	// does the high-S copy if the verifier accepts it at all: it then
	// carries the original's jti.
	orig, err := ver.VerifyAccess(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range auths {
		for _, c := range []string{raw, copies["high-S"]} {
			cl, err := ver.VerifyAccess(t.Context(), c)
			if err != nil {
				continue
			}
			if cl.ID != orig.ID {
				t.Fatalf("%s: a copy verified with jti %q, original %q", name, cl.ID, orig.ID)
			}
			checkResponse(t, get(a.Require(&protectedHandler{}), "/", "Bearer "+c), 200, "", "sub="+johnID+" user=-")
		}
	}

	if rec := postForm(h.RevokeHandler(), "/revoke", "token="+raw+"&token_type_hint=access_token"); rec.Code != 200 {
		t.Fatalf("revoke: %d %q", rec.Code, rec.Body.String())
	}
	for name, a := range auths {
		for what, c := range copies {
			next := &protectedHandler{}
			checkResponse(t, get(a.Require(next), "/", "Bearer "+c), 401, challengeInvalid, bodyInvalidToken)
			if next.calls() != 0 {
				t.Errorf("%s, %s: the revoked token's copy opened the route", name, what)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+c)
			_, _, err := a.Authenticate(r)
			// A copy the verifier accepts must be caught as revoked; any
			// other is refused for its encoding before the store is asked.
			want := []error{middleware.ErrInvalidToken, middleware.ErrBadHeader}
			if _, verr := ver.VerifyAccess(t.Context(), c); verr == nil {
				want = []error{middleware.ErrRevoked}
			}
			if !errors.Is(err, want[0]) && (len(want) == 1 || !errors.Is(err, want[1])) {
				t.Errorf("%s, %s: Authenticate error = %v, want one of %v", name, what, err, want)
			}
		}
	}
}

// TestCatalogue_P08_L03_LegacyCostUpgradedAtLogin: a user whose stored
// hash has a lower cost than the configured one (a legacy-cost user, whose
// logins are faster than an unknown user's dummy comparison) gets the hash
// upgraded on the first successful login, which closes the timing gap of
// L-03. Failed and disabled logins never rewrite a hash.
func TestCatalogue_P08_L03_LegacyCostUpgradedAtLogin(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Rehash = f.store })
	hashOf := func(name string) string {
		t.Helper()
		u, err := f.store.UserByUsername(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
	before := map[string]string{johnName: hashOf(johnName), readerName: hashOf(readerName), aliceName: hashOf(aliceName)}
	if c, err := bcrypt.Cost([]byte(before[johnName])); err != nil || c != bcrypt.MinCost || !f.hasher.NeedsRehash(before[johnName]) {
		t.Fatalf("fixture: john's hash cost %d (%v), want a legacy cost-4 hash", c, err)
	}

	checkResponse(t, login(h, readerName, "wrong-password"), 401, "Bearer", bodyBadCredentials)
	checkResponse(t, login(h, aliceName, alicePassword), 401, "Bearer", bodyBadCredentials)
	for _, name := range []string{readerName, aliceName} {
		if got := hashOf(name); got != before[name] {
			t.Errorf("%s: hash rewritten by a refused login", name)
		}
	}

	mustTokens(t, login(h, johnName, johnPassword))
	after := hashOf(johnName)
	if c, err := bcrypt.Cost([]byte(after)); err != nil || c != f.hasher.Cost || !strings.HasPrefix(after, "$2b$") {
		t.Fatalf("john's hash after login: %q (cost %d, %v), want $2b$ at cost %d", after, c, err, f.hasher.Cost)
	}
	if f.hasher.NeedsRehash(after) {
		t.Error("upgraded hash still needs a rehash")
	}
	if err := f.hasher.Compare(after, johnPassword); err != nil {
		t.Fatalf("upgraded hash does not verify: %v", err)
	}
	mustTokens(t, login(h, johnName, johnPassword))
	if hashOf(johnName) != after {
		t.Error("an up-to-date hash was rewritten")
	}
}

// failingRefresh is a store.RefreshTokens whose backend is down; with
// block set it answers only when the caller's context ends (a slow store).
type failingRefresh struct{ block bool }

func (f failingRefresh) fail(ctx context.Context) error {
	if f.block {
		<-ctx.Done()
		return fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
	}
	return store.ErrUnavailable
}

func (f failingRefresh) CreateFamily(ctx context.Context, _ store.Family, _ store.RefreshToken) error {
	return f.fail(ctx)
}

func (f failingRefresh) Rotate(ctx context.Context, _ store.Rotation) (store.RefreshToken, error) {
	return store.RefreshToken{}, f.fail(ctx)
}

func (f failingRefresh) RevokeFamily(ctx context.Context, _, _ string) error { return f.fail(ctx) }

// TestCatalogue_R13_RefreshStoreDownIsServiceUnavailable: with the
// refresh-token store down or hanging, login and both refresh endpoints
// answer 503 without a token, within the store timeout, and the refresh
// token is not consumed (the store-level R-13 cases are in pgstore and
// redisstore).
func TestCatalogue_R13_RefreshStoreDownIsServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	healthy := f.tokenHandler(t, nil)
	pair := mustTokens(t, login(healthy, johnName, johnPassword))
	for name, rs := range map[string]failingRefresh{"down": {}, "hanging": {block: true}} {
		down := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
			c.Refresh = rs
			c.StoreTimeout = 50 * time.Millisecond
		})
		start := time.Now()
		for what, rec := range map[string]*httptest.ResponseRecorder{
			"password grant": login(down, johnName, johnPassword),
			"refresh grant":  postForm(down, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken),
			"recipe refresh": postForm(down.RefreshHandler(), "/refresh", "refresh_token="+pair.RefreshToken),
		} {
			t.Run(name+"/"+what, func(t *testing.T) {
				checkResponse(t, rec, 503, "", bodyStoreDown)
				if rec.Header().Get("Retry-After") == "" || rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("headers %v, want Retry-After and Cache-Control: no-store", rec.Header())
				}
			})
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: three requests took %s with a 50 ms store timeout", name, d)
		}
	}
	mustTokens(t, postForm(healthy, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken))
}

// BenchmarkCatalogue_L03_LegacyCostLogin reports the time of a wrong
// password for an unknown user (the dummy comparison at the default cost
// 12) over that for a user with a legacy cost-10 hash. Without the wait
// on outdated hashes it was about 4; with it, about 1. The rehash at
// login (P-08) ends the legacy hash at the next success. Reported, never
// asserted.
func BenchmarkCatalogue_L03_LegacyCostLogin(b *testing.B) {
	f := newFixture(b)
	legacy, err := bcrypt.GenerateFromPassword([]byte("legacy-pass"), 10)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.store.AddUser(store.User{ID: "uid-legacy", Username: "legacy", PasswordHash: string(legacy)}); err != nil {
		b.Fatal(err)
	}
	h := f.tokenHandler(b, func(c *authserver.TokenHandlerConfig) { c.Passwords = &password.Hasher{} })
	timed := func(user string) time.Duration {
		start := time.Now()
		if rec := login(h, user, "wrong-password"); rec.Code != http.StatusUnauthorized {
			b.Fatalf("%s: status %d", user, rec.Code)
		}
		return time.Since(start)
	}
	// One of each before the clock starts: the hasher learns the
	// dummy comparison's cost from unknown users.
	timed("nobody")
	timed("legacy")
	var legacyD, unknownD time.Duration
	for b.Loop() {
		legacyD += timed("legacy")
		unknownD += timed("nobody")
	}
	b.ReportMetric(float64(unknownD)/float64(legacyD), "unknown/legacy")
}

// TestCatalogue_L03_LegacyCostFailureWaits: a failed login against a hash
// at a legacy (lower) cost waits out the difference to a comparison at
// the configured cost, so it does not finish sooner than an unknown
// user's; a success never waits. (Refusals at the configured cost may
// wait out the jitter between comparisons: they pad to a running
// average.)
func TestCatalogue_L03_LegacyCostFailureWaits(t *testing.T) {
	f := newFixture(t)
	current, err := f.hasher.Hash("current-pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddUser(store.User{ID: "uid-current", Username: "current", PasswordHash: current}); err != nil {
		t.Fatal(err)
	}
	h := f.tokenHandler(t, nil)
	var waits []time.Duration
	authserver.SetPause(h, func(_ context.Context, d time.Duration) { waits = append(waits, d) })

	for _, tc := range []struct {
		name, user, pw string
		status         int
		wait           bool
	}{
		{"unknown user", "nobody", "wrong-password", 401, false},
		{"current-cost hash, wrong password", "current", "wrong-password", 401, false},
		{"legacy-cost hash, wrong password", johnName, "wrong-password", 401, true},
		{"legacy-cost hash, disabled user", aliceName, alicePassword, 401, true},
		{"current-cost hash, right password", "current", "current-pass", 200, false},
		{"legacy-cost hash, right password", readerName, readerPassword, 200, false},
	} {
		waits = nil
		if rec := login(h, tc.user, tc.pw); rec.Code != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.name, rec.Code, tc.status)
		}
		switch {
		case tc.status == http.StatusOK && len(waits) != 0:
			t.Errorf("%s: a success waited %v", tc.name, waits)
		case tc.wait && len(waits) != 1:
			t.Errorf("%s: %d waits, want 1", tc.name, len(waits))
		case tc.wait && waits[0] <= 0:
			// A cost-4 comparison is 64 times cheaper than the cost-10
			// one it is measured against.
			t.Errorf("%s: wait %v, want the remainder of a cost-%d comparison", tc.name, waits[0], f.hasher.Cost)
		}
	}
}

// TestTokenEndpoint_E14_HangUpStillCounts: a client that hangs up as soon
// as its guess fails (for a legacy-cost user, while the answer is held
// back) still has the failure counted: the guard hears of it before the
// wait, on a context the hang-up does not cancel.
func TestTokenEndpoint_E14_HangUpStillCounts(t *testing.T) {
	f := newFixture(t)
	g := &stubGuard{}
	ctx, cancel := context.WithCancel(context.Background())
	// The client hangs up once its user has been looked up, while the
	// password is being compared.
	users := hangUpUsers{Users: f.store, hangUp: cancel}
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Guard, c.Users = g, users })
	failsAtPause := -1
	authserver.SetPause(h, func(context.Context, time.Duration) {
		g.mu.Lock()
		failsAtPause = g.fails
		g.mu.Unlock()
	})
	body := url.Values{"username": {johnName}, "password": {"wrong-password"}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body)).WithContext(ctx)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(httptest.NewRecorder(), r)

	if ctx.Err() == nil {
		t.Fatal("the request was not cancelled")
	}
	if g.fails != 1 || g.outcomeCtxErr != nil {
		t.Fatalf("guard saw %d failures, context error %v; want 1 on a live context", g.fails, g.outcomeCtxErr)
	}
	if failsAtPause != 1 {
		t.Fatalf("failures recorded when the wait began: %d, want 1 (the failure before the wait)", failsAtPause)
	}
}

// hangUpUsers calls hangUp after each lookup by username.
type hangUpUsers struct {
	store.Users
	hangUp func()
}

func (u hangUpUsers) UserByUsername(ctx context.Context, name string) (store.User, error) {
	defer u.hangUp()
	return u.Users.UserByUsername(ctx, name)
}

func mustAuthenticator(t testing.TB, v middleware.AccessVerifier, opts ...middleware.Option) *middleware.Authenticator {
	t.Helper()
	a, err := middleware.NewAuthenticator(v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
