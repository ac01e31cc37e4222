package storeview

import (
	"context"
	"fmt"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// Defaults of the configurations.
const (
	DefaultMaxStaleness = time.Second
	DefaultMaxEntries   = 1 << 18
)

// forgetAfter keeps a record this long past its end: it covers a
// verifier's leeway (at most five minutes) and clock skew between the
// instances, the way the backends keep theirs.
const forgetAfter = 6 * time.Minute

// RevocationsConfig configures a [Revocations].
type RevocationsConfig struct {
	// Store is the backend the feed follows. Writes go to it, and so do
	// the checks the view cannot answer. Required.
	Store store.Revocations
	// Feed is the Store's change feed. Required.
	Feed Feed
	// MaxStaleness bounds how old the view may be and still answer; 0
	// means [DefaultMaxStaleness]. Heartbeats are sent four times per
	// MaxStaleness.
	MaxStaleness time.Duration
	// MaxEntries bounds the records held; 0 means [DefaultMaxEntries].
	MaxEntries int
	// Logf, if set, receives feed failures and reconnects.
	Logf func(format string, args ...any)
}

// Status describes a view at one moment.
type Status struct {
	// Fresh reports that the view answers from memory.
	Fresh bool
	// AsOf is the time up to which every change is known to be applied.
	AsOf time.Time
	// Entries is the number of records held.
	Entries int
	// Rebuilds counts the full loads since New.
	Rebuilds int
}

// Revocations is a local view of a store's revocations. It implements
// [store.Revocations] and is safe for concurrent use. It runs a goroutine
// following the feed until [Revocations.Close].
type Revocations struct {
	direct     store.Revocations
	maxEntries int
	f          follower

	// Guarded by f.mu.
	tokens   map[string]time.Time // TokenID(jti) → until
	families map[famKey]time.Time // revoked family → until
	cutoffs  map[string]cutoff    // TokenID(subject) → cut-off
	overflow bool                 // more records than maxEntries
}

type famKey struct{ subject, id string }

type cutoff struct{ at, until time.Time }

// NewRevocations checks cfg and starts following the feed. The view answers through
// the store until its first full load completes.
func NewRevocations(cfg RevocationsConfig) (*Revocations, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrConfig)
	}
	if cfg.Feed == nil {
		return nil, fmt.Errorf("%w: nil Feed", ErrConfig)
	}
	if cfg.MaxStaleness < 0 || cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("%w: negative MaxStaleness or MaxEntries", ErrConfig)
	}
	r := &Revocations{direct: cfg.Store, maxEntries: cfg.MaxEntries}
	if r.maxEntries == 0 {
		r.maxEntries = DefaultMaxEntries
	}
	r.reset(nil)
	r.f.start(cfg.Feed, cfg.MaxStaleness, cfg.Logf, r)
	return r, nil
}

// Close stops following the feed; the view then answers through the
// store. It is safe to call more than once.
func (r *Revocations) Close() error {
	r.f.stop()
	return nil
}

// reset empties the maps, then adds records. The caller holds f.mu (or
// is New).
func (r *Revocations) reset(records []Record) {
	r.tokens = make(map[string]time.Time)
	r.families = make(map[famKey]time.Time)
	r.cutoffs = make(map[string]cutoff)
	r.overflow = false
	for _, rec := range records {
		r.apply(rec)
	}
}

// add merges rec, keeping the later expiry and cut-off: records only
// ever add revocations, so their order does not matter.
func (r *Revocations) apply(rec Record) {
	if r.size() >= r.maxEntries {
		r.overflow = true
		return
	}
	switch rec.Kind {
	case Token:
		if rec.Until.After(r.tokens[rec.ID]) {
			r.tokens[rec.ID] = rec.Until
		}
	case Family:
		k := famKey{rec.Subject, rec.ID}
		if rec.Until.After(r.families[k]) {
			r.families[k] = rec.Until
		}
	case Cutoff:
		c := r.cutoffs[rec.Subject]
		if rec.At.After(c.at) {
			c.at = rec.At
		}
		if rec.Until.After(c.until) {
			c.until = rec.Until
		}
		r.cutoffs[rec.Subject] = c
	case User:
		// Not a revocation.
	default:
		// An unknown kind may revoke something: stop trusting the view.
		r.overflow = true
	}
}

func (r *Revocations) size() int { return len(r.tokens) + len(r.families) + len(r.cutoffs) }

// prune drops the records that can no longer refuse a token.
func (r *Revocations) prune(now time.Time) {
	for k, until := range r.tokens {
		if now.After(until.Add(forgetAfter)) {
			delete(r.tokens, k)
		}
	}
	for k, until := range r.families {
		if now.After(until.Add(forgetAfter)) {
			delete(r.families, k)
		}
	}
	for k, c := range r.cutoffs {
		if now.After(c.until.Add(forgetAfter)) {
			delete(r.cutoffs, k)
		}
	}
}

// Status reports the view's state.
func (r *Revocations) Status() Status {
	r.f.mu.RLock()
	defer r.f.mu.RUnlock()
	return Status{Fresh: r.freshLocked(time.Now()), AsOf: r.f.asOf, Entries: r.size(), Rebuilds: r.f.rebuilds}
}

func (r *Revocations) freshLocked(now time.Time) bool {
	return !r.overflow && r.f.fresh(now)
}

// IsRevoked reports whether t was revoked, by the rule of
// [store.TokenRevoked]. It answers from memory while the view is fresh,
// and otherwise (and for the cut-off cases the package documentation
// lists) returns the store's answer; a store error wraps
// [store.ErrUnavailable].
func (r *Revocations) IsRevoked(ctx context.Context, t store.TokenRef) (bool, error) {
	revoked, known := r.lookup(t)
	if known {
		return revoked, nil
	}
	return r.direct.IsRevoked(ctx, t)
}

// lookup answers from memory; known is false when the store must.
func (r *Revocations) lookup(t store.TokenRef) (revoked, known bool) {
	r.f.mu.RLock()
	defer r.f.mu.RUnlock()
	if !r.freshLocked(time.Now()) {
		return false, false
	}
	// Hash only what a non-empty map could match.
	if len(r.tokens) > 0 {
		if _, ok := r.tokens[store.TokenID(t.ID)]; ok {
			return true, true
		}
	}
	if len(r.families) == 0 && len(r.cutoffs) == 0 {
		return false, true
	}
	sub := store.TokenID(t.Subject)
	if t.FamilyID != "" && len(r.families) > 0 {
		if _, ok := r.families[famKey{sub, store.TokenID(t.FamilyID)}]; ok {
			return true, true
		}
	}
	c, ok := r.cutoffs[sub]
	if !ok {
		return false, true
	}
	if !t.IssuedAt.Add(time.Second).After(c.at) { // iat+1s <= C
		return true, true
	}
	if t.FamilyID != "" {
		return false, false // judged by the family's creation time
	}
	return t.IssuedAt.Before(c.at), true
}

// RevokeToken denylists t in the store; the feed brings it to every view.
func (r *Revocations) RevokeToken(ctx context.Context, t store.TokenRef, until time.Time) error {
	return r.direct.RevokeToken(ctx, t, until)
}

// RevokeSubject records a cut-off in the store; the feed brings it to
// every view.
func (r *Revocations) RevokeSubject(ctx context.Context, subject string, at time.Time, maxAge time.Duration) error {
	return r.direct.RevokeSubject(ctx, subject, at, maxAge)
}

var _ store.Revocations = (*Revocations)(nil)
