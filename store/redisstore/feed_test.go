package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/internal/redistest"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/redisstore"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// waitFor is a generous deadline for eventual outcomes; no timing is
// asserted.
const waitFor = 30 * time.Second

// tap wraps a feed and reports what the view receives. Follow waits for
// gate (when set) before each attempt after the first; arrivals, when
// set, receives the ID of every record applied.
type tap struct {
	inner    storeview.Feed
	events   chan string
	gate     chan struct{}
	arrivals chan arrival
	calls    int
}

type arrival struct {
	id string
	at time.Time
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
	return f.inner.Follow(ctx, tapSink{s, f}, hb)
}

type tapSink struct {
	storeview.Sink
	f *tap
}

func (s tapSink) note(e string) {
	select {
	case s.f.events <- e:
	default: // nobody waiting
	}
}

func (s tapSink) Reset(asOf time.Time, rs []storeview.Record) {
	s.Sink.Reset(asOf, rs)
	s.note("reset")
}

func (s tapSink) Apply(r storeview.Record) {
	s.Sink.Apply(r)
	if s.f.arrivals != nil {
		s.f.arrivals <- arrival{r.ID, time.Now()}
	}
	s.note("apply")
}

func (s tapSink) Fresh(asOf time.Time) { s.Sink.Fresh(asOf); s.note("fresh") }

// newView follows prefix's feed through its own client (another
// instance) named name.
func newView(t testing.TB, prefix, name string, gate chan struct{}, arrivals chan arrival) (*storeview.Revocations, *tap) {
	t.Helper()
	c := connect(t, 4, name)
	t.Cleanup(func() { _ = c.Close() })
	return newViewOn(t, c, prefix, gate, arrivals)
}

func newViewOn(t testing.TB, c redis.UniversalClient, prefix string, gate chan struct{}, arrivals chan arrival) (*storeview.Revocations, *tap) {
	t.Helper()
	st := mustNew(t, c, prefix)
	tp := &tap{inner: st.ChangeFeed(), events: make(chan string, 1), gate: gate, arrivals: arrivals}
	v, err := storeview.NewRevocations(storeview.RevocationsConfig{Store: st, Feed: tp, MaxStaleness: 200 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v, tp
}

func until(t testing.TB, tp *tap, what string, cond func() bool) {
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

func isRevoked(t testing.TB, v *storeview.Revocations, tok store.TokenRef) bool {
	t.Helper()
	got, err := v.IsRevoked(context.Background(), tok)
	if err != nil {
		t.Fatalf("IsRevoked: %v", err)
	}
	return got
}

func TestRevocationViewSeesRevocationsFromAnotherInstance(t *testing.T) {
	s, prefix := newStore(t)
	v1, tp1 := newView(t, prefix, "", nil, nil)
	v2, tp2 := newView(t, prefix, "", nil, nil)
	testViews(t, s, v1, v2, tp1, tp2)
}

func TestRevocationViewOnCluster(t *testing.T) {
	c := redistest.Cluster(t, sharedPoolSize)
	prefix := newPrefix(t, c, nil)
	s := mustNew(t, c, prefix)
	var views [2]*storeview.Revocations
	var taps [2]*tap
	for i := range views {
		vc := redistest.Cluster(t, 4)
		views[i], taps[i] = newViewOn(t, vc, prefix, nil, nil)
	}
	testViews(t, s, views[0], views[1], taps[0], taps[1])
}

// testViews revokes in every way through s and waits for both views to
// refuse the token.
func testViews(t *testing.T, s *redisstore.Store, v1, v2 *storeview.Revocations, tp1, tp2 *tap) {
	ctx := context.Background()
	now := time.Now()
	until(t, tp1, "first load", func() bool { return v1.Status().Fresh })
	until(t, tp2, "first load", func() bool { return v2.Status().Fresh })

	newFamily := func(id, sub string) store.Rotation {
		f := store.Family{ID: id, Subject: sub, CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
		first := store.RefreshToken{ID: store.TokenID("r-" + id), FamilyID: id, Subject: sub, IssuedAt: f.CreatedAt, ExpiresAt: f.ExpiresAt}
		if err := s.CreateFamily(ctx, f, first); err != nil {
			t.Fatal(err)
		}
		next := store.RefreshToken{ID: store.TokenID("n-" + id), FamilyID: id, Subject: sub, IssuedAt: now, ExpiresAt: f.ExpiresAt}
		return store.Rotation{PresentedID: first.ID, Subject: sub, FamilyID: id, Next: next, Now: now}
	}
	newFamily("fam-1", "alice")
	rot := newFamily("fam-2", "bob")
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
		{"logout revokes the family", store.TokenRef{ID: "jti-2", Subject: "alice", FamilyID: "fam-1", IssuedAt: iat}, func() error {
			return s.RevokeFamily(ctx, "alice", "fam-1")
		}},
		{"reuse detection revokes the family", store.TokenRef{ID: "jti-3", Subject: "bob", FamilyID: "fam-2", IssuedAt: iat}, func() error {
			rot.Next.ID = store.TokenID("replay")
			if _, err := s.Rotate(ctx, rot); err == nil {
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

func TestRevocationViewFallsBackWhileFeedIsDownThenRebuilds(t *testing.T) {
	s, prefix := newStore(t)
	ctx := context.Background()
	gate := make(chan struct{})
	name := "jwtkit-view-" + strings.ToLower(rand.Text()[:12])
	v, tp := newView(t, prefix, name, gate, nil)
	until(t, tp, "first load", func() bool { return v.Status().Fresh })

	// Kill the view's subscription, found by its client name; the gate
	// holds the reconnection.
	c := client(t)
	list, err := c.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for line := range strings.Lines(list) {
		if strings.Contains(line, " name="+name+" ") && strings.Contains(line, "sub=1") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
			if err := c.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d subscriptions named %s, want 1:\n%s", killed, name, list)
	}
	tok := store.TokenRef{ID: "jti-down", Subject: "erin", IssuedAt: time.Now().Add(-time.Minute)}
	if err := s.RevokeToken(ctx, tok, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
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
	if st := v.Status(); st.Fresh || st.Rebuilds != 1 {
		t.Fatalf("status with the feed down = %+v, want stale after one load", st)
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

// BenchmarkRevocationPropagation measures the delay from the start of a
// RevokeToken on one instance until two other instances' views hold it
// (each with its own client and subscription), and reports its p50 and
// p99 in milliseconds.
//
//	go test -run '^$' -bench RevocationPropagation -benchtime 500x ./store/redisstore
func BenchmarkRevocationPropagation(b *testing.B) {
	s, prefix := newStore(b)
	ctx := context.Background()
	var seen []chan arrival
	for range 2 {
		ch := make(chan arrival, 16)
		v, tp := newView(b, prefix, "", nil, ch)
		until(b, tp, "first load", func() bool { return v.Status().Fresh })
		seen = append(seen, ch)
	}
	var delays []time.Duration
	b.ResetTimer()
	for i := range b.N {
		jti := fmt.Sprintf("prop-%d", i)
		want := store.TokenID(jti)
		start := time.Now()
		if err := s.RevokeToken(ctx, store.TokenRef{ID: jti}, start.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		for _, ch := range seen {
			for a := range ch {
				if a.id == want {
					delays = append(delays, a.at.Sub(start))
					break
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(delays)
	pct := func(p float64) float64 {
		return float64(delays[int(p*float64(len(delays)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
}
