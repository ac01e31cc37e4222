package authserver_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// faultyStore is the fixture's memory store with one injected fault: the
// first call of the named operation fails with store.ErrUnavailable. With
// applied set, the operation runs first and only its answer is lost, as
// when a stalled Redis runs a command after the caller gave up on it.
type faultyStore struct {
	*memstore.Store
	op      string
	applied bool
	fired   atomic.Bool
	// held, when set, receives the failed rotation instead of running
	// it, so a test can deliver it late.
	held chan store.Rotation
}

var errInjected = fmt.Errorf("injected fault: %w", store.ErrUnavailable)

// fail reports whether this call of op is the one that fails.
func (s *faultyStore) fail(op string) bool {
	return op == s.op && s.fired.CompareAndSwap(false, true)
}

func (s *faultyStore) Rotate(ctx context.Context, r store.Rotation) (store.RefreshToken, error) {
	if !s.fail("Rotate") {
		return s.Store.Rotate(ctx, r)
	}
	switch {
	case s.held != nil:
		s.held <- r
	case s.applied:
		if _, err := s.Store.Rotate(ctx, r); err != nil {
			return store.RefreshToken{}, err
		}
	}
	return store.RefreshToken{}, errInjected
}

func (s *faultyStore) RevokeFamily(ctx context.Context, subject, familyID string) error {
	if s.fail("RevokeFamily") {
		if s.applied {
			_ = s.Store.RevokeFamily(ctx, subject, familyID)
		}
		return errInjected
	}
	return s.Store.RevokeFamily(ctx, subject, familyID)
}

func (s *faultyStore) RevokeToken(ctx context.Context, t store.TokenRef, until time.Time) error {
	if s.fail("RevokeToken") {
		if s.applied {
			_ = s.Store.RevokeToken(ctx, t, until)
		}
		return errInjected
	}
	return s.Store.RevokeToken(ctx, t, until)
}

// faultyHandler returns a handler whose refresh and revocation stores are
// fs, and the bearer middleware checking revocations in the same store.
func (f *fixture) faultyHandler(t *testing.T, fs *faultyStore, mod func(*authserver.TokenHandlerConfig)) (*authserver.TokenHandler, http.Handler) {
	t.Helper()
	fs.Store = f.store
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Refresh, c.Revocations = fs, fs
		if mod != nil {
			mod(c)
		}
	})
	return h, middleware.RequireBearer(f.verifier, middleware.WithRevocations(f.store))(&protectedHandler{})
}

func refreshWith(h http.Handler, rt string) *httptest.ResponseRecorder {
	return postForm(h, "/token", "grant_type=refresh_token&refresh_token="+rt)
}

func TestRefreshRetryAfterLostResponseGetsAValidPair(t *testing.T) {
	// The store applied the rotation but the handler gave up on it (503):
	// the client's retry with the same refresh token is not reuse.
	f := newFixture(t)
	h, mw := f.faultyHandler(t, &faultyStore{op: "Rotate", applied: true}, nil)
	rt1 := mustTokens(t, login(h, johnName, johnPassword))
	checkResponse(t, refreshWith(h, rt1.RefreshToken), 503, "", bodyStoreDown)

	rt2 := mustTokens(t, refreshWith(h, rt1.RefreshToken))
	checkResponse(t, get(mw, "/", "Bearer "+rt2.AccessToken), 200, "", "sub="+johnID+" user=-")
	// The retry's refresh token is the live one and keeps rotating.
	rt3 := mustTokens(t, refreshWith(h, rt2.RefreshToken))
	checkResponse(t, get(mw, "/", "Bearer "+rt3.AccessToken), 200, "", "sub="+johnID+" user=-")
}

func TestRefreshRetryBeforeTheStalledRotationLandsKeepsTheSession(t *testing.T) {
	// A stalled store answers nothing (503), the client's retry rotates,
	// and then the store runs the first request after all: that late
	// rotation changes nothing, and the retry's token stays live.
	f := newFixture(t)
	fs := &faultyStore{op: "Rotate", held: make(chan store.Rotation, 1)}
	h, mw := f.faultyHandler(t, fs, nil)
	rt1 := mustTokens(t, login(h, johnName, johnPassword))
	checkResponse(t, refreshWith(h, rt1.RefreshToken), 503, "", bodyStoreDown)
	rt2 := mustTokens(t, refreshWith(h, rt1.RefreshToken))

	late := <-fs.held
	if _, err := f.store.Rotate(t.Context(), late); !errors.Is(err, store.ErrSuperseded) {
		t.Fatalf("the late rotation: %v, want ErrSuperseded", err)
	}
	checkResponse(t, get(mw, "/", "Bearer "+rt2.AccessToken), 200, "", "sub="+johnID+" user=-")
	mustTokens(t, refreshWith(h, rt2.RefreshToken))
}

func TestRefreshRetryWhenRotationNeverRanGetsAValidPair(t *testing.T) {
	f := newFixture(t)
	h, _ := f.faultyHandler(t, &faultyStore{op: "Rotate"}, nil)
	rt1 := mustTokens(t, login(h, johnName, johnPassword))
	checkResponse(t, refreshWith(h, rt1.RefreshToken), 503, "", bodyStoreDown)
	rt2 := mustTokens(t, refreshWith(h, rt1.RefreshToken))
	mustTokens(t, refreshWith(h, rt2.RefreshToken))
}

