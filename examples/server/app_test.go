package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestNewAppFailureLeavesNothingRunning: a configuration that fails after
// the stores are open (here an unparsable Redis URL) returns an error and
// leaves no background work behind, and a working app's Close stops its
// sweeper.
func TestNewAppFailureLeavesNothingRunning(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := config{alg: "HS256", store: "memory", secret: e2eKey, issuer: "http://127.0.0.1:8000"}
	settle := func() int {
		// Goroutines that were asked to stop may still be leaving.
		n := runtime.NumGoroutine()
		for i := 0; i < 50; i++ {
			time.Sleep(10 * time.Millisecond)
			if m := runtime.NumGoroutine(); m == n {
				return m
			} else {
				n = m
			}
		}
		return n
	}
	before := settle()

	bad := base
	bad.redisURL = "not a url"
	for i := 0; i < 20; i++ {
		if a, err := newApp(context.Background(), bad, logger); err == nil {
			a.Close()
			t.Fatal("newApp accepted an unparsable Redis URL")
		}
	}
	for i := 0; i < 3; i++ { // each seeds the demo users with bcrypt
		a, err := newApp(context.Background(), base, logger)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
	}
	if after := settle(); after > before+2 {
		t.Errorf("%d goroutines before, %d after 20 failed and 3 closed apps", before, after)
	}
}

// TestLoadKeys: an asymmetric key is generated into a missing -key file
// (mode 0600) and loaded from it afterwards under the same kid, which the
// server publishes, so instances sharing the file share the kid.
func TestLoadKeys(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	path := filepath.Join(t.TempDir(), "es256.pem")
	cfg := config{alg: "ES256", keyFile: path, store: "memory", issuer: "http://127.0.0.1:8000"}
	first, err := loadKeys(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	written, _ := os.ReadFile(path)
	second, err := loadKeys(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	kid := first.Active().ID()
	if kid != first.Active().Thumbprint() || second.Active().ID() != kid || !second.Active().CanSign() {
		t.Fatalf("kids %q then %q", kid, second.Active().ID())
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, written) {
		t.Fatal("loading the key rewrote its file")
	}
	if ephemeral, err := loadKeys(config{alg: "EdDSA"}, logger); err != nil || ephemeral.Active().ID() == "" {
		t.Fatalf("ephemeral key: %v", err)
	}

	a, err := newApp(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"kid":"`+kid+`"`) {
		t.Fatalf("JWKS: %d %s", rec.Code, rec.Body)
	}
}

// TestNewAppRefusesBadConfig: each mistake is reported before anything is
// served.
func TestNewAppRefusesBadConfig(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	base := config{alg: "HS256", store: "memory", secret: e2eKey, issuer: "http://127.0.0.1:8000"}
	for _, tc := range []struct {
		name, want string
		edit       func(*config)
	}{
		{"-key with HS256", "JWT_SECRET", func(c *config) { c.keyFile = "key.pem" }},
		{"unknown alg", "unsupported -alg", func(c *config) { c.alg = "none" }},
		{"unknown store", "unknown store", func(c *config) { c.store = "mongo" }},
		{"postgres without URL", "needs -postgres", func(c *config) { c.store = "postgres" }},
		{"unreadable key file", "signing key", func(c *config) { c.alg, c.keyFile = "RS256", t.TempDir() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			a, err := newApp(t.Context(), cfg, logger)
			if err == nil {
				a.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
