package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testTimeout bounds every wait, so that a broken proxy fails the test
// instead of hanging it; it is never a timing assertion.
const testTimeout = 10 * time.Second

// echoServer is a target that echoes what it reads and reports each
// chunk, and each connection's end, on its channels.
type echoServer struct {
	addr  string
	got   chan []byte
	ended chan error // one per connection: nil after EOF
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{addr: ln.Addr().String(), got: make(chan []byte, 64), ended: make(chan error, 64)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						s.got <- bytes.Clone(buf[:n])
						_, _ = c.Write(buf[:n])
					}
					if err != nil {
						if errors.Is(err, io.EOF) {
							err = nil
						}
						s.ended <- err
						return
					}
				}
			}()
		}
	}()
	return s
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(Config{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	return c
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %q back: %v", msg, err)
	}
	if string(buf) != msg {
		t.Fatalf("read %q, want %q", buf, msg)
	}
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("%s: nothing within %v", what, testTimeout)
	}
	var zero T
	return zero
}

// nothingYet fails the test if the target has received a chunk. It is
// called only while the proxy holds or drops every chunk, so "nothing
// now" is "nothing at all", not a race with a late delivery.
func nothingYet(t *testing.T, s *echoServer) {
	t.Helper()
	select {
	case b := <-s.got:
		t.Fatalf("target received %q during the fault", b)
	default:
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {Target: "no-port"}, {Target: "127.0.0.1:1", DialTimeout: -1}} {
		if p, err := New(cfg); err == nil {
			_ = p.Close()
			t.Errorf("New(%+v): no error", cfg)
		}
	}
}

func TestPassForwardsBothWays(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	roundTrip(t, c, "hello")
	roundTrip(t, c, "again")
}

func TestStallHoldsBytesUntilResume(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	roundTrip(t, c, "before")
	wait(t, s.got, "first chunk")

	p.Stall()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Caught(), "stall catching the chunk")
	nothingYet(t, s)
	// A connection opened during the stall is accepted and held too.
	c2 := dial(t, p)
	if _, err := c2.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}

	p.Resume()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "held" {
		t.Fatalf("after resume: %q, %v", buf, err)
	}
	buf = make([]byte, 3)
	if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "new" {
		t.Fatalf("new connection after resume: %q, %v", buf, err)
	}
}

// A paused server still runs what it had received: bytes held by a stall
// reach the target even when their sender has closed meanwhile.
func TestStallDeliversHeldBytesAfterSenderCloses(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	roundTrip(t, c, "x")
	wait(t, s.got, "first chunk")

	p.Stall()
	if _, err := c.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Caught(), "stall catching the chunk")
	_ = c.Close()
	nothingYet(t, s)

	p.Resume()
	if b := wait(t, s.got, "held chunk"); string(b) != "late" {
		t.Fatalf("target received %q, want %q", b, "late")
	}
}

// Resume returns once held bytes are on their way: a stall that begins
// right after it cannot catch them again.
func TestResumeDeliversHeldBytesBeforeReturning(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	roundTrip(t, c, "x")
	wait(t, s.got, "first chunk")

	p.Stall()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Caught(), "stall catching the chunk")
	p.Resume()
	p.Stall()
	if b := wait(t, s.got, "held chunk"); string(b) != "held" {
		t.Fatalf("target received %q, want %q", b, "held")
	}
	p.Resume()
}

func TestStallOnHoldsFromTheTrigger(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	p.StallOn([]byte("COMMIT"))
	roundTrip(t, c, "BEGIN")
	wait(t, s.got, "chunk before the trigger")
	select {
	case <-p.Caught():
		t.Fatal("caught before the trigger")
	default:
	}

	if _, err := c.Write([]byte("x COMMIT y")); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Caught(), "stall catching the trigger")
	nothingYet(t, s)
	// Once triggered, it stalls every connection, as Stall does.
	c2 := dial(t, p)
	if _, err := c2.Write([]byte("other")); err != nil {
		t.Fatal(err)
	}
	nothingYet(t, s)

	p.Resume()
	got := map[string]bool{}
	for range 2 {
		got[string(wait(t, s.got, "held chunk"))] = true
	}
	if !got["x COMMIT y"] || !got["other"] {
		t.Fatalf("target received %v, want both held chunks", got)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "other" {
		t.Fatalf("second connection after resume: %q, %v", buf, err)
	}
}

func TestStallForResumesByItself(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	p.StallFor(50 * time.Millisecond)
	start := time.Now()
	roundTrip(t, c, "later")
	t.Logf("round trip through a 50 ms stall: %v", time.Since(start))
}

func TestResetAbortsOpenAndNewConnections(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	roundTrip(t, c, "up")

	p.Reset()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read on a reset connection: %v, want ECONNRESET", err)
	}
	if err := wait(t, s.ended, "target side's end"); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("target side: %v, want ECONNRESET", err)
	}
	// A new connection is reset at once: its dial or its first read
	// fails, whichever the RST reaches first.
	c2, err := net.DialTimeout("tcp", p.Addr(), testTimeout)
	if err == nil {
		defer c2.Close()
		_ = c2.SetDeadline(time.Now().Add(testTimeout))
		_, err = c2.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection opened during the reset: %v, want ECONNRESET", err)
	}
	wait(t, p.Caught(), "reset acting")

	p.Resume()
	roundTrip(t, dial(t, p), "back")
}

func TestBlackHoleDropsAndTearsDown(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	roundTrip(t, c, "up")
	wait(t, s.got, "first chunk")

	p.BlackHole()
	if _, err := c.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Caught(), "black hole catching the chunk")
	nothingYet(t, s)

	p.Resume()
	// The stream lost bytes: the connection ends, and the dropped bytes
	// never arrive.
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after the black hole ended")
	}
	nothingYet(t, s)
	roundTrip(t, dial(t, p), "back")
	if b := wait(t, s.got, "chunk after resume"); string(b) != "back" {
		t.Fatalf("target received %q, want %q", b, "back")
	}
}

func TestBlackHoleAcceptsAndNeverAnswers(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	p.BlackHole()
	c := dial(t, p)
	if _, err := c.Write([]byte("void")); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Caught(), "black hole catching the chunk")
	nothingYet(t, s)

	p.Resume()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after the black hole ended")
	}
	nothingYet(t, s)
	roundTrip(t, dial(t, p), "back")
}

func TestBlackHoleKeepsQuietConnections(t *testing.T) {
	s := newEchoServer(t)
	p := newProxy(t, s.addr)
	c := dial(t, p)
	roundTrip(t, c, "up")
	p.BlackHole()
	p.Resume()
	// Nothing was sent during the fault, so nothing was torn.
	roundTrip(t, c, "still")
}

func TestCloseIsIdempotentAndEndsConnections(t *testing.T) {
	s := newEchoServer(t)
	p, err := New(Config{Target: s.addr})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	roundTrip(t, c, "up")
	p.Stall()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Caught(), "stall catching the chunk")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after Close succeeded")
	}
	p.Resume() // no effect after Close, and no panic
}
