package jwt_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// ktCraft builds a compact token from header and claims with sign.
func ktCraft(tb testing.TB, header, claims map[string]any, sign func([]byte) []byte) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func ktClaims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": ktIssuer, "sub": "user-1", "iat": now, "exp": now + 600}
}

func ktRS256(tb testing.TB, priv *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
		if err != nil {
			tb.Fatal(err)
		}
		return sig
	}
}

func ktHS256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func TestRemote_VerifiesLikeLocal(t *testing.T) {
	for _, tc := range []struct {
		alg  jwt.Algorithm
		name string
	}{{jwt.RS256, "rsa"}, {jwt.PS256, "rsa"}, {jwt.ES256, "p256"}, {jwt.EdDSA, "ed"}} {
		t.Run(string(tc.alg), func(t *testing.T) {
			k := ktKey(t, "k1", tc.alg, tc.name)
			srv := newKTJWKSServer(t, ktJWKS(t, k), true)
			remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{tc.alg}})
			v := ktVerifier(t, remote, ktIssuer)
			c, err := v.VerifyAccess(context.Background(), ktIssue(t, ktSet(t, k), ktIssuer))
			if err != nil {
				t.Fatal(err)
			}
			if c.KeyID != "k1" || c.Subject != "user-1" {
				t.Fatalf("claims %+v", c)
			}
			if ks := remote.Keys(); len(ks) != 1 || ks[0].CanSign() || ks[0].Algorithm() != tc.alg {
				t.Fatalf("remote keys %v", ks)
			}
			// The fetch at construction, and a second one when it had
			// ended before ktRemote's Refresh began.
			st := remote.Status()
			if st.Fetches < 1 || st.Fetches > 2 || st.LastError != nil || st.LastSuccess.IsZero() || len(st.KeyIDs) != 1 {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

// ErrNoKeys until the first fetch succeeds; a fetch that later succeeds
// makes the set usable.
func TestRemote_NoKeysUntilFirstSuccess(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	srv := newKTJWKSServer(t, nil, true)
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>maintenance</html>")) })
	clock := newKTClock()
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Now: clock.Now})
	if err := remote.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh succeeded against a failing endpoint")
	}
	v := ktVerifier(t, remote, ktIssuer)
	tok := ktIssue(t, ktSet(t, k), ktIssuer)
	_, err := v.VerifyAccess(context.Background(), tok)
	ktWantErr(t, err, jwt.ErrNoKeys)
	if errors.Is(err, jwt.ErrConfig) || !strings.Contains(err.Error(), "well-formed") {
		t.Fatalf("want ErrNoKeys alone, with the fetch error's text: %v", err)
	}
	if remote.Keys() != nil {
		t.Fatal("keys before the first success")
	}

	srv.set(ktJWKS(t, k))
	// Within the cooldown nothing is fetched.
	before := srv.requests.Load()
	_, err = v.VerifyAccess(context.Background(), tok)
	ktWantErr(t, err, jwt.ErrNoKeys)
	if srv.requests.Load() != before {
		t.Fatal("fetched within the cooldown")
	}
	clock.Advance(30 * time.Second) // the default cooldown
	if _, err := v.VerifyAccess(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

// K-10: a flood of tokens with random kids costs at most one fetch per
// cooldown, and each is refused with ErrUnknownKey.
func TestRemote_K10_UnknownKIDFlood(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	srv := newKTJWKSServer(t, ktJWKS(t, k), true)
	clock := newKTClock()
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Now: clock.Now, UnknownKIDCooldown: 30 * time.Second})
	v := ktVerifier(t, remote, ktIssuer)
	good := ktIssue(t, ktSet(t, k), ktIssuer)
	if srv.requests.Load() != 1 {
		t.Fatalf("initial fetches: %d", srv.requests.Load())
	}

	flood := func() {
		var wg sync.WaitGroup
		var wrong atomic.Int64
		for w := range 20 {
			wg.Go(func() {
				for i := range 50 {
					tok := ktRelabel(t, good, func(h map[string]any) { h["kid"] = fmt.Sprintf("random-%d-%d-%d", clock.Now().Unix(), w, i) })
					if _, err := v.VerifyAccess(context.Background(), tok); !errors.Is(err, jwt.ErrUnknownKey) {
						wrong.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if n := wrong.Load(); n != 0 {
			t.Fatalf("%d of 1000 random-kid tokens were not refused with ErrUnknownKey", n)
		}
	}
	flood()
	if got := srv.requests.Load(); got != 1 {
		t.Fatalf("flood within the cooldown of the first fetch caused %d extra fetches", got-1)
	}
	clock.Advance(30 * time.Second)
	flood()
	if got := srv.requests.Load(); got != 2 {
		t.Fatalf("flood after the cooldown: %d fetches in total, want 2", got)
	}
	clock.Advance(29 * time.Second)
	flood()
	if got := srv.requests.Load(); got != 2 {
		t.Fatalf("flood 29 s later: %d fetches in total, want 2", got)
	}
	// The known key keeps working throughout.
	if _, err := v.VerifyAccess(context.Background(), good); err != nil {
		t.Fatal(err)
	}
}

// Concurrent verifiers and Refresh calls share one fetch; the endpoint
// never sees two requests at once. On a fake clock, so that every caller is
// known to be waiting before the endpoint answers.
func TestRemote_SingleFlight(t *testing.T) {
	k1 := ktKey(t, "k1", jwt.RS256, "rsa")
	k2 := ktKey(t, "k2", jwt.RS256, "rsa2")
	one, both := ktJWKS(t, k1), ktJWKS(t, k1, k2)
	tok := ktIssue(t, ktSet(t, k2), ktIssuer) // signed by the key not yet fetched
	issued := time.Now()
	synctest.Test(t, func(t *testing.T) {
		var requests, inFlight, maxInFlight atomic.Int64
		var release chan struct{}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
			}
			if requests.Add(1) == 1 {
				w.Write(one)
				return
			}
			<-release
			w.Write(both)
		})
		clock := newKTClock()
		remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{
			URL:        "https://issuer.test/jwks.json",
			HTTPClient: &http.Client{Transport: ktHandlerTransport{h}},
			Logger:     ktQuiet,
			Now:        clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		synctest.Wait()
		// The token was minted outside the bubble, whose clock starts in 2000.
		v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: remote, Issuer: ktIssuer, Now: func() time.Time { return issued }})
		if err != nil {
			t.Fatal(err)
		}
		release = make(chan struct{})
		clock.Advance(time.Minute)
		errs := make(chan error, 105)
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				_, err := v.VerifyAccess(context.Background(), tok)
				errs <- err
			})
		}
		for range 5 {
			wg.Go(func() { errs <- remote.Refresh(context.Background()) })
		}
		synctest.Wait() // everyone waits for the one fetch in flight
		if got := requests.Load(); got != 2 {
			t.Fatalf("%d requests while 105 callers wait, want 2 (initial + one shared)", got)
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := requests.Load(); got != 2 {
			t.Fatalf("%d requests, want 2", got)
		}
		if m := maxInFlight.Load(); m != 1 {
			t.Fatalf("%d fetches ran at once", m)
		}
	})
}

