package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/redisthrottle"
	"github.com/jwtkit/jwtkit/authserver/throttle"
	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
	"github.com/jwtkit/jwtkit/store/pgstore"
	"github.com/jwtkit/jwtkit/store/redisstore"
	"github.com/jwtkit/jwtkit/store/storeview"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// recipeHash is the bcrypt hash of "secret" from FastAPI's recipe.
const recipeHash = "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW"

// healthOK is the constant /healthz answer, encoded once.
var healthOK = []byte(`{"status":"ok"}` + "\n")

// users is what the example needs from its user store.
type users interface {
	store.Users
	store.UserWriter
}

type app struct {
	handler http.Handler
	closers []func()
}

func (a *app) Handler() http.Handler { return a.handler }

func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func newApp(ctx context.Context, cfg config, logger *slog.Logger) (_ *app, err error) {
	a := &app{}
	// Whatever was opened before a failure is closed again.
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	keys, err := loadKeys(cfg, logger)
	if err != nil {
		return nil, err
	}
	issuer, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: cfg.issuer})
	if err != nil {
		return nil, err
	}
	verifier, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: cfg.issuer, Leeway: 30 * time.Second})
	if err != nil {
		return nil, err
	}

	var (
		db          users
		feed        storeview.Feed // the users' backend's change feed, if any
		refresh     store.RefreshTokens
		revocations store.Revocations
		sweeper     store.Sweeper
		guard       authserver.LoginGuard
	)
	if guard, err = throttle.New(throttle.Config{}); err != nil {
		return nil, err
	}
	switch cfg.store {
	case "memory":
		mem := memstore.New()
		db, refresh, revocations, sweeper = mem, mem, mem, mem
	case "postgres":
		if cfg.pgURL == "" {
			return nil, errors.New("-store postgres needs -postgres URL (or JWTKIT_POSTGRES_URL)")
		}
		pool, err := pgxpool.New(ctx, cfg.pgURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		a.closers = append(a.closers, pool.Close)
		pg, err := pgstore.New(pool, pgstore.Config{Schema: cfg.pgSchema})
		if err != nil {
			return nil, err
		}
		mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = pg.Migrate(mctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("postgres migration: %w", err)
		}
		db, refresh, revocations, sweeper = pg, pg, pg, pg
		feed = pg.ChangeFeed()
	default:
		return nil, fmt.Errorf("unknown store %q (memory or postgres)", cfg.store)
	}
	if cfg.redisURL != "" {
		opts, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		opts.ContextTimeoutEnabled = true // honour per-call deadlines on socket reads
		client := redis.NewClient(opts)
		a.closers = append(a.closers, func() { _ = client.Close() })
		rs, err := redisstore.New(client, redisstore.Config{Prefix: cfg.redisPrefix})
		if err != nil {
			return nil, err
		}
		// Users stay in SQL or memory; sessions, revocations and the login
		// throttle move to Redis, shared by every instance.
		refresh, revocations = rs, rs
		if cfg.storeView {
			v, err := storeview.NewRevocations(storeview.RevocationsConfig{Store: rs, Feed: rs.ChangeFeed(), Logf: logf(logger)})
			if err != nil {
				return nil, err
			}
			a.closers = append(a.closers, func() { _ = v.Close() })
			revocations = v
		}
		th, err := redisthrottle.New(client, redisthrottle.Config{Prefix: throttlePrefix(cfg.redisPrefix), Logger: logger})
		if err != nil {
			return nil, err
		}
		guard = th
	}
	// Requests ask "who is this user?" and "is this token revoked?" of a
	// local view the backend keeps current, instead of a round trip each.
	var userSource middleware.UserSource = db
	if cfg.storeView && feed != nil {
		u, err := storeview.NewUsers(storeview.UsersConfig{Store: db, Feed: feed, Logf: logf(logger)})
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, func() { _ = u.Close() })
		userSource = u
		if cfg.redisURL == "" {
			v, err := storeview.NewRevocations(storeview.RevocationsConfig{Store: revocations, Feed: feed, Logf: logf(logger)})
			if err != nil {
				return nil, err
			}
			a.closers = append(a.closers, func() { _ = v.Close() })
			revocations = v
		}
	}
	hasher := &password.Hasher{Cost: cfg.passwordCost}
	if err := seedUsers(ctx, db, hasher); err != nil {
		return nil, err
	}
	tokens, err := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
		Users:       db,
		Rehash:      db,
		Passwords:   hasher,
		Issuer:      issuer,
		Verifier:    verifier,
		Refresh:     refresh,
		Revocations: revocations,
		AccessTTL:   cmp.Or(cfg.accessTTL, 30*time.Minute), // the recipe's ACCESS_TOKEN_EXPIRE_MINUTES = 30
		Guard:       guard,
		Logger:      logger,
		// The page's session: the refresh token in an HttpOnly cookie.
		// This server speaks plain http, so on a loopback address (and
		// only there) its cookies go without Secure.
		Cookies: &authserver.CookieConfig{Path: "/session/", InsecureHTTP: loopbackAddr(cfg.addr)},
		// Browsers that logged in keep a login budget of their own, so
		// that nobody can lock their users out by guessing. Instances
		// share JWTKIT_DEVICE_KEY; without it each process has its own.
		DeviceCookie: &authserver.DeviceCookieConfig{Key: deviceKey(cfg.deviceKey), Insecure: loopbackAddr(cfg.addr)},

		StoreTimeout: cfg.storeTimeout, // 0: the default
	})
	if err != nil {
		return nil, err
	}
	authOpts := []middleware.Option{
		middleware.WithUsers(userSource),
		middleware.WithRevocations(revocations),
		middleware.WithLogger(logger),
		middleware.WithStoreTimeout(cfg.storeTimeout),
	}
	if cfg.tokenCache {
		cache, err := middleware.NewTokenCache(middleware.TokenCacheConfig{})
		if err != nil {
			return nil, err
		}
		authOpts = append(authOpts, middleware.WithTokenCache(cache))
	}
	auth := middleware.RequireBearer(verifier, authOpts...)

	mux := http.NewServeMux()
	mux.Handle("POST /token", tokens)
	mux.Handle("POST /refresh", tokens.RefreshHandler())
	mux.Handle("POST /revoke", tokens.RevokeHandler())
	mux.Handle("POST /logout", tokens.LogoutHandler())
	mux.Handle("/session/", tokens.CookieHandler())
	if err := handlePage(mux); err != nil {
		return nil, err
	}
	me := auth(http.HandlerFunc(usersMe))
	mux.Handle("GET /users/me", me)
	mux.Handle("GET /users/me/", me)
	if !keys.Active().IsSymmetric() {
		// Resource servers verify with the public keys alone.
		jwks, err := authserver.NewJWKSHandler(authserver.JWKSConfig{Keys: keys})
		if err != nil {
			return nil, err
		}
		mux.Handle("GET /.well-known/jwks.json", jwks)
	}
	// Discovery for resource servers and OpenAPI tools; an issuer that
	// is neither https nor loopback cannot be published.
	if err := publishMetadata(mux, cfg.issuer, !keys.Active().IsSymmetric()); err != nil {
		logger.Warn("authorization-server metadata and /openapi.json not published", "err", err)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(healthOK)
	})
	a.handler = mux

	// Started last, so that no error above leaves it running; Close stops
	// it before the stores it uses are closed.
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweep(sctx, sweeper, logger)
	}()
	a.closers = append(a.closers, func() { stop(); <-done })
	return a, nil
}

