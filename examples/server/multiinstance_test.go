package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/internal/testenv"
)

// instance is one example-server process.
type instance struct {
	base string
	cmd  *exec.Cmd
}

var listenRE = regexp.MustCompile(`addr=(http://[0-9.:]+)`)

func startInstance(t *testing.T, bin string, args []string, env []string) *instance {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case base, ok := <-found:
		if !ok {
			t.Fatal("server exited before listening")
		}
		return &instance{base: base, cmd: cmd}
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start within 60 s")
	}
	return nil
}

type tokenPair struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	Error   string `json:"error"`
}

func postForm(t *testing.T, u string, form url.Values, bearer string) (int, tokenPair) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var p tokenPair
	_ = json.Unmarshal(body, &p)
	return resp.StatusCode, p
}

func getMe(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestTwoInstances_R15 runs two example-server processes on one PostgreSQL
// and one Redis: a session started on one is refreshed and ended on the
// other, and refresh-token reuse on either ends the session on both.
func TestTwoInstances_R15(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts two server processes")
	}
	pgURL := testenv.PostgresURL(t)
	redisURL := testenv.RedisURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	schema := "jwtkit_e2e_" + hex.EncodeToString(suffix)
	prefix := "jwtkit-e2e-" + hex.EncodeToString(suffix)
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		testenv.SkipOrFail(t, "PostgreSQL at %s: %v", pgURL, err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() {
		bg := context.Background()
		iter := rdb.Scan(bg, 0, prefix+"*", 200).Iterator()
		for iter.Next(bg) {
			rdb.Del(bg, iter.Val())
		}
		_ = rdb.Close()
	})

	bin := filepath.Join(t.TempDir(), "server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := []string{"-addr", "127.0.0.1:0", "-issuer", "http://jwtkit.test", "-store", "postgres",
		"-postgres", pgURL, "-postgres-schema", schema, "-redis", redisURL, "-redis-prefix", prefix}
	env := []string{"JWT_SECRET=" + strings.Repeat("0123456789abcdef", 3)}
	a := startInstance(t, bin, args, env)
	b := startInstance(t, bin, args, env)

	// Login on A, refresh on B, logout on A: refused on B.
	st, p1 := postForm(t, a.base+"/token", url.Values{"username": {"johndoe"}, "password": {"secret"}}, "")
	if st != http.StatusOK || p1.Access == "" || p1.Refresh == "" {
		t.Fatalf("login on A: %d %+v", st, p1)
	}
	if st := getMe(t, b.base, p1.Access); st != http.StatusOK {
		t.Fatalf("A's access token on B: %d", st)
	}
	st, p2 := postForm(t, b.base+"/refresh", url.Values{"refresh_token": {p1.Refresh}}, "")
	if st != http.StatusOK || p2.Refresh == "" || p2.Refresh == p1.Refresh {
		t.Fatalf("refresh on B: %d %+v", st, p2)
	}
	if st, _ := postForm(t, a.base+"/logout", url.Values{}, p2.Access); st != http.StatusOK {
		t.Fatalf("logout on A: %d", st)
	}
	if st := getMe(t, b.base, p2.Access); st != http.StatusUnauthorized {
		t.Fatalf("logged-out access token on B: %d, want 401", st)
	}
	if st, p := postForm(t, b.base+"/refresh", url.Values{"refresh_token": {p2.Refresh}}, ""); st != http.StatusBadRequest || p.Error != "invalid_grant" {
		t.Fatalf("logged-out refresh token on B: %d %+v, want 400 invalid_grant", st, p)
	}

	// Reuse: a new session, rotated on B, then the old refresh token
	// replayed on A ends the session on both instances.
	_, s1 := postForm(t, a.base+"/token", url.Values{"username": {"johndoe"}, "password": {"secret"}}, "")
	if s1.Refresh == "" {
		t.Fatal("second login failed")
	}
	_, s2 := postForm(t, b.base+"/refresh", url.Values{"refresh_token": {s1.Refresh}}, "")
	if s2.Refresh == "" {
		t.Fatal("rotation on B failed")
	}
	// The client moves on with s2 (on A): from now on s1 is a replay, not
	// a retry of a lost response.
	_, s2 = postForm(t, a.base+"/refresh", url.Values{"refresh_token": {s2.Refresh}}, "")
	if s2.Refresh == "" {
		t.Fatal("rotation on A failed")
	}
	if st, p := postForm(t, a.base+"/refresh", url.Values{"refresh_token": {s1.Refresh}}, ""); st != http.StatusBadRequest || p.Error != "invalid_grant" {
		t.Fatalf("replayed refresh token on A: %d %+v", st, p)
	}
	if st, p := postForm(t, b.base+"/refresh", url.Values{"refresh_token": {s2.Refresh}}, ""); st != http.StatusBadRequest || p.Error != "invalid_grant" {
		t.Fatalf("successor after reuse on B: %d %+v, want invalid_grant", st, p)
	}
	for name, base := range map[string]string{"A": a.base, "B": b.base} {
		if st := getMe(t, base, s2.Access); st != http.StatusUnauthorized {
			t.Fatalf("access token of the reused session on %s: %d, want 401", name, st)
		}
	}
}
