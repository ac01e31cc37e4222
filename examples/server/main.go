// Command server is FastAPI's "OAuth2 with Password (and hashing), Bearer
// with JWT tokens" recipe written with jwtkit: POST /token, POST /refresh,
// POST /logout, POST /revoke, GET /users/me and GET /healthz; and for
// browsers, a login page at GET / whose session is kept by
// POST /session/login, /session/refresh and /session/logout with the
// refresh token in an HttpOnly cookie.
//
//	go run ./examples/server                  # 127.0.0.1:8000, memory store
//	go run ./examples/server -addr 127.0.0.1:9000
//
// The demo user is johndoe / secret (the recipe's bcrypt hash); alice /
// secret2 exists but is disabled. The HS256 secret comes from JWT_SECRET
// (at least 32 bytes); without it a random secret is generated and tokens
// do not survive a restart.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err := run(context.Background(), os.Args[1:], os.Getenv, logger, nil)
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage is printed
	}
	if err != nil {
		logger.Error("server stopped", "error", err.Error())
		os.Exit(1)
	}
}

// run parses args, builds the application and serves until ctx ends or a
// signal arrives. When ready is not nil, it receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, logger *slog.Logger, ready chan<- string) error {
	cfg, err := parseConfig(args, getenv, os.Stderr)
	if err != nil {
		return err
	}
	app, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", "http://"+ln.Addr().String(), "store", cfg.store, "alg", cfg.alg)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type config struct {
	addr     string
	issuer   string
	alg      string
	keyFile  string
	store    string
	pgURL    string
	redisURL string
	secret   string
	// deviceKey signs device cookies (env JWTKIT_DEVICE_KEY); "" takes a
	// random one per process.
	deviceKey string
	// pgSchema and redisPrefix isolate test runs; "" takes the stores'
	// defaults.
	pgSchema    string
	redisPrefix string
	tokenCache  bool
	storeView   bool
	accessTTL   time.Duration
	// storeTimeout bounds each store call of the token endpoint and of
	// RequireBearer; 0 takes their default (2 s). Tests shorten it.
	storeTimeout time.Duration
	// passwordCost is the bcrypt cost of new hashes; 0 takes
	// password.DefaultCost. Tests lower it.
	passwordCost int
}

func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8000", "listen address")
	fs.StringVar(&c.issuer, "issuer", "", "iss claim (default: http://ADDR)")
	fs.StringVar(&c.alg, "alg", "HS256", "signing algorithm: HS256, RS256, ES256 or EdDSA")
	fs.StringVar(&c.keyFile, "key", "", "PEM private key for RS256/ES256/EdDSA (generated when absent)")
	fs.StringVar(&c.store, "store", envOr(getenv, "JWTKIT_STORE", "memory"), "memory or postgres (env JWTKIT_STORE)")
	fs.StringVar(&c.pgURL, "postgres", getenv("JWTKIT_POSTGRES_URL"), "PostgreSQL URL (env JWTKIT_POSTGRES_URL)")
	fs.StringVar(&c.redisURL, "redis", getenv("JWTKIT_REDIS_URL"), "Redis URL for sessions and revocations (env JWTKIT_REDIS_URL)")
	fs.StringVar(&c.pgSchema, "postgres-schema", "", "PostgreSQL schema (default jwtkit)")
	fs.StringVar(&c.redisPrefix, "redis-prefix", "", "Redis key prefix (default jwtkit)")
	fs.DurationVar(&c.accessTTL, "access-ttl", 30*time.Minute, "access token lifetime (the recipe's ACCESS_TOKEN_EXPIRE_MINUTES = 30)")
	fs.BoolVar(&c.tokenCache, "token-cache", true, "cache verified access tokens until their exp (revocation and user checks still run on every request)")
	fs.BoolVar(&c.storeView, "store-view", true, "answer user and revocation checks from a local view kept current by the store's change feed (PostgreSQL, Redis), within 1s")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.accessTTL <= 0 {
		return c, fmt.Errorf("-access-ttl must be positive, not %v", c.accessTTL)
	}
	if c.issuer == "" {
		c.issuer = "http://" + c.addr
	}
	c.secret = getenv("JWT_SECRET")
	c.deviceKey = getenv("JWTKIT_DEVICE_KEY")
	return c, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
