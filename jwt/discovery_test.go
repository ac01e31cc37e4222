package jwt_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// mdServer is a TLS server publishing metadata and a JWKS; its handler
// can be replaced per test.
type mdServer struct {
	*ktJWKSServer
	issuer string
}

// newMDServer starts a TLS server whose issuer is its URL plus path, with
// RFC 8414 metadata at the inserted well-known path and the JWKS at
// /jwks.json.
func newMDServer(t *testing.T, path string, keys ...*jwt.Key) *mdServer {
	t.Helper()
	s := &mdServer{ktJWKSServer: newKTJWKSServer(t, nil, true)}
	s.issuer = s.URL + path
	var jwks []byte
	if len(keys) > 0 {
		jwks = ktJWKS(t, keys...)
	}
	s.setHandler(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server" + path:
			mdWrite(w, map[string]any{"issuer": s.issuer, "jwks_uri": s.URL + "/jwks.json", "token_endpoint": s.issuer + "/token"})
		case "/jwks.json":
			w.Header().Set("Content-Type", "application/jwk-set+json")
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	})
	return s
}

func mdWrite(w http.ResponseWriter, doc map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (s *mdServer) discover(t *testing.T, cfg jwt.RemoteKeySetConfig) (*jwt.RemoteKeySet, error) {
	t.Helper()
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = s.Client()
	}
	if cfg.Logger == nil {
		cfg.Logger = ktQuiet
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := jwt.DiscoverKeySet(ctx, s.issuer, cfg)
	if r != nil {
		t.Cleanup(func() { _ = r.Close() })
	}
	return r, err
}

// verifyThrough checks that a token of k verifies through r.
func verifyThrough(t *testing.T, r *jwt.RemoteKeySet, k *jwt.Key, issuer string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	v := ktVerifier(t, r, issuer)
	c, err := v.VerifyAccess(ctx, ktIssue(t, ktSet(t, k), issuer))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != issuer || c.KeyID != k.ID() {
		t.Fatalf("claims %+v", c)
	}
}

func TestDiscover_VerifiesTokens(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	for name, path := range map[string]string{"host only": "", "with a path": "/tenants/a"} {
		t.Run(name, func(t *testing.T) {
			s := newMDServer(t, path, k)
			r, err := s.discover(t, jwt.RemoteKeySetConfig{})
			if err != nil {
				t.Fatal(err)
			}
			verifyThrough(t, r, k, s.issuer)
		})
	}
}

// An issuer that publishes only OpenID Connect discovery (most identity
// providers) is read at issuer + /.well-known/openid-configuration.
func TestDiscover_OpenIDConfigurationFallback(t *testing.T) {
	k := ktKey(t, "k1", jwt.ES256, "p256")
	s := newMDServer(t, "/realms/main", k)
	var mu sync.Mutex
	var paths []string
	jwks := ktJWKS(t, k)
	s.setHandler(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/realms/main/.well-known/openid-configuration":
			mdWrite(w, map[string]any{"issuer": s.issuer, "jwks_uri": s.URL + "/certs"})
		case "/certs":
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	})
	r, err := s.discover(t, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.ES256}})
	if err != nil {
		t.Fatal(err)
	}
	verifyThrough(t, r, k, s.issuer)
	mu.Lock()
	defer mu.Unlock()
	if len(paths) < 2 || paths[0] != "/.well-known/oauth-authorization-server/realms/main" {
		t.Fatalf("requested %v", paths)
	}
}

// An issuer written with a trailing slash (as Auth0 writes its own) is
// matched as written, and its OpenID document is read without a double
// slash before .well-known.
func TestDiscover_TrailingSlashIssuer(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	s := newMDServer(t, "", k)
	s.issuer += "/"
	jwks := ktJWKS(t, k)
	s.setHandler(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			mdWrite(w, map[string]any{"issuer": s.issuer, "jwks_uri": s.URL + "/jwks.json"})
		case "/jwks.json":
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	})
	r, err := s.discover(t, jwt.RemoteKeySetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	verifyThrough(t, r, k, s.issuer)
}

// A server that answers every path with a page (a single-page app's
// catch-all route) or with RFC 8414 metadata lacking jwks_uri (optional
// there) is read at its OpenID location next.
func TestDiscover_UnusableRFC8414AnswerFallsBack(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	for name, answer := range map[string]func(s *mdServer, w http.ResponseWriter){
		"html page": func(_ *mdServer, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<!doctype html><title>app</title>"))
		},
		"no jwks_uri": func(s *mdServer, w http.ResponseWriter) {
			mdWrite(w, map[string]any{"issuer": s.issuer, "token_endpoint": s.issuer + "/token"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newMDServer(t, "", k)
			jwks := ktJWKS(t, k)
			s.setHandler(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/.well-known/openid-configuration":
					mdWrite(w, map[string]any{"issuer": s.issuer, "jwks_uri": s.URL + "/jwks.json"})
				case "/jwks.json":
					_, _ = w.Write(jwks)
				default:
					answer(s, w)
				}
			})
			r, err := s.discover(t, jwt.RemoteKeySetConfig{})
			if err != nil {
				t.Fatal(err)
			}
			verifyThrough(t, r, k, s.issuer)
		})
	}
}

