// Package testenv locates the database servers that backend tests run
// against, and decides what a test does when one is missing.
//
// Locally, a missing server skips the test with a message naming the
// environment variable to set. Under CI (CI=true or CI=1) it fails the
// test instead, so that a pipeline cannot go green by skipping every
// backend test.
//
// The package uses only the standard library, so importing it drags in no
// database driver.
package testenv

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables read by this package.
const (
	// PostgresEnv holds the PostgreSQL connection URL for tests.
	PostgresEnv = "JWTKIT_POSTGRES_URL"
	// RedisEnv holds the Redis connection URL for tests.
	RedisEnv = "JWTKIT_REDIS_URL"
	// CIEnv marks a CI run when set to "true" or "1".
	CIEnv = "CI"
)

// Defaults used when the environment variables are unset: local servers
// on their standard ports, PostgreSQL with trust authentication.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// DialTimeout bounds the reachability check of [PostgresURL] and
// [RedisURL].
const DialTimeout = 2 * time.Second

// PostgresURL returns the PostgreSQL URL from $JWTKIT_POSTGRES_URL, or
// [DefaultPostgresURL] when it is unset. If the server does not accept TCP
// connections it calls [SkipOrFail]. It checks reachability only, not
// credentials or the database name.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return serverURL(t, PostgresEnv, DefaultPostgresURL, "5432")
}

// RedisURL returns the Redis URL from $JWTKIT_REDIS_URL, or
// [DefaultRedisURL] when it is unset. If the server does not accept TCP
// connections it calls [SkipOrFail].
func RedisURL(t testing.TB) string {
	t.Helper()
	return serverURL(t, RedisEnv, DefaultRedisURL, "6379")
}

// serverURL implements PostgresURL and RedisURL.
func serverURL(t testing.TB, env, def, defaultPort string) string {
	t.Helper()
	raw := os.Getenv(env)
	source := "$" + env
	if raw == "" {
		raw, source = def, "the default "+env
	}
	addr, err := hostPort(raw, defaultPort)
	if err != nil {
		SkipOrFail(t, "%s: %v; set %s to a valid URL", source, err, env)
		return raw
	}
	if addr == "" { // no TCP host to check: let the driver try
		return raw
	}
	if err := Reachable(addr, DialTimeout); err != nil {
		SkipOrFail(t, "server from %s is unreachable: %v; start it or set %s", source, err, env)
	}
	return raw
}

// hostPort extracts host:port from a URL, filling in defaultPort. It
// returns "" when raw names no TCP host: a Unix socket, or a keyword/value
// DSN ("host=… port=…") that only the driver understands.
func hostPort(raw, defaultPort string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	host := u.Hostname()
	if host == "" || strings.HasPrefix(host, "/") {
		return "", nil
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	return net.JoinHostPort(host, port), nil
}

// Reachable reports whether a TCP connection to addr (host:port) can be
// opened within timeout; the connection is closed at once.
func Reachable(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	return conn.Close()
}

// ClosedAddr returns a loopback host:port on which nothing listens, for
// tests of a backend that refuses connections.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// SilentServer returns the loopback host:port of a server that accepts
// connections and never answers, for tests of a backend that hangs. It is
// stopped, and its connections closed, when t ends.
func SilentServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// SkipOrFail stops the test because a prerequisite is missing. Under CI
// (see [CIEnv]) it calls t.Fatalf, so the run fails; otherwise it calls
// t.Skipf. The message should name the environment variable that fixes it.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if mustFail(os.Getenv(CIEnv)) {
		t.Fatalf("%s (%s=%s: failing instead of skipping)", msg, CIEnv, os.Getenv(CIEnv))
		return
	}
	t.Skipf("%s (skipped; with %s=true this fails)", msg, CIEnv)
}

// mustFail reports whether the value of $CI asks missing prerequisites to
// fail the test.
func mustFail(ci string) bool {
	ci = strings.TrimSpace(ci)
	return ci == "1" || strings.EqualFold(ci, "true")
}
