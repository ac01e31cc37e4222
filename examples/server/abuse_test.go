package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoginFlood_E14 floods the example server with concurrent
// wrong-password logins: they are throttled (429) or shed by the hashing
// bound (503), each with Retry-After, while an authenticated request keeps
// being answered.
func TestLoginFlood_E14(t *testing.T) {
	if testing.Short() {
		t.Skip("spends a few seconds of bcrypt work")
	}
	base, _ := startServer(t, slog.New(slog.NewTextHandler(io.Discard, nil)))

	st, pair := postForm(t, base+"/token", url.Values{"username": {"johndoe"}, "password": {"secret"}}, "")
	if st != http.StatusOK {
		t.Fatalf("login: %d", st)
	}

	const attackers = 60
	statuses := make(chan int, attackers)
	retryAfterMissing := make(chan int, attackers)
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"username": {"johndoe"}, "password": {"guess" + strings.Repeat("x", i%7)}}
			resp, err := http.PostForm(base+"/token", form)
			if err != nil {
				statuses <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
			if (resp.StatusCode == 429 || resp.StatusCode == 503) && resp.Header.Get("Retry-After") == "" {
				retryAfterMissing <- resp.StatusCode
			}
		}()
	}

	// While the flood runs, the authenticated route keeps answering.
	meOK, meTotal := 0, 0
	floodDone := make(chan struct{})
	go func() { wg.Wait(); close(floodDone) }()
loop:
	for {
		select {
		case <-floodDone:
			break loop
		default:
		}
		start := time.Now()
		st := getMe(t, base, pair.Access)
		meTotal++
		if st == http.StatusOK && time.Since(start) < time.Second {
			meOK++
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(statuses)
	close(retryAfterMissing)

	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	t.Logf("flood statuses: %v; /users/me answered %d/%d within 1 s", counts, meOK, meTotal)
	if counts[0] > 0 || counts[500] > 0 {
		t.Fatalf("transport errors or 500s during the flood: %v", counts)
	}
	if counts[429]+counts[503] == 0 {
		t.Fatalf("no login was throttled or shed: %v", counts)
	}
	if counts[200] > 0 {
		t.Fatalf("a wrong password logged in: %v", counts)
	}
	if n := len(retryAfterMissing); n > 0 {
		t.Fatalf("%d throttled responses without Retry-After", n)
	}
	if meTotal == 0 || meOK != meTotal {
		t.Fatalf("/users/me answered %d of %d requests within 1 s during the flood", meOK, meTotal)
	}
}
