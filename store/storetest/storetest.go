package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// Stores is what a backend under test provides. A nil field skips the
// suites that need it. When several fields are set they must be views of
// one backend instance (one namespace): the suite checks, for example, that
// a family revoked through Refresh is reported by Revocations.IsRevoked.
type Stores struct {
	// Users looks up accounts; nil skips the user suites.
	Users store.Users
	// UserWriter creates the accounts the user suites look up; nil skips
	// the user suites.
	UserWriter store.UserWriter
	// Refresh stores refresh-token families; nil skips the rotation suites.
	Refresh store.RefreshTokens
	// Revocations records revocations; nil skips the revocation suites.
	Revocations store.Revocations
	// Sweeper deletes expired state; nil skips the sweep suites (backends
	// whose storage expires by itself, such as Redis with TTLs).
	Sweeper store.Sweeper
	// Reopen returns new handles (new pool or client) on the same
	// namespace, to simulate a restart; nil skips the durability suite.
	Reopen func(t *testing.T) Stores
}

// Factory returns the stores of a fresh, isolated namespace (an empty
// schema, a unique key prefix, a new in-memory store). The suite calls it
// once per leaf subtest; the factory registers its own teardown with
// t.Cleanup.
type Factory func(t *testing.T) Stores

// Options tunes [RunWithOptions]. The zero value selects the defaults.
type Options struct {
	// Repeat is how often each race scenario runs.
	// Default value: 20, or 5 with -short.
	Repeat int
	// Goroutines is how many goroutines present the same refresh token at
	// once in the single-winner scenarios.
	// Default value: 50.
	Goroutines int
}

func (o Options) withDefaults() Options {
	if o.Repeat <= 0 {
		o.Repeat = 20
		if testing.Short() {
			o.Repeat = 5
		}
	}
	if o.Goroutines <= 0 {
		o.Goroutines = 50
	}
	return o
}

// Run runs every suite the stores returned by f support, with the default
// [Options], as named subtests of t.
func Run(t *testing.T, f Factory) {
	t.Helper()
	RunWithOptions(t, f, Options{})
}

// RunWithOptions is [Run] with explicit options.
func RunWithOptions(t *testing.T, f Factory, o Options) {
	t.Helper()
	if f == nil {
		t.Fatal("storetest: nil Factory")
	}
	s := &suite{factory: f, opts: o.withDefaults()}
	t.Run("Users", s.testUsers)
	t.Run("Refresh", s.testRefresh)
	t.Run("Revocations", s.testRevocations)
	t.Run("Logout", s.testLogout)
	t.Run("Concurrency", s.testConcurrency)
	t.Run("Sweep", s.testSweep)
	t.Run("Durability", s.testDurability)
	t.Run("Cancellation", s.testCancellation)
}

// suite carries the factory and options through the subtests.
type suite struct {
	factory Factory
	opts    Options
}

// capability names a Stores field a subtest needs.
type capability int

const (
	capUsers capability = iota
	capRefresh
	capRevocations
	capSweeper
	capReopen
)

func (c capability) String() string {
	switch c {
	case capUsers:
		return "Users and UserWriter"
	case capRefresh:
		return "Refresh"
	case capRevocations:
		return "Revocations"
	case capSweeper:
		return "Sweeper"
	case capReopen:
		return "Reopen"
	}
	return fmt.Sprintf("capability(%d)", int(c))
}

func (s Stores) has(c capability) bool {
	switch c {
	case capUsers:
		return s.Users != nil && s.UserWriter != nil
	case capRefresh:
		return s.Refresh != nil
	case capRevocations:
		return s.Revocations != nil
	case capSweeper:
		return s.Sweeper != nil
	case capReopen:
		return s.Reopen != nil
	}
	return false
}

// fixture is one leaf subtest's view of a fresh namespace.
type fixture struct {
	t *testing.T
	s Stores
	// base is the reference time of the subtest: the real clock truncated
	// to milliseconds. Injected times are offsets from it.
	base time.Time
}

