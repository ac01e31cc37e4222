package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jwtkit/jwtkit/store"
)

// DefaultSchema is the schema used when [Config.Schema] is empty.
const DefaultSchema = "jwtkit"

// defaultSweepLimit bounds one Sweep call when the caller passes 0.
const defaultSweepLimit = 1000

// Compile-time checks that *Store provides every role it documents.
var (
	_ store.Users         = (*Store)(nil)
	_ store.UserWriter    = (*Store)(nil)
	_ store.RefreshTokens = (*Store)(nil)
	_ store.Revocations   = (*Store)(nil)
	_ store.Sweeper       = (*Store)(nil)
)

// schemaPattern accepts unquoted PostgreSQL identifiers in lower case:
// a letter or underscore, then letters, digits or underscores, at most 63
// bytes (NAMEDATALEN-1). The name is still quoted when used.
var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Config configures a [Store].
type Config struct {
	// Schema is the PostgreSQL schema holding jwtkit's tables; "" means
	// [DefaultSchema]. It must be a lower-case identifier (letters,
	// digits, underscores, not starting with a digit, at most 63 bytes);
	// [New] rejects anything else. Several independent stores can share
	// one database by using different schemas.
	Schema string
}

// Store is a PostgreSQL backend for jwtkit. It implements [store.Users],
// [store.UserWriter], [store.RefreshTokens], [store.Revocations] and
// [store.Sweeper]. A Store is safe for concurrent use; it holds no state
// besides the pool and the schema name, so any number of Stores (in one
// process or many) may share a schema.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	q      queries // built from the schema name
}

// New returns a Store using pool and cfg. The pool stays owned by the
// caller: the Store never closes it. New does no I/O; call
// [Store.Migrate] once at start-up to create or upgrade the schema.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	schema := cfg.Schema
	if schema == "" {
		schema = DefaultSchema
	}
	if !schemaPattern.MatchString(schema) {
		return nil, fmt.Errorf("pgstore: invalid schema name %q: want a lower-case identifier matching %s", schema, schemaPattern)
	}
	return &Store{pool: pool, schema: schema, q: buildQueries(schema)}, nil
}

// resolution is the precision of PostgreSQL's timestamptz. Times are
// truncated to it before they are stored or compared, so a value read back
// compares the same way as the value written.
const resolution = time.Microsecond

// trunc rounds t down to the storage resolution.
func trunc(t time.Time) time.Time { return t.Truncate(resolution) }

// ceil rounds t up to the storage resolution. Cut-offs are rounded up so
// that rounding can never let a token issued before a cut-off through.
func ceil(t time.Time) time.Time {
	r := t.Truncate(resolution)
	if r.Before(t) {
		r = r.Add(resolution)
	}
	return r
}

// storable reports whether s can be stored in a PostgreSQL text column:
// valid UTF-8 without NUL bytes. A lookup for a value that is not
// storable cannot match anything, so lookups answer "not found" without
// asking the server (instead of surfacing an encoding error).
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// checkStorable returns an error naming field when v is empty or not
// storable.
func checkStorable(op, field, v string) error {
	if v == "" {
		return fmt.Errorf("pgstore: %s: empty %s", op, field)
	}
	if !storable(v) {
		return fmt.Errorf("pgstore: %s: %s is not valid UTF-8 or contains NUL", op, field)
	}
	return nil
}

// unavailable wraps a cancelled or expired context for op.
func unavailable(op string, ctxErr error) error {
	return fmt.Errorf("pgstore: %s: %w: %w", op, store.ErrUnavailable, ctxErr)
}

// translate maps a driver error to the store's sentinels: a unique
// violation (SQLSTATE 23505) becomes [store.ErrExists]; a done context
// becomes [store.ErrUnavailable] plus ctx.Err(); everything else
// (connection failures, timeouts, server errors) becomes
// [store.ErrUnavailable], keeping the driver error as the cause. Callers
// handle pgx.ErrNoRows themselves, where "no row" has a meaning.
func translate(ctx context.Context, op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("pgstore: %s: %w: %w", op, store.ErrExists, err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return unavailable(op, ctxErr)
	}
	return fmt.Errorf("pgstore: %s: %w: %w", op, store.ErrUnavailable, err)
}

// inTx runs fn in a READ COMMITTED transaction and commits it. A failed
// commit is reported as [store.ErrUnavailable]: the outcome is unknown.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return translate(ctx, op, err)
	}
	defer func() {
		// Rollback after a successful Commit is a no-op. After a failure it
		// ends the transaction, or, if ctx is done, makes pgx discard the
		// connection; its own error adds nothing to the one returned.
		_ = tx.Rollback(ctx)
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return translate(ctx, op, err)
	}
	return nil
}
