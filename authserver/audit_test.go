package authserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
)

func TestRemoteAddr(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.1:5678", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"no-port", "no-port"},
		{"", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if got := authserver.RemoteAddr(r); got != tc.want {
			t.Errorf("RemoteAddr(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}

// TestTrustedProxyAddr: a client can only choose the address a trusted
// proxy reports for it, never by sending the header itself.
func TestTrustedProxyAddr(t *testing.T) {
	addr := authserver.TrustedProxyAddr("X-Forwarded-For",
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer, header ignored", "203.0.113.9:1000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer, no header", "203.0.113.9:1000", nil, "203.0.113.9"},
		{"trusted peer, one hop", "10.0.0.1:1000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-chosen prefix is skipped", "10.0.0.1:1000", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"trusted hops are skipped", "10.0.0.1:1000", []string{"6.6.6.6, 198.51.100.1, 10.0.0.7"}, "198.51.100.1"},
		{"several header lines", "10.0.0.1:1000", []string{"6.6.6.6", "198.51.100.1"}, "198.51.100.1"},
		{"empty elements", "10.0.0.1:1000", []string{"198.51.100.1, , "}, "198.51.100.1"},
		{"garbage hop falls back to the peer", "10.0.0.1:1000", []string{"6.6.6.6, garbage"}, "10.0.0.1"},
		{"hop with a port falls back to the peer", "10.0.0.1:1000", []string{"198.51.100.1:80"}, "10.0.0.1"},
		{"only trusted hops", "10.0.0.1:1000", []string{"10.1.1.1, 10.2.2.2"}, "10.0.0.1"},
		{"trusted peer, no header", "10.0.0.1:1000", nil, "10.0.0.1"},
		{"IPv4-mapped client", "10.0.0.1:1000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"IPv6 loopback proxy", "[::1]:1000", []string{"2001:db8::5"}, "2001:db8::5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := addr(r); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLogAudit(t *testing.T) {
	var buf syncBuffer
	audit := authserver.LogAudit(slogJSON(&buf))
	audit(context.Background(), authserver.AuditEvent{Kind: authserver.AuditLoginFailure, ClientAddr: "192.0.2.1", Reason: "bad_credentials"})
	audit(context.Background(), authserver.AuditEvent{Kind: authserver.AuditLoginSuccess, Subject: "uid-1", FamilyID: "fam-1", ClientAddr: "192.0.2.1"})
	audit(context.Background(), authserver.AuditEvent{Kind: authserver.AuditReuseDetected, Subject: "uid-1", FamilyID: "fam-1"})

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), buf.String())
	}
	want := []map[string]string{
		{"level": "WARN", "event": "login_failure", "client": "192.0.2.1", "reason": "bad_credentials"},
		{"level": "INFO", "event": "login_success", "user_id": "uid-1", "session": "fam-1", "client": "192.0.2.1"},
		{"level": "WARN", "event": "refresh_reuse_detected", "user_id": "uid-1", "session": "fam-1"},
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range want[i] {
			if m[k] != v {
				t.Errorf("line %d: %s = %v, want %q", i+1, k, m[k], v)
			}
		}
		for _, absent := range []string{"user_id", "session", "client", "reason"} {
			if _, ok := want[i][absent]; !ok && m[absent] != nil {
				t.Errorf("line %d: unexpected %s = %v", i+1, absent, m[absent])
			}
		}
	}
}

// stubGuard is a LoginGuard with a fixed answer that records outcomes.
type stubGuard struct {
	wait time.Duration
	err  error

	mu                           sync.Mutex
	checks, fails, oks, releases int
	lastUser, lastAddr           string
	// outcomeCtxErr is the context error seen by the last outcome.
	outcomeCtxErr error
}

func (g *stubGuard) Begin(_ context.Context, l authserver.Login) (*authserver.Attempt, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks++
	g.lastUser, g.lastAddr = l.Username, l.ClientAddr
	switch {
	case g.err != nil:
		return nil, g.err
	case g.wait > 0:
		return nil, &authserver.ThrottledError{RetryAfter: g.wait}
	}
	return authserver.NewAttempt(g.end), nil
}

func (g *stubGuard) end(ctx context.Context, o authserver.Outcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch o {
	case authserver.AttemptFailed:
		g.fails++
	case authserver.AttemptSucceeded:
		g.oks++
	default:
		g.releases++
	}
	g.outcomeCtxErr = ctx.Err()
}

// TestTokenEndpoint_E14_Guard: a throttled login is refused before any
// password work; a guard that cannot answer is an outage.
func TestTokenEndpoint_E14_Guard(t *testing.T) {
	f := newFixture(t)

	t.Run("throttled", func(t *testing.T) {
		g := &stubGuard{wait: 2500 * time.Millisecond}
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Guard = g })
		rec := login(h, "nobody", "x")
		checkResponse(t, rec, 429, "", `{"detail":"Too many attempts","error":"slow_down","error_description":"too many attempts; retry later"}`+"\n")
		if got := rec.Header().Get("Retry-After"); got != "3" {
			t.Errorf("Retry-After = %q, want 3 (rounded up)", got)
		}
		if _, built := dummyHashOf(t, f.hasher); built {
			t.Error("a throttled login did password work")
		}
		if g.checks != 1 || g.fails != 0 || g.oks != 0 || g.lastUser != "nobody" || g.lastAddr != "192.0.2.1" {
			t.Errorf("guard saw checks=%d fails=%d oks=%d user=%q addr=%q", g.checks, g.fails, g.oks, g.lastUser, g.lastAddr)
		}
	})
	t.Run("outcomes are reported", func(t *testing.T) {
		g := &stubGuard{}
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Guard = g })
		login(h, johnName, "wrong")
		mustTokens(t, login(h, johnName, johnPassword))
		if g.checks != 2 || g.fails != 1 || g.oks != 1 || g.releases != 0 {
			t.Errorf("guard saw checks=%d fails=%d oks=%d releases=%d, want 2 1 1 0", g.checks, g.fails, g.oks, g.releases)
		}
	})
	t.Run("an attempt without a comparison is released", func(t *testing.T) {
		g := &stubGuard{}
		users := &switchUsers{Users: f.store}
		users.down.Store(true)
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Guard = g; c.Users = users })
		checkResponse(t, login(h, johnName, johnPassword), 503, "", bodyStoreDown)
		if g.checks != 1 || g.fails != 0 || g.oks != 0 || g.releases != 1 {
			t.Errorf("guard saw checks=%d fails=%d oks=%d releases=%d, want 1 0 0 1", g.checks, g.fails, g.oks, g.releases)
		}
	})
	t.Run("guard down", func(t *testing.T) {
		g := &stubGuard{err: errors.New("redis: connection refused")}
		h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Guard = g })
		rec := login(h, johnName, johnPassword)
		checkResponse(t, rec, 503, "", bodyStoreDown)
		if strings.Contains(rec.Body.String(), "redis") {
			t.Error("guard error text reached the client")
		}
	})
}