// open calls the factory for a fresh namespace and skips the test unless
// the stores provide every capability in need.
func (st *suite) open(t *testing.T, need ...capability) *fixture {
	t.Helper()
	s := st.factory(t)
	for _, c := range need {
		if !s.has(c) {
			t.Skipf("storetest: backend provides no %s", c)
		}
	}
	return &fixture{t: t, s: s, base: time.Now().Truncate(time.Millisecond)}
}

// at returns base+d.
func (fx *fixture) at(d time.Duration) time.Time { return fx.base.Add(d) }

// ctx returns the test's context.
func (fx *fixture) ctx() context.Context { return fx.t.Context() }

// Lifetimes used when a subtest does not care.
const (
	defaultFamilyLife = 24 * time.Hour
	defaultTokenLife  = time.Hour
)

// newID returns a random identifier with a readable prefix.
func newID(prefix string) string { return prefix + "-" + rand.Text() }

// newTokenID returns the storage ID of a fresh random jti.
func newTokenID() string { return store.TokenID(rand.Text()) }

// newFamily stores a family of subject created at created and expiring at
// expires, with a first token valid for defaultTokenLife, and returns both.
func (fx *fixture) newFamily(subject string, created, expires time.Time) (store.Family, store.RefreshToken) {
	fx.t.Helper()
	f := store.Family{ID: newID("fam"), Subject: subject, CreatedAt: created, ExpiresAt: expires}
	first := store.RefreshToken{
		ID:        newTokenID(),
		FamilyID:  f.ID,
		Subject:   subject,
		IssuedAt:  created,
		ExpiresAt: created.Add(defaultTokenLife),
	}
	if err := fx.s.Refresh.CreateFamily(fx.ctx(), f, first); err != nil {
		fx.t.Fatalf("CreateFamily(%s): %v", f.ID, err)
	}
	return f, first
}

// defaultFamily stores a family of a new subject created at base.
func (fx *fixture) defaultFamily() (store.Family, store.RefreshToken) {
	fx.t.Helper()
	return fx.newFamily(newID("sub"), fx.base, fx.base.Add(defaultFamilyLife))
}

// successor returns a fresh token of tok's family issued at now.
func successor(tok store.RefreshToken, now time.Time) store.RefreshToken {
	return store.RefreshToken{
		ID:        newTokenID(),
		FamilyID:  tok.FamilyID,
		Subject:   tok.Subject,
		IssuedAt:  now,
		ExpiresAt: now.Add(defaultTokenLife),
	}
}

// rotation builds the request presenting tok at now.
func rotation(tok store.RefreshToken, now time.Time, grace time.Duration) store.Rotation {
	return store.Rotation{
		PresentedID: tok.ID,
		Subject:     tok.Subject,
		FamilyID:    tok.FamilyID,
		Next:        successor(tok, now),
		Now:         now,
		Grace:       grace,
	}
}

// rotate presents tok at now and returns the stored successor or the error.
func (fx *fixture) rotate(tok store.RefreshToken, now time.Time, grace time.Duration) (store.RefreshToken, error) {
	return fx.s.Refresh.Rotate(fx.ctx(), rotation(tok, now, grace))
}

// mustRotate presents tok at now without grace window and fails the test
// unless a successor is returned.
func (fx *fixture) mustRotate(tok store.RefreshToken, now time.Time) store.RefreshToken {
	fx.t.Helper()
	return fx.mustRotateGrace(tok, now, 0)
}

// mustRotateGrace is mustRotate with a grace window.
func (fx *fixture) mustRotateGrace(tok store.RefreshToken, now time.Time, grace time.Duration) store.RefreshToken {
	fx.t.Helper()
	return fx.mustRotateReq(rotation(tok, now, grace))
}

// mustRotateReq sends r and fails the test unless the requested successor
// is returned.
func (fx *fixture) mustRotateReq(r store.Rotation) store.RefreshToken {
	fx.t.Helper()
	got, err := fx.s.Refresh.Rotate(fx.ctx(), r)
	if err != nil {
		fx.t.Fatalf("Rotate(%s) at %s: %v", short(r.PresentedID), fx.rel(r.Now), err)
	}
	fx.checkSuccessor(got, r)
	return got
}

