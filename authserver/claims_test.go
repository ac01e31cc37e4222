package authserver_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/store"
)

// countingRefresh counts the families a token handler creates.
type countingRefresh struct {
	store.RefreshTokens
	created atomic.Int64
}

func (c *countingRefresh) CreateFamily(ctx context.Context, f store.Family, first store.RefreshToken) error {
	c.created.Add(1)
	return c.RefreshTokens.CreateFamily(ctx, f, first)
}

// TestClaimsHookAddsClaimsAndFollowsTheUser: the hook's claims are in the
// access token at login, and a change it sees applies from the next
// refresh; the refresh token carries none of them.
func TestClaimsHookAddsClaimsAndFollowsTheUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	role := "editor"
	var seen []string
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Claims = func(_ context.Context, u store.User, scopes []string) (map[string]any, error) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, u.ID+" "+strings.Join(scopes, ","))
			return map[string]any{"role": role, "tenant_id": 7}, nil
		}
	})
	type custom struct {
		Role     string `json:"role"`
		TenantID int    `json:"tenant_id"`
	}
	readAccess := func(raw string) custom {
		t.Helper()
		c, err := f.verifier.VerifyAccess(t.Context(), raw)
		if err != nil {
			t.Fatal(err)
		}
		var got custom
		if err := c.Decode(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}

	pair := mustTokens(t, login(h, johnName, johnPassword))
	if got := readAccess(pair.AccessToken); got != (custom{"editor", 7}) {
		t.Fatalf("login: custom claims %+v", got)
	}
	rc, err := f.verifier.VerifyRefresh(t.Context(), pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	var inRefresh custom
	if err := rc.Decode(&inRefresh); err != nil || inRefresh != (custom{}) {
		t.Fatalf("refresh token carries custom claims: %+v %v", inRefresh, err)
	}

	mu.Lock()
	role = "viewer"
	mu.Unlock()
	next := mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken))
	if got := readAccess(next.AccessToken); got != (custom{"viewer", 7}) {
		t.Fatalf("after the role change: custom claims %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{johnID + " read,items", johnID + " read,items"}; strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("hook calls %q, want %q", seen, want)
	}
}

// TestClaimsHookFailuresIssueAndStoreNothing: a reserved claim name, a
// value that cannot be encoded and an error from the hook each fail the
// grant with 503, before a family is created or a rotation applied.
func TestClaimsHookFailuresIssueAndStoreNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		hook  func() (map[string]any, error)
		cause error
	}{
		{"reserved sub", func() (map[string]any, error) { return map[string]any{"sub": "admin"}, nil }, authserver.ErrReservedClaim},
		{"reserved scope in upper case", func() (map[string]any, error) { return map[string]any{"SCOPE": "admin"}, nil }, authserver.ErrReservedClaim},
		{"reserved sid", func() (map[string]any, error) { return map[string]any{"sid": "x"}, nil }, authserver.ErrReservedClaim},
		{"value does not encode", func() (map[string]any, error) { return map[string]any{"f": func() {}}, nil }, authserver.ErrCustomClaims},
		{"hook error", func() (map[string]any, error) { return nil, errors.New("roles table down") }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			refresh := &countingRefresh{RefreshTokens: f.store}
			var fail atomic.Bool
			logs := &syncBuffer{}
			h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
				c.Refresh = refresh
				c.Logger = slog.New(slog.NewTextHandler(logs, nil))
				c.Claims = func(context.Context, store.User, []string) (map[string]any, error) {
					if fail.Load() {
						return tc.hook()
					}
					return nil, nil
				}
			})
			pair := mustTokens(t, login(h, johnName, johnPassword))

			fail.Store(true)
			rec := login(h, johnName, johnPassword)
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "temporarily_unavailable") {
				t.Fatalf("login: %d %s", rec.Code, rec.Body.String())
			}
			if n := refresh.created.Load(); n != 1 {
				t.Fatalf("%d families created, want only the first login's", n)
			}
			rec = postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken)
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("refresh: %d %s", rec.Code, rec.Body.String())
			}
			if tc.cause != nil && !strings.Contains(logs.String(), tc.cause.Error()) {
				t.Errorf("log does not name the cause %q:\n%s", tc.cause, logs.String())
			}

			// The failed refresh applied no rotation: once the hook works
			// again, the same refresh token still rotates.
			fail.Store(false)
			mustTokens(t, postForm(h, "/token", "grant_type=refresh_token&refresh_token="+pair.RefreshToken))
		})
	}
}
