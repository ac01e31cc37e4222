package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// Call is one method call of a backend, for [Unavailable]: Do makes the
// call with ctx and returns its error.
type Call struct {
	Name string
	Do   func(ctx context.Context) error
}

// Unavailable checks that a backend which cannot answer fails closed
// . s must be handles on a backend that is down: a closed port, a
// server that never answers, a closed client. Unavailable calls every
// method of every role in s once with valid arguments, then the extra
// calls (for methods outside the store interfaces, such as a migration),
// each with a context that ends after deadline. It fails t unless every
// call returns, within deadline plus a second, an error wrapping
// [store.ErrUnavailable] and, when ctxErr is not nil, ctxErr; an IsRevoked
// answering "not revoked" without an error fails too. s.Reopen is not
// used.
//
// It returns each call's error by name, for checks of the backend's own.
func Unavailable(t *testing.T, s Stores, deadline time.Duration, ctxErr error, extra ...Call) map[string]error {
	t.Helper()
	errs := make(map[string]error)
	for _, c := range append(downCalls(s), extra...) {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		start := time.Now()
		err := c.Do(ctx)
		elapsed := time.Since(start)
		cancel()
		errs[c.Name] = err
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: %v, want an error wrapping store.ErrUnavailable", c.Name, err)
		}
		if ctxErr != nil && !errors.Is(err, ctxErr) {
			t.Errorf("%s: %v, want it to wrap %v", c.Name, err, ctxErr)
		}
		if elapsed > deadline+time.Second {
			t.Errorf("%s returned after %v, want within the %v deadline", c.Name, elapsed, deadline)
		}
	}
	return errs
}

// downCalls prepares one call of every method the stores provide. Nothing
// is stored beforehand: the backend is expected not to answer.
func downCalls(s Stores) []Call {
	now := time.Now()
	f := store.Family{ID: "fam", Subject: "sub", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	tok := store.RefreshToken{ID: "tok", FamilyID: "fam", Subject: "sub", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	ref := store.TokenRef{ID: "jti", Subject: "sub", FamilyID: "fam", IssuedAt: now}
	var calls []Call
	if s.Users != nil {
		calls = append(calls,
			Call{"UserByUsername", func(ctx context.Context) error { _, err := s.Users.UserByUsername(ctx, "u"); return err }},
			Call{"UserByID", func(ctx context.Context) error { _, err := s.Users.UserByID(ctx, "u"); return err }},
		)
	}
	if s.UserWriter != nil {
		calls = append(calls,
			Call{"CreateUser", func(ctx context.Context) error {
				return s.UserWriter.CreateUser(ctx, store.User{ID: "u", Username: "u", PasswordHash: "h"})
			}},
			Call{"SetPasswordHash", func(ctx context.Context) error { return s.UserWriter.SetPasswordHash(ctx, "u", "h") }},
			Call{"CompareAndSwapPasswordHash", func(ctx context.Context) error {
				_, err := s.UserWriter.CompareAndSwapPasswordHash(ctx, "u", "h", "h2")
				return err
			}},
		)
	}
	if s.Refresh != nil {
		calls = append(calls,
			Call{"CreateFamily", func(ctx context.Context) error { return s.Refresh.CreateFamily(ctx, f, tok) }},
			Call{"Rotate", func(ctx context.Context) error {
				next := tok
				next.ID = "tok2"
				_, err := s.Refresh.Rotate(ctx, store.Rotation{PresentedID: tok.ID, Subject: f.Subject, FamilyID: f.ID, Next: next, Now: now})
				return err
			}},
			Call{"RevokeFamily", func(ctx context.Context) error { return s.Refresh.RevokeFamily(ctx, f.Subject, f.ID) }},
		)
	}
	if s.Revocations != nil {
		calls = append(calls,
			Call{"RevokeToken", func(ctx context.Context) error { return s.Revocations.RevokeToken(ctx, ref, now.Add(time.Hour)) }},
			Call{"RevokeSubject", func(ctx context.Context) error {
				return s.Revocations.RevokeSubject(ctx, ref.Subject, now, time.Hour)
			}},
			Call{"IsRevoked", func(ctx context.Context) error {
				revoked, err := s.Revocations.IsRevoked(ctx, ref)
				if err == nil && !revoked {
					return errors.New("IsRevoked answered false without error")
				}
				return err
			}},
		)
	}
	if s.Sweeper != nil {
		calls = append(calls, Call{"Sweep", func(ctx context.Context) error { _, err := s.Sweeper.Sweep(ctx, now, 0); return err }})
	}
	return calls
}
