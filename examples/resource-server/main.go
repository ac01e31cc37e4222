// Command resource-server is an API that accepts access tokens issued by
// another service, verifying them with the issuer's published JSON Web Key
// Set. It holds no key and no user database.
//
//	go run ./examples/resource-server -addr 127.0.0.1:8001 \
//	    -jwks http://127.0.0.1:8000/.well-known/jwks.json [-issuer URL] [-alg RS256]
//
// or, given only the issuer, which publishes its JWKS URL in its
// authorization-server metadata (RFC 8414, or OpenID Connect discovery):
//
//	go run ./examples/resource-server -issuer-url http://127.0.0.1:8000 -alg ES256
//
// Access tokens of an identity provider (typ "JWT" or none, scopes in
// scp) need -plain-jwt and -scope-claim scp.
//
// GET /whoami answers any valid access token with its claims; GET /admin
// also needs the scope "admin" (403 insufficient_scope otherwise); GET
// /healthz reports whether the key set has been fetched.
//
// The issuer defaults to the origin of the JWKS URL (http://127.0.0.1:8000
// above), which is what examples/server writes into iss. A plain-http JWKS
// URL is accepted only for a loopback host: anyone on the network path of
// a plain-http JWKS could substitute keys.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], logger, nil)
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage is printed
	}
	if err != nil {
		logger.Error("resource server stopped", "error", err.Error())
		os.Exit(1)
	}
}

type config struct {
	addr     string
	jwksURL  string
	issuer   string
	audience string
	algs     []jwt.Algorithm
	// issuerURL, when set, is the issuer to discover the JWKS URL from.
	issuerURL  string
	plainJWT   bool
	scopeClaim string
	// allowHTTP permits a plain-http JWKS URL, for a loopback host only.
	allowHTTP bool
}

func parseConfig(args []string, output io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("resource-server", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8001", "listen address")
	fs.StringVar(&c.jwksURL, "jwks", "http://127.0.0.1:8000/.well-known/jwks.json", "the issuer's JWKS URL (https, or http on a loopback host)")
	fs.StringVar(&c.issuer, "issuer", "", "expected iss claim (default: the origin of -jwks)")
	fs.StringVar(&c.audience, "audience", "", "this service's name in the aud claim (default: none, and tokens that carry aud are refused)")
	fs.StringVar(&c.issuerURL, "issuer-url", "", "the issuer: read its metadata for the JWKS URL, instead of -jwks and -issuer")
	fs.BoolVar(&c.plainJWT, "plain-jwt", false, `accept access tokens whose typ is "JWT" or absent (identity providers)`)
	fs.StringVar(&c.scopeClaim, "scope-claim", "", `claim holding the scopes, as a string or an array (default: "scope", a string)`)
	algs := fs.String("alg", "RS256", "accepted algorithms, comma-separated (e.g. RS256, or RS256,ES256 while the issuer moves to ES256)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() != 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for a := range strings.SplitSeq(*algs, ",") {
		c.algs = append(c.algs, jwt.Algorithm(strings.TrimSpace(a)))
	}
	if c.issuerURL != "" {
		var both bool
		fs.Visit(func(f *flag.Flag) { both = both || f.Name == "jwks" || f.Name == "issuer" })
		if both {
			return c, errors.New("-issuer-url replaces -jwks and -issuer")
		}
		u, err := url.Parse(c.issuerURL)
		if err != nil || u.Host == "" {
			return c, fmt.Errorf("-issuer-url %q is not an absolute URL", c.issuerURL)
		}
		c.issuer, c.jwksURL = c.issuerURL, ""
		c.allowHTTP = u.Scheme == "http" && isLoopback(u.Hostname())
		return c, nil
	}
	u, err := url.Parse(c.jwksURL)
	if err != nil || u.Host == "" {
		return c, fmt.Errorf("-jwks %q is not an absolute URL", c.jwksURL)
	}
	if c.issuer == "" {
		c.issuer = u.Scheme + "://" + u.Host
	}
	c.allowHTTP = u.Scheme == "http" && isLoopback(u.Hostname())
	return c, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// app is the resource server: its key set and its handler.
type app struct {
	keys    *jwt.RemoteKeySet
	handler http.Handler
}

// newApp builds the key set, from the issuer's metadata when
// cfg.issuerURL is set (within ctx), and the handler.
func newApp(ctx context.Context, cfg config, logger *slog.Logger) (*app, error) {
	keyCfg := jwt.RemoteKeySetConfig{
		URL:        cfg.jwksURL,
		Algorithms: cfg.algs,
		AllowHTTP:  cfg.allowHTTP,
		Logger:     logger,
	}
	var keys *jwt.RemoteKeySet
	var err error
	if cfg.issuerURL != "" {
		keys, err = jwt.DiscoverKeySet(ctx, cfg.issuerURL, keyCfg)
	} else {
		keys, err = jwt.NewRemoteKeySet(keyCfg)
	}
	if err != nil {
		return nil, err
	}
	verifier, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys:          keys,
		Issuer:        cfg.issuer,
		Audience:      cfg.audience,
		Leeway:        30 * time.Second,
		AllowPlainJWT: cfg.plainJWT,
		Profile:       jwt.AccessProfile{ScopeClaim: cfg.scopeClaim, ScopeArray: cfg.scopeClaim != ""},
	})
	if err != nil {
		keys.Close()
		return nil, err
	}
	auth := middleware.RequireBearer(verifier, middleware.WithLogger(logger))

	mux := http.NewServeMux()
	mux.Handle("GET /whoami", auth(http.HandlerFunc(whoami)))
	mux.Handle("GET /admin", auth(middleware.RequireScope("admin")(http.HandlerFunc(admin))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if len(keys.Status().KeyIDs) == 0 {
			writeBody(w, http.StatusServiceUnavailable, healthNoKeys)
			return
		}
		writeBody(w, http.StatusOK, healthOK)
	})
	return &app{keys: keys, handler: mux}, nil
}

