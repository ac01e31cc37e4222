package authserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// exampleSecret is for the examples only; a service reads 32+ random bytes
// from its configuration (jwt.KeyFromString).
var exampleSecret = []byte("example secret of 32 bytes or more!")

// exampleTokens returns an issuer and a verifier on one HS256 key.
func exampleTokens() (*jwt.Issuer, *jwt.Verifier) {
	key, err := jwt.NewHMACKey("k1", jwt.HS256, exampleSecret)
	if err != nil {
		panic(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		panic(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://auth.example"})
	if err != nil {
		panic(err)
	}
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://auth.example"})
	if err != nil {
		panic(err)
	}
	return iss, ver
}

// send runs one request through h and returns the recorder.
func send(h http.Handler, method, target, body, bearer string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// field reads one string field of a JSON body.
func field(w *httptest.ResponseRecorder, name string) string {
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	s, _ := m[name].(string)
	return s
}

// The token endpoint end to end: log in, call an API with the access
// token, refresh, log out.
func ExampleTokenHandler() {
	iss, ver := exampleTokens()
	hasher := &password.Hasher{Cost: password.MinCost}
	hash, _ := hasher.Hash("correct horse")
	db := memstore.New()
	_ = db.AddUser(store.User{ID: "u1", Username: "alice", PasswordHash: hash, Scopes: []string{"read"}})

	tokens, err := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users: db, Passwords: hasher, Issuer: iss, Verifier: ver, Refresh: db, Revocations: db,
	})
	if err != nil {
		panic(err)
	}
	auth := middleware.RequireBearer(ver, middleware.WithRevocations(db))
	mux := http.NewServeMux()
	mux.Handle("POST /token", tokens)
	mux.Handle("POST /logout", tokens.LogoutHandler())
	mux.Handle("GET /me", auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", c.Subject)
	})))

	login := send(mux, "POST", "/token", "username=alice&password=correct+horse", "")
	fmt.Println("login:", login.Code, field(login, "token_type"), field(login, "scope"))
	access := field(login, "access_token")
	me := send(mux, "GET", "/me", "", access)
	fmt.Println("me:", me.Code, me.Body.String())

	refreshed := send(mux, "POST", "/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(field(login, "refresh_token")), "")
	fmt.Println("refresh:", refreshed.Code)
	access = field(refreshed, "access_token")

	fmt.Println("logout:", send(mux, "POST", "/logout", "", access).Code)
	fmt.Println("me after logout:", send(mux, "GET", "/me", "", access).Code)
	// Output:
	// login: 200 bearer read
	// me: 200 hello u1
	// refresh: 200
	// logout: 200
	// me after logout: 401
}

// Custom claims: a role and a tenant from your own data go into every
// access token, at login and again at each refresh, and handlers read them
// into a struct.
func ExampleTokenHandlerConfig_claims() {
	iss, ver := exampleTokens()
	hasher := &password.Hasher{Cost: password.MinCost}
	hash, _ := hasher.Hash("pw")
	db := memstore.New()
	_ = db.AddUser(store.User{ID: "u1", Username: "bob", PasswordHash: hash})
	roles := map[string]string{"u1": "admin"} // your own table

	tokens, _ := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users: db, Passwords: hasher, Issuer: iss, Verifier: ver, Refresh: db,
		Claims: func(ctx context.Context, u store.User, scopes []string) (map[string]any, error) {
			return map[string]any{"role": roles[u.ID], "tenant_id": "acme"}, nil
		},
	})
	api := middleware.RequireBearer(ver)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		var custom struct {
			Role   string `json:"role"`
			Tenant string `json:"tenant_id"`
		}
		if err := c.Decode(&custom); err != nil {
			http.Error(w, "bad claims", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "%s is %s in %s", c.Subject, custom.Role, custom.Tenant)
	}))

	login := send(tokens, "POST", "/token", "username=bob&password=pw", "")
	fmt.Println(send(api, "GET", "/", "", field(login, "access_token")).Body.String())
	// Output: u1 is admin in acme
}

// problem writes an RFC 9457 problem+json body.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "title": title, "detail": detail})
}

