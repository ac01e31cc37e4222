package authserver

import (
	"encoding/json"
	"slices"
)

// The names under which [MetadataHandler.OpenAPISecuritySchemes]
// describes the two ways to present a token.
const (
	// OpenAPIPasswordScheme names the OAuth 2.0 password-flow scheme, the
	// one behind an OpenAPI UI's "Authorize" button.
	OpenAPIPasswordScheme = "OAuth2Password"
	// OpenAPIBearerScheme names the HTTP bearer scheme for a token
	// obtained elsewhere.
	OpenAPIBearerScheme = "BearerJWT"
)

// OpenAPISecuritySchemes describes the authorization server as the value
// of an OpenAPI 3.1 components.securitySchemes object, in JSON:
//
//	{"OAuth2Password": {"type": "oauth2", "flows": {"password": {
//	     "tokenUrl": TokenEndpoint, "refreshUrl": TokenEndpoint,
//	     "scopes": {scope: ""}}}},
//	 "BearerJWT": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
//
// refreshUrl is present when GrantTypes includes refresh_token; scopes
// lists MetadataConfig.Scopes. Unmarshal it into the securitySchemes type
// of any OpenAPI toolchain (kin-openapi's openapi3.SecuritySchemes, for
// one), or embed it as a json.RawMessage. Operations then require
// {"OAuth2Password": [scopes...]} or {"BearerJWT": []}.
func (h *MetadataHandler) OpenAPISecuritySchemes() []byte {
	scopes := make(map[string]string, len(h.cfg.Scopes))
	for _, s := range h.cfg.Scopes {
		scopes[s] = ""
	}
	flow := map[string]any{"tokenUrl": h.cfg.TokenEndpoint, "scopes": scopes}
	if slices.Contains(h.cfg.GrantTypes, "refresh_token") {
		flow["refreshUrl"] = h.cfg.TokenEndpoint
	}
	schemes := map[string]any{
		OpenAPIPasswordScheme: map[string]any{
			"type":        "oauth2",
			"description": "OAuth 2.0 password grant at the token endpoint of " + h.cfg.Issuer + " (first-party clients).",
			"flows":       map[string]any{"password": flow},
		},
		OpenAPIBearerScheme: map[string]any{
			"type":         "http",
			"description":  "An access token issued by " + h.cfg.Issuer + ", as a bearer token (RFC 6750).",
			"scheme":       "bearer",
			"bearerFormat": "JWT",
		},
	}
	b, _ := json.Marshal(schemes) // maps of strings always marshal
	return b
}