// deviceKey returns the device-cookie key s, or 32 random bytes.
func deviceKey(s string) []byte {
	if s != "" {
		return []byte(s)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// loopbackAddr reports whether the listen address addr is on a loopback
// interface (or names localhost).
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func throttlePrefix(redisPrefix string) string {
	if redisPrefix == "" {
		return ""
	}
	return redisPrefix + ":throttle"
}

func loadKeys(cfg config, logger *slog.Logger) (*jwt.KeySet, error) {
	alg := jwt.Algorithm(cfg.alg)
	switch alg {
	case jwt.HS256:
		if cfg.keyFile != "" {
			return nil, errors.New("-key is for RS256, ES256 and EdDSA; HS256 takes JWT_SECRET")
		}
		return hmacKeys(cfg, logger)
	case jwt.RS256, jwt.ES256, jwt.EdDSA:
	default:
		return nil, fmt.Errorf("unsupported -alg %q (HS256, RS256, ES256 or EdDSA)", cfg.alg)
	}
	var key *jwt.Key
	var err error
	switch _, statErr := os.Stat(cfg.keyFile); {
	case cfg.keyFile == "":
		key, err = jwt.GenerateKey("", alg)
		logger.Warn("no -key given; generated an ephemeral signing key: tokens will not survive a restart", "alg", alg)
	case errors.Is(statErr, fs.ErrNotExist):
		key, err = jwt.GenerateKey("", alg)
		if err == nil {
			err = writeKeyFile(cfg.keyFile, key)
		}
		if err == nil {
			logger.Info("generated a signing key", "alg", alg, "file", cfg.keyFile)
		}
	default:
		// The kid is the key's RFC 7638 thumbprint, so every instance
		// using the same file publishes the same kid, the one keygen
		// printed.
		var pemBytes []byte
		if pemBytes, err = os.ReadFile(cfg.keyFile); err == nil {
			key, err = jwt.ParseKeyPEM("", alg, pemBytes)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return jwt.NewKeySet(key)
}

func writeKeyFile(path string, key *jwt.Key) error {
	pemBytes, err := key.MarshalPEM()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(pemBytes)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A half-written key file would be loaded, and refused, at the
		// next start.
		_ = os.Remove(path)
	}
	return err
}

func hmacKeys(cfg config, logger *slog.Logger) (*jwt.KeySet, error) {
	secret := cfg.secret
	if secret == "" {
		secret = rand.Text() + rand.Text()
		logger.Warn("JWT_SECRET is not set; using a random secret: tokens will not survive a restart")
	}
	// The same reading as python-jose's: the value's bytes as they are.
	// Published example secrets, such as the recipe's, are refused.
	key, err := jwt.KeyFromString("", jwt.HS256, secret)
	if err != nil {
		return nil, fmt.Errorf("JWT_SECRET: %w", err)
	}
	return jwt.NewKeySet(key)
}

// seedUsers creates the recipe's demo users unless they exist: johndoe
// with the recipe's own hash of "secret", and alice, disabled, whose
// password "secret2" is hashed here.
func seedUsers(ctx context.Context, db users, hasher *password.Hasher) error {
	demo := []struct {
		user     store.User
		password string // hashed when user.PasswordHash is empty
	}{
		{user: store.User{
			Username:     "johndoe",
			PasswordHash: recipeHash,
			Scopes:       []string{"me", "items"},
			Profile:      map[string]string{"full_name": "John Doe", "email": "johndoe@example.com"},
		}},
		{user: store.User{
			Username: "alice",
			Disabled: true,
			Profile:  map[string]string{"full_name": "Alice Wonderson", "email": "alice@example.com"},
		}, password: "secret2"},
	}
	for _, d := range demo {
		u := d.user
		_, err := db.UserByUsername(ctx, u.Username)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("looking up the demo user %s: %w", u.Username, err)
		}
		if u.PasswordHash == "" {
			hash, err := hasher.Hash(d.password)
			if err != nil {
				return err
			}
			u.PasswordHash = hash
		}
		u.ID = tokenid.New()
		// Another instance may have created the user meanwhile.
		if err := db.CreateUser(ctx, u); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("creating the demo user %s: %w", u.Username, err)
		}
	}
	return nil
}

// sweep deletes expired sessions and revocations every few minutes, in
// bounded batches, until ctx ends.
func sweep(ctx context.Context, s store.Sweeper, logger *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			// Lag the clock so a revoked family outlives the access tokens
			// it revokes, leeway included.
			n, err := s.Sweep(ctx, time.Now().Add(-5*time.Minute), 1000)
			if err != nil {
				logger.Warn("sweep failed", "error", err.Error())
				break
			}
			if n < 1000 {
				break
			}
		}
	}
}

// usersMe answers like the recipe's read_users_me.
func usersMe(w http.ResponseWriter, r *http.Request) {
	u, ok := middleware.UserFromContext(r.Context())
	if !ok {
		http.Error(w, `{"detail":"Could not validate credentials"}`, http.StatusUnauthorized)
		return
	}
	// A struct, not a map: no per-request map to build and sort. The
	// fields are in the order the map had (sorted), so the body is the same.
	body, err := json.Marshal(struct {
		Disabled bool   `json:"disabled"`
		Email    string `json:"email"`
		FullName string `json:"full_name"`
		Username string `json:"username"`
	}{u.Disabled, u.Profile["email"], u.Profile["full_name"], u.Username})
	if err != nil {
		http.Error(w, `{"detail":"Internal Server Error"}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Cache-Control"] = []string{"no-store"}
	_, _ = w.Write(append(body, '\n'))
}

// logf sends a view's feed failures to logger as warnings.
func logf(logger *slog.Logger) func(string, ...any) {
	return func(format string, args ...any) { logger.Warn(fmt.Sprintf(format, args...)) }
}
