package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/internal/testenv"
)

// TestREADMEWalkthrough runs the curl walk-through of README.md, as
// written there, against this server, and checks what each step shows:
// login, the profile, a refresh, a logout that ends the session, and reuse
// detection ending another.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.SkipOrFail(t, "%s is not installed", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- walkthrough:begin -->")
	script, _, ok2 := strings.Cut(rest, "<!-- walkthrough:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no walkthrough markers")
	}
	script = strings.TrimSpace(script)
	script = strings.TrimPrefix(script, "```sh")
	script = strings.TrimSuffix(script, "```")
	// The README starts the server itself; here the test does.
	var lines []string
	for l := range strings.SplitSeq(script, "\n") {
		if strings.HasPrefix(l, "go run ./examples/server") {
			continue
		}
		lines = append(lines, l)
	}

	base, _ := startServer(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-eu", "-o", "pipefail", "-c", strings.Join(lines, "\n"))
	cmd.Env = append(os.Environ(), "API="+base)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("walk-through failed: %v\n%s", err, out.String())
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`"access_token":`,                // login
		`"username":"johndoe"`,           // the profile
		`"access_token":`,                // refresh: a new pair
		`{"detail":"Logged out"}`,        // logout
		`Could not validate credentials`, // the access token is refused
		`"error":"invalid_grant"`,        // and the session's refresh token
		`"error":"invalid_grant"`,        // reuse of a spent refresh token
		`"error":"invalid_grant"`,        // ends that session too
	}
	if len(got) != len(want) {
		t.Fatalf("the walk-through printed %d lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i+1, got[i], w)
		}
	}
}
