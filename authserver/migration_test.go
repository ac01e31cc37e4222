package authserver_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// The README's algorithm migration runbook, run against two instances
// of a service (token endpoint and a protected route) that share a store,
// while clients log in, call the API and refresh across both instances:
//
//  1. both instances sign with the old key;
//  2. a rolling deploy gives each instance a scheduled key set: the old
//     key signs until T, the new key from T, and the new key is
//     published and verifies at once;
//  3. at T each instance, by its own clock (one runs 2 s ahead), signs
//     with the new key; old tokens keep verifying;
//  4. after T plus the longest token lifetime (the refresh TTL), a
//     second rolling deploy retires the old key.
//
// No request is refused at any point.
func TestMigration_TwoInstancesZeroRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  func(t *testing.T) *jwt.Key
	}{
		{"HS256 to ES256", func(t *testing.T) *jwt.Key {
			k, err := jwt.NewHMACKey("hs256-2026", jwt.HS256, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}},
		{"RS256 to ES256", func(t *testing.T) *jwt.Key {
			k, err := jwt.GenerateKey("rs256-2026", jwt.RS256)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if refused, total := runMigration(t, tc.old(t), false); refused != 0 {
				t.Fatalf("%d of %d requests refused during the migration", refused, total)
			}
		})
	}
	// The same load with a plain cut-over (each instance restarted with
	// the new key alone) refuses requests: the test can tell.
	t.Run("cut-over without the runbook refuses", func(t *testing.T) {
		k, err := jwt.NewHMACKey("hs256-2026", jwt.HS256, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		if refused, total := runMigration(t, k, true); refused == 0 {
			t.Fatalf("none of %d requests refused", total)
		}
	})
}

const (
	migAccessTTL  = 15 * time.Minute
	migRefreshTTL = time.Hour // the longest lifetime of any token
	migSkew       = 2 * time.Second
)

// runMigration runs the load through the runbook (or, with cutOver, a
// plain switch to the new key) and returns the refused and total request
// counts.
func runMigration(t *testing.T, oldKey *jwt.Key, cutOver bool) (refused, total int64) {
	newKey, err := jwt.GenerateKey("es256-2027", jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := jwttest.NewClock(start)
	switchAt := start.Add(30 * time.Minute)
	retireAfter := switchAt.Add(migRefreshTTL + time.Minute)

	db := memstore.New()
	for i := range 8 {
		if err := db.AddUser(store.User{ID: fmt.Sprint("uid-", i), Username: fmt.Sprint("user", i),
			PasswordHash: fastHash(t, "pw"), Scopes: []string{"read"}}); err != nil {
			t.Fatal(err)
		}
	}
	// The key sets of each step of the runbook, as each instance's
	// configuration would give them.
	before := func() *jwt.KeySet { return mustKeySet(t)(jwt.NewKeySet(oldKey)) }
	during := func() *jwt.KeySet {
		return mustKeySet(t)(jwt.NewScheduledKeySet([]jwt.ScheduledKey{{Key: oldKey}, {Key: newKey, From: switchAt}}))
	}
	after := func() *jwt.KeySet { return mustKeySet(t)(jwt.NewKeySet(newKey)) }
	if cutOver {
		during = after
	}

	a := newMigInstance(t, "A", db, clock.Now)
	b := newMigInstance(t, "B", db, func() time.Time { return clock.Now().Add(migSkew) })
	instances := []*migInstance{a, b}
	for _, in := range instances {
		in.deploy(t, before())
	}
	// With a public old key (RS256 here), a resource server of its own
	// verifies with the JWKS alone and accepts both algorithms for the
	// migration.
	var api *httptest.Server
	if !oldKey.IsSymmetric() {
		api = newMigResourceServer(t, a.srv.URL+"/jwks", []jwt.Algorithm{jwt.RS256, jwt.ES256}, clock.Now)
	}
	if doc := a.get(t, "/jwks"); doc.StatusCode == http.StatusOK && oldKey.IsSymmetric() {
		t.Fatal("an HMAC-only instance serves a JWKS")
	}

	// Deploys happen while the step's requests are in flight.
	deploys := map[int]func(){
		10: func() { a.deploy(t, during()) },
		12: func() { b.deploy(t, during()) },
		int(retireAfter.Sub(start)/time.Minute) + 2: func() { a.deploy(t, after()) },
		int(retireAfter.Sub(start)/time.Minute) + 4: func() { b.deploy(t, after()) },
	}

	clients := []*migClient{
		{user: "user0", every: 1}, {user: "user1", every: 1}, {user: "user2", every: 1}, {user: "user3", every: 2},
		{user: "user4", every: 50},              // asleep for longer than an access token lives
		{user: "user5", every: 50, offset: 25},  // wakes just before and long after the switch
		{user: "user6", every: 20, relog: true}, // a new session each time
	}
	var refusedN, requests atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		refusedN.Add(1)
		mu.Lock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	kidsBefore, kidsAfter := map[string]int{}, map[string]int{}
	record := func(issuedAt time.Time, kid string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case issuedAt.Before(switchAt.Add(-migSkew)):
			kidsBefore[kid]++
		case !issuedAt.Before(switchAt):
			kidsAfter[kid]++
		}
	}

	const steps = 160
	publishedEarly := false
	for step := range steps {
		now := clock.Now()
		var wg sync.WaitGroup
		if d, ok := deploys[step]; ok {
			wg.Go(d)
		}
		for n, c := range clients {
			if step < c.offset || (step-c.offset)%c.every != 0 {
				continue
			}
			wg.Go(func() {
				c.act(t, instances, api, step+n, now, &requests, fail, record)
			})
		}
		wg.Wait()
		if step == 11 && !cutOver {
			// Published before it signs: verifiers that fetch the JWKS have
			// the new key before the first token needs it.
			doc := a.get(t, "/jwks")
			body, _ := io.ReadAll(doc.Body)
			doc.Body.Close()
			if doc.StatusCode != http.StatusOK || !strings.Contains(string(body), `"es256-2027"`) || strings.Contains(string(body), `"oct"`) {
				t.Fatalf("JWKS before the switch: %d %s", doc.StatusCode, body)
			}
			publishedEarly = true
		}
		clock.Advance(time.Minute)
	}
	refused, total = refusedN.Load(), requests.Load()
	if cutOver {
		if len(failures) > 0 {
			t.Logf("%d of %d requests refused, the first: %s", refused, total, failures[0])
		}
		return refused, total
	}
	if !publishedEarly {
		t.Fatal("the JWKS was not checked before the switch")
	}
	if refused != 0 {
		t.Errorf("refused: %s", strings.Join(failures, "; "))
		return refused, total
	}
	if len(kidsBefore) != 1 || kidsBefore[oldKey.ID()] == 0 {
		t.Fatalf("tokens issued before the switch were signed by %v", kidsBefore)
	}
	if len(kidsAfter) != 1 || kidsAfter[newKey.ID()] == 0 {
		t.Fatalf("tokens issued after the switch were signed by %v", kidsAfter)
	}
	t.Logf("%d requests, none refused; tokens signed before the switch %v, after %v", total, kidsBefore, kidsAfter)
	return refused, total
}

// mustKeySet reports a key set error; it runs on deploy goroutines, so it
// marks the test failed without stopping it.
func mustKeySet(t *testing.T) func(*jwt.KeySet, error) *jwt.KeySet {
	return func(s *jwt.KeySet, err error) *jwt.KeySet {
		if err != nil {
			t.Error(err)
		}
		return s
	}
}

// migInstance is one running instance; deploy replaces its configuration
// as a restart with new settings would, while requests are served.
type migInstance struct {
	name    string
	db      *memstore.Store
	now     func() time.Time
	handler atomic.Pointer[http.Handler]
	srv     *httptest.Server
}

func newMigInstance(t *testing.T, name string, db *memstore.Store, now func() time.Time) *migInstance {
	in := &migInstance{name: name, db: db, now: now}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*in.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *migInstance) deploy(t *testing.T, keys *jwt.KeySet) {
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: testIssuer, Audience: []string{testAudience}, Now: in.now})
	if err != nil {
		t.Error(err)
		return
	}
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: testIssuer, Audience: testAudience, Leeway: 30 * time.Second, Now: in.now})
	if err != nil {
		t.Error(err)
		return
	}
	tokens, err := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users: in.db, Passwords: &password.Hasher{Cost: 10}, Issuer: iss, Verifier: ver,
		Refresh: in.db, Revocations: in.db, AccessTTL: migAccessTTL, RefreshTTL: migRefreshTTL,
		FamilyTTL: 24 * time.Hour, Now: in.now, Logger: discardLogger(),
		// Every client of a step may log in at once; the hash queue is not
		// what this test measures.
		MaxConcurrentHashes: 16, HashQueueWait: time.Minute,
	})
	if err != nil {
		t.Error(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("POST /token", tokens)
	mux.Handle("GET /me", middleware.RequireBearer(ver, middleware.WithLogger(discardLogger()))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := middleware.ClaimsFromContext(r.Context())
			_, _ = io.WriteString(w, c.Subject)
		})))
	if jwks, err := authserver.NewJWKSHandler(authserver.JWKSConfig{Keys: keys}); err == nil {
		mux.Handle("GET /jwks", jwks)
	}
	var h http.Handler = mux
	in.handler.Store(&h)
}