// checkSuccessor checks that got is r.Next as stored: same identity, expiry
// clamped to no later than requested.
func (fx *fixture) checkSuccessor(got store.RefreshToken, r store.Rotation) {
	fx.t.Helper()
	if got.ID != r.Next.ID || got.FamilyID != r.Next.FamilyID || got.Subject != r.Next.Subject {
		fx.t.Fatalf("Rotate returned %+v, want the requested successor %+v", got, r.Next)
	}
	if !sameTime(got.IssuedAt, r.Next.IssuedAt) {
		fx.t.Errorf("successor IssuedAt = %s, want %s", got.IssuedAt, r.Next.IssuedAt)
	}
	if got.ExpiresAt.After(r.Next.ExpiresAt.Add(time.Millisecond)) {
		fx.t.Errorf("successor ExpiresAt = %s, later than requested %s", got.ExpiresAt, r.Next.ExpiresAt)
	}
}

// wantSameToken fails the test unless got is the token want as returned
// before (times compared with the suite's tolerance).
func (fx *fixture) wantSameToken(got, want store.RefreshToken) {
	fx.t.Helper()
	if got.ID != want.ID || got.FamilyID != want.FamilyID || got.Subject != want.Subject ||
		!sameTime(got.IssuedAt, want.IssuedAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) {
		fx.t.Fatalf("Rotate returned %+v, want the successor returned before, %+v", got, want)
	}
}

// wantRotateErr presents tok at now and fails unless the error matches one
// of want.
func (fx *fixture) wantRotateErr(tok store.RefreshToken, now time.Time, grace time.Duration, want ...error) error {
	fx.t.Helper()
	got, err := fx.rotate(tok, now, grace)
	if err == nil {
		fx.t.Fatalf("Rotate(%s) at %s succeeded with %s, want %v", short(tok.ID), fx.rel(now), short(got.ID), want)
	}
	if !isAny(err, want...) {
		fx.t.Fatalf("Rotate(%s) at %s: %v, want errors.Is one of %v", short(tok.ID), fx.rel(now), err, want)
	}
	return err
}

// wantRevoked checks IsRevoked(ref) == want, when Revocations is set.
func (fx *fixture) wantRevoked(ref store.TokenRef, want bool) {
	fx.t.Helper()
	if fx.s.Revocations == nil {
		return
	}
	got, err := fx.s.Revocations.IsRevoked(fx.ctx(), ref)
	if err != nil {
		fx.t.Fatalf("IsRevoked(%+v): %v", ref, err)
	}
	if got != want {
		fx.t.Errorf("IsRevoked(id=%s sub=%s fam=%s iat=%s) = %v, want %v",
			short(ref.ID), short(ref.Subject), short(ref.FamilyID), fx.rel(ref.IssuedAt), got, want)
	}
}

// accessRef returns an access token reference issued with tok's family at
// iat.
func accessRef(tok store.RefreshToken, iat time.Time) store.TokenRef {
	return store.TokenRef{ID: newID("jti"), Subject: tok.Subject, FamilyID: tok.FamilyID, IssuedAt: iat}
}

// rel formats t relative to the subtest's base time.
func (fx *fixture) rel(t time.Time) string {
	return fmt.Sprintf("base%+v", t.Sub(fx.base))
}

// sentinels are the errors of package store a caller tests for.
var sentinels = []error{store.ErrNotFound, store.ErrExists, store.ErrReused, store.ErrRevoked, store.ErrExpired, store.ErrSuperseded, store.ErrUnavailable}

// isAny reports whether err matches one of targets.
func isAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// sameTime reports whether a and b are at most a millisecond apart.
func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d <= time.Millisecond && d >= -time.Millisecond
}

// short abbreviates an identifier for failure messages.
func short(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}
