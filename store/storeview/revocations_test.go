package storeview_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// feed is a change feed driven by the test: it loads records, then
// heartbeats every hb unless stalled.
type feed struct {
	records []storeview.Record
	changes chan storeview.Record
	stall   chan bool
}

func newFeed(rs ...storeview.Record) *feed {
	return &feed{records: rs, changes: make(chan storeview.Record), stall: make(chan bool)}
}

func (f *feed) Follow(ctx context.Context, s storeview.Sink, hb time.Duration) error {
	s.Reset(time.Now(), f.records)
	tick := time.NewTicker(hb)
	defer tick.Stop()
	stalled := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-f.changes:
			s.Apply(r)
		case stalled = <-f.stall:
		case <-tick.C:
			if !stalled {
				s.Fresh(time.Now())
			}
		}
	}
}

func newView(t *testing.T, direct store.Revocations, f storeview.Feed, cfg storeview.RevocationsConfig) *storeview.Revocations {
	t.Helper()
	cfg.Store, cfg.Feed = direct, f
	v, err := storeview.NewRevocations(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func check(t *testing.T, v store.Revocations, tok store.TokenRef) bool {
	t.Helper()
	got, err := v.IsRevoked(context.Background(), tok)
	if err != nil {
		t.Fatalf("IsRevoked(%+v): %v", tok, err)
	}
	return got
}

func TestNewRejectsBadConfig(t *testing.T) {
	ms := memstore.New()
	for _, tc := range []struct {
		name string
		cfg  storeview.RevocationsConfig
	}{
		{"no store", storeview.RevocationsConfig{Feed: newFeed()}},
		{"no feed", storeview.RevocationsConfig{Store: ms}},
		{"negative staleness", storeview.RevocationsConfig{Store: ms, Feed: newFeed(), MaxStaleness: -1}},
		{"negative entries", storeview.RevocationsConfig{Store: ms, Feed: newFeed(), MaxEntries: -1}},
	} {
		if _, err := storeview.NewRevocations(tc.cfg); !errors.Is(err, storeview.ErrConfig) {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
}

// TestViewDecidesLikeTheStore checks the view against store.TokenRevoked
// (through memstore) on a grid of tokens around a cut-off.
func TestViewDecidesLikeTheStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		ms := memstore.New()
		now := time.Now()
		cut := now.Truncate(time.Second).Add(-10*time.Second + 300*time.Millisecond)
		hour := now.Add(time.Hour)
		fams := map[string]time.Time{"old": cut.Add(-time.Minute), "new": cut.Add(time.Second), "gone": cut.Add(-time.Hour)}
		for id, created := range fams {
			f := store.Family{ID: id, Subject: "alice", CreatedAt: created, ExpiresAt: hour}
			first := store.RefreshToken{ID: store.TokenID("r-" + id), FamilyID: id, Subject: "alice", IssuedAt: created, ExpiresAt: hour}
			if err := ms.CreateFamily(ctx, f, first); err != nil {
				t.Fatal(err)
			}
		}
		f := store.Family{ID: "out", Subject: "bob", CreatedAt: cut, ExpiresAt: hour}
		if err := ms.CreateFamily(ctx, f, store.RefreshToken{ID: store.TokenID("r-out"), FamilyID: "out", Subject: "bob", IssuedAt: cut, ExpiresAt: hour}); err != nil {
			t.Fatal(err)
		}
		if err := ms.RevokeFamily(ctx, "bob", "out"); err != nil {
			t.Fatal(err)
		}
		if err := ms.RevokeToken(ctx, store.TokenRef{ID: "denied"}, hour); err != nil {
			t.Fatal(err)
		}
		if err := ms.RevokeSubject(ctx, "alice", cut, time.Hour); err != nil {
			t.Fatal(err)
		}
		v := newView(t, ms, newFeed(
			storeview.Record{Kind: storeview.Token, ID: store.TokenID("denied"), Until: hour},
			storeview.Record{Kind: storeview.Family, Subject: store.TokenID("bob"), ID: store.TokenID("out"), Until: hour},
			storeview.Record{Kind: storeview.Cutoff, Subject: store.TokenID("alice"), At: cut, Until: hour},
		), storeview.RevocationsConfig{})
		time.Sleep(time.Second) // a heartbeat: the view is fresh
		if !v.Status().Fresh {
			t.Fatal("view not fresh after its first heartbeat")
		}
		for _, jti := range []string{"denied", "other"} {
			for _, sub := range []string{"alice", "bob", "carol"} {
				for _, fam := range []string{"", "old", "new", "gone", "out", "unknown"} {
					for _, iat := range []time.Time{cut.Add(-2 * time.Second), cut.Truncate(time.Second), cut.Truncate(time.Second).Add(time.Second), cut.Add(time.Minute)} {
						tok := store.TokenRef{ID: jti, Subject: sub, FamilyID: fam, IssuedAt: iat}
						want := check(t, ms, tok)
						if got := check(t, v, tok); got != want {
							t.Errorf("IsRevoked(%+v) = %v, store says %v", tok, got, want)
						}
					}
				}
			}
		}
	})
}

func TestViewAsksTheStoreWhenStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := memstore.New()
		f := newFeed()
		v := newView(t, ms, f, storeview.RevocationsConfig{MaxStaleness: time.Second})
		tok := store.TokenRef{ID: "jti", Subject: "alice", IssuedAt: time.Now()}
		// Before the first load, and while loaded and fresh.
		time.Sleep(time.Second)
		if st := v.Status(); !st.Fresh || st.Rebuilds != 1 {
			t.Fatalf("status = %+v, want fresh after one load", st)
		}
		f.stall <- true
		synctest.Wait() // the feed has handled it
		// Revoked in the store, never announced: the view may not know
		// it within MaxStaleness, and must after.
		if err := ms.RevokeToken(context.Background(), tok, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second + time.Millisecond)
		if v.Status().Fresh {
			t.Fatal("view still fresh without heartbeats")
		}
		if !check(t, v, tok) {
			t.Fatal("stale view accepted a token the store revoked")
		}
		f.stall <- false
		synctest.Wait() // the feed has handled it
		f.changes <- storeview.Record{Kind: storeview.Token, ID: store.TokenID("jti"), Until: time.Now().Add(time.Hour)}
		synctest.Wait() // the feed has handled it
		time.Sleep(time.Second)
		if st := v.Status(); !st.Fresh || st.Entries != 1 {
			t.Fatalf("status = %+v, want fresh with one entry", st)
		}
		if !check(t, v, tok) {
			t.Fatal("fresh view accepted a revoked token")
		}
	})
}

