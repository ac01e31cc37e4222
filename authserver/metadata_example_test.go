package authserver_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/jwtkit/jwtkit/authserver"
)

// The issuer publishes its metadata at both well-known locations, so that
// resource servers need only its identifier (jwt.DiscoverKeySet).
func ExampleNewMetadataHandler() {
	md, err := authserver.NewMetadataHandler(authserver.MetadataConfig{
		Issuer:             "https://auth.example",
		TokenEndpoint:      "https://auth.example/token",
		JWKSURI:            "https://auth.example/.well-known/jwks.json",
		RevocationEndpoint: "https://auth.example/revoke",
		Scopes:             []string{"items:read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range md.WellKnownPaths() {
		mux.Handle("GET "+p, md)
	}

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-authorization-server", nil))
	fmt.Println(md.WellKnownPaths())
	fmt.Print(rec.Body)
	// Output:
	// [/.well-known/oauth-authorization-server /.well-known/openid-configuration]
	// {"issuer":"https://auth.example","token_endpoint":"https://auth.example/token","jwks_uri":"https://auth.example/.well-known/jwks.json","scopes_supported":["items:read"],"response_types_supported":[],"grant_types_supported":["password","refresh_token"],"token_endpoint_auth_methods_supported":["none"],"revocation_endpoint":"https://auth.example/revoke","revocation_endpoint_auth_methods_supported":["none"]}
}

// The server's security schemes, for an OpenAPI 3.1 document's
// components.securitySchemes.
func ExampleMetadataHandler_OpenAPISecuritySchemes() {
	md, err := authserver.NewMetadataHandler(authserver.MetadataConfig{
		Issuer:        "https://auth.example",
		TokenEndpoint: "https://auth.example/token",
		Scopes:        []string{"items:read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(md.OpenAPISecuritySchemes()))
	// Output:
	// {"BearerJWT":{"bearerFormat":"JWT","description":"An access token issued by https://auth.example, as a bearer token (RFC 6750).","scheme":"bearer","type":"http"},"OAuth2Password":{"description":"OAuth 2.0 password grant at the token endpoint of https://auth.example (first-party clients).","flows":{"password":{"refreshUrl":"https://auth.example/token","scopes":{"items:read":""},"tokenUrl":"https://auth.example/token"}},"type":"oauth2"}}
}
