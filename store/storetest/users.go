package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// testUsers covers account lookup, creation and password-hash updates,
// including injection-style usernames (S-07).
func (st *suite) testUsers(t *testing.T) {
	t.Run("LookupByUsernameAndID", func(t *testing.T) {
		fx := st.open(t, capUsers)
		u := fx.sampleUser("alice")
		fx.createUser(u)
		got, err := fx.s.Users.UserByUsername(fx.ctx(), u.Username)
		if err != nil {
			t.Fatalf("UserByUsername: %v", err)
		}
		fx.checkUser(got, u)
		got, err = fx.s.Users.UserByID(fx.ctx(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		fx.checkUser(got, u)
	})

	t.Run("MinimalUserRoundTrip", func(t *testing.T) {
		fx := st.open(t, capUsers)
		u := store.User{ID: newID("uid"), Username: newID("bob"), PasswordHash: "$2a$12$x", CreatedAt: fx.base}
		fx.createUser(u)
		got, err := fx.s.Users.UserByID(fx.ctx(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		fx.checkUser(got, u)
	})

	t.Run("NotFound", func(t *testing.T) {
		fx := st.open(t, capUsers)
		u := fx.sampleUser("carol")
		fx.createUser(u)
		cases := []struct {
			name   string
			lookup func() (store.User, error)
		}{
			{"UnknownUsername", func() (store.User, error) { return fx.s.Users.UserByUsername(fx.ctx(), newID("nobody")) }},
			{"UnknownID", func() (store.User, error) { return fx.s.Users.UserByID(fx.ctx(), newID("uid")) }},
			{"EmptyUsername", func() (store.User, error) { return fx.s.Users.UserByUsername(fx.ctx(), "") }},
			{"EmptyID", func() (store.User, error) { return fx.s.Users.UserByID(fx.ctx(), "") }},
			{"IDUsedAsUsername", func() (store.User, error) { return fx.s.Users.UserByUsername(fx.ctx(), u.ID) }},
			{"UsernameUsedAsID", func() (store.User, error) { return fx.s.Users.UserByID(fx.ctx(), u.Username) }},
			{"UsernameCaseDiffers", func() (store.User, error) { return fx.s.Users.UserByUsername(fx.ctx(), upper(u.Username)) }},
			{"UsernamePrefix", func() (store.User, error) { return fx.s.Users.UserByUsername(fx.ctx(), u.Username[:5]) }},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.lookup()
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("got %+v, %v; want ErrNotFound", got, err)
				}
			})
		}
	})

	t.Run("DuplicateIDOrUsername", func(t *testing.T) {
		fx := st.open(t, capUsers)
		u := fx.sampleUser("dave")
		fx.createUser(u)
		sameID := fx.sampleUser("erin")
		sameID.ID = u.ID
		sameName := fx.sampleUser("frank")
		sameName.Username = u.Username
		for _, tc := range []struct {
			name string
			u    store.User
		}{{"SameID", sameID}, {"SameUsername", sameName}, {"Identical", u}} {
			t.Run(tc.name, func(t *testing.T) {
				err := fx.s.UserWriter.CreateUser(fx.ctx(), tc.u)
				if !errors.Is(err, store.ErrExists) {
					t.Fatalf("CreateUser: %v, want ErrExists", err)
				}
			})
		}
		// The original account is unchanged, the rejected ones were not
		// stored under their other key.
		got, err := fx.s.Users.UserByUsername(fx.ctx(), u.Username)
		if err != nil {
			t.Fatalf("UserByUsername: %v", err)
		}
		fx.checkUser(got, u)
		if _, err := fx.s.Users.UserByUsername(fx.ctx(), sameID.Username); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("username of the rejected duplicate-ID user: %v, want ErrNotFound", err)
		}
		if _, err := fx.s.Users.UserByID(fx.ctx(), sameName.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ID of the rejected duplicate-username user: %v, want ErrNotFound", err)
		}
	})

	t.Run("S07_InjectionUsernamesRoundTrip", func(t *testing.T) {
		fx := st.open(t, capUsers)
		names := []string{
			"'; DROP TABLE users;--",
			`" OR "1"="1`,
			"a:b", "a", "b", "a:", ":b", "a:b:c",
			"*", "a*", "{x}", "{a}:b", "$x", `\`, "%", "_", "a_", "a%",
			"x\r\nSET y 1", "tab\there", " leading", "trailing ",
			"Alice", "alice", "ALICE",
			"ünïcödé", "用户", "e\u0301", "é", "😀",
		}
		users := make([]store.User, len(names))
		for i, name := range names {
			users[i] = store.User{ID: newID("uid"), Username: name, PasswordHash: "h" + name, CreatedAt: fx.base}
			fx.createUser(users[i])
		}
		for _, u := range users {
			got, err := fx.s.Users.UserByUsername(fx.ctx(), u.Username)
			if err != nil {
				t.Errorf("UserByUsername(%q): %v", u.Username, err)
				continue
			}
			if got.ID != u.ID || got.Username != u.Username || got.PasswordHash != u.PasswordHash {
				t.Errorf("UserByUsername(%q) = {ID:%s Username:%q Hash:%q}, want {ID:%s Username:%q Hash:%q}",
					u.Username, got.ID, got.Username, got.PasswordHash, u.ID, u.Username, u.PasswordHash)
			}
		}
		// Patterns and partial keys match nothing.
		for _, probe := range []string{"a:b:", "b:", "*b", "%a", "_b", "al%", "a\r\n", "{x", "DROP", "a:*"} {
			if got, err := fx.s.Users.UserByUsername(fx.ctx(), probe); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UserByUsername(%q) = %+v, %v; want ErrNotFound", probe, got.Username, err)
			}
		}
		// The same strings as IDs.
		for _, name := range []string{"'; DROP TABLE users;--", "a:b", "*", "{x}", "x\r\nSET y 1", "ünïcödé"} {
			u := store.User{ID: name, Username: newID("byid"), CreatedAt: fx.base}
			fx.createUser(u)
			got, err := fx.s.Users.UserByID(fx.ctx(), name)
			if err != nil || got.Username != u.Username {
				t.Errorf("UserByID(%q) = %q, %v; want %q", name, got.Username, err, u.Username)
			}
		}
		if got, err := fx.s.Users.UserByID(fx.ctx(), "a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(%q) = %+v, %v; want ErrNotFound", "a", got.Username, err)
		}
	})

	t.Run("SetPasswordHash", func(t *testing.T) {
		fx := st.open(t, capUsers)
		u := fx.sampleUser("grace")
		other := fx.sampleUser("heidi")
		fx.createUser(u)
		fx.createUser(other)
		const newHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
		if err := fx.s.UserWriter.SetPasswordHash(fx.ctx(), u.ID, newHash); err != nil {
			t.Fatalf("SetPasswordHash: %v", err)
		}
		got, err := fx.s.Users.UserByUsername(fx.ctx(), u.Username)
		if err != nil {
			t.Fatalf("UserByUsername: %v", err)
		}
		want := u
		want.PasswordHash = newHash
		fx.checkUser(got, want)
		got, err = fx.s.Users.UserByID(fx.ctx(), other.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		fx.checkUser(got, other)

		err = fx.s.UserWriter.SetPasswordHash(fx.ctx(), newID("uid"), newHash)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetPasswordHash of an unknown user: %v, want ErrNotFound", err)
		}
		if _, err := fx.s.Users.UserByID(fx.ctx(), newID("uid")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByID after a failed SetPasswordHash: %v, want ErrNotFound", err)
		}
	})

	// A login upgrading an outdated hash must never overwrite a password
	// changed since it read the account.
	t.Run("CompareAndSwapPasswordHash", func(t *testing.T) {
		fx := st.open(t, capUsers)
		u := fx.sampleUser("judy")
		fx.createUser(u)
		hashOf := func() string {
			t.Helper()
			got, err := fx.s.Users.UserByID(fx.ctx(), u.ID)
			if err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			return got.PasswordHash
		}
		const changed, upgraded = "$2b$12$changedchangedchangedchangedchangedchangedchangedcha", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$dXBncmFkZWQ"
		if err := fx.s.UserWriter.SetPasswordHash(fx.ctx(), u.ID, changed); err != nil {
			t.Fatalf("SetPasswordHash: %v", err)
		}
		// The stale upgrade loses to the change.
		if swapped, err := fx.s.UserWriter.CompareAndSwapPasswordHash(fx.ctx(), u.ID, u.PasswordHash, upgraded); swapped || err != nil {
			t.Fatalf("swap from a stale hash = %v, %v; want false, nil", swapped, err)
		}
		if got := hashOf(); got != changed {
			t.Fatalf("hash after a stale swap = %q, want the changed one", got)
		}
		if swapped, err := fx.s.UserWriter.CompareAndSwapPasswordHash(fx.ctx(), u.ID, changed, upgraded); !swapped || err != nil {
			t.Fatalf("swap from the current hash = %v, %v; want true, nil", swapped, err)
		}
		if got := hashOf(); got != upgraded {
			t.Fatalf("hash after the swap = %q, want %q", got, upgraded)
		}
		if swapped, err := fx.s.UserWriter.CompareAndSwapPasswordHash(fx.ctx(), newID("uid"), "", upgraded); swapped || err != nil {
			t.Fatalf("swap of an unknown user = %v, %v; want false, nil", swapped, err)
		}

		// Concurrent swaps from the same hash: exactly one wins.
		const n = 16
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				swapped, err := fx.s.UserWriter.CompareAndSwapPasswordHash(fx.ctx(), u.ID, upgraded, fmt.Sprintf("%s-%d", upgraded, i))
				if err != nil {
					t.Errorf("concurrent swap: %v", err)
				}
				if swapped {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d concurrent swaps from one hash succeeded, want 1", got)
		}
	})

	t.Run("ReturnedUsersAreCopies", func(t *testing.T) {
		fx := st.open(t, capUsers)
		u := fx.sampleUser("ivan")
		in := u
		in.Scopes = slices.Clone(u.Scopes)
		in.Profile = maps.Clone(u.Profile)
		fx.createUser(in)
		// Mutating what was passed in does not reach the store.
		in.Scopes[0] = "admin"
		in.Profile["email"] = "evil@example.com"

		got, err := fx.s.Users.UserByID(fx.ctx(), u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		fx.checkUser(got, u)
		// Mutating what was returned does not reach the store either.
		got.Scopes[0] = "admin"
		got.Profile["email"] = "evil@example.com"
		got.Profile["role"] = "root"

		for _, lookup := range []func() (store.User, error){
			func() (store.User, error) { return fx.s.Users.UserByID(fx.ctx(), u.ID) },
			func() (store.User, error) { return fx.s.Users.UserByUsername(fx.ctx(), u.Username) },
		} {
			again, err := lookup()
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			fx.checkUser(again, u)
		}
	})
}

// sampleUser returns a user with every field set.
func (fx *fixture) sampleUser(name string) store.User {
	return store.User{
		ID:           newID("uid"),
		Username:     newID(name),
		PasswordHash: "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		Disabled:     name == "dave",
		Scopes:       []string{"read", "write"},
		Profile:      map[string]string{"full_name": "Sample " + name, "email": name + "@example.com"},
		CreatedAt:    fx.base.Add(-time.Hour),
	}
}

// createUser stores u and fails the test on error.
func (fx *fixture) createUser(u store.User) {
	fx.t.Helper()
	if err := fx.s.UserWriter.CreateUser(fx.ctx(), u); err != nil {
		fx.t.Fatalf("CreateUser(%q): %v", u.Username, err)
	}
}

// checkUser compares every field of got with want. Nil and empty Scopes or
// Profile are equal; times are compared with a millisecond of tolerance.
func (fx *fixture) checkUser(got, want store.User) {
	fx.t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.PasswordHash != want.PasswordHash || got.Disabled != want.Disabled {
		fx.t.Errorf("user = {ID:%q Username:%q Hash:%q Disabled:%v}, want {ID:%q Username:%q Hash:%q Disabled:%v}",
			got.ID, got.Username, got.PasswordHash, got.Disabled, want.ID, want.Username, want.PasswordHash, want.Disabled)
	}
	if !slices.Equal(got.Scopes, want.Scopes) {
		fx.t.Errorf("user %q Scopes = %q, want %q", want.Username, got.Scopes, want.Scopes)
	}
	if !maps.Equal(got.Profile, want.Profile) {
		fx.t.Errorf("user %q Profile = %q, want %q", want.Username, got.Profile, want.Profile)
	}
	if !sameTime(got.CreatedAt, want.CreatedAt) {
		fx.t.Errorf("user %q CreatedAt = %s, want %s", want.Username, got.CreatedAt, want.CreatedAt)
	}
}

// upper returns s with ASCII letters upper-cased.
func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
