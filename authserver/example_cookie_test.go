package authserver_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// A browser app's session: the refresh token in an HttpOnly cookie, the
// access token for the page to keep in memory, and CSRF protection on
// every endpoint.
func ExampleTokenHandler_CookieHandler() {
	iss, ver := exampleTokens()
	hasher := &password.Hasher{Cost: password.MinCost}
	hash, _ := hasher.Hash("correct horse")
	db := memstore.New()
	_ = db.AddUser(store.User{ID: "u1", Username: "alice", PasswordHash: hash})

	tokens, err := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users: db, Passwords: hasher, Issuer: iss, Verifier: ver, Refresh: db, Revocations: db,
		Cookies: &authserver.CookieConfig{Path: "/session/"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /token", tokens) // JSON clients, unchanged
	mux.Handle("/session/", tokens.CookieHandler())

	// What a page's fetch sends: Sec-Fetch-Site names its origin.
	post := func(path, body, site string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://app.example"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", site)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}

	login := post("/session/login", "username=alice&password=correct+horse", "same-origin", nil)
	cookies := login.Result().Cookies()
	fmt.Println("login:", login.Code, "refresh_token in the body:", field(login, "refresh_token") != "")
	for _, c := range cookies {
		fmt.Printf("  %s Path=%s HttpOnly=%v Secure=%v\n", c.Name, c.Path, c.HttpOnly, c.Secure)
	}

	forged := post("/session/logout", "", "cross-site", cookies)
	fmt.Println("logout from another site:", forged.Code)

	refreshed := post("/session/refresh", "", "same-origin", cookies)
	fmt.Println("refresh:", refreshed.Code)
	// Output:
	// login: 200 refresh_token in the body: false
	//   __Secure-jwtkit-refresh Path=/session/ HttpOnly=true Secure=true
	//   __Host-jwtkit-csrf Path=/ HttpOnly=true Secure=true
	// logout from another site: 403
	// refresh: 200
}
