package authserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/jwtkit/jwtkit/middleware"
)

// TestOAuth2ClientInterop drives the token endpoint with
// golang.org/x/oauth2, the client most Go services would use.
func TestOAuth2ClientInterop(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, nil)
	mux := http.NewServeMux()
	mux.Handle("POST /token", h)
	mux.Handle("GET /users/me", middleware.RequireBearer(f.verifier, middleware.WithUsers(f.store),
		middleware.WithRevocations(f.store))(&protectedHandler{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"params", oauth2.AuthStyleInParams},
		{"header", oauth2.AuthStyleInHeader},
		{"auto-detect", oauth2.AuthStyleAutoDetect},
	} {
		t.Run(style.name, func(t *testing.T) {
			conf := &oauth2.Config{
				ClientID: "first-party-app",
				Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: style.style},
			}
			before := time.Now()
			tok, err := conf.PasswordCredentialsToken(ctx, johnName, johnPassword)
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatalf("token %+v lacks access or refresh token", tok)
			}
			if tok.Type() != "Bearer" {
				t.Errorf("Type() = %q, want Bearer", tok.Type())
			}
			if got := tok.Expiry.Sub(before); got < 14*time.Minute || got > 16*time.Minute {
				t.Errorf("expiry in %v, want about 15 minutes", got)
			}
			if tok.ExpiresIn != 900 {
				t.Errorf("ExpiresIn = %d, want 900", tok.ExpiresIn)
			}
			if got, _ := tok.Extra("scope").(string); got != "read items" {
				t.Errorf("scope = %q", got)
			}

			// The client the package builds sends the token the way
			// RequireBearer reads it.
			resp, err := conf.Client(ctx, tok).Get(srv.URL + "/users/me")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "sub="+johnID+" user="+johnName {
				t.Fatalf("/users/me: %d %q", resp.StatusCode, body)
			}

			// Wrong password: a RetrieveError with RFC 6749 §5.2 fields.
			_, err = conf.PasswordCredentialsToken(ctx, johnName, "wrong-password")
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("wrong password: %v (%T), want *oauth2.RetrieveError", err, err)
			}
			if re.ErrorCode != "invalid_grant" || re.ErrorDescription != "incorrect username or password" {
				t.Errorf("RetrieveError code %q description %q", re.ErrorCode, re.ErrorDescription)
			}
			if re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", re.Response.StatusCode)
			}

			// Refresh through a TokenSource once the access token expired.
			stale := *tok
			stale.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, &stale).Token()
			if err != nil {
				t.Fatalf("TokenSource refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
				t.Fatal("TokenSource did not rotate the tokens")
			}
			if !fresh.Valid() {
				t.Fatal("refreshed token is not valid")
			}

			// The client uses its new refresh token; replaying the first
			// one after that is reuse: invalid_grant, and the session is
			// over for the newest refresh token too.
			fresh.Expiry = time.Now().Add(-time.Minute)
			newest, err := conf.TokenSource(ctx, fresh).Token()
			if err != nil {
				t.Fatalf("second refresh: %v", err)
			}
			replay := stale
			_, err = conf.TokenSource(ctx, &replay).Token()
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != 400 {
				t.Fatalf("replayed refresh token: %v, want invalid_grant 400", err)
			}
			newest.Expiry = time.Now().Add(-time.Minute)
			if _, err = conf.TokenSource(ctx, newest).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("refresh after reuse detection: %v, want invalid_grant", err)
			}
		})
	}
}
