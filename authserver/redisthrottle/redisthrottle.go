// Package redisthrottle is a login throttle whose state lives in Redis, so
// that every instance of a service enforces the same budgets per account
// and per client address. It applies the [throttle.Policy] of the
// in-memory authserver/throttle: a lockout per failure budget that grows
// with consecutive failures and resets on success (the account's shared
// budget, and one of their own for clients that logged in before), and a
// rate limit per client address (GCRA, from
// github.com/go-redis/redis_rate). Each attempt holds a place
// in its account's budget from Begin until it is ended, so concurrent
// guesses, even spread over instances, get no more attempts than guesses
// made one after another.
//
// # Security
//
// Usernames and addresses are hashed into keys, so no client-chosen text
// reaches a Redis key. When Redis cannot answer, Begin returns an error and
// the token endpoint refuses the login with 503: throttling fails closed.
//
// The token endpoint bounds Begin and each outcome by its StoreTimeout.
// go-redis applies a context's deadline to socket reads and writes only
// when the client has Options.ContextTimeoutEnabled set (otherwise a
// stalled server costs its ReadTimeout, 3 s by default): set it.
//
// Every command names one key, so the Throttle runs unchanged on Redis
// Cluster, where a login's address, trust and account keys may live on
// different nodes.
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

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/authserver/throttle"
	"github.com/jwtkit/jwtkit/internal/loginpolicy"
)

// Config configures a [Throttle].
type Config struct {
	// Prefix starts every key; "" means "jwtkit:throttle". ASCII letters,
	// digits and "_.:-" only.
	Prefix string
	// Policy is the throttling policy; zero fields take the defaults
	// documented on throttle.Policy. Redis keys expire, so no bound on
	// entries is needed.
	Policy throttle.Policy
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
	trustFor   time.Duration
}

var _ authserver.LoginGuard = (*Throttle)(nil)

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// ErrConfig reports a nil client or an invalid prefix; an invalid policy
// is reported with throttle.ErrInvalidPolicy.
var ErrConfig = errors.New("redisthrottle: invalid configuration")

// New returns a Throttle on client, which the caller owns. A bad
// configuration is refused with an error wrapping [ErrConfig] or
// throttle.ErrInvalidPolicy.
func New(client redis.UniversalClient, cfg Config) (*Throttle, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "jwtkit:throttle"
	}
	if !prefixRE.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("%w: prefix %q", ErrConfig, cfg.Prefix)
	}
	p, err := loginpolicy.Policy(cfg.Policy).Resolve()
	if err != nil {
		return nil, err
	}
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
		policyArgs: []any{p.ForgetAfter.Milliseconds(), p.LockAfter - 1,
			p.BaseLockout.Milliseconds(), p.MaxLockout.Milliseconds(),
			max(p.AttemptTimeout.Milliseconds(), 1), ttl.Milliseconds()},
		trustFor: p.TrustFor,
	}, nil
}

