package authserver_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/throttle"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
	"github.com/jwtkit/jwtkit/store"
)

// loginFrom posts a password login from addr, with the given cookies and
// headers ("Name: value").
func loginFrom(h http.Handler, addr, username, pw string, cookies []*http.Cookie, headers ...string) *httptest.ResponseRecorder {
	v := url.Values{"grant_type": {"password"}, "username": {username}, "password": {pw}}
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = addr + ":40000"
	for _, c := range cookies {
		r.AddCookie(c)
	}
	for _, hv := range headers {
		name, value, _ := strings.Cut(hv, ": ")
		r.Header.Add(name, value)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// lockOut makes wrong guesses on username from addr until the guard
// refuses them.
func lockOut(t *testing.T, h http.Handler, addr, username string) {
	t.Helper()
	for i := 0; ; i++ {
		switch rec := loginFrom(h, addr, username, "guess", nil); rec.Code {
		case http.StatusTooManyRequests:
			return
		case http.StatusUnauthorized:
			if i > 100 {
				t.Fatal("100 wrong guesses and no lockout")
			}
		default:
			t.Fatalf("wrong guess: status %d, body %s", rec.Code, rec.Body)
		}
	}
}

// throttledHandler returns a token handler on f whose in-memory throttle
// and session clock (device cookies' expiries) run on the returned clock;
// mod may adjust the rest of the config.
func throttledHandler(t *testing.T, f *fixture, mod func(*authserver.TokenHandlerConfig)) (*authserver.TokenHandler, *jwttest.Clock) {
	t.Helper()
	clk := jwttest.NewClock(time.Now())
	guard, err := throttle.New(throttle.Config{Policy: throttle.Policy{Now: clk.Now}})
	if err != nil {
		t.Fatal(err)
	}
	return f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Guard, c.Now = guard, clk.Now
		if mod != nil {
			mod(c)
		}
	}), clk
}

// Without a Guard the token endpoint throttles with the in-memory
// default; NoLoginGuard turns throttling off explicitly.
func TestTokenEndpoint_ThrottlesLoginsByDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// An unknown user costs one comparison at the configured cost, no
	// more: the guard treats known and unknown users alike.
	count := func(h http.Handler) (unauthorized, throttled int) {
		for range 40 {
			switch loginFrom(h, "198.51.100.7", "nobody", "wrong password", nil).Code {
			case http.StatusUnauthorized:
				unauthorized++
			case http.StatusTooManyRequests:
				throttled++
			}
		}
		return unauthorized, throttled
	}
	def := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Guard = nil })
	if bad, slow := count(def); bad > 6 || slow != 40-bad {
		t.Fatalf("default guard, 40 wrong guesses: %d refused as wrong, %d throttled; want at most 6 compared", bad, slow)
	}
	off := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Guard = authserver.NoLoginGuard() })
	if bad, slow := count(off); bad != 40 || slow != 0 {
		t.Fatalf("NoLoginGuard: %d wrong, %d throttled; want 40 and 0", bad, slow)
	}
}

// deviceKey signs device cookies in tests.
var deviceKey = []byte("device-cookie-key-for-tests-only-32+bytes")

// An attacker who keeps failing from one address cannot stop the user's
// next correct login from a client that logged in before: a browser with
// its device cookie, or an API client from the address that succeeded.
func TestTokenEndpoint_AttackerCannotLockOutAClientThatLoggedInBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, clk := throttledHandler(t, f, func(c *authserver.TokenHandlerConfig) {
		c.DeviceCookie = &authserver.DeviceCookieConfig{Key: deviceKey}
	})
	const browserAddr, apiAddr, attacker = "203.0.113.10", "203.0.113.20", "198.51.100.66"

	first := loginFrom(h, browserAddr, johnName, johnPassword, nil)
	mustTokens(t, first)
	device := first.Result().Cookies()
	if len(device) != 1 {
		t.Fatalf("login set %d cookies, want the device cookie", len(device))
	}
	c := device[0]
	if c.Name != "__Host-jwtkit-device" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
		t.Fatalf("device cookie %+v: want __Host-, HttpOnly, Secure, SameSite=Strict, Path=/, no Domain, a Max-Age", c)
	}
	mustTokens(t, loginFrom(h, apiAddr, johnName, johnPassword, nil))

	// The attacker fails until locked out, and keeps trying all day.
	for range 24 {
		lockOut(t, h, attacker, johnName)
		// A client that never logged in shares the attacker's locked
		// budget...
		if code := loginFrom(h, "192.0.2.150", johnName, johnPassword, nil).Code; code != http.StatusTooManyRequests {
			t.Fatalf("an unknown client during the attack: status %d, want 429", code)
		}
		// ... but the real user's correct login, from both trusted
		// clients, goes through.
		mustTokens(t, loginFrom(h, "192.0.2.99", johnName, johnPassword, device)) // a browser on the move
		mustTokens(t, loginFrom(h, apiAddr, johnName, johnPassword, nil))
		clk.Advance(time.Hour) // past the longest lockout (20 min)
	}
}

