package authserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// MetadataConfig configures a [MetadataHandler]. URLs are absolute and use
// https; plain http is accepted only for loopback hosts (127.0.0.0/8, ::1,
// localhost), for development and tests.
type MetadataConfig struct {
	// Issuer is the issuer identifier: the iss claim of the tokens, with
	// no query or fragment (RFC 8414 §2). Resource servers compare it
	// byte for byte with the document's issuer and the tokens' iss.
	// Required.
	Issuer string
	// TokenEndpoint is the URL of the [TokenHandler]. Required.
	TokenEndpoint string
	// JWKSURI is the URL of the [JWKSHandler]. Leave it empty for an
	// HMAC-signed service, which has no public keys to publish.
	JWKSURI string
	// RevocationEndpoint is the URL of [TokenHandler.RevokeHandler], if
	// mounted.
	RevocationEndpoint string
	// Scopes lists the scopes clients may request (scopes_supported).
	Scopes []string
	// GrantTypes lists grant_types_supported. Default: password and
	// refresh_token, the grants of TokenHandler.
	GrantTypes []string
	// TokenEndpointAuthMethods lists how clients authenticate at the token
	// and revocation endpoints. Default: none; TokenHandler does not
	// authenticate clients (first-party public clients, as in the FastAPI
	// recipe).
	TokenEndpointAuthMethods []string
	// ServiceDocumentation is a URL of human-readable documentation.
	ServiceDocumentation string
	// MaxAge is the Cache-Control max-age of the document, at least one
	// second. Default: 1 hour.
	MaxAge time.Duration
}

// MetadataHandler serves OAuth 2.0 authorization-server metadata (RFC
// 8414), so that resource servers and clients find the token endpoint and
// the keys from the issuer identifier alone (jwt.DiscoverKeySet on the
// verifying side). Mount it at each of [MetadataHandler.WellKnownPaths]:
// the RFC 8414 location and the OpenID Connect discovery location, which
// get the same document. jwtkit issues no ID tokens and has no
// authorization endpoint, so the document carries no
// id_token_signing_alg_values_supported and an empty
// response_types_supported; OpenID libraries that only need issuer and
// jwks_uri (most resource-server libraries) read it as they read an
// identity provider's.
//
// It answers GET and HEAD with Content-Type application/json,
// Cache-Control "public, max-age=N", a strong ETag (If-None-Match gets
// 304), X-Content-Type-Options: nosniff and Access-Control-Allow-Origin: *
// (the document is public, and browser clients read it too); other
// methods get 405 with an Allow header. The document is built once; the
// handler is safe for concurrent use.
type MetadataHandler struct {
	cfg   MetadataConfig
	body  []byte
	etag  string
	cache string
	paths []string
}

// metadataDoc is the published document, in the order of RFC 8414 §2.
type metadataDoc struct {
	Issuer                string   `json:"issuer"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri,omitempty"`
	ScopesSupported       []string `json:"scopes_supported,omitempty"`
	ResponseTypes         []string `json:"response_types_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	ServiceDocumentation  string   `json:"service_documentation,omitempty"`
	RevocationEndpoint    string   `json:"revocation_endpoint,omitempty"`
	RevocationAuthMethods []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
}

// NewMetadataHandler checks cfg and builds the document. A missing
// Issuer or TokenEndpoint, a URL that is relative, not https (outside
// loopback) or carries credentials, an issuer with a query or fragment,
// an invalid scope token, and a MaxAge under one second fail with an
// error wrapping [ErrConfig].
func NewMetadataHandler(cfg MetadataConfig) (*MetadataHandler, error) {
	if cfg.Issuer == "" || cfg.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: MetadataConfig needs Issuer and TokenEndpoint", ErrConfig)
	}
	iss, err := metadataURL("Issuer", cfg.Issuer)
	if err != nil {
		return nil, err
	}
	if iss.RawQuery != "" || iss.ForceQuery || strings.Contains(cfg.Issuer, "#") {
		return nil, fmt.Errorf("%w: MetadataConfig.Issuer must have no query or fragment (RFC 8414 §2)", ErrConfig)
	}
	for _, f := range []struct{ name, v string }{
		{"TokenEndpoint", cfg.TokenEndpoint}, {"JWKSURI", cfg.JWKSURI},
		{"RevocationEndpoint", cfg.RevocationEndpoint}, {"ServiceDocumentation", cfg.ServiceDocumentation},
	} {
		if f.v == "" {
			continue
		}
		if _, err := metadataURL(f.name, f.v); err != nil {
			return nil, err
		}
	}
	for _, s := range cfg.Scopes {
		if !httpauth.ValidScopeToken(s) {
			return nil, fmt.Errorf("%w: MetadataConfig.Scopes: %q is not a scope token", ErrConfig, s)
		}
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = time.Hour
	}
	if cfg.MaxAge < time.Second {
		return nil, fmt.Errorf("%w: metadata max-age must be at least one second", ErrConfig)
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	cfg.GrantTypes = slices.Clone(cfg.GrantTypes)
	if len(cfg.GrantTypes) == 0 {
		cfg.GrantTypes = []string{"password", "refresh_token"}
	}
	cfg.TokenEndpointAuthMethods = slices.Clone(cfg.TokenEndpointAuthMethods)
	if len(cfg.TokenEndpointAuthMethods) == 0 {
		cfg.TokenEndpointAuthMethods = []string{"none"}
	}
	doc := metadataDoc{
		Issuer:               cfg.Issuer,
		TokenEndpoint:        cfg.TokenEndpoint,
		JWKSURI:              cfg.JWKSURI,
		ScopesSupported:      cfg.Scopes,
		ResponseTypes:        []string{},
		GrantTypes:           cfg.GrantTypes,
		TokenAuthMethods:     cfg.TokenEndpointAuthMethods,
		ServiceDocumentation: cfg.ServiceDocumentation,
		RevocationEndpoint:   cfg.RevocationEndpoint,
	}
	if cfg.RevocationEndpoint != "" {
		doc.RevocationAuthMethods = cfg.TokenEndpointAuthMethods
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	path := strings.TrimSuffix(iss.EscapedPath(), "/")
	return &MetadataHandler{
		cfg:   cfg,
		body:  body,
		etag:  `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		cache: "public, max-age=" + strconv.FormatInt(int64(cfg.MaxAge/time.Second), 10),
		paths: []string{
			"/.well-known/oauth-authorization-server" + path,
			path + "/.well-known/openid-configuration",
		},
	}, nil
}

// metadataURL parses an absolute https URL (http for loopback hosts).
func metadataURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: MetadataConfig.%s must be an absolute URL", ErrConfig, field)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: MetadataConfig.%s must not carry credentials", ErrConfig, field)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
	default:
		return nil, fmt.Errorf("%w: MetadataConfig.%s must use https (http only for a loopback host)", ErrConfig, field)
	}
	return u, nil
}

// WellKnownPaths returns the paths to mount the handler at: the RFC 8414
// §3 path (the well-known suffix inserted before the issuer's path) and
// the OpenID Connect discovery path (appended to it). For the issuer
// https://auth.example/tenant they are
// /.well-known/oauth-authorization-server/tenant and
// /tenant/.well-known/openid-configuration.
func (h *MetadataHandler) WellKnownPaths() []string {
	return slices.Clone(h.paths)
}

// ServeHTTP implements http.Handler.
func (h *MetadataHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", h.cache)
	hdr.Set("ETag", h.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Access-Control-Allow-Origin", "*")
	if jwksETagMatch(r.Header.Values("If-None-Match"), h.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(h.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(h.body)
	}
}
