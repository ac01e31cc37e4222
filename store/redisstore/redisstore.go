package redisstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/store"
)

// DefaultPrefix is the key prefix used when [Config.Prefix] is empty.
const DefaultPrefix = "jwtkit"

// DefaultWaitAOFTimeout is how long a write waits for the AOF fsync when
// [Config.WaitAOF] is set and [Config.WaitAOFTimeout] is zero.
const DefaultWaitAOFTimeout = time.Second

// ttlMargin is added to every key's lifetime. A verifier accepts an
// access token up to its leeway (at most [jwt.MaxLeeway]) after exp, and
// the records that revoke it must outlive that: a family's access tokens
// expire with the family, and a cut-off is kept for the tokens' maxAge,
// neither counting the leeway. The extra minute keeps a key alive while
// the caller's clock runs ahead of the Redis server's.
const ttlMargin = jwt.MaxLeeway + time.Minute

// Compile-time checks: the Store serves refresh families and revocations,
// and (deliberately) nothing else.
var (
	_ store.RefreshTokens = (*Store)(nil)
	_ store.Revocations   = (*Store)(nil)
)

// prefixPattern keeps the prefix free of the characters that matter to
// Redis key handling: no braces (hash tags), no glob characters, no
// whitespace.
var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// Config configures a [Store].
type Config struct {
	// Prefix starts every key the Store writes; "" means [DefaultPrefix].
	// It may contain ASCII letters, digits, '_', '.', ':' and '-' (at
	// most 64); [New] rejects anything else. Stores with different
	// prefixes never see each other's data.
	Prefix string

	// WaitAOF makes every write wait until the server has written it to
	// its append-only file (WAITAOF 1 0 timeout, Redis 7.2 or later, with
	// appendonly yes) and fail with [store.ErrUnavailable] when that is not
	// confirmed. The first write checks that the server supports it and
	// fails, before writing anything, if it does not. WaitAOF needs a
	// *redis.Client (including a Sentinel failover client) or a
	// *redis.ClusterClient, because the wait must run on the connection
	// that wrote.
	WaitAOF bool

	// WaitAOFTimeout bounds each wait; 0 means [DefaultWaitAOFTimeout].
	WaitAOFTimeout time.Duration
}

// Store is a Redis backend for refresh-token families and revocations. It
// implements [store.RefreshTokens] and [store.Revocations]; users belong in
// a SQL or memory store. Every operation is a single Lua script over keys
// that share one hash tag, so it is atomic and runs unchanged on Redis
// Cluster. A Store is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	// subjectBase and jtiBase start the keys of a subject's records and
	// of denylist entries; see [Store.subjectKeys] and [Store.jtiKey].
	subjectBase string
	jtiBase     string
	waitAOF     bool
	waitMS      int64
	aofReady    atomic.Bool // the server accepted a WAITAOF probe
}

// New returns a Store using client and cfg. The client stays owned by the
// caller: the Store never closes it. New does no I/O.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("redisstore: invalid prefix %q: want %s", prefix, prefixPattern)
	}
	if cfg.WaitAOFTimeout < 0 {
		return nil, errors.New("redisstore: negative WaitAOFTimeout")
	}
	wait := cfg.WaitAOFTimeout
	if wait == 0 {
		wait = DefaultWaitAOFTimeout
	}
	if cfg.WaitAOF {
		switch client.(type) {
		case *redis.Client, *redis.ClusterClient:
		default:
			return nil, fmt.Errorf("redisstore: WaitAOF needs a *redis.Client or *redis.ClusterClient, not %T", client)
		}
	}
	return &Store{
		client:      client,
		subjectBase: prefix + ":{",
		jtiBase:     prefix + ":jti:{",
		waitAOF:     cfg.WaitAOF,
		waitMS:      max(wait.Milliseconds(), 1),
	}, nil
}

// hashID is the key component for a caller-supplied string: the unpadded
// base64url SHA-256 (the derivation of [store.TokenID]), so no byte of the
// input reaches the key.
func hashID(s string) string { return store.TokenID(s) }

// keys names the records of one subject. Every key of a subject carries
// the same hash tag, so a script may touch any of them on Redis Cluster.
type keys struct{ base string }

func (s *Store) subjectKeys(subject string) keys {
	// 22 base64url characters: 132 bits of the subject's hash.
	return keys{base: s.subjectBase + hashID(subject)[:22] + "}"}
}

// family and token take the hashID of the family or token ID, which the
// scripts also receive as an argument.
func (k keys) family(famHash string) string { return k.base + ":fam:" + famHash }
func (k keys) token(tokHash string) string  { return k.base + ":tok:" + tokHash }
func (k keys) cutoff() string               { return k.base + ":cut" }
func (k keys) horizon() string              { return k.base + ":horizon" }

