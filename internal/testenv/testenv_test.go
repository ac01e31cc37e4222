package testenv

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestMustFail(t *testing.T) {
	cases := []struct {
		ci   string
		want bool
	}{
		{"true", true},
		{"TRUE", true},
		{"True", true},
		{"1", true},
		{" true\n", true},
		{"", false},
		{"false", false},
		{"0", false},
		{"yes", false},
		{"no", false},
	}
	for _, tc := range cases {
		if got := mustFail(tc.ci); got != tc.want {
			t.Errorf("mustFail(%q) = %v, want %v", tc.ci, got, tc.want)
		}
	}
}

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestSkipOrFail(t *testing.T) {
	cases := []struct {
		ci       string
		wantFail bool
	}{
		{"", false},
		{"false", false},
		{"true", true},
		{"1", true},
	}
	for _, tc := range cases {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv(CIEnv, tc.ci)
			r := &recorder{TB: t}
			SkipOrFail(r, "no server; set %s", PostgresEnv)
			got, other := r.skipped, r.failed
			if tc.wantFail {
				got, other = r.failed, r.skipped
			}
			if got == "" || other != "" {
				t.Fatalf("skipped=%q failed=%q; want only %s", r.skipped, r.failed, map[bool]string{true: "a failure", false: "a skip"}[tc.wantFail])
			}
			if !strings.Contains(got, PostgresEnv) || !strings.Contains(got, CIEnv) {
				t.Errorf("message %q should name %s and %s", got, PostgresEnv, CIEnv)
			}
		})
	}
}

func TestReachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := Reachable(l.Addr().String(), time.Second); err != nil {
		t.Errorf("Reachable(listening %s): %v", l.Addr(), err)
	}
	if err := Reachable(ClosedAddr(t), time.Second); err == nil {
		t.Error("Reachable(closed port) = nil, want an error")
	}
}

func TestSilentServer(t *testing.T) {
	addr := SilentServer(t)
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dialling the silent server: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatalf("writing to the silent server: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var ne net.Error
	if n, err := conn.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read from the silent server = %d bytes, %v; want a timeout", n, err)
	}
}

func TestURLFromEnvironment(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	up := "postgres://u@" + l.Addr().String() + "/db?sslmode=disable"
	down := "redis://" + ClosedAddr(t) + "/0"

	cases := []struct {
		name     string
		get      func(testing.TB) string
		env, val string
		ci       string
		want     string
		skip     bool
		fail     bool
	}{
		{"PostgresReachable", PostgresURL, PostgresEnv, up, "true", up, false, false},
		{"RedisUnreachableLocal", RedisURL, RedisEnv, down, "", down, true, false},
		{"RedisUnreachableCI", RedisURL, RedisEnv, down, "true", down, false, true},
		{"PostgresKeywordDSN", PostgresURL, PostgresEnv, "host=x port=1", "true", "host=x port=1", false, false},
		{"RedisBadURL", RedisURL, RedisEnv, "redis://[::1", "", "redis://[::1", true, false},
		{"PostgresUnixSocket", PostgresURL, PostgresEnv, "postgres:///db?host=/run/postgresql", "true", "postgres:///db?host=/run/postgresql", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, tc.val)
			t.Setenv(CIEnv, tc.ci)
			r := &recorder{TB: t}
			if got := tc.get(r); got != tc.want {
				t.Errorf("URL = %q, want %q", got, tc.want)
			}
			if (r.skipped != "") != tc.skip || (r.failed != "") != tc.fail {
				t.Fatalf("skipped=%q failed=%q; want skip=%v fail=%v", r.skipped, r.failed, tc.skip, tc.fail)
			}
			if msg := r.skipped + r.failed; msg != "" && !strings.Contains(msg, tc.env) {
				t.Errorf("message %q does not name %s", msg, tc.env)
			}
		})
	}
}

func TestHostPort(t *testing.T) {
	for _, tc := range []struct{ raw, port, want string }{
		{DefaultPostgresURL, "5432", "127.0.0.1:5432"},
		{DefaultRedisURL, "6379", "127.0.0.1:6379"},
		{"redis://localhost/0", "6379", "localhost:6379"},
		{"rediss://[::1]:7000", "6379", "[::1]:7000"},
		{"host=db port=5432", "5432", ""},
		{"postgres:///db?host=/run/postgresql", "5432", ""},
	} {
		got, err := hostPort(tc.raw, tc.port)
		if err != nil || got != tc.want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

func TestRedisClusterAddrs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	up := l.Addr().String()
	cases := []struct {
		name, env string
		want      []string
		wantStop  string // the start of the skip or failure message
	}{
		{"two up", up + ", " + up, []string{up, up}, ""},
		{"one down", up + "," + ClosedAddr(t), nil, "Redis Cluster node"},
		{"no port", "127.0.0.1", nil, "$" + RedisClusterEnv},
		{"only commas", ",,", nil, "$" + RedisClusterEnv},
	}
	for _, tc := range cases {
		for _, ci := range []string{"", "true"} {
			t.Run(tc.name+"/CI="+ci, func(t *testing.T) {
				t.Setenv(RedisClusterEnv, tc.env)
				t.Setenv(CIEnv, ci)
				r := &recorder{TB: t}
				got := RedisClusterAddrs(r)
				msg := r.skipped
				if ci != "" {
					msg = r.failed
				}
				if tc.wantStop == "" {
					if r.skipped != "" || r.failed != "" || fmt.Sprint(got) != fmt.Sprint(tc.want) {
						t.Fatalf("RedisClusterAddrs = %q (skipped=%q failed=%q), want %q", got, r.skipped, r.failed, tc.want)
					}
					return
				}
				if got != nil || !strings.HasPrefix(msg, tc.wantStop) || !strings.Contains(msg, RedisClusterEnv) {
					t.Fatalf("RedisClusterAddrs = %q, skipped=%q failed=%q; want a stop starting %q naming %s",
						got, r.skipped, r.failed, tc.wantStop, RedisClusterEnv)
				}
			})
		}
	}
}
