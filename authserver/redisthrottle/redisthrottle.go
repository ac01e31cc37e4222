// Package redisthrottle is a login throttle whose state lives in Redis, so
// that every instance of a service enforces one budget per account and per
// client address. It applies the policy of authserver.ThrottleConfig: a
// lockout per account that grows with consecutive failures and resets on
// success, and a rate limit per client address (GCRA, from
// github.com/go-redis/redis_rate). As with authserver.LoginThrottle, each
// attempt holds a place in its account's budget from Check until its
// outcome is recorded, so concurrent guesses, even spread over instances,
// get no more attempts than guesses made one after another.
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
	"github.com/jwtkit/jwtkit/authserver"
	"github.com/redis/go-redis/v9"
)

// Config configures a [Throttle].
type Config struct {
	// Prefix starts every key; "" means "jwtkit:throttle". ASCII letters,
	// digits and "_.:-" only.
	Prefix string
	// Policy is the throttling policy; zero fields take
	// authserver.ThrottleConfig's defaults (see its WithDefaults).
	// Policy.MaxEntries is not used (Redis keys expire instead).
	Policy authserver.ThrottleConfig
	// Logger reports Redis failures while recording outcomes.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Throttle implements authserver.LoginGuard on Redis. It is safe for
// concurrent use by any number of instances.
type Throttle struct {
	client  redis.UniversalClient
	limiter *redis_rate.Limiter
	prefix  string
	now     func() time.Time
	addrLim redis_rate.Limit
	logger  *slog.Logger
	// policyArgs is the ARGV of the scripts after the time, fixed by the
	// policy.
	policyArgs []any
}

var _ authserver.LoginGuard = (*Throttle)(nil)

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
	p := cfg.Policy.WithDefaults()
	// rate.Limit is events per second; redis_rate wants events per period.
	period := time.Duration(float64(time.Second) / float64(p.AddrRate))
	if period <= 0 {
		period = time.Nanosecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The hash must outlive both the failures and any attempt in flight.
	ttl := max(p.ForgetAfter+p.MaxLockout, p.AttemptTimeout)
	return &Throttle{
		client:  client,
		limiter: redis_rate.NewLimiter(client),
		prefix:  cfg.Prefix,
		now:     p.Now,
		addrLim: redis_rate.Limit{Rate: 1, Period: period, Burst: p.AddrBurst},
		logger:  cfg.Logger,
		policyArgs: []any{p.ForgetAfter.Milliseconds(), p.FreeFailures,
			p.BaseLockout.Milliseconds(), p.MaxLockout.Milliseconds(),
			max(p.AttemptTimeout.Milliseconds(), 1), ttl.Milliseconds()},
	}, nil
}

func (t *Throttle) key(kind, s string) string {
	sum := sha256.Sum256([]byte(s))
	return t.prefix + ":" + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// The account hash holds n (consecutive failures), last (time of the last
// failure), until (end of the lockout) and pend: the ends of the attempts
// in flight, comma-separated, each added by Check and removed by the
// outcome (or on lapsing), so that every instance sees the same budget.
// Times are Unix milliseconds from the calling instance's clock.
//
// Every script takes KEYS[1], the account hash, and the ARGV of
// [Throttle.args]. scriptLib is their shared prelude; its lockout mirrors
// authserver.ThrottleConfig.LockoutAfter.
const scriptLib = `
local now = tonumber(ARGV[1])
local forget, free = tonumber(ARGV[2]), tonumber(ARGV[3])
local base, cap = tonumber(ARGV[4]), tonumber(ARGV[5])
local attempt, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
local h = redis.call('HMGET', KEYS[1], 'n', 'last', 'until', 'pend')
local n, last, until_ms = tonumber(h[1] or '0'), tonumber(h[2] or '0'), tonumber(h[3] or '0')
if now - last > forget then n = 0 end
local pend = {}
for e in string.gmatch(h[4] or '', '%d+') do
  e = tonumber(e)
  if e > now then pend[#pend + 1] = e end
end
local function lockout(failures)
  local extra = failures - free
  if extra <= 0 then return 0 end
  local d = base
  for i = 2, extra do
    d = d * 2
    if d >= cap then break end
  end
  if d > cap then d = cap end
  return d
end
local function save_pend()
  if #pend == 0 then
    redis.call('HDEL', KEYS[1], 'pend')
  else
    redis.call('HSET', KEYS[1], 'pend', table.concat(pend, ','))
  end
end
`

// checkScript answers Check for the account: the wait if it is locked or
// its budget is taken by attempts in flight (see
// authserver.ThrottleConfig.InFlightLimit), else 0 after adding this
// attempt to them.
var checkScript = redis.NewScript(scriptLib + `
if now < until_ms then return until_ms - now end
if #pend >= math.max(free + 1 - n, 1) then
  local wait = lockout(n + #pend)
  for _, e in ipairs(pend) do
    if e - now < wait then wait = e - now end
  end
  return math.max(wait, 1)
end
pend[#pend + 1] = now + attempt
save_pend()
if redis.call('PTTL', KEYS[1]) < attempt then
  redis.call('PEXPIRE', KEYS[1], attempt)
end
return 0
`)

// failureScript ends one attempt in flight and records it as a failure:
// it forgets old failures, counts this one and sets the lockout.
var failureScript = redis.NewScript(scriptLib + `
table.remove(pend, 1)
n = n + 1
until_ms = 0
local d = lockout(n)
if d > 0 then until_ms = now + d end
redis.call('HSET', KEYS[1], 'n', n, 'last', now, 'until', until_ms)
save_pend()
redis.call('PEXPIRE', KEYS[1], ttl)
return n
`)

// successScript ends one attempt in flight and forgets the failures; the
// other attempts in flight stay counted.
var successScript = redis.NewScript(scriptLib + `
table.remove(pend, 1)
if #pend == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[1], 'n', 'last', 'until')
  save_pend()
end
return 0
`)

// releaseScript ends one attempt in flight without an outcome.
var releaseScript = redis.NewScript(scriptLib + `
table.remove(pend, 1)
if #pend == 0 and n == 0 and now >= until_ms then
  redis.call('DEL', KEYS[1])
else
  save_pend()
end
return 0
`)

// args returns the ARGV every script takes.
func (t *Throttle) args() []any {
	args := make([]any, 0, 1+len(t.policyArgs))
	return append(append(args, t.now().UnixMilli()), t.policyArgs...)
}

// Check reports how long the attempt must wait (0: go ahead). An allowed
// attempt counts against the client address's budget (per /64 for IPv6,
// see authserver.ThrottleAddrKey) and holds a place in the account's
// budget until Failure, Success or Release.
func (t *Throttle) Check(ctx context.Context, username, addr string) (time.Duration, error) {
	// The address first: a client over its own budget must not hold
	// places in the budget of the account it targets, even briefly.
	res, err := t.limiter.Allow(ctx, t.key("addr", authserver.ThrottleAddrKey(addr)), t.addrLim)
	if err != nil {
		return 0, fmt.Errorf("redisthrottle: %w", err)
	}
	if res.Allowed == 0 {
		return max(res.RetryAfter, time.Millisecond), nil
	}
	acct := t.key("acct", username)
	ms, err := checkScript.Run(ctx, t.client, []string{acct}, t.args()...).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisthrottle: %w", err)
	}
	if ms > 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	return 0, nil
}

// Failure records a failed attempt for username.
func (t *Throttle) Failure(ctx context.Context, username, _ string) {
	t.run(ctx, failureScript, username, "jwtkit: recording a login failure failed")
}

// Success forgets username's failures. Other attempts still in flight keep
// their places: they may yet fail.
func (t *Throttle) Success(ctx context.Context, username, _ string) {
	t.run(ctx, successScript, username, "jwtkit: resetting login failures failed")
}

// Release gives back the place an attempt took in Check, for an attempt
// that ended before the password was compared (the user store failed, the
// request was cancelled, no hashing slot was free). It records neither a
// failure nor a success. Without it the place lapses after
// Policy.AttemptTimeout.
func (t *Throttle) Release(ctx context.Context, username, _ string) {
	t.run(ctx, releaseScript, username, "jwtkit: releasing a login attempt failed")
}

func (t *Throttle) run(ctx context.Context, s *redis.Script, username, msg string) {
	if err := s.Run(ctx, t.client, []string{t.key("acct", username)}, t.args()...).Err(); err != nil {
		t.logger.LogAttrs(ctx, slog.LevelError, msg, slog.String("error", err.Error()))
	}
}
