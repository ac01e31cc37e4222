package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// prompt bounds how long a call with a dead context may take. It is a
// liveness bound (a call must not hang), not a performance measure.
const prompt = 5 * time.Second

// ctxOp is one store method prepared for a cancellation test.
type ctxOp struct {
	name string
	call func(ctx context.Context) error
	// unchanged, when set, checks through c that a call refused before it
	// started changed nothing.
	unchanged func(c *fixture)
}

// testCancellation covers R-17: every method honours its context.
func (st *suite) testCancellation(t *testing.T) {
	cases := []struct {
		name string
		ctx  func(parent context.Context) (context.Context, context.CancelFunc)
		// want is the context error the call must wrap; nil: the call may
		// succeed, and an error must wrap store.ErrUnavailable.
		want error
	}{
		{"R17_AlreadyCancelled", func(p context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(p)
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"R17_DeadlineExpired", func(p context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithTimeout(p, time.Millisecond)
			<-ctx.Done()
			return ctx, cancel
		}, context.DeadlineExceeded},
		{"R17_OneMillisecondDeadline", func(p context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(p, time.Millisecond)
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx := st.open(t)
			ops := fx.ctxOps()
			if len(ops) == 0 {
				t.Skip("storetest: backend provides no stores")
			}
			for _, op := range ops {
				t.Run(op.name, func(t *testing.T) {
					ctx, cancel := tc.ctx(t.Context())
					defer cancel()
					start := time.Now()
					err := op.call(ctx)
					if d := time.Since(start); d > prompt {
						t.Errorf("returned after %v, want promptly (under %v)", d, prompt)
					}
					if tc.want == nil {
						if err != nil && !errors.Is(err, store.ErrUnavailable) {
							t.Errorf("error %v does not wrap store.ErrUnavailable", err)
						}
						return
					}
					if err == nil {
						t.Fatalf("succeeded with a dead context, want an error wrapping %v", tc.want)
					}
					if !errors.Is(err, tc.want) || !errors.Is(err, store.ErrUnavailable) {
						t.Errorf("error %v, want it to wrap both %v and store.ErrUnavailable", err, tc.want)
					}
					if op.unchanged != nil {
						op.unchanged(&fixture{t: t, s: fx.s, base: fx.base})
					}
				})
			}
		})
	}
}

// ctxOps prepares one call of every method the stores provide, each with
// valid arguments that would succeed with a live context.
func (fx *fixture) ctxOps() []ctxOp {
	fx.t.Helper()
	s := fx.s
	var ops []ctxOp
	if s.has(capUsers) {
		u := fx.sampleUser("ctx")
		fx.createUser(u)
		fresh := fx.sampleUser("ctxnew")
		ops = append(ops,
			ctxOp{name: "UserByUsername", call: func(ctx context.Context) error {
				_, err := s.Users.UserByUsername(ctx, u.Username)
				return err
			}},
			ctxOp{name: "UserByID", call: func(ctx context.Context) error {
				_, err := s.Users.UserByID(ctx, u.ID)
				return err
			}},
			ctxOp{name: "CreateUser", call: func(ctx context.Context) error {
				return s.UserWriter.CreateUser(ctx, fresh)
			}, unchanged: func(c *fixture) {
				if _, err := s.Users.UserByID(c.ctx(), fresh.ID); !errors.Is(err, store.ErrNotFound) {
					c.t.Errorf("user created despite the dead context: %v", err)
				}
			}},
			ctxOp{name: "SetPasswordHash", call: func(ctx context.Context) error {
				return s.UserWriter.SetPasswordHash(ctx, u.ID, "changed")
			}, unchanged: func(c *fixture) {
				got, err := s.Users.UserByID(c.ctx(), u.ID)
				if err != nil || got.PasswordHash != u.PasswordHash {
					c.t.Errorf("hash after a refused SetPasswordHash = %q, %v; want %q", got.PasswordHash, err, u.PasswordHash)
				}
			}},
			ctxOp{name: "CompareAndSwapPasswordHash", call: func(ctx context.Context) error {
				_, err := s.UserWriter.CompareAndSwapPasswordHash(ctx, u.ID, u.PasswordHash, "changed")
				return err
			}, unchanged: func(c *fixture) {
				got, err := s.Users.UserByID(c.ctx(), u.ID)
				if err != nil || got.PasswordHash != u.PasswordHash {
					c.t.Errorf("hash after a refused CompareAndSwapPasswordHash = %q, %v; want %q", got.PasswordHash, err, u.PasswordHash)
				}
			}},
		)
	}
	if s.has(capRefresh) {
		_, rt := fx.defaultFamily()
		_, other := fx.defaultFamily()
		f := store.Family{ID: newID("fam"), Subject: newID("sub"), CreatedAt: fx.base, ExpiresAt: fx.at(time.Hour)}
		first := store.RefreshToken{ID: newTokenID(), FamilyID: f.ID, Subject: f.Subject, IssuedAt: fx.base, ExpiresAt: fx.at(time.Hour)}
		ops = append(ops,
			ctxOp{name: "CreateFamily", call: func(ctx context.Context) error {
				return s.Refresh.CreateFamily(ctx, f, first)
			}, unchanged: func(c *fixture) {
				if _, err := c.rotate(first, c.at(time.Second), 0); !errors.Is(err, store.ErrNotFound) {
					c.t.Errorf("family created despite the dead context: %v", err)
				}
			}},
			ctxOp{name: "Rotate", call: func(ctx context.Context) error {
				_, err := s.Refresh.Rotate(ctx, rotation(rt, fx.at(time.Second), 0))
				return err
			}, unchanged: func(c *fixture) {
				c.mustRotate(rt, c.at(2*time.Second))
			}},
			ctxOp{name: "RevokeFamily", call: func(ctx context.Context) error {
				return s.Refresh.RevokeFamily(ctx, other.Subject, other.FamilyID)
			}, unchanged: func(c *fixture) {
				c.mustRotate(other, c.at(2*time.Second))
			}},
		)
	}
	if s.has(capRevocations) {
		ref := store.TokenRef{ID: newID("jti"), Subject: newID("sub"), IssuedAt: fx.at(-time.Minute).Truncate(time.Second)}
		ops = append(ops,
			ctxOp{name: "RevokeToken", call: func(ctx context.Context) error {
				return s.Revocations.RevokeToken(ctx, ref, fx.at(time.Hour))
			}, unchanged: func(c *fixture) { c.wantRevoked(ref, false) }},
			ctxOp{name: "RevokeSubject", call: func(ctx context.Context) error {
				return s.Revocations.RevokeSubject(ctx, ref.Subject, fx.base, time.Hour)
			}, unchanged: func(c *fixture) { c.wantRevoked(ref, false) }},
			ctxOp{name: "IsRevoked", call: func(ctx context.Context) error {
				_, err := s.Revocations.IsRevoked(ctx, ref)
				return err
			}},
		)
	}
	if s.has(capSweeper) {
		op := ctxOp{name: "Sweep", call: func(ctx context.Context) error {
			_, err := s.Sweeper.Sweep(ctx, fx.at(time.Minute), 0)
			return err
		}}
		if s.has(capRevocations) {
			expired := store.TokenRef{ID: newID("jti"), Subject: newID("sub"), IssuedAt: fx.base}
			fx.revokeToken(expired, fx.at(time.Second))
			op.unchanged = func(c *fixture) { c.wantRevoked(expired, true) }
		}
		ops = append(ops, op)
	}
	return ops
}