// One error format on both sides: the token endpoint and RequireBearer
// answer RFC 9457 problem+json, keeping the challenge and Retry-After
// headers the protocols need.
func Example_problemJSON() {
	iss, ver := exampleTokens()
	db := memstore.New()
	tokens, _ := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users: db, Issuer: iss, Verifier: ver,
		ErrorWriter: func(w http.ResponseWriter, r *http.Request, e *authserver.Error) {
			if e.Challenge != "" {
				w.Header().Set("WWW-Authenticate", e.Challenge)
			}
			if e.RetryAfter > 0 {
				w.Header().Set("Retry-After", authserver.RetryAfterSeconds(e.RetryAfter))
			}
			problem(w, e.Status, e.Code, e.Description)
		},
	})
	api := middleware.RequireBearer(ver, middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		middleware.DefaultErrorHandler(&headerOnly{ResponseWriter: w}, r, err) // keeps the RFC 6750 challenge
		switch {
		case errors.Is(err, middleware.ErrNoToken):
			problem(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required")
		case errors.Is(err, middleware.ErrUnavailable):
			problem(w, http.StatusServiceUnavailable, "unavailable", "retry later")
		default:
			problem(w, http.StatusUnauthorized, "invalid_token", "the token is not valid")
		}
	}))(http.NotFoundHandler())

	w := send(tokens, "POST", "/token", "username=nobody&password=x", "")
	fmt.Print(w.Code, " ", w.Header().Get("Content-Type"), " ", w.Body.String())
	w = send(api, "GET", "/", "", "")
	fmt.Print(w.Code, " ", w.Header().Get("WWW-Authenticate"), " ", w.Body.String())
	// Output:
	// 401 application/problem+json {"detail":"incorrect username or password","status":401,"title":"invalid_grant"}
	// 401 Bearer {"detail":"a bearer token is required","status":401,"title":"unauthorized"}
}

// headerOnly lets an error handler borrow the default handler's headers
// (WWW-Authenticate, Retry-After) and write its own status and body.
type headerOnly struct{ http.ResponseWriter }

func (headerOnly) WriteHeader(int)             {}
func (headerOnly) Write(p []byte) (int, error) { return len(p), nil }

// accounts is a service's own users table: keyed by email, with its own
// fields. The token endpoint needs two lookups of it.
type accounts struct {
	mu   sync.Mutex
	rows map[string]account // by email
}

type account struct {
	ID, Email, PWHash, Role string
	Active                  bool
}

func (a *accounts) user(row account) store.User {
	return store.User{ID: row.ID, Username: row.Email, PasswordHash: row.PWHash, Disabled: !row.Active, Scopes: []string{"api"}}
}

// UserByUsername finds an account by the email the user logs in with.
func (a *accounts) UserByUsername(_ context.Context, email string) (store.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	row, ok := a.rows[strings.ToLower(email)]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return a.user(row), nil
}

// UserByID finds an account by the ID tokens carry (refresh, RequireBearer).
func (a *accounts) UserByID(_ context.Context, id string) (store.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, row := range a.rows {
		if row.ID == id {
			return a.user(row), nil
		}
	}
	return store.User{}, store.ErrNotFound
}

// Your own users table: two lookups are all the token endpoint and
// RequireBearer need; sessions can live elsewhere (here in memory).
func Example_ownUsersTable() {
	iss, ver := exampleTokens()
	hasher := &password.Hasher{Cost: password.MinCost}
	hash, _ := hasher.Hash("s3cret")
	users := &accounts{rows: map[string]account{
		"ann@example.com": {ID: "42", Email: "ann@example.com", PWHash: hash, Role: "admin", Active: true},
	}}
	sessions := memstore.New()
	tokens, _ := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users: users, Passwords: hasher, Issuer: iss, Verifier: ver, Refresh: sessions,
	})
	api := middleware.RequireBearer(ver, middleware.WithUsers(users))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFromContext(r.Context())
		fmt.Fprintf(w, "%s (%s)", u.Username, u.ID)
	}))

	login := send(tokens, "POST", "/token", "username=Ann@Example.com&password=s3cret", "")
	var body bytes.Buffer
	body.WriteString(send(api, "GET", "/", "", field(login, "access_token")).Body.String())
	fmt.Println(login.Code, body.String())
	// Output: 200 ann@example.com (42)
}
