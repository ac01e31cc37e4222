package authserver_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/store"
)

// pausingUsers hands out users by name and holds the first login that
// asks, after its read, until proceed is closed: the moment a password
// change can race it. Later logins pass straight through.
type pausingUsers struct {
	store.Users
	read    chan struct{}
	proceed chan struct{}
	once    sync.Once
}

func (p *pausingUsers) UserByUsername(ctx context.Context, name string) (store.User, error) {
	u, err := p.Users.UserByUsername(ctx, name)
	p.once.Do(func() {
		p.read <- struct{}{}
		<-p.proceed
	})
	return u, err
}

// A login that read the account before a RevokeAll (the end of a password
// change) gets no session from it, with or without a refresh store.
func TestLogin_RacingRevokeAllGetsNoSession(t *testing.T) {
	t.Parallel()
	for _, withRefresh := range []bool{true, false} {
		name := "refresh store"
		if !withRefresh {
			name = "revocations only"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			users := &pausingUsers{Users: f.store, read: make(chan struct{}), proceed: make(chan struct{})}
			var events []authserver.AuditEvent
			h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
				c.Users = users
				c.Audit = func(_ context.Context, e authserver.AuditEvent) { events = append(events, e) }
				if !withRefresh {
					c.Refresh = nil
				}
			})
			done := make(chan int)
			go func() {
				done <- login(h, johnName, johnPassword).Code
			}()
			<-users.read // the login holds the old account
			if err := h.RevokeAll(t.Context(), johnID); err != nil {
				t.Fatal(err)
			}
			close(users.proceed)
			// 503 with Retry-After: a retry decides with the account as
			// it is after the change.
			if code := <-done; code != http.StatusServiceUnavailable {
				t.Fatalf("login racing RevokeAll: status %d, want 503", code)
			}
			last := events[len(events)-1]
			if last.Kind != authserver.AuditLoginFailure || last.Reason != "revoked" || last.Subject != johnID {
				t.Errorf("audit %+v, want a login failure for %s with reason revoked", last, johnID)
			}
			// The next login, after the change, works.
			mustTokens(t, login(h, johnName, johnPassword))
		})
	}
}

// A login right after RevokeAll returns gets a working session: the
// cut-off is exact, not within a second of it (iat has whole seconds).
func TestRevokeAll_LoginRightAfterWorks(t *testing.T) {
	t.Parallel()
	for _, withRefresh := range []bool{true, false} {
		name := "refresh store"
		if !withRefresh {
			name = "revocations only"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
				if !withRefresh {
					c.Refresh = nil
				}
			})
			before := mustTokens(t, login(h, johnName, johnPassword))
			for range 3 {
				if err := h.RevokeAll(t.Context(), johnID); err != nil {
					t.Fatal(err)
				}
				after := mustTokens(t, login(h, johnName, johnPassword))
				if revoked(t, f, after.AccessToken) {
					t.Fatal("the access token of a login after RevokeAll is revoked")
				}
				if withRefresh {
					mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+after.RefreshToken))
				}
			}
			if !revoked(t, f, before.AccessToken) {
				t.Fatal("the access token from before RevokeAll is not revoked")
			}
		})
	}
}

// revoked asks the fixture's store whether the access token raw is revoked.
func revoked(t *testing.T, f *fixture, raw string) bool {
	t.Helper()
	c, err := f.verifier.VerifyAccess(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.store.IsRevoked(t.Context(), store.TokenRef{ID: c.ID, Subject: c.Subject, FamilyID: c.FamilyID, IssuedAt: c.IssuedAt})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A login that upgrades an outdated hash while the password is changed
// does not overwrite the new hash: the new password keeps working and the
// old one stays refused.
func TestLogin_RehashNeverUndoesAPasswordChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	users := &pausingUsers{Users: f.store, read: make(chan struct{}), proceed: make(chan struct{})}
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Users = users
		c.Rehash = f.store
	})
	u, err := f.store.UserByUsername(t.Context(), johnName)
	if err != nil {
		t.Fatal(err)
	}
	if !f.hasher.NeedsRehash(u.PasswordHash) {
		t.Fatal("fixture: john's hash is up to date; the test needs an outdated one")
	}
	done := make(chan int)
	go func() { done <- login(h, johnName, johnPassword).Code }()
	<-users.read // the login holds the outdated hash of the old password

	const newPassword = "a new password, changed mid-login"
	newHash, err := f.hasher.Hash(newPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetPasswordHash(t.Context(), johnID, newHash); err != nil {
		t.Fatal(err)
	}
	close(users.proceed)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("login with the password it checked: status %d, want 200", code)
	}
	if got, err := f.store.UserByID(t.Context(), johnID); err != nil || got.PasswordHash != newHash {
		t.Fatalf("hash after the racing upgrade: changed %v (%v); want the new password's hash", got.PasswordHash != newHash, err)
	}
	mustTokens(t, login(h, johnName, newPassword))
	checkResponse(t, login(h, johnName, johnPassword), http.StatusUnauthorized, "Bearer", bodyBadCredentials)
}
