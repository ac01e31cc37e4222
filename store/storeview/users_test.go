package storeview_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// counting counts the lookups that reach the store.
type counting struct {
	*memstore.Store
	n atomic.Int64
}

func (c *counting) UserByID(ctx context.Context, id string) (store.User, error) {
	c.n.Add(1)
	return c.Store.UserByID(ctx, id)
}

func newUsers(t *testing.T, f storeview.Feed, size int) (*storeview.Users, *counting) {
	t.Helper()
	ms := &counting{Store: memstore.New()}
	for _, id := range []string{"u1", "u2", "u3"} {
		if err := ms.CreateUser(context.Background(), store.User{ID: id, Username: "name-" + id, PasswordHash: "x", Scopes: []string{"read"}}); err != nil {
			t.Fatal(err)
		}
	}
	u, err := storeview.NewUsers(storeview.UsersConfig{Store: ms, Feed: f, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u, ms
}

func lookup(t *testing.T, u *storeview.Users, id string) store.User {
	t.Helper()
	usr, err := u.UserByID(context.Background(), id)
	if err != nil {
		t.Fatalf("UserByID(%q): %v", id, err)
	}
	return usr
}

func TestUsersServesFromMemoryUntilChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFeed()
		u, ms := newUsers(t, f, 0)
		time.Sleep(time.Second)
		lookup(t, u, "u1")
		got := lookup(t, u, "u1")
		if n := ms.n.Load(); n != 1 {
			t.Fatalf("store lookups for two calls = %d, want 1", n)
		}
		got.Scopes[0] = "admin" // callers cannot change the cache
		if s := lookup(t, u, "u1").Scopes[0]; s != "read" {
			t.Fatalf("cached scopes changed through a returned user: %q", s)
		}
		// Another instance changes u1 and announces it.
		if err := ms.SetPasswordHash(context.Background(), "u1", "y"); err != nil {
			t.Fatal(err)
		}
		f.changes <- storeview.Record{Kind: storeview.User, ID: store.TokenID("u1")}
		synctest.Wait() // the feed has handled it
		if h := lookup(t, u, "u1").PasswordHash; h != "y" {
			t.Fatalf("password hash after the change = %q, want y", h)
		}
		if n := ms.n.Load(); n != 2 {
			t.Fatalf("store lookups = %d, want 2", n)
		}
	})
}

func TestUsersIsBoundedLeastRecentlyUsedFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, ms := newUsers(t, newFeed(), 2)
		time.Sleep(time.Second)
		lookup(t, u, "u1")
		lookup(t, u, "u2")
		lookup(t, u, "u1")
		lookup(t, u, "u3") // evicts u2
		if n := u.Status().Entries; n != 2 {
			t.Fatalf("entries = %d, want 2", n)
		}
		before := ms.n.Load()
		lookup(t, u, "u1")
		if ms.n.Load() != before {
			t.Fatal("u1 was evicted, want u2")
		}
		lookup(t, u, "u2")
		if ms.n.Load() != before+1 {
			t.Fatal("u2 was still cached")
		}
	})
}

func TestUsersAskTheStoreWhenStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFeed()
		u, ms := newUsers(t, f, 0)
		time.Sleep(time.Second)
		lookup(t, u, "u1")
		f.stall <- true
		synctest.Wait() // the feed has handled it
		time.Sleep(2 * time.Second)
		before := ms.n.Load()
		lookup(t, u, "u1")
		if ms.n.Load() != before+1 {
			t.Fatal("stale view served a cached user")
		}
		if _, err := u.UserByID(context.Background(), "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown user: err = %v, want ErrNotFound", err)
		}
	})
}

func TestNewUsersRejectsBadConfig(t *testing.T) {
	for _, cfg := range []storeview.UsersConfig{
		{Feed: newFeed()},
		{Store: memstore.New()},
		{Store: memstore.New(), Feed: newFeed(), Size: -1},
	} {
		if _, err := storeview.NewUsers(cfg); !errors.Is(err, storeview.ErrConfig) {
			t.Errorf("NewUsers(%+v) succeeded", cfg)
		}
	}
}