func (a *app) Close() error { return a.keys.Close() }

// whoami returns the verified claims of the caller's token.
func whoami(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClaimsFromContext(r.Context())
	// The verified claim set as it was signed.
	var all json.RawMessage
	_ = c.Decode(&all) // a verified claim set is always one JSON object
	writeBody(w, http.StatusOK, all)
}

func admin(w http.ResponseWriter, r *http.Request) {
	c, _ := middleware.ClaimsFromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"status": "welcome, administrator", "sub": c.Subject})
}

// The /healthz answers never change, so they are encoded once.
var (
	healthOK     = []byte(`{"status":"ok"}` + "\n")
	healthNoKeys = []byte(`{"status":"no keys yet"}` + "\n")
)

// writeJSON answers with v, a map of strings, which always encodes.
func writeJSON(w http.ResponseWriter, status int, v map[string]string) {
	body, _ := json.Marshal(v)
	writeBody(w, status, append(body, '\n'))
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// run serves until ctx ends, then shuts down gracefully. When ready is not
// nil, it receives the listening address.
func run(ctx context.Context, args []string, logger *slog.Logger, ready chan<- string) error {
	cfg, err := parseConfig(args, os.Stderr)
	if err != nil {
		return err
	}
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	a, err := newApp(dctx, cfg, logger)
	dcancel()
	if err != nil {
		return err
	}
	defer a.Close()

	// Wait briefly for the keys, but start anyway: the issuer may come up
	// later, and until then requests get 503.
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := a.keys.Refresh(fctx); err != nil {
		logger.Warn("JWKS not available yet; retrying in the background", "jwks", cfg.jwksURL, "error", err.Error())
	}
	cancel()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("resource server listening", "addr", ln.Addr().String(), "jwks", cfg.jwksURL, "issuer", cfg.issuer, "discovered", cfg.issuerURL != "")
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