// RFC 8414 §3.3: the issuer in the document must equal the configured one
// exactly; a document that fails the check is not retried elsewhere.
func TestDiscover_IssuerMismatchRefused(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	s := newMDServer(t, "/t", k)
	for name, claimed := range map[string]string{
		"another issuer":   "https://evil.example/t",
		"trailing slash":   s.issuer + "/",
		"upper-case host":  strings.Replace(s.issuer, "127.0.0.1", "127.0.0.1.", 1),
		"another path":     s.URL + "/other",
		"no issuer member": "",
	} {
		t.Run(name, func(t *testing.T) {
			var fallback atomic.Bool
			s.setHandler(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "openid-configuration") {
					fallback.Store(true)
					mdWrite(w, map[string]any{"issuer": s.issuer, "jwks_uri": s.URL + "/jwks.json"})
					return
				}
				doc := map[string]any{"jwks_uri": s.URL + "/jwks.json"}
				if claimed != "" {
					doc["issuer"] = claimed
				}
				mdWrite(w, doc)
			})
			_, err := s.discover(t, jwt.RemoteKeySetConfig{})
			if !errors.Is(err, jwt.ErrDiscovery) || !errors.Is(err, jwt.ErrIssuer) {
				t.Fatalf("want ErrDiscovery and ErrIssuer, got %v", err)
			}
			if fallback.Load() {
				t.Fatal("a refused document led to another location")
			}
		})
	}
}

func TestDiscover_MissingJWKSURIRefused(t *testing.T) {
	s := newMDServer(t, "")
	for name, doc := range map[string]map[string]any{
		"absent":    {"issuer": s.issuer},
		"empty":     {"issuer": s.issuer, "jwks_uri": ""},
		"relative":  {"issuer": s.issuer, "jwks_uri": "/jwks.json"},
		"not a URL": {"issuer": s.issuer, "jwks_uri": "::"},
	} {
		t.Run(name, func(t *testing.T) {
			s.setHandler(func(w http.ResponseWriter, r *http.Request) { mdWrite(w, doc) })
			if _, err := s.discover(t, jwt.RemoteKeySetConfig{}); !errors.Is(err, jwt.ErrDiscovery) {
				t.Fatalf("want ErrDiscovery, got %v", err)
			}
		})
	}
	t.Run("plain-http jwks_uri", func(t *testing.T) {
		s.setHandler(func(w http.ResponseWriter, r *http.Request) {
			mdWrite(w, map[string]any{"issuer": s.issuer, "jwks_uri": "http://127.0.0.1:1/jwks.json"})
		})
		_, err := s.discover(t, jwt.RemoteKeySetConfig{})
		if !errors.Is(err, jwt.ErrDiscovery) || !errors.Is(err, jwt.ErrConfig) {
			t.Fatalf("want ErrDiscovery and ErrConfig, got %v", err)
		}
	})
}