// jtiKey names the denylist entry of an access token. It is keyed by the
// jti alone, under its own hash tag: the hash is the tag.
func (s *Store) jtiKey(jti string) string { return s.jtiBase + hashID(jti) + "}" }

// micros formats t as integer microseconds since the Unix epoch, the unit
// of every time the scripts compare. Integers of this size are exact in
// Lua's doubles, and the scripts store the strings they receive unchanged.
func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// ceilMicros is micros rounding up, used for cut-offs so that rounding
// never lets a token issued before a cut-off through.
func ceilMicros(t time.Time) string {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return strconv.FormatInt(us, 10)
}

func parseMicros(s string) (time.Time, error) {
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us), nil
}

// retention is how long a key must live: the longer of span (measured on
// the caller's times) and the time left until end by the local clock,
// plus [ttlMargin]. Either alone could be short: the caller's clock may be
// injected, the local one may lag.
func retention(span time.Duration, end time.Time) int64 {
	d := max(span, time.Until(end), 0) + ttlMargin
	return d.Milliseconds()
}

// unavailable wraps a done context for op.
func unavailable(op string, ctxErr error) error {
	return fmt.Errorf("redisstore: %s: %w: %w", op, store.ErrUnavailable, ctxErr)
}

// translate turns any client error into [store.ErrUnavailable]. The
// scripts always return a value, so redis.Nil never means "absent" here:
// if it ever appears it is a protocol surprise and fails closed like any
// I/O error.
func translate(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return unavailable(op, ctxErr)
	}
	return fmt.Errorf("redisstore: %s: %w: %w", op, store.ErrUnavailable, err)
}

// run executes sc, through [Store.runDurable] when WaitAOF is set: every
// script writes.
func (s *Store) run(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	if s.waitAOF {
		return s.runDurable(ctx, op, sc, keys, args...)
	}
	v, err := sc.Run(ctx, s.client, keys, args...).Result()
	if err != nil {
		return nil, translate(ctx, op, err)
	}
	return v, nil
}

// runDurable runs sc and WAITAOF in one pipeline on the node owning the
// keys, so the wait covers this connection's write.
func (s *Store) runDurable(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (any, error) {
	node, err := s.nodeFor(ctx, keys[0])
	if err != nil {
		return nil, translate(ctx, op, err)
	}
	if !s.aofReady.Load() {
		// Probe before writing anything: Redis older than 7.2 does not
		// know WAITAOF; without appendonly it refuses numlocal 1.
		if err := node.Do(ctx, "WAITAOF", 1, 0, s.waitMS).Err(); err != nil {
			if ctx.Err() != nil {
				return nil, unavailable(op, ctx.Err())
			}
			return nil, fmt.Errorf("redisstore: %s: %w: WaitAOF is set but the server cannot confirm AOF writes (needs Redis 7.2+ with appendonly yes): %w",
				op, store.ErrUnavailable, err)
		}
		s.aofReady.Store(true)
	}
	for _, sha := range []bool{true, false} {
		pipe := node.Pipeline()
		var cmd *redis.Cmd
		if sha {
			cmd = sc.EvalSha(ctx, pipe, keys, args...)
		} else {
			cmd = sc.Eval(ctx, pipe, keys, args...)
		}
		wait := pipe.Do(ctx, "WAITAOF", 1, 0, s.waitMS)
		_, _ = pipe.Exec(ctx) // errors are read per command below
		if sha && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			continue // the script did not run; send its source
		}
		v, err := cmd.Result()
		if err != nil {
			return nil, translate(ctx, op, err)
		}
		acks, err := wait.Int64Slice()
		if err != nil {
			return nil, translate(ctx, op, fmt.Errorf("WAITAOF: %w", err))
		}
		if len(acks) < 1 || acks[0] < 1 {
			return nil, fmt.Errorf("redisstore: %s: %w: write not confirmed in the AOF within %dms",
				op, store.ErrUnavailable, s.waitMS)
		}
		return v, nil
	}
	return nil, fmt.Errorf("redisstore: %s: %w: script not loadable", op, store.ErrUnavailable)
}

// nodeFor returns the client of the node that owns key.
func (s *Store) nodeFor(ctx context.Context, key string) (*redis.Client, error) {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	case *redis.Client:
		return c, nil
	default: // New refuses other clients when WaitAOF is set
		return nil, fmt.Errorf("WaitAOF not supported with %T", s.client)
	}
}

// reply converts a script's array reply to strings.
func reply(op string, v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("redisstore: %s: %w: unexpected reply %T", op, store.ErrUnavailable, v)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		str, ok := e.(string) // the scripts return strings only
		if !ok {
			return nil, fmt.Errorf("redisstore: %s: %w: unexpected reply element %T", op, store.ErrUnavailable, e)
		}
		out[i] = str
	}
	return out, nil
}