func (t *Throttle) key(kind, s string) string {
	sum := sha256.Sum256([]byte(s))
	return t.prefix + ":" + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// The account hash holds n (consecutive failures), last (time of the last
// failure), until (end of the lockout) and pend: the ends of the attempts
// in flight, comma-separated, each added by Begin and removed by its
// outcome (or on lapsing), so that every instance sees the same budget.
// Times are Unix milliseconds from the calling instance's clock.
//
// Every script takes KEYS[1], the account hash, and the ARGV of
// [Throttle.args]; the outcome scripts also take, as ARGV[8], the end of
// the attempt being ended. scriptLib is their shared prelude; its lockout
// and in-flight limit mirror internal/loginpolicy.
const scriptLib = `
local now = tonumber(ARGV[1])
local forget, free = tonumber(ARGV[2]), tonumber(ARGV[3]) -- free: LockAfter-1
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
local function settle(e)
  for i, p in ipairs(pend) do
    if p == e then
      table.remove(pend, i)
      return
    end
  end
end
local function save_pend()
  if #pend == 0 then
    redis.call('HDEL', KEYS[1], 'pend')
  else
    redis.call('HSET', KEYS[1], 'pend', table.concat(pend, ','))
  end
end
`

// beginScript answers Begin for the account: {wait} if it is locked or
// its budget is taken by attempts in flight, else {0, end} after adding
// this attempt, whose place lapses at end, to them.
var beginScript = redis.NewScript(scriptLib + `
if now < until_ms then return {until_ms - now} end
if #pend >= math.max(free + 1 - n, 1) then
  local wait = lockout(n + #pend)
  for _, e in ipairs(pend) do
    if e - now < wait then wait = e - now end
  end
  return {math.max(wait, 1)}
end
local e = now + attempt
pend[#pend + 1] = e
save_pend()
if redis.call('PTTL', KEYS[1]) < attempt then
  redis.call('PEXPIRE', KEYS[1], attempt)
end
return {0, e}
`)

// failureScript ends the attempt and records it as a failure: it forgets
// old failures, counts this one and sets the lockout.
var failureScript = redis.NewScript(scriptLib + `
settle(tonumber(ARGV[8]))
n = n + 1
until_ms = 0
local d = lockout(n)
if d > 0 then until_ms = now + d end
redis.call('HSET', KEYS[1], 'n', n, 'last', now, 'until', until_ms)
save_pend()
redis.call('PEXPIRE', KEYS[1], ttl)
return n
`)

// successScript ends the attempt and forgets the failures; the other
// attempts in flight stay counted.
var successScript = redis.NewScript(scriptLib + `
settle(tonumber(ARGV[8]))
if #pend == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[1], 'n', 'last', 'until')
  save_pend()
end
return 0
`)

// releaseScript ends the attempt without an outcome.
var releaseScript = redis.NewScript(scriptLib + `
settle(tonumber(ARGV[8]))
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

// Begin lets the attempt through, or refuses it with an
// *authserver.ThrottledError. An attempt let through counts against the
// client address's budget (per /64 for IPv6) and holds a place in its
// failure budget until it is ended: the account's shared budget, or the
// client's own when it presents a device cookie or its address logged in
// to the account within Policy.TrustFor. Begin fails when Redis cannot
// answer.
func (t *Throttle) Begin(ctx context.Context, l authserver.Login) (*authserver.Attempt, error) {
	addrKey := loginpolicy.AddrKey(l.ClientAddr)
	// The address first: a client over its own budget must not hold
	// places in the budget of the account it targets, even briefly. A
	// client with a device cookie is limited by its own budget only.
	if l.Device == "" {
		res, err := t.limiter.Allow(ctx, t.key("addr", addrKey), t.addrLim)
		if err != nil {
			return nil, fmt.Errorf("redisthrottle: %w", err)
		}
		if res.Allowed == 0 {
			return nil, &authserver.ThrottledError{RetryAfter: max(res.RetryAfter, time.Millisecond)}
		}
	}
	trustKey := t.key("trust", l.Username)
	trusted := false
	if l.Device == "" && !l.CrossOrigin {
		until, err := t.client.HGet(ctx, trustKey, addrKey).Int64()
		switch {
		case err == nil:
			trusted = t.now().UnixMilli() < until
		case !errors.Is(err, redis.Nil):
			return nil, fmt.Errorf("redisthrottle: %w", err)
		}
	}
	acct := t.key("acct", loginpolicy.BudgetFor(l.Username, l.Device, addrKey, trusted).String())
	r, err := beginScript.Run(ctx, t.client, []string{acct}, t.args()...).Int64Slice()
	switch {
	case err != nil:
		return nil, fmt.Errorf("redisthrottle: %w", err)
	case len(r) == 0:
		return nil, fmt.Errorf("redisthrottle: empty answer from the begin script")
	case r[0] > 0:
		return nil, &authserver.ThrottledError{RetryAfter: time.Duration(r[0]) * time.Millisecond}
	case len(r) < 2:
		return nil, fmt.Errorf("redisthrottle: no attempt end from the begin script")
	}
	end := r[1]
	return authserver.NewAttempt(func(ctx context.Context, o authserver.Outcome) {
		s, msg := releaseScript, "jwtkit: releasing a login attempt failed"
		switch o {
		case authserver.AttemptFailed:
			s, msg = failureScript, "jwtkit: recording a login failure failed"
		case authserver.AttemptSucceeded:
			s, msg = successScript, "jwtkit: resetting login failures failed"
		}
		if err := s.Run(ctx, t.client, []string{acct}, append(t.args(), end)...).Err(); err != nil {
			t.logger.LogAttrs(ctx, slog.LevelError, msg, slog.String("error", err.Error()))
		}
		if o == authserver.AttemptSucceeded && !l.CrossOrigin {
			// The value is the end of the trust on the policy's clock;
			// the key's own expiry only cleans up, a minute later.
			until := t.now().Add(t.trustFor)
			pipe := t.client.TxPipeline()
			pipe.HSet(ctx, trustKey, addrKey, until.UnixMilli())
			pipe.PExpire(ctx, trustKey, t.trustFor+time.Minute)
			if _, err := pipe.Exec(ctx); err != nil {
				t.logger.LogAttrs(ctx, slog.LevelError, "jwtkit: trusting a login address failed", slog.String("error", err.Error()))
			}
		}
	}), nil
}

// ForgetTrust ends the trust in every address that logged in to username,
// so that its attempts share the account's budget again.
// TokenHandler.RevokeAll calls it, after a password change or a
// compromise.
func (t *Throttle) ForgetTrust(ctx context.Context, username string) error {
	if err := t.client.Del(ctx, t.key("trust", username)).Err(); err != nil {
		return fmt.Errorf("redisthrottle: %w", err)
	}
	return nil
}
