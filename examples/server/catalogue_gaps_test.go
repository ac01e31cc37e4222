package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCatalogue_Section2_SlowClientIsDisconnected (SECURITY.md section 2,
// "Slow clients"): a client that sends part of its request headers and
// then stalls (Slowloris) is disconnected by the server's header timeout
// instead of holding the connection open.
func TestCatalogue_Section2_SlowClientIsDisconnected(t *testing.T) {
	base, _ := startServer(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: example\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(20 * time.Second))
	_, err = io.ReadAll(conn) // whatever the server says, it must then close
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the stalled connection was still open after %s", time.Since(start).Round(time.Second))
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("the stalled connection was closed only after %s", d.Round(time.Second))
	}
}