// A device cookie counts only when it is intact, unexpired and bound to
// the account being logged in to; anything else is an unknown client.
func TestTokenEndpoint_DeviceCookieMustBeGenuine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, clk := throttledHandler(t, f, func(c *authserver.TokenHandlerConfig) {
		c.DeviceCookie = &authserver.DeviceCookieConfig{Key: deviceKey, MaxAge: time.Hour}
	})
	johns := loginFrom(h, "203.0.113.10", johnName, johnPassword, nil).Result().Cookies()[0]
	readers := loginFrom(h, "203.0.113.11", readerName, readerPassword, nil).Result().Cookies()[0]
	lockOut(t, h, "198.51.100.66", johnName)
	tamper := func(c *http.Cookie, f func(string) string) []*http.Cookie {
		d := *c
		d.Value = f(c.Value)
		return []*http.Cookie{&d}
	}
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
	}{
		{"another account's cookie", []*http.Cookie{readers}},
		{"a changed device ID", tamper(johns, func(v string) string { return "A" + v[1:] })},
		{"a later expiry", tamper(johns, func(v string) string {
			id, rest, _ := strings.Cut(v, ".")
			_, sig, _ := strings.Cut(rest, ".")
			return id + ".99999999999." + sig
		})},
		{"no signature", tamper(johns, func(v string) string { return v[:strings.LastIndex(v, ".")+1] })},
		{"garbage", tamper(johns, func(string) string { return "%%%" })},
	} {
		if code := loginFrom(h, "192.0.2.7", johnName, johnPassword, tc.cookies).Code; code != http.StatusTooManyRequests {
			t.Errorf("%s: status %d, want 429 (an unknown client while the account is locked)", tc.name, code)
		}
	}
	mustTokens(t, loginFrom(h, "192.0.2.7", johnName, johnPassword, []*http.Cookie{johns}))
	clk.Advance(time.Hour)
	lockOut(t, h, "198.51.100.66", johnName)
	// From an address that never logged in (the last one did, and is
	// trusted for the account now).
	if code := loginFrom(h, "192.0.2.8", johnName, johnPassword, []*http.Cookie{johns}).Code; code != http.StatusTooManyRequests {
		t.Errorf("an expired device cookie: status %d, want 429", code)
	}
}

func TestNewTokenHandler_RefusesBadDeviceCookieConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for name, dc := range map[string]*authserver.DeviceCookieConfig{
		"short key":               {Key: []byte("short")},
		"negative max age":        {Key: deviceKey, MaxAge: -time.Second},
		"insecure __Host- name":   {Key: deviceKey, Insecure: true, Name: "__Host-device"},
		"insecure __Secure- name": {Key: deviceKey, Insecure: true, Name: "__Secure-device"},
	} {
		_, err := authserver.NewTokenHandler(authserver.TokenHandlerConfig{Users: f.store, Issuer: f.issuer, Verifier: f.verifier, DeviceCookie: dc})
		if !errors.Is(err, authserver.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

// Behind a proxy with the default ClientAddr every client shares the
// proxy's address budget; the first login that shows it is logged once.
func TestTokenEndpoint_WarnsOnceAboutForwardingHeadersWithoutTrustedProxy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name  string
		addr  func(*http.Request) string
		warns int
	}{
		{"default client address", nil, 1},
		{"trusted proxy configured", authserver.TrustedProxyAddr("X-Forwarded-For", netip.MustParsePrefix("203.0.113.0/24")), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
				c.ClientAddr = tc.addr
				c.Logger = slogJSON(&logs)
				c.Audit = func(context.Context, authserver.AuditEvent) {}
			})
			loginFrom(h, "203.0.113.1", johnName, johnPassword, nil)
			for _, hdr := range []string{"X-Forwarded-For: 198.51.100.1", "Forwarded: for=198.51.100.2", "X-Real-IP: 198.51.100.3"} {
				loginFrom(h, "203.0.113.1", johnName, johnPassword, nil, hdr)
			}
			if got := strings.Count(logs.String(), "TrustedProxyAddr"); got != tc.warns {
				t.Fatalf("%d warnings, want %d; log:\n%s", got, tc.warns, logs.String())
			}
		})
	}
}

