package main

import (
	"context"
	"io"
	"log/slog"
	"runtime"
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
