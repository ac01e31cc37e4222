package pgstore_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/pgstore"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// waitFor is a generous deadline for eventual outcomes; no timing is
// asserted.
const waitFor = 30 * time.Second

// tap wraps a feed and reports what the view receives. Follow waits for
// gate (when set) before each attempt after the first.
type tap struct {
	inner  storeview.Feed
	events chan string
	gate   chan struct{}
	calls  int
}

func (f *tap) Follow(ctx context.Context, s storeview.Sink, hb time.Duration) error {
	f.calls++
	if f.calls > 1 && f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.inner.Follow(ctx, tapSink{s, f.events}, hb)
}

type tapSink struct {
	storeview.Sink
	events chan string
}

func (s tapSink) note(e string) {
	select {
	case s.events <- e:
	default: // nobody waiting: the test polls Status instead
	}
}

func (s tapSink) Reset(asOf time.Time, rs []storeview.Record) {
	s.Sink.Reset(asOf, rs)
	s.note("reset")
}
func (s tapSink) Apply(r storeview.Record) { s.Sink.Apply(r); s.note("apply") }
func (s tapSink) Fresh(asOf time.Time)     { s.Sink.Fresh(asOf); s.note("fresh") }

// newView follows st's feed through its own pool (another instance).
func newView(t *testing.T, schema string, gate chan struct{}) (*storeview.Revocations, *tap) {
	t.Helper()
	p := connect(t, 4, "")
	t.Cleanup(p.Close)
	st, err := pgstore.New(p, pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{inner: st.ChangeFeed(), events: make(chan string, 1), gate: gate}
	v, err := storeview.NewRevocations(storeview.RevocationsConfig{Store: st, Feed: tp, MaxStaleness: 200 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v, tp
}

// until waits, event by event, for cond; it fails after waitFor.
func until(t *testing.T, tp *tap, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitFor)
	for !cond() {
		select {
		case <-tp.events:
		case <-deadline:
			t.Fatalf("%s: not reached within %v", what, waitFor)
		}
	}
}

// fromMemory reports whether v answers t as want without the store: it
// is fresh and holds the record.
func isRevoked(t *testing.T, v *storeview.Revocations, tok store.TokenRef) bool {
	t.Helper()
	got, err := v.IsRevoked(context.Background(), tok)
	if err != nil {
		t.Fatalf("IsRevoked: %v", err)
	}
	return got
}

func TestRevocationViewSeesRevocationsFromAnotherInstance(t *testing.T) {
	s, schema := newStore(t)
	ctx := context.Background()
	now := time.Now()
	v1, tp1 := newView(t, schema, nil)
	v2, tp2 := newView(t, schema, nil)
	for _, c := range []struct {
		v  *storeview.Revocations
		tp *tap
	}{{v1, tp1}, {v2, tp2}} {
		until(t, c.tp, "first load", func() bool { return c.v.Status().Fresh })
	}

	fam := store.Family{ID: "fam-1", Subject: "alice", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	first := store.RefreshToken{ID: store.TokenID("r1"), FamilyID: fam.ID, Subject: "alice", IssuedAt: fam.CreatedAt, ExpiresAt: fam.ExpiresAt}
	if err := s.CreateFamily(ctx, fam, first); err != nil {
		t.Fatal(err)
	}
	fam2 := store.Family{ID: "fam-2", Subject: "bob", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	first2 := store.RefreshToken{ID: store.TokenID("r2"), FamilyID: fam2.ID, Subject: "bob", IssuedAt: fam2.CreatedAt, ExpiresAt: fam2.ExpiresAt}
	if err := s.CreateFamily(ctx, fam2, first2); err != nil {
		t.Fatal(err)
	}
	next := store.RefreshToken{ID: store.TokenID("r2b"), FamilyID: fam2.ID, Subject: "bob", IssuedAt: now, ExpiresAt: fam2.ExpiresAt}
	rot := store.Rotation{PresentedID: first2.ID, Subject: "bob", FamilyID: fam2.ID, Next: next, Now: now}
	if _, err := s.Rotate(ctx, rot); err != nil {
		t.Fatal(err)
	}

	iat := now.Truncate(time.Second).Add(-time.Minute)
	tests := []struct {
		name   string
		tok    store.TokenRef
		revoke func() error
	}{
		{"denylisted token", store.TokenRef{ID: "jti-1", Subject: "carol", IssuedAt: iat}, func() error {
			return s.RevokeToken(ctx, store.TokenRef{ID: "jti-1", Subject: "carol", IssuedAt: iat}, now.Add(time.Hour))
		}},
		{"logout revokes the family", store.TokenRef{ID: "jti-2", Subject: "alice", FamilyID: fam.ID, IssuedAt: iat}, func() error {
			return s.RevokeFamily(ctx, "alice", fam.ID)
		}},
		{"reuse detection revokes the family", store.TokenRef{ID: "jti-3", Subject: "bob", FamilyID: fam2.ID, IssuedAt: iat}, func() error {
			rot.Next.ID = store.TokenID("r2c")
			_, err := s.Rotate(ctx, rot)
			if err == nil {
				t.Error("replay of a consumed token rotated")
			}
			return nil
		}},
		{"revoke all", store.TokenRef{ID: "jti-4", Subject: "dave", IssuedAt: iat}, func() error {
			return s.RevokeSubject(ctx, "dave", now, time.Hour)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if isRevoked(t, v1, tc.tok) || isRevoked(t, v2, tc.tok) {
				t.Fatal("revoked before the revocation")
			}
			before := v2.Status().Entries
			if err := tc.revoke(); err != nil {
				t.Fatal(err)
			}
			until(t, tp1, "refused by view 1", func() bool { return isRevoked(t, v1, tc.tok) })
			until(t, tp2, "view 2 holds the record", func() bool { return v2.Status().Entries > before })
			if !isRevoked(t, v2, tc.tok) {
				t.Error("view 2 holds the record but accepts the token")
			}
		})
	}
}

// listenerPIDs finds the feed connections of schema.
func listenerPIDs(t *testing.T, p *pgxpool.Pool, schema string) []int32 {
	t.Helper()
	sum := md5.Sum([]byte(schema))
	ch := "jwtkit_" + hex.EncodeToString(sum[:])
	rows, err := p.Query(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE query LIKE 'NOTIFY "'||$1||'"%' OR query LIKE 'LISTEN "'||$1||'"%'`, ch)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int32
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

func TestRevocationViewFallsBackWhileFeedIsDownThenRebuilds(t *testing.T) {
	s, schema := newStore(t)
	ctx := context.Background()
	gate := make(chan struct{})
	v, tp := newView(t, schema, gate)
	until(t, tp, "first load", func() bool { return v.Status().Fresh })

	// Kill the feed's connection; the gate holds the reconnection.
	p := pool(t)
	var pids []int32
	until(t, tp, "listener visible", func() bool { pids = listenerPIDs(t, p, schema); return len(pids) > 0 })
	for _, pid := range pids {
		if _, err := p.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	tok := store.TokenRef{ID: "jti-down", Subject: "erin", IssuedAt: time.Now().Add(-time.Minute)}
	if err := s.RevokeToken(ctx, tok, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// No feed: only the store can refuse it, once the view is stale.
	deadline := time.After(waitFor)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !isRevoked(t, v, tok) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("revoked token still accepted after %v with the feed down", waitFor)
		}
	}
	if st := v.Status(); st.Fresh || st.Entries != 0 || st.Rebuilds != 1 {
		t.Fatalf("status with the feed down = %+v, want stale, empty, one load", st)
	}

	close(gate)
	until(t, tp, "rebuild", func() bool { st := v.Status(); return st.Rebuilds == 2 && st.Fresh })
	if st := v.Status(); st.Entries != 1 {
		t.Fatalf("entries after rebuild = %d, want 1", st.Entries)
	}
	if !isRevoked(t, v, tok) {
		t.Fatal("rebuilt view accepts the revoked token")
	}
}

func TestUsersViewSeesChangesFromAnotherInstance(t *testing.T) {
	s, schema := newStore(t)
	ctx := context.Background()
	if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "alice", PasswordHash: "h", Scopes: []string{"read"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	p := connect(t, 4, "")
	t.Cleanup(p.Close)
	other, err := pgstore.New(p, pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{inner: other.ChangeFeed(), events: make(chan string, 1)}
	u, err := storeview.NewUsers(storeview.UsersConfig{Store: other, Feed: tp, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	until(t, tp, "first load", func() bool { return u.Status().Fresh })
	usr, err := u.UserByID(ctx, "u1")
	if err != nil || usr.Disabled {
		t.Fatalf("UserByID = %+v, %v", usr, err)
	}
	if n := u.Status().Entries; n != 1 {
		t.Fatalf("entries = %d, want 1", n)
	}

	table := pgx.Identifier{schema, "users"}.Sanitize()
	if _, err := pool(t).Exec(ctx, `UPDATE `+table+` SET disabled = true WHERE id = 'u1'`); err != nil {
		t.Fatal(err)
	}
	until(t, tp, "disabled user seen", func() bool {
		usr, err := u.UserByID(ctx, "u1")
		return err == nil && usr.Disabled
	})
	if _, err := pool(t).Exec(ctx, `DELETE FROM `+table+` WHERE id = 'u1'`); err != nil {
		t.Fatal(err)
	}
	until(t, tp, "deleted user gone", func() bool {
		_, err := u.UserByID(ctx, "u1")
		return errors.Is(err, store.ErrNotFound)
	})
}