// A verification waiting for a fetch gives up when its context ends, with
// a verification sentinel.
func TestRemote_WaitHonoursContext(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	srv := newKTJWKSServer(t, nil, true)
	release := make(chan struct{})
	defer close(release)
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: srv.URL, HTTPClient: srv.Client(), Logger: ktQuiet})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	v := ktVerifier(t, remote, ktIssuer)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = v.VerifyAccess(ctx, ktIssue(t, ktSet(t, k), ktIssuer))
	ktWantErr(t, err, jwt.ErrNoKeys)
	ktWantErr(t, err, context.DeadlineExceeded)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("waited %s", d)
	}
}

// K-18: whatever the endpoint does later, the last good set keeps
// serving, fetches end within the timeout and bodies are capped.
func TestRemote_K18_LastGoodSetKept(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	good := ktJWKS(t, k)
	tok := ktIssue(t, ktSet(t, k), ktIssuer)
	huge := func(w http.ResponseWriter, chunked bool) {
		if !chunked {
			w.Header().Set("Content-Length", fmt.Sprint(10<<20))
		}
		w.Write([]byte(`{"keys":[`))
		pad := []byte(strings.Repeat(" ", 64<<10))
		for range 160 {
			if _, err := w.Write(pad); err != nil {
				return
			}
		}
	}
	threeKeys := ktJWKS(t, k, ktKey(t, "k2", jwt.RS256, "rsa2"), ktKey(t, "k3", jwt.RS256, "rsa3"))
	cases := []struct {
		name    string
		handler http.HandlerFunc
		errText string
	}{
		{"status 500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", 500) }, "status 500"},
		{"status 404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "status 404"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>not json</html>")) }, "not one well-formed JSON object"},
		{"empty body", func(w http.ResponseWriter, r *http.Request) {}, "not one well-formed JSON object"},
		{"no usable key", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[{"kty":"oct","kid":"x","alg":"HS256","k":"` + ktB64(make([]byte, 32)) + `"}]}`))
		}, "no usable key"},
		{"empty set", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }, "no usable key"},
		{"too many keys", func(w http.ResponseWriter, r *http.Request) { w.Write(threeKeys) }, "more than 2 keys"},
		{"10 MiB body with Content-Length", func(w http.ResponseWriter, r *http.Request) { huge(w, false) }, "exceeds the limit"},
		{"10 MiB body chunked", func(w http.ResponseWriter, r *http.Request) { huge(w, true) }, "exceeds the limit"},
		{"hangs past the timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, "deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newKTJWKSServer(t, good, true)
			remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{MaxKeys: 2, FetchTimeout: 300 * time.Millisecond})
			v := ktVerifier(t, remote, ktIssuer)
			if _, err := v.VerifyAccess(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			srv.setHandler(tc.handler)
			start := time.Now()
			err := remote.Refresh(context.Background())
			if err == nil {
				t.Fatal("the fetch succeeded")
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("error %q does not mention %q", err, tc.errText)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("the fetch took %s", d)
			}
			if _, err := v.VerifyAccess(context.Background(), tok); err != nil {
				t.Fatalf("last good set lost: %v", err)
			}
			st := remote.Status()
			if st.LastError == nil || len(st.KeyIDs) != 1 || st.KeyIDs[0] != "k1" || st.Fetches != 2 {
				t.Fatalf("status %+v", st)
			}
			// Recovery.
			srv.set(good)
			if err := remote.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			if remote.Status().LastError != nil {
				t.Fatal("LastError kept after a success")
			}
		})
	}
	t.Run("TLS error", func(t *testing.T) {
		srv := newKTJWKSServer(t, good, true)
		// The default client does not trust the test server's certificate,
		// and an https URL is never retried over http.
		remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: srv.URL, Logger: ktQuiet})
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		err = remote.Refresh(context.Background())
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("want a certificate error, got %v", err)
		}
		_, err = ktVerifier(t, remote, ktIssuer).VerifyAccess(context.Background(), tok)
		ktWantErr(t, err, jwt.ErrNoKeys)
	})
}

// ktLogs captures log records.
type ktLogs struct {
	mu   sync.Mutex
	recs []string
}

func (l *ktLogs) Enabled(context.Context, slog.Level) bool { return true }
func (l *ktLogs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.recs = append(l.recs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *ktLogs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *ktLogs) WithGroup(string) slog.Handler      { return l }
func (l *ktLogs) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.recs, "\n")
}

// K-19, K-14, K-15: keys a remote set must not use are ignored, with a
// recorded and logged reason; the usable keys still work.
func TestRemote_K19_IgnoresUnusableKeys(t *testing.T) {
	good := ktKey(t, "good", jwt.RS256, "rsa")
	secret := []byte("0123456789abcdef0123456789abcdef")
	weak := ktSigner(t, "rsa1024").(*rsa.PrivateKey)
	encKey := ktSigner(t, "rsa2").(*rsa.PrivateKey)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	_ = json.Unmarshal(ktJWKS(t, good), &doc)
	base := doc.Keys[0]
	privJWK := ktJWXJWK(t, ktSigner(t, "rsa3"), map[string]any{"kid": "leaked", "alg": "RS256"})
	keys := []any{
		map[string]any{"kty": "oct", "kid": "x", "alg": "HS256", "k": ktB64(secret)},
		map[string]any{"kty": "oct", "kid": "y", "k": ktB64(secret)},
		ktWith(base, "kid", "enc", "use", "enc", "n", ktB64(encKey.N.Bytes())),
		ktWith(base, "kid", "ops", "key_ops", []string{"encrypt"}, "n", ktB64(encKey.N.Bytes())),
		ktWith(base, "kid", "weak", "n", ktB64(weak.N.Bytes())),
		ktWith(base, "kid", "rs512", "alg", "RS512", "n", ktB64(encKey.N.Bytes())),
		ktWith(base, "kid", "ec", "kty", "EC", "alg", "ES256"),
		ktWith(base, "kid", "ec-rs", "kty", "EC"),
		privJWK,
		ktWith(base, "kid", "dup"), ktWith(base, "kid", "dup"),
		ktWith(base, "kid", nil),
		base,
	}
	srv := newKTJWKSServer(t, ktJSON(t, map[string]any{"keys": keys}), true)
	logs := &ktLogs{}
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Logger: slog.New(logs)})
	st := remote.Status()
	if st.LastError != nil || len(st.KeyIDs) != 1 || st.KeyIDs[0] != "good" {
		t.Fatalf("status %+v", st)
	}
	reasons := map[string]string{}
	for _, ig := range st.Ignored {
		if !errors.Is(ig.Reason, jwt.ErrKeyMismatch) && !errors.Is(ig.Reason, jwt.ErrWeakKey) && !errors.Is(ig.Reason, jwt.ErrConfig) {
			t.Errorf("key %q: reason %v wraps no key sentinel", ig.KeyID, ig.Reason)
		}
		reasons[ig.KeyID] += ig.Reason.Error() + ";"
	}
	for kid, want := range map[string]string{
		"x":      "symmetric",
		"enc":    `"use" is "enc"`,
		"ops":    "key_ops",
		"weak":   "1024 bits",
		"rs512":  "not among the accepted",
		"ec":     "not among the accepted",
		"ec-rs":  "needs kty",
		"y":      "symmetric",
		"leaked": "private material",
		"dup":    "share this kid",
		"":       "without kid",
	} {
		if !strings.Contains(reasons[kid], want) {
			t.Errorf("kid %q: reason %q does not mention %q", kid, reasons[kid], want)
		}
		if !strings.Contains(logs.all(), "kid="+kid+" reason=") {
			t.Errorf("kid %q: ignored key not logged", kid)
		}
	}
	// The reason is data: its sentinel tells the kinds apart.
	for _, ig := range st.Ignored {
		want := map[string]error{"weak": jwt.ErrWeakKey, "x": jwt.ErrKeyMismatch, "enc": jwt.ErrKeyMismatch, "dup": jwt.ErrConfig, "": jwt.ErrConfig}[ig.KeyID]
		if want != nil && !errors.Is(ig.Reason, want) {
			t.Errorf("kid %q: reason %v, want %v", ig.KeyID, ig.Reason, want)
		}
	}
	if strings.Contains(logs.all(), ktB64(secret)) {
		t.Fatal("the log holds key material")
	}
	v := ktVerifier(t, remote, ktIssuer)
	ctx := context.Background()
	if _, err := v.VerifyAccess(ctx, ktIssue(t, ktSet(t, good), ktIssuer)); err != nil {
		t.Fatal(err)
	}
	at := func(kid string) map[string]any { return map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid} }
	refused := map[string]struct {
		tok  string
		want error
	}{
		"HS256 signed with the published oct key": {ktCraft(t, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "x"}, ktClaims(), ktHS256(secret)), jwt.ErrAlgorithm},
		"signed by the use:enc key":               {ktCraft(t, at("enc"), ktClaims(), ktRS256(t, encKey)), jwt.ErrUnknownKey},
		"signed by the RSA-1024 key":              {ktCraft(t, at("weak"), ktClaims(), ktRS256(t, weak)), jwt.ErrUnknownKey},
		"signed by a duplicated kid":              {ktCraft(t, at("dup"), ktClaims(), ktRS256(t, ktSigner(t, "rsa").(*rsa.PrivateKey))), jwt.ErrUnknownKey},
	}
	for name, tc := range refused {
		_, err := v.VerifyAccess(ctx, tc.tok)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// A single key without kid serves tokens without kid, as a local set of
// one key does; alg is inferred only when one algorithm is configured.
func TestRemote_KeyWithoutKIDOrAlg(t *testing.T) {
	k := ktKey(t, "", jwt.ES256, "p256")
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	_ = json.Unmarshal(ktJWKS(t, k), &doc)
	noAlg := ktJSON(t, map[string]any{"keys": []any{ktWith(doc.Keys[0], "alg", nil)}})
	srv := newKTJWKSServer(t, noAlg, true)
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.ES256}})
	if _, err := ktVerifier(t, remote, ktIssuer).VerifyAccess(context.Background(), ktIssue(t, ktSet(t, k), ktIssuer)); err != nil {
		t.Fatal(err)
	}
	two := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.ES256, jwt.ES384}})
	if st := two.Status(); st.LastError == nil || len(st.Ignored) != 1 || !errors.Is(st.Ignored[0].Reason, jwt.ErrConfig) || !strings.Contains(st.Ignored[0].Reason.Error(), `"alg" is required`) {
		t.Fatalf("status %+v", st)
	}
}

// K-20: redirects to another origin, or from https to http, are refused
// and the last good set stays; redirects within the origin are followed.
func TestRemote_K20_Redirects(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	tok := ktIssue(t, ktSet(t, k), ktIssuer)
	other := newKTJWKSServer(t, ktJWKS(t, ktKey(t, "evil", jwt.RS256, "rsa2")), true)
	plain := newKTJWKSServer(t, ktJWKS(t, ktKey(t, "evil", jwt.RS256, "rsa2")), false)
	srv := newKTJWKSServer(t, ktJWKS(t, k), true)
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{})
	v := ktVerifier(t, remote, ktIssuer)
	for name, target := range map[string]string{
		"another host":   strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/jwks.json",
		"another port":   other.URL + "/jwks.json",
		"https to http":  plain.URL + "/jwks.json",
		"http same port": strings.Replace(srv.URL, "https://", "http://", 1) + "/jwks.json",
	} {
		t.Run(name, func(t *testing.T) {
			srv.setHandler(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
			err := remote.Refresh(context.Background())
			if err == nil || !strings.Contains(err.Error(), "redirect") {
				t.Fatalf("want a redirect error, got %v", err)
			}
			if other.requests.Load() != 0 || plain.requests.Load() != 0 {
				t.Fatal("the redirect target was contacted")
			}
			if _, err := v.VerifyAccess(context.Background(), tok); err != nil {
				t.Fatalf("last good set lost: %v", err)
			}
		})
	}
	t.Run("same origin", func(t *testing.T) {
		body := ktJWKS(t, k, ktKey(t, "k2", jwt.RS256, "rsa3"))
		srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved" {
				w.Write(body)
				return
			}
			http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
		})
		if err := remote.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ids := remote.Status().KeyIDs; len(ids) != 2 {
			t.Fatalf("keys %v", ids)
		}
	})
	t.Run("redirect loop", func(t *testing.T) {
		srv.setHandler(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/again", http.StatusFound) })
		if err := remote.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "redirects") {
			t.Fatalf("want a redirect-limit error, got %v", err)
		}
	})
}

// K-17 over a remote set: a newly published key is picked up on its first
// token (after the cooldown), and a withdrawn key stops verifying.
func TestRemote_K17_Rotation(t *testing.T) {
	k1 := ktKey(t, "k1", jwt.ES256, "p256")
	k2 := ktKey(t, "k2", jwt.ES256, "p256b")
	srv := newKTJWKSServer(t, ktJWKS(t, k1), true)
	clock := newKTClock()
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.ES256}, Now: clock.Now})
	v := ktVerifier(t, remote, ktIssuer)
	ctx := context.Background()
	t1 := ktIssue(t, ktSet(t, k1), ktIssuer)
	t2 := ktIssue(t, ktSet(t, k2, ktPublic(t, k1)), ktIssuer)
	if _, err := v.VerifyAccess(ctx, t1); err != nil {
		t.Fatal(err)
	}
	srv.set(ktJWKS(t, k2, k1))
	_, err := v.VerifyAccess(ctx, t2)
	ktWantErr(t, err, jwt.ErrUnknownKey) // within the cooldown of the first fetch
	clock.Advance(30 * time.Second)      // the default cooldown
	if _, err := v.VerifyAccess(ctx, t2); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyAccess(ctx, t1); err != nil {
		t.Fatal(err)
	}
	srv.set(ktJWKS(t, k2))
	if err := remote.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyAccess(ctx, t1)
	ktWantErr(t, err, jwt.ErrUnknownKey)
	if _, err := v.VerifyAccess(ctx, t2); err != nil {
		t.Fatal(err)
	}
}

// A server sending ETags gets conditional requests; 304 keeps the set.
func TestRemote_ConditionalRefresh(t *testing.T) {
	k := ktKey(t, "k1", jwt.EdDSA, "ed")
	body := ktJWKS(t, k)
	srv := newKTJWKSServer(t, nil, true)
	var conditional atomic.Int64
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if got := r.Header.Get("Accept"); !strings.Contains(got, "application/jwk-set+json") {
			t.Errorf("Accept %q", got)
		}
		w.Header().Set("ETag", `"v1"`)
		w.Write(body)
	})
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.EdDSA}})
	if err := remote.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if conditional.Load() != 1 {
		t.Fatalf("%d conditional requests", conditional.Load())
	}
	if _, err := ktVerifier(t, remote, ktIssuer).VerifyAccess(context.Background(), ktIssue(t, ktSet(t, k), ktIssuer)); err != nil {
		t.Fatal(err)
	}
}

func TestRemote_ConfigRefused(t *testing.T) {
	for name, cfg := range map[string]jwt.RemoteKeySetConfig{
		"no URL":                 {},
		"relative URL":           {URL: "/jwks.json"},
		"http without AllowHTTP": {URL: "http://127.0.0.1:1/jwks.json"},
		"file URL":               {URL: "file:///etc/passwd", AllowHTTP: true},
		"credentials in URL":     {URL: "https://user:pw@issuer.test/jwks.json"},
		"HMAC algorithm":         {URL: "https://issuer.test/jwks.json", Algorithms: []jwt.Algorithm{jwt.HS256}},
		"HMAC among others":      {URL: "https://issuer.test/jwks.json", Algorithms: []jwt.Algorithm{jwt.ES256, jwt.HS256}},
		"unknown algorithm":      {URL: "https://issuer.test/jwks.json", Algorithms: []jwt.Algorithm{"none"}},
		"negative cooldown":      {URL: "https://issuer.test/jwks.json", UnknownKIDCooldown: -1},
		"refresh under 1 s":      {URL: "https://issuer.test/jwks.json", RefreshInterval: time.Millisecond},
		"negative body cap":      {URL: "https://issuer.test/jwks.json", MaxBodyBytes: -1},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := jwt.NewRemoteKeySet(cfg)
			if err == nil {
				r.Close()
				t.Fatal("accepted")
			}
			ktWantErr(t, err, jwt.ErrConfig)
		})
	}
	// A nil *RemoteKeySet is refused at verification, not with a panic.
	var nilRemote *jwt.RemoteKeySet
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: nilRemote, Issuer: ktIssuer})
	if err == nil {
		_, err = v.VerifyAccess(context.Background(), ktIssue(t, ktSet(t, ktKey(t, "k", jwt.RS256, "rsa")), ktIssuer))
		if err == nil {
			t.Fatal("a nil remote key set verified a token")
		}
	}
}

// Close stops every goroutine the set started, including over a real
// network connection pool.
func TestRemote_CloseLeavesNoGoroutines(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	srv := newKTJWKSServer(t, ktJWKS(t, k), false)
	tok := ktIssue(t, ktSet(t, k), ktIssuer)
	base := runtime.NumGoroutine()
	for range 5 {
		r, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: srv.URL, AllowHTTP: true, Logger: ktQuiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := ktVerifier(t, r, ktIssuer).VerifyAccess(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
		// Keys stay usable after Close; nothing is fetched any more.
		if _, err := ktVerifier(t, r, ktIssuer).VerifyAccess(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if err := r.Refresh(context.Background()); err == nil {
			t.Fatal("Refresh after Close succeeded")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
}

// Periodic refresh, backoff after failures, the default 5 s fetch timeout
// and Close, on a fake clock. synctest fails the test if a goroutine of
// the set outlives Close.
func TestRemote_PeriodicRefreshSynctest(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	body := ktJWKS(t, k)
	synctest.Test(t, func(t *testing.T) {
		var mode atomic.Int32 // 0 ok, 1 fail, 2 hang
		var requests atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			switch mode.Load() {
			case 1:
				http.Error(w, "down", http.StatusServiceUnavailable)
			case 2:
				<-r.Context().Done()
			default:
				w.Write(body)
			}
		})
		remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{
			URL:                "https://issuer.test/jwks.json",
			HTTPClient:         &http.Client{Transport: ktHandlerTransport{h}},
			RefreshInterval:    time.Minute,
			UnknownKIDCooldown: 10 * time.Second,
			Logger:             ktQuiet,
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		synctest.Wait()
		if requests.Load() != 1 {
			t.Fatalf("%d requests at start", requests.Load())
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if requests.Load() != 2 {
			t.Fatalf("%d requests after one interval", requests.Load())
		}
		mode.Store(1)
		// Failures at 2, 2m10s, 2m30s, 3m10s, 4m10s (backoff 10, 20, 40 s, then capped at 60 s).
		want := map[time.Duration]int64{2*time.Minute + time.Second: 3, 2*time.Minute + 11*time.Second: 4, 2*time.Minute + 31*time.Second: 5, 3*time.Minute + 11*time.Second: 6, 4*time.Minute + 11*time.Second: 7}
		for _, at := range []time.Duration{2*time.Minute + time.Second, 2*time.Minute + 11*time.Second, 2*time.Minute + 31*time.Second, 3*time.Minute + 11*time.Second, 4*time.Minute + 11*time.Second} {
			time.Sleep(time.Until(start.Add(at)))
			synctest.Wait()
			if got := requests.Load(); got != want[at] {
				t.Fatalf("at %s: %d requests, want %d", at, got, want[at])
			}
		}
		if ids := remote.Status().KeyIDs; len(ids) != 1 {
			t.Fatalf("last good set lost: %v", ids)
		}
		// A hanging endpoint is abandoned after the default 5 s.
		mode.Store(2)
		before := time.Now()
		err = remote.Refresh(context.Background())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hang: %v", err)
		}
		if d := time.Since(before); d != 5*time.Second {
			t.Fatalf("hang abandoned after %s", d)
		}
		mode.Store(0)
		if err := remote.Close(); err != nil {
			t.Fatal(err)
		}
		n := requests.Load()
		time.Sleep(time.Hour)
		if requests.Load() != n {
			t.Fatal("fetches after Close")
		}
	})
}

// The verifier's ctx reaches no further than the wait: a cancelled
// request does not abort the fetch other requests share.
func TestRemote_CancelledRequestDoesNotAbortSharedFetch(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	srv := newKTJWKSServer(t, nil, true)
	release := make(chan struct{})
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write(ktJWKS(t, k))
	})
	remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: srv.URL, HTTPClient: srv.Client(), Logger: ktQuiet})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	v := ktVerifier(t, remote, ktIssuer)
	tok := ktIssue(t, ktSet(t, k), ktIssuer)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = v.VerifyAccess(ctx, tok)
	ktWantErr(t, err, jwt.ErrNoKeys)
	close(release)
	if _, err := v.VerifyAccess(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if srv.requests.Load() != 1 {
		t.Fatalf("%d requests", srv.requests.Load())
	}
}