func TestDiscover_GarbageMetadataRefused(t *testing.T) {
	s := newMDServer(t, "")
	iss, _ := json.Marshal(s.issuer)
	jwks := `"jwks_uri":"` + s.URL + `/jwks.json"`
	for name, body := range map[string]string{
		"html":             "<html>login</html>",
		"empty":            "",
		"array":            "[" + `{"issuer":` + string(iss) + "," + jwks + "}]",
		"string":           string(iss),
		"truncated":        `{"issuer":` + string(iss) + "," + jwks,
		"trailing object":  `{"issuer":` + string(iss) + "," + jwks + `}{"issuer":"x"}`,
		"duplicate issuer": `{"issuer":"https://evil.example","issuer":` + string(iss) + "," + jwks + "}",
		"duplicate jwks":   `{"issuer":` + string(iss) + `,"jwks_uri":"https://evil.example/k",` + jwks + "}",
		"issuer a number":  `{"issuer":1,` + jwks + "}",
		"jwks_uri a list":  `{"issuer":` + string(iss) + `,"jwks_uri":["https://a"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			s.setHandler(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			})
			if _, err := s.discover(t, jwt.RemoteKeySetConfig{}); !errors.Is(err, jwt.ErrDiscovery) {
				t.Fatalf("want ErrDiscovery, got %v", err)
			}
		})
	}
}

func TestDiscover_OversizeMetadataRefused(t *testing.T) {
	s := newMDServer(t, "")
	doc, _ := json.Marshal(map[string]any{"issuer": s.issuer, "jwks_uri": s.URL + "/jwks.json", "padding": strings.Repeat("x", 4096)})
	for name, chunked := range map[string]bool{"with Content-Length": false, "chunked": true} {
		t.Run(name, func(t *testing.T) {
			s.setHandler(func(w http.ResponseWriter, r *http.Request) {
				w.Write(doc[:10])
				if chunked {
					w.(http.Flusher).Flush()
				}
				w.Write(doc[10:])
			})
			_, err := s.discover(t, jwt.RemoteKeySetConfig{MaxBodyBytes: 1024})
			if !errors.Is(err, jwt.ErrDiscovery) || !strings.Contains(err.Error(), "limit") {
				t.Fatalf("want an ErrDiscovery size error, got %v", err)
			}
		})
	}
}

// The metadata request follows RemoteKeySet's redirect rules: within the
// issuer's origin only, at most three.
func TestDiscover_Redirects(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	s := newMDServer(t, "", k)
	other := newMDServer(t, "", k)
	plain := newKTJWKSServer(t, nil, false)
	for name, target := range map[string]string{
		"another host":  strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/.well-known/oauth-authorization-server",
		"another port":  other.URL + "/.well-known/oauth-authorization-server",
		"https to http": plain.URL + "/.well-known/oauth-authorization-server",
	} {
		t.Run(name, func(t *testing.T) {
			s.setHandler(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
			_, err := s.discover(t, jwt.RemoteKeySetConfig{})
			if !errors.Is(err, jwt.ErrDiscovery) || !strings.Contains(err.Error(), "redirect") {
				t.Fatalf("want a redirect error, got %v", err)
			}
			if other.requests.Load() != 0 || plain.requests.Load() != 0 {
				t.Fatal("the redirect target was contacted")
			}
		})
	}
	t.Run("redirect loop", func(t *testing.T) {
		s.setHandler(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/again", http.StatusFound) })
		if _, err := s.discover(t, jwt.RemoteKeySetConfig{}); err == nil || !strings.Contains(err.Error(), "redirects") {
			t.Fatalf("want a redirect-limit error, got %v", err)
		}
	})
	t.Run("same origin", func(t *testing.T) {
		jwks := ktJWKS(t, k)
		s.setHandler(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/moved":
				mdWrite(w, map[string]any{"issuer": s.issuer, "jwks_uri": s.URL + "/jwks.json"})
			case "/jwks.json":
				_, _ = w.Write(jwks)
			default:
				http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
			}
		})
		r, err := s.discover(t, jwt.RemoteKeySetConfig{})
		if err != nil {
			t.Fatal(err)
		}
		verifyThrough(t, r, k, s.issuer)
	})
}

// Plain http is refused unless AllowHTTP, as for RemoteKeySet; with it, a
// loopback issuer works.
func TestDiscover_PlainHTTP(t *testing.T) {
	k := ktKey(t, "k1", jwt.RS256, "rsa")
	srv := newKTJWKSServer(t, nil, false)
	issuer := srv.URL
	jwks := ktJWKS(t, k)
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks.json" {
			_, _ = w.Write(jwks)
			return
		}
		mdWrite(w, map[string]any{"issuer": issuer, "jwks_uri": issuer + "/jwks.json"})
	})
	ctx := context.Background()
	if _, err := jwt.DiscoverKeySet(ctx, issuer, jwt.RemoteKeySetConfig{Logger: ktQuiet}); !errors.Is(err, jwt.ErrConfig) {
		t.Fatalf("want ErrConfig, got %v", err)
	}
	if srv.requests.Load() != 0 {
		t.Fatal("a plain-http issuer was contacted without AllowHTTP")
	}
	r, err := jwt.DiscoverKeySet(ctx, issuer, jwt.RemoteKeySetConfig{AllowHTTP: true, Logger: ktQuiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	verifyThrough(t, r, k, issuer)
}

func TestDiscover_ConfigRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		issuer string
		cfg    jwt.RemoteKeySetConfig
	}{
		"relative":         {issuer: "/issuer"},
		"empty":            {issuer: ""},
		"ftp":              {issuer: "ftp://issuer.example"},
		"query":            {issuer: "https://issuer.example/?tenant=a"},
		"empty query":      {issuer: "https://issuer.example/?"},
		"fragment":         {issuer: "https://issuer.example/#a"},
		"empty fragment":   {issuer: "https://issuer.example/#"},
		"credentials":      {issuer: "https://u:p@issuer.example"},
		"URL given":        {issuer: "https://issuer.example", cfg: jwt.RemoteKeySetConfig{URL: "https://issuer.example/jwks"}},
		"negative timeout": {issuer: "https://issuer.example", cfg: jwt.RemoteKeySetConfig{FetchTimeout: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			tc.cfg.HTTPClient = &http.Client{Transport: &ktFailTransport{tb: t}}
			if _, err := jwt.DiscoverKeySet(context.Background(), tc.issuer, tc.cfg); !errors.Is(err, jwt.ErrConfig) {
				t.Fatalf("want ErrConfig, got %v", err)
			}
		})
	}
}

// A cancelled context ends discovery with the context's error.
func TestDiscover_HonoursContext(t *testing.T) {
	s := newMDServer(t, "")
	release := make(chan struct{})
	defer close(release)
	s.setHandler(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := jwt.DiscoverKeySet(ctx, s.issuer, jwt.RemoteKeySetConfig{HTTPClient: s.Client()})
	if !errors.Is(err, jwt.ErrDiscovery) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want ErrDiscovery and context.Canceled, got %v", err)
	}
}
