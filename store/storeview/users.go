package storeview

import (
	"container/list"
	"context"
	"fmt"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// DefaultCacheSize is the number of users a [Users] keeps when
// [UsersConfig.Size] is zero.
const DefaultCacheSize = 10000

// UsersConfig configures a [Users].
type UsersConfig struct {
	// Store holds the users. Required.
	Store store.Users
	// Feed is the Store's change feed; it must report every change and
	// deletion of a user (pgstore's does). Required.
	Feed Feed
	// MaxStaleness bounds how old a cached user may be and still be
	// served; 0 means [DefaultMaxStaleness].
	MaxStaleness time.Duration
	// Size bounds the users kept, least recently used first out; 0 means
	// [DefaultCacheSize].
	Size int
	// Logf, if set, receives feed failures and reconnects.
	Logf func(format string, args ...any)
}

// Users caches UserByID in front of a store: a user is read once, then
// served from memory until the feed reports a change to it. It implements
// [store.Users] (and so middleware.UserSource) and is safe for concurrent
// use. UserByUsername, used by logins, always asks the store, so a login
// never sees a stale password hash.
//
// Only found users are cached; "not found" and errors are not. While the
// view is not fresh (see the package documentation) every call goes to
// the store, and after a reconnect the cache starts empty.
type Users struct {
	direct store.Users
	size   int
	f      follower

	// Guarded by f.mu.
	entries map[string]*list.Element // TokenID(user ID) → *cached
	lru     *list.List               // front: most recently used
	epoch   uint64                   // bumped by every change and reset
}

type cached struct {
	key  string
	user store.User
}

// NewUsers checks cfg and starts following the feed.
func NewUsers(cfg UsersConfig) (*Users, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrConfig)
	}
	if cfg.Feed == nil {
		return nil, fmt.Errorf("%w: nil Feed", ErrConfig)
	}
	if cfg.MaxStaleness < 0 || cfg.Size < 0 {
		return nil, fmt.Errorf("%w: negative MaxStaleness or Size", ErrConfig)
	}
	u := &Users{direct: cfg.Store, size: cfg.Size}
	if u.size == 0 {
		u.size = DefaultCacheSize
	}
	u.reset(nil)
	u.f.start(cfg.Feed, cfg.MaxStaleness, cfg.Logf, u)
	return u, nil
}

// Close stops following the feed; every call then goes to the store. It
// is safe to call more than once.
func (u *Users) Close() error {
	u.f.stop()
	return nil
}

// UserByID returns the user id, from memory when the view is fresh and
// holds it, otherwise from the store (caching what it finds). The
// returned user's slices and maps are copies.
func (u *Users) UserByID(ctx context.Context, id string) (store.User, error) {
	key := store.TokenID(id)
	u.f.mu.Lock()
	fresh := u.f.fresh(time.Now())
	if fresh {
		if e, ok := u.entries[key]; ok {
			u.lru.MoveToFront(e)
			usr := e.Value.(*cached).user
			u.f.mu.Unlock()
			return clone(usr), nil
		}
	}
	epoch := u.epoch
	u.f.mu.Unlock()

	usr, err := u.direct.UserByID(ctx, id)
	if err != nil || !fresh {
		return usr, err
	}
	u.f.mu.Lock()
	defer u.f.mu.Unlock()
	// A change reported while the store answered may be newer than the
	// answer: then it is not cached.
	if u.epoch == epoch {
		u.put(key, clone(usr))
	}
	return usr, nil
}

// UserByUsername asks the store.
func (u *Users) UserByUsername(ctx context.Context, username string) (store.User, error) {
	return u.direct.UserByUsername(ctx, username)
}

// Status reports the view's state; Entries counts the cached users.
func (u *Users) Status() Status {
	u.f.mu.RLock()
	defer u.f.mu.RUnlock()
	return Status{Fresh: u.f.fresh(time.Now()), AsOf: u.f.asOf, Entries: len(u.entries), Rebuilds: u.f.rebuilds}
}

func (u *Users) put(key string, usr store.User) {
	if e, ok := u.entries[key]; ok {
		e.Value.(*cached).user = usr
		u.lru.MoveToFront(e)
		return
	}
	u.entries[key] = u.lru.PushFront(&cached{key: key, user: usr})
	for u.lru.Len() > u.size {
		old := u.lru.Back()
		u.lru.Remove(old)
		delete(u.entries, old.Value.(*cached).key)
	}
}

func (u *Users) reset([]Record) {
	u.entries = make(map[string]*list.Element)
	u.lru = list.New()
	u.epoch++
}

func (u *Users) apply(r Record) {
	if r.Kind != User {
		return
	}
	u.epoch++
	if e, ok := u.entries[r.ID]; ok {
		u.lru.Remove(e)
		delete(u.entries, r.ID)
	}
}

func (u *Users) prune(time.Time) {}

// clone copies the user's slices and maps, so callers cannot change the
// cached user.
func clone(u store.User) store.User {
	if u.Scopes != nil {
		u.Scopes = append([]string(nil), u.Scopes...)
	}
	if u.Profile != nil {
		p := make(map[string]string, len(u.Profile))
		for k, v := range u.Profile {
			p[k] = v
		}
		u.Profile = p
	}
	return u
}
