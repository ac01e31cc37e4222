package providertest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/jwtkit/jwtkit/authserver"
)

func metadataHandler(t *testing.T, grants ...string) *authserver.MetadataHandler {
	t.Helper()
	md, err := authserver.NewMetadataHandler(authserver.MetadataConfig{
		Issuer:        "https://auth.example",
		TokenEndpoint: "https://auth.example/token",
		JWKSURI:       "https://auth.example/.well-known/jwks.json",
		Scopes:        []string{"items:read", "items:write"},
		GrantTypes:    grants,
	})
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// openAPIWith builds an OpenAPI 3.1 document whose security schemes are
// schemes, with one operation requiring each scheme, and loads it the way
// a toolchain reads a document from disk.
func openAPIWith(t *testing.T, schemes []byte) (*openapi3.T, error) {
	t.Helper()
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "items", "version": "1.0.0"},
		"paths": map[string]any{
			"/items": map[string]any{"get": map[string]any{
				"security": []map[string][]string{
					{authserver.OpenAPIPasswordScheme: {"items:read"}},
					{authserver.OpenAPIBearerScheme: {}},
				},
				"responses": map[string]any{"200": map[string]any{"description": "the items"}},
			}},
		},
		"components": map[string]any{"securitySchemes": json.RawMessage(schemes)},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, err
	}
	return loaded, loaded.Validate(context.Background())
}

func TestOpenAPI_SecuritySchemesValidate(t *testing.T) {
	for name, grants := range map[string][]string{"default grants": nil, "password only": {"password"}} {
		t.Run(name, func(t *testing.T) {
			doc, err := openAPIWith(t, metadataHandler(t, grants...).OpenAPISecuritySchemes())
			if err != nil {
				t.Fatal(err)
			}
			pw := doc.Components.SecuritySchemes[authserver.OpenAPIPasswordScheme].Value
			if pw.Type != "oauth2" || pw.Flows.Password == nil || pw.Flows.Password.TokenURL != "https://auth.example/token" {
				t.Fatalf("password scheme %+v", pw)
			}
			if want := grants == nil; (pw.Flows.Password.RefreshURL != "") != want {
				t.Fatalf("refreshUrl %q", pw.Flows.Password.RefreshURL)
			}
			if len(pw.Flows.Password.Scopes) != 2 {
				t.Fatalf("scopes %v", pw.Flows.Password.Scopes)
			}
			b := doc.Components.SecuritySchemes[authserver.OpenAPIBearerScheme].Value
			if b.Type != "http" || b.Scheme != "bearer" || b.BearerFormat != "JWT" {
				t.Fatalf("bearer scheme %+v", b)
			}
		})
	}
}

// The validator is not a rubber stamp: the same fragment without its
// tokenUrl, or with an unknown scheme type, is refused.
func TestOpenAPI_ValidatorRefusesBrokenSchemes(t *testing.T) {
	var schemes map[string]map[string]any
	if err := json.Unmarshal(metadataHandler(t).OpenAPISecuritySchemes(), &schemes); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(map[string]map[string]any){
		"no tokenUrl": func(s map[string]map[string]any) {
			delete(s[authserver.OpenAPIPasswordScheme]["flows"].(map[string]any)["password"].(map[string]any), "tokenUrl")
		},
		"unknown type": func(s map[string]map[string]any) { s[authserver.OpenAPIBearerScheme]["type"] = "jwt" },
	} {
		t.Run(name, func(t *testing.T) {
			var copied map[string]map[string]any
			b, _ := json.Marshal(schemes)
			_ = json.Unmarshal(b, &copied)
			edit(copied)
			b, _ = json.Marshal(copied)
			if _, err := openAPIWith(t, b); err == nil {
				t.Fatal("a broken security scheme validated")
			}
		})
	}
}