// A device cookie issued before a password change vouches for nothing
// after it: whoever logged in with the old password keeps no budget of
// their own to guess the new one with.
func TestTokenEndpoint_PasswordChangeRetiresDeviceCookies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, clk := throttledHandler(t, f, func(c *authserver.TokenHandlerConfig) {
		c.DeviceCookie = &authserver.DeviceCookieConfig{Key: deviceKey}
	})
	// The thief logs in with the password while it is still the old one.
	stolen := loginFrom(h, "198.51.100.20", johnName, johnPassword, nil).Result().Cookies()
	newHash, err := f.hasher.Hash("the new password")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetPasswordHash(t.Context(), johnID, newHash); err != nil {
		t.Fatal(err)
	}
	lockOut(t, h, "192.0.2.66", johnName)
	// The stolen cookie, from a fresh address, now shares the locked budget.
	if rec := loginFrom(h, "192.0.2.77", johnName, "a guess at the new one", stolen); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("the pre-change device cookie during a lockout: status %d, want 429", rec.Code)
	}
	// A cookie issued under the new password vouches again.
	clk.Advance(20 * time.Minute)
	fresh := loginFrom(h, "203.0.113.30", johnName, "the new password", nil).Result().Cookies()
	lockOut(t, h, "192.0.2.66", johnName)
	mustTokens(t, loginFrom(h, "192.0.2.88", johnName, "the new password", fresh))
}

// RevokeAll (the end of a password change) ends the trust in the addresses
// the account logged in from.
func TestRevokeAll_EndsTrustInTheAccountsAddresses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, _ := throttledHandler(t, f, nil)
	mustTokens(t, loginFrom(h, "198.51.100.20", johnName, johnPassword, nil))
	lockOut(t, h, "192.0.2.66", johnName)
	mustTokens(t, loginFrom(h, "198.51.100.20", johnName, johnPassword, nil)) // still trusted
	if err := h.RevokeAll(t.Context(), johnID); err != nil {
		t.Fatal(err)
	}
	if rec := loginFrom(h, "198.51.100.20", johnName, johnPassword, nil); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("the once trusted address after RevokeAll, account locked: status %d, want 429", rec.Code)
	}
}

// A page the user merely visits can post guesses to the token endpoint
// from the user's own address; those draw on the shared budget, not on
// the trust the user's address has earned.
func TestTokenEndpoint_CrossSiteGuessesCannotSpendTheUsersAddressTrust(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, _ := throttledHandler(t, f, nil)
	const home = "203.0.113.10"
	mustTokens(t, loginFrom(h, home, johnName, johnPassword, nil))
	for i := 0; ; i++ {
		rec := loginFrom(h, home, johnName, "guess", nil, "Sec-Fetch-Site: cross-site", "Origin: https://evil.example")
		if rec.Code == http.StatusTooManyRequests {
			break
		}
		if rec.Code != http.StatusUnauthorized || i > 100 {
			t.Fatalf("cross-site guess %d: status %d", i, rec.Code)
		}
	}
	mustTokens(t, loginFrom(h, home, johnName, johnPassword, nil, "Sec-Fetch-Site: same-origin"))
}

// Insecure device cookies (plain http) exist on loopback hosts only.
func TestTokenEndpoint_InsecureDeviceCookiesOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.DeviceCookie = &authserver.DeviceCookieConfig{Key: deviceKey, Insecure: true}
	})
	for host, want := range map[string]int{"127.0.0.1:8000": 1, "localhost:8000": 1, "[::1]:8000": 1, "auth.example": 0} {
		v := url.Values{"username": {johnName}, "password": {johnPassword}}
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if got := len(rec.Result().Cookies()); rec.Code != http.StatusOK || got != want {
			t.Errorf("Host %s: status %d, %d cookies, want 200 and %d", host, rec.Code, got, want)
		}
	}
}

// When the account cannot be read to forget its trusted addresses,
// RevokeAll reports the failure, and the revocation it made stands: a
// retry repeats both.
func TestRevokeAll_UserStoreDownIsReportedAfterTheRevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := f.access(t, jwt.Grant{Subject: johnID, ID: "before-revoke-all"})
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Users = failingUsers{} })
	if err := h.RevokeAll(t.Context(), johnID); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("RevokeAll with the user store down: %v, want ErrUnavailable", err)
	}
	if !revoked(t, f, before) {
		t.Fatal("the token issued before RevokeAll is not revoked")
	}
}