func (in *migInstance) get(t *testing.T, path string) *http.Response {
	t.Helper()
	resp, err := in.srv.Client().Get(in.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// migClient is one user's client: it logs in once, calls the API, and
// refreshes when its access token is about to expire, each request on
// the next instance in turn.
type migClient struct {
	user          string
	every, offset int  // acts every `every` steps, from `offset`
	relog         bool // logs in afresh each time
	access        string
	refresh       string
	accessExp     time.Time
}

func (c *migClient) act(t *testing.T, instances []*migInstance, api *httptest.Server, turn int, now time.Time,
	requests *atomic.Int64, fail func(string, ...any), record func(time.Time, string)) {
	next := func() *migInstance { turn++; return instances[turn%len(instances)] }
	token := func(in *migInstance, form url.Values) bool {
		requests.Add(1)
		resp, err := in.srv.Client().PostForm(in.srv.URL+"/token", form)
		if err != nil {
			fail("%s: %v", in.name, err)
			return false
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			ExpiresIn    int64  `json:"expires_in"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
			fail("%s %s at %s: %s %s", in.name, form.Get("grant_type"), now.Format(time.TimeOnly), c.user, resp.Status)
			return false
		}
		c.access, c.refresh = body.AccessToken, body.RefreshToken
		c.accessExp = now.Add(time.Duration(body.ExpiresIn) * time.Second)
		record(now, headerKID(body.AccessToken))
		record(now, headerKID(body.RefreshToken))
		return true
	}
	switch {
	case c.access == "" || c.relog:
		if !token(next(), url.Values{"grant_type": {"password"}, "username": {c.user}, "password": {"pw"}}) {
			return
		}
	case !now.Add(time.Minute).Before(c.accessExp):
		if !token(next(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}}) {
			return
		}
	}
	in := next()
	c.get(in.name, in.srv, now, requests, fail)
	if api != nil {
		c.get("resource server", api, now, requests, fail)
	}
}

// get calls GET /me on srv with the client's access token.
func (c *migClient) get(name string, srv *httptest.Server, now time.Time, requests *atomic.Int64, fail func(string, ...any)) {
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+c.access)
	requests.Add(1)
	resp, err := srv.Client().Do(req)
	if err != nil {
		fail("%s: %v", name, err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fail("%s GET /me at %s: %s with a token of key %s: %s %s", name, now.Format(time.TimeOnly), c.user,
			headerKID(c.access), resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

// newMigResourceServer serves GET /me to bearers of tokens that verify
// with the keys published at jwksURL.
func newMigResourceServer(t *testing.T, jwksURL string, algs []jwt.Algorithm, now func() time.Time) *httptest.Server {
	t.Helper()
	remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: jwksURL, Algorithms: algs, AllowHTTP: true, Logger: discardLogger(), Now: now,
		FetchTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remote.Close() })
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: remote, Issuer: testIssuer, Audience: testAudience, Leeway: 30 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(middleware.RequireBearer(ver, middleware.WithLogger(discardLogger()))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })))
	t.Cleanup(srv.Close)
	return srv
}

// headerKID reads the kid of a token's header.
func headerKID(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &hdr)
	return hdr.Kid
}