func TestViewBeyondMaxEntriesAsksTheStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := memstore.New()
		until := time.Now().Add(time.Hour)
		tok := store.TokenRef{ID: "c", Subject: "alice", IssuedAt: time.Now()}
		if err := ms.RevokeToken(context.Background(), tok, until); err != nil {
			t.Fatal(err)
		}
		v := newView(t, ms, newFeed(
			storeview.Record{Kind: storeview.Token, ID: store.TokenID("a"), Until: until},
			storeview.Record{Kind: storeview.Token, ID: store.TokenID("b"), Until: until},
			storeview.Record{Kind: storeview.Token, ID: store.TokenID("c"), Until: until},
		), storeview.RevocationsConfig{MaxEntries: 2})
		time.Sleep(time.Second)
		if st := v.Status(); st.Fresh || st.Entries != 2 {
			t.Fatalf("status = %+v, want not fresh, two entries", st)
		}
		if !check(t, v, tok) {
			t.Fatal("overflowing view accepted a revoked token")
		}
	})
}

func TestViewForgetsEndedRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newView(t, memstore.New(), newFeed(
			storeview.Record{Kind: storeview.Token, ID: "a", Until: time.Now().Add(time.Minute)},
		), storeview.RevocationsConfig{})
		time.Sleep(time.Second)
		if n := v.Status().Entries; n != 1 {
			t.Fatalf("entries = %d, want 1", n)
		}
		time.Sleep(time.Hour)
		if n := v.Status().Entries; n != 0 {
			t.Fatalf("entries an hour after the record ended = %d, want 0", n)
		}
	})
}

// unavailable is a store that cannot answer.
type unavailable struct{ store.Revocations }

func (unavailable) IsRevoked(context.Context, store.TokenRef) (bool, error) {
	return false, store.ErrUnavailable
}

func TestViewWithoutFeedFailsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFeed()
		v := newView(t, unavailable{}, f, storeview.RevocationsConfig{})
		f.stall <- true
		synctest.Wait() // the feed has handled it
		time.Sleep(2 * time.Second)
		if _, err := v.IsRevoked(context.Background(), store.TokenRef{ID: "x"}); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("IsRevoked with a stale view and no store: err = %v, want ErrUnavailable", err)
		}
	})
}
