package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/jwtkit/jwtkit/authserver"
)

// exampleScopes are the scopes the demo users hold.
var exampleScopes = []string{"me", "items"}

// publishMetadata mounts the issuer's RFC 8414 metadata and /openapi.json.
// Endpoints are at the root of the issuer's origin, where this server
// serves them.
func publishMetadata(mux *http.ServeMux, issuer string, hasJWKS bool) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("issuer %q is not an absolute URL", issuer)
	}
	base := u.Scheme + "://" + u.Host
	cfg := authserver.MetadataConfig{
		Issuer:             issuer,
		TokenEndpoint:      base + "/token",
		RevocationEndpoint: base + "/revoke",
		Scopes:             exampleScopes,
	}
	if hasJWKS {
		cfg.JWKSURI = base + "/.well-known/jwks.json"
	}
	md, err := authserver.NewMetadataHandler(cfg)
	if err != nil {
		return err
	}
	for _, p := range md.WellKnownPaths() {
		mux.Handle("GET "+p, md)
	}
	doc, err := openAPIDocument(base, md.OpenAPISecuritySchemes())
	if err != nil {
		return err
	}
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(doc)
	})
	return nil
}

// openAPIDocument describes this server's routes as an OpenAPI 3.1
// document whose security schemes come from the authorization server.
func openAPIDocument(base string, schemes []byte) ([]byte, error) {
	type m = map[string]any
	detail := m{"description": "Error", "content": m{"application/json": m{"schema": m{
		"type": "object", "properties": m{"detail": m{"type": "string"}}}}}}
	tokenBody := m{"required": true, "content": m{"application/x-www-form-urlencoded": m{"schema": m{
		"type": "object",
		"properties": m{
			"grant_type":    m{"type": "string", "enum": []string{"password", "refresh_token"}},
			"username":      m{"type": "string"},
			"password":      m{"type": "string", "format": "password"},
			"refresh_token": m{"type": "string"},
			"scope":         m{"type": "string"},
		}}}}}
	tokenResp := m{"description": "Tokens (RFC 6749 §5.1)", "content": m{"application/json": m{"schema": m{
		"type": "object", "required": []string{"access_token", "token_type"},
		"properties": m{
			"access_token":  m{"type": "string"},
			"token_type":    m{"type": "string"},
			"expires_in":    m{"type": "integer"},
			"refresh_token": m{"type": "string"},
			"scope":         m{"type": "string"},
		}}}}}
	form := func(summary string, fields ...string) m {
		props := m{}
		for _, f := range fields {
			props[f] = m{"type": "string"}
		}
		return m{"summary": summary, "requestBody": m{"required": true, "content": m{
			"application/x-www-form-urlencoded": m{"schema": m{"type": "object", "properties": props}}}},
			"responses": m{"200": m{"description": "Done"}, "400": detail}}
	}
	withSecurity := func(op m, sec []m) m {
		op["security"] = sec
		return op
	}
	bearer := []m{{authserver.OpenAPIPasswordScheme: []string{"me"}}, {authserver.OpenAPIBearerScheme: []string{}}}
	doc := m{
		"openapi": "3.1.0",
		"info":    m{"title": "jwtkit example server", "version": "1.0.0"},
		"servers": []m{{"url": base}},
		"paths": m{
			"/token": m{"post": m{"summary": "Token endpoint: password and refresh_token grants",
				"requestBody": tokenBody, "responses": m{"200": tokenResp, "400": detail, "401": detail}}},
			"/refresh": m{"post": form("Rotate a refresh token", "refresh_token")},
			"/revoke":  m{"post": form("Revoke a token (RFC 7009)", "token", "token_type_hint")},
			"/logout": m{"post": withSecurity(form("End the login session of a bearer token or a refresh token", "refresh_token"),
				[]m{{authserver.OpenAPIBearerScheme: []string{}}, {}})},
			"/users/me": m{"get": m{"summary": "The signed-in user", "security": bearer,
				"responses": m{"200": m{"description": "The user", "content": m{"application/json": m{"schema": m{
					"type": "object", "properties": m{
						"username": m{"type": "string"}, "email": m{"type": "string"},
						"full_name": m{"type": "string"}, "disabled": m{"type": "boolean"},
					}}}}}, "401": detail}}},
		},
		"components": m{"securitySchemes": json.RawMessage(schemes)},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
