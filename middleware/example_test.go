package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

// exampleKeys returns an issuer and a verifier sharing one HS256 key.
// Real services load the key from a secret store (see jwt.KeyFromString).
func exampleKeys() (*jwt.Issuer, *jwt.Verifier) {
	key, err := jwt.NewHMACKey("k1", jwt.HS256, []byte("example-only-secret-32-bytes-lon"))
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

func ExampleRequireBearer() {
	issuer, verifier := exampleKeys()
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s\n", claims.Subject)
	})
	h := middleware.RequireBearer(verifier)(me)

	tok, err := issuer.IssueAccess(context.Background(), jwt.Grant{Subject: "user-42"})
	if err != nil {
		panic(err)
	}
	for _, authorization := range []string{"Bearer " + tok.Raw, ""} {
		r := httptest.NewRequest(http.MethodGet, "/users/me", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		printResponse(rec)
	}
	// Output:
	// 200
	// hello user-42
	// 401 Bearer
	// {"detail":"Not authenticated"}
}

func ExampleRequireScope() {
	issuer, verifier := exampleKeys()
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "welcome, admin")
	})
	h := middleware.RequireBearer(verifier)(middleware.RequireScope("admin")(admin))

	for _, scopes := range [][]string{{"read"}, {"read", "admin"}} {
		tok, err := issuer.IssueAccess(context.Background(), jwt.Grant{Subject: "user-42", Scopes: scopes})
		if err != nil {
			panic(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/admin", nil)
		r.Header.Set("Authorization", "Bearer "+tok.Raw)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		printResponse(rec)
	}
	// Output:
	// 403 Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="admin"
	// {"detail":"Not enough permissions"}
	// 200
	// welcome, admin
}

// A handler behind RequireBearer can be tested without minting tokens.
func ExampleContextWithClaims() {
	greet := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := middleware.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s, scope admin: %v\n", claims.Subject, claims.HasScope("admin"))
	})

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	ctx := middleware.ContextWithClaims(context.Background(), &jwt.Claims{Subject: "user-7", Scopes: []string{"read"}})
	rec := httptest.NewRecorder()
	greet.ServeHTTP(rec, r.WithContext(ctx))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 hello user-7, scope admin: false
}

// printResponse prints the status, the challenge if any, and the body.
func printResponse(rec *httptest.ResponseRecorder) {
	if c := rec.Header().Get("WWW-Authenticate"); c != "" {
		fmt.Println(rec.Code, c)
	} else {
		fmt.Println(rec.Code)
	}
	fmt.Print(rec.Body.String())
}

// Optional authentication: the page greets a signed-in user and still
// serves everyone else; a token that is present but invalid is refused,
// not ignored.
func ExampleOptionalBearer() {
	issuer, verifier := exampleKeys()
	home := middleware.OptionalBearer(verifier)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := middleware.ClaimsFromContext(r.Context()); ok {
			fmt.Fprintf(w, "welcome back, %s\n", claims.Subject)
			return
		}
		fmt.Fprintln(w, "welcome, guest")
	}))
	tok, _ := issuer.IssueAccess(context.Background(), jwt.Grant{Subject: "user-42"})
	for _, authorization := range []string{"Bearer " + tok.Raw, "", "Bearer not-a-token"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		home.ServeHTTP(rec, r)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 welcome back, user-42
	// 200 welcome, guest
	// 401 {"detail":"Could not validate credentials"}
}