func TestRefreshReplayAfterSuccessorUsedIsReuse(t *testing.T) {
	// A retry after a lost response, then the client moves on with the
	// retry's token: presenting the first token again is reuse, and it
	// ends the session (RFC 9700 §4.14.2).
	f := newFixture(t)
	h, mw := f.faultyHandler(t, &faultyStore{op: "Rotate", applied: true}, nil)
	rt1 := mustTokens(t, login(h, johnName, johnPassword))
	checkResponse(t, refreshWith(h, rt1.RefreshToken), 503, "", bodyStoreDown)
	rt2 := mustTokens(t, refreshWith(h, rt1.RefreshToken))
	rt3 := mustTokens(t, refreshWith(h, rt2.RefreshToken))

	checkResponse(t, refreshWith(h, rt1.RefreshToken), 400, "", bodyBadRefresh)
	checkResponse(t, refreshWith(h, rt3.RefreshToken), 400, "", bodyBadRefresh)
	checkResponse(t, get(mw, "/", "Bearer "+rt3.AccessToken), 401, challengeInvalid, bodyInvalidToken)
}

func TestRefreshRetryAfterGraceWindowIsReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		h := f.tokenHandler(t, nil)
		rt1 := mustTokens(t, login(h, johnName, johnPassword))
		rt2 := mustTokens(t, refreshWith(h, rt1.RefreshToken))
		time.Sleep(authserver.DefaultGrace + time.Second)
		checkResponse(t, refreshWith(h, rt1.RefreshToken), 400, "", bodyBadRefresh)
		checkResponse(t, refreshWith(h, rt2.RefreshToken), 400, "", bodyBadRefresh)
	})
}

func TestRefreshNoGraceMakesAnySecondUseReuse(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.NoGrace = true })
	rt1 := mustTokens(t, login(h, johnName, johnPassword))
	rt2 := mustTokens(t, refreshWith(h, rt1.RefreshToken))
	checkResponse(t, refreshWith(h, rt1.RefreshToken), 400, "", bodyBadRefresh)
	checkResponse(t, refreshWith(h, rt2.RefreshToken), 400, "", bodyBadRefresh)
}

func TestLogoutRetryCompletesAfterAFailedStoreCall(t *testing.T) {
	for _, tc := range []struct {
		op      string
		applied bool
	}{
		{"RevokeFamily", false},
		{"RevokeFamily", true},
		{"RevokeToken", false},
		{"RevokeToken", true},
	} {
		t.Run(fmt.Sprintf("%s/applied=%v", tc.op, tc.applied), func(t *testing.T) {
			f := newFixture(t)
			h, mw := f.faultyHandler(t, &faultyStore{op: tc.op, applied: tc.applied}, nil)
			pair := mustTokens(t, login(h, johnName, johnPassword))
			logout := func() *httptest.ResponseRecorder {
				return send(h.LogoutHandler(), http.MethodPost, "/logout", "refresh_token="+pair.RefreshToken, pair.AccessToken)
			}
			checkResponse(t, logout(), 503, "", bodyStoreDown)
			if tc.op == "RevokeToken" || tc.applied {
				// The family went first: the half-done logout already
				// ended the session, access token included.
				checkResponse(t, refreshWith(h, pair.RefreshToken), 400, "", bodyBadRefresh)
				checkResponse(t, get(mw, "/", "Bearer "+pair.AccessToken), 401, challengeInvalid, bodyInvalidToken)
			}
			checkResponse(t, logout(), 200, "", `{"detail":"Logged out"}`+"\n")
			checkResponse(t, refreshWith(h, pair.RefreshToken), 400, "", bodyBadRefresh)
			checkResponse(t, get(mw, "/", "Bearer "+pair.AccessToken), 401, challengeInvalid, bodyInvalidToken)
		})
	}
}

func TestRefreshOverTheSessionLimitGets429AndKeepsTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
			c.RefreshLimit = authserver.RefreshLimit{Burst: 2, Every: 10 * time.Second}
		})
		other := mustTokens(t, login(h, johnName, johnPassword))
		rt := mustTokens(t, login(h, johnName, johnPassword))
		rt = mustTokens(t, refreshWith(h, rt.RefreshToken))
		rt = mustTokens(t, refreshWith(h, rt.RefreshToken))
		rec := refreshWith(h, rt.RefreshToken)
		checkResponse(t, rec, 429, "", `{"detail":"Too many refreshes","error":"slow_down","error_description":"too many refreshes for this session; retry later"}`+"\n")
		if got := rec.Header().Get("Retry-After"); got != "10" {
			t.Errorf("Retry-After = %q, want 10", got)
		}
		// Another session of the same user has its own budget.
		mustTokens(t, refreshWith(h, other.RefreshToken))
		// The refused refresh consumed nothing: after the wait the same
		// token rotates.
		time.Sleep(10 * time.Second)
		mustTokens(t, refreshWith(h, rt.RefreshToken))
	})
}

func TestRefreshLimitConfig(t *testing.T) {
	f := newFixture(t)
	for _, l := range []authserver.RefreshLimit{{Burst: -1}, {Every: -time.Second}} {
		cfg := authserver.TokenHandlerConfig{Users: f.store, Issuer: f.issuer, Verifier: f.verifier, RefreshLimit: l}
		if _, err := authserver.NewTokenHandler(cfg); !errors.Is(err, authserver.ErrConfig) {
			t.Errorf("RefreshLimit %+v: %v, want ErrConfig", l, err)
		}
	}
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.RefreshLimit.Off = true })
	rt := mustTokens(t, login(h, johnName, johnPassword))
	for range 3 * authserver.DefaultRefreshBurst {
		rt = mustTokens(t, refreshWith(h, rt.RefreshToken))
	}
}
