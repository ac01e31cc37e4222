// Package redisthrottle is a login throttle whose state lives in Redis, so
// that every instance of a service enforces one budget per account and per
// client address. It applies the policy of middleware.ThrottleConfig: a
// lockout per account that grows with consecutive failures and resets on
// success, and a rate limit per client address (GCRA, from
// github.com/go-redis/redis_rate).
//
// # Security
//
// Usernames and addresses are hashed into keys, so no client-chosen text
// reaches a Redis key. When Redis cannot answer, Check returns an error and
// the token endpoint refuses the login with 503: throttling fails closed.
package redisthrottle

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/middleware"
)

// Config configures a [Throttle].
type Config struct {
	// Prefix starts every key; "" means "jwtkit:throttle". ASCII letters,
	// digits and "_.:-" only.
	Prefix string
	// Policy is the throttling policy; zero fields take
	// middleware.ThrottleConfig's defaults. Policy.MaxEntries is not used
	// (Redis keys expire instead).
	Policy middleware.ThrottleConfig
	// Logger reports Redis failures while recording outcomes.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Throttle implements middleware.LoginGuard on Redis. It is safe for
// concurrent use by any number of instances.
type Throttle struct {
	client  redis.UniversalClient
	limiter *redis_rate.Limiter
	prefix  string
	policy  middleware.ThrottleConfig
	addrLim redis_rate.Limit
	logger  *slog.Logger
}

var _ middleware.LoginGuard = (*Throttle)(nil)

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// New returns a Throttle on client, which the caller owns.
func New(client redis.UniversalClient, cfg Config) (*Throttle, error) {
	if client == nil {
		return nil, errors.New("redisthrottle: nil client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "jwtkit:throttle"
	}
	if !prefixRE.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("redisthrottle: invalid prefix %q", cfg.Prefix)
	}
	p := withDefaults(cfg.Policy)
	// rate.Limit is events per second; redis_rate wants events per period.
	period := time.Duration(float64(time.Second) / float64(p.AddrRate))
	if period <= 0 {
		period = time.Nanosecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Throttle{
		client:  client,
		limiter: redis_rate.NewLimiter(client),
		prefix:  cfg.Prefix,
		policy:  p,
		addrLim: redis_rate.Limit{Rate: 1, Period: period, Burst: p.AddrBurst},
		logger:  cfg.Logger,
	}, nil
}

// withDefaults fills the policy's zero fields with the defaults of
// middleware.ThrottleConfig, read through its exported behaviour.
func withDefaults(p middleware.ThrottleConfig) middleware.ThrottleConfig {
	def := middleware.DefaultThrottleConfig()
	if p.FreeFailures <= 0 {
		p.FreeFailures = def.FreeFailures
	}
	if p.BaseLockout <= 0 {
		p.BaseLockout = def.BaseLockout
	}
	if p.MaxLockout <= 0 {
		p.MaxLockout = def.MaxLockout
	}
	if p.ForgetAfter <= 0 {
		p.ForgetAfter = def.ForgetAfter
	}
	if p.AddrRate <= 0 {
		p.AddrRate = def.AddrRate
	}
	if p.AddrBurst <= 0 {
		p.AddrBurst = def.AddrBurst
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

func (t *Throttle) key(kind, s string) string {
	sum := sha256.Sum256([]byte(s))
	return t.prefix + ":" + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// failureScript records a failure: it forgets old failures, counts this
// one and sets the lockout, all in one step.
// KEYS[1] account hash; ARGV: now ms, forget ms, free, base ms, max ms, ttl ms.
var failureScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if now - last > tonumber(ARGV[2]) then n = 0 end
n = n + 1
local extra = n - tonumber(ARGV[3])
local until_ms = 0
if extra > 0 then
  local d = tonumber(ARGV[4])
  local cap = tonumber(ARGV[5])
  for i = 2, extra do
    d = d * 2
    if d >= cap then break end
  end
  if d > cap then d = cap end
  until_ms = now + d
end
redis.call('HSET', KEYS[1], 'n', n, 'last', now, 'until', until_ms)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return n
`)

// Check reports how long the attempt must wait (0: go ahead). Every
// allowed attempt counts against the client address's budget.
func (t *Throttle) Check(ctx context.Context, username, addr string) (time.Duration, error) {
	now := t.policy.Now()
	until, err := t.client.HGet(ctx, t.key("acct", username), "until").Int64()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return 0, fmt.Errorf("redisthrottle: %w", err)
	default:
		if wait := time.UnixMilli(until).Sub(now); wait > 0 {
			return wait, nil
		}
	}
	res, err := t.limiter.Allow(ctx, t.key("addr", addr), t.addrLim)
	if err != nil {
		return 0, fmt.Errorf("redisthrottle: %w", err)
	}
	if res.Allowed == 0 {
		return max(res.RetryAfter, time.Millisecond), nil
	}
	return 0, nil
}

// Failure records a failed attempt for username.
func (t *Throttle) Failure(ctx context.Context, username, _ string) {
	p := t.policy
	ttl := p.ForgetAfter + p.MaxLockout
	err := failureScript.Run(ctx, t.client, []string{t.key("acct", username)},
		p.Now().UnixMilli(), p.ForgetAfter.Milliseconds(), p.FreeFailures,
		p.BaseLockout.Milliseconds(), p.MaxLockout.Milliseconds(), ttl.Milliseconds()).Err()
	if err != nil {
		t.logger.LogAttrs(ctx, slog.LevelError, "jwtkit: recording a login failure failed", slog.String("error", err.Error()))
	}
}

// Success forgets username's failures.
func (t *Throttle) Success(ctx context.Context, username, _ string) {
	if err := t.client.Del(ctx, t.key("acct", username)).Err(); err != nil {
		t.logger.LogAttrs(ctx, slog.LevelError, "jwtkit: resetting login failures failed", slog.String("error", err.Error()))
	}
}
