// Package faultproxy is a TCP proxy for tests that puts faults between a
// program and a server it talks to: it stalls, resets or black-holes the
// connections on command, and resumes.
//
// A Proxy listens on a loopback port and forwards every connection to its
// target. Its faults model what a server's clients see when it fails:
//
//   - Stall holds the bytes in both directions, as a paused server (SIGSTOP)
//     or a congested link does. Held bytes are delivered, in order, when the
//     stall ends, even if their sender has given up and closed meanwhile:
//     a paused server still runs the commands it had received.
//   - Reset aborts every connection with a TCP RST, and every new one as soon
//     as it is accepted, as a restarting server does.
//   - BlackHole accepts connections and forwards nothing: bytes sent either
//     way are dropped, as in a network partition. Connections that lost
//     bytes are aborted when the fault ends, since their streams are torn.
//
// Resume ends the fault. Each call applies to the connections open at the
// time and to those accepted later.
package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Config configures a Proxy.
type Config struct {
	// Target is the host:port every connection is forwarded to.
	Target string
	// DialTimeout bounds the connection to Target. Default: 5 s.
	DialTimeout time.Duration
}

type mode int

const (
	modePass mode = iota
	modeStall
	modeReset
	modeBlackHole
	modeArmed // passing until a client sends the trigger, then stalled
)

// Proxy forwards connections from a loopback port to a target, with
// faults on command. Its methods are safe for concurrent use.
type Proxy struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	mu     sync.Mutex
	mode   mode
	gen    uint64        // counts mode changes, so a StallFor timer ends only its own stall
	armed  []byte        // the trigger of modeArmed
	gate   chan struct{} // closed at the next mode change: held pumps look again
	caught chan struct{} // closed once the current fault has acted on traffic
	held   int           // chunks (or closes) a stall holds or is delivering
	drain  chan struct{} // closed when held falls back to 0; nil while it is 0
	links  map[*link]struct{}
	closed bool
}

// link is one proxied connection: the client's side and, unless it was
// accepted during a black hole, the target's.
type link struct {
	client, target net.Conn
	done           chan struct{} // closed when the link is torn down
	once           sync.Once
	torn           bool // lost bytes in a black hole; aborted at Resume
	pumps          int  // running pumps, under Proxy.mu
}

// New starts a proxy for cfg.Target on 127.0.0.1 at a free port.
func New(cfg Config) (*Proxy, error) {
	if cfg.Target == "" {
		return nil, errors.New("faultproxy: Config.Target is empty")
	}
	if _, _, err := net.SplitHostPort(cfg.Target); err != nil {
		return nil, errors.New("faultproxy: Config.Target is not host:port: " + err.Error())
	}
	if cfg.DialTimeout < 0 {
		return nil, errors.New("faultproxy: negative Config.DialTimeout")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		cfg:    cfg,
		ln:     ln,
		gate:   make(chan struct{}),
		caught: make(chan struct{}),
		links:  make(map[*link]struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stall holds the bytes in both directions until Resume or another fault.
func (p *Proxy) Stall() { p.set(modeStall) }

// StallFor stalls the proxy and resumes it after d, unless another call
// changed its mode meanwhile.
func (p *Proxy) StallFor(d time.Duration) {
	gen := p.set(modeStall)
	time.AfterFunc(d, func() {
		p.mu.Lock()
		mine := p.gen == gen
		p.mu.Unlock()
		if mine {
			p.Resume()
		}
	})
}

// StallOn lets traffic pass until a client sends a chunk of bytes that
// contains trigger, and from that chunk on stalls as Stall does, until
// Resume. It puts a stall at a chosen step of a protocol: StallOn([]byte("commit"))
// holds a PostgreSQL transaction's COMMIT (as pgx sends it) and not the
// statements before it. A trigger split across two chunks is not seen.
func (p *Proxy) StallOn(trigger []byte) {
	p.mu.Lock()
	p.armed = bytes.Clone(trigger)
	p.mu.Unlock()
	p.set(modeArmed)
}

// Reset aborts every open connection with a TCP RST, and every new one
// until Resume.
func (p *Proxy) Reset() { p.set(modeReset) }

// BlackHole drops the bytes of every connection, open or new, until
// Resume; the connections that lost bytes are aborted then.
func (p *Proxy) BlackHole() { p.set(modeBlackHole) }

// Resume ends the current fault: traffic passes again. It returns once
// the bytes a stall held have been handed to their destination, so that
// what a test sends next arrives after them, as it would at a server that
// resumed.
func (p *Proxy) Resume() {
	p.set(modePass)
	p.mu.Lock()
	drain := p.drain
	p.mu.Unlock()
	if drain != nil {
		<-drain
	}
}

// Caught returns a channel that is closed once the current fault has
// acted on traffic: held or dropped bytes, or reset a connection. Tests
// wait on it to know that a request has reached the fault.
func (p *Proxy) Caught() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.caught
}

// Close stops the proxy and aborts its connections. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	links := p.drainLinks()
	close(p.gate)
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range links {
		l.abort()
	}
	p.wg.Wait()
	return err
}

// set changes the mode, wakes the pumps that hold bytes, and aborts the
// links the new mode ends. It returns the new generation.
func (p *Proxy) set(m mode) uint64 {
	p.mu.Lock()
	if p.closed {
		gen := p.gen
		p.mu.Unlock()
		return gen
	}
	prev := p.mode
	p.mode = m
	p.gen++
	gen := p.gen
	close(p.gate)
	p.gate = make(chan struct{})
	if m != modePass && prev == modePass {
		p.caught = make(chan struct{})
	}
	var ended []*link
	switch m {
	case modeReset:
		ended = p.drainLinks()
		p.markCaught(len(ended) > 0)
	case modePass:
		for l := range p.links {
			if l.torn {
				delete(p.links, l)
				ended = append(ended, l)
			}
		}
	}
	p.mu.Unlock()
	for _, l := range ended {
		l.abort()
	}
	return gen
}

// drainLinks empties the link set and returns its links; p.mu is held.
func (p *Proxy) drainLinks() []*link {
	out := make([]*link, 0, len(p.links))
	for l := range p.links {
		out = append(out, l)
	}
	clear(p.links)
	return out
}

// markCaught closes the current caught channel once; p.mu is held.
func (p *Proxy) markCaught(acted bool) {
	if !acted {
		return
	}
	select {
	case <-p.caught:
	default:
		close(p.caught)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve connects one accepted client to the target, as the mode allows.
func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	l := &link{client: c, done: make(chan struct{})}
	p.mu.Lock()
	m := p.mode
	switch {
	case p.closed || m == modeReset:
		p.markCaught(!p.closed)
		p.mu.Unlock()
		l.abort()
		return
	case m == modeBlackHole:
		// Never dialled: the target must not see a connection it
		// would then have to time out.
		l.torn = true
		p.links[l] = struct{}{}
		l.pumps = 1
		p.mu.Unlock()
		p.pump(l, c, nil, true)
		return
	}
	p.mu.Unlock()

	t, err := net.DialTimeout("tcp", p.cfg.Target, p.cfg.DialTimeout)
	if err != nil {
		l.abort()
		return
	}
	l.target = t
	p.mu.Lock()
	if p.closed || p.mode == modeReset {
		p.markCaught(!p.closed)
		p.mu.Unlock()
		l.abort()
		return
	}
	p.links[l] = struct{}{}
	l.pumps = 2
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.pump(l, t, c, false)
	}()
	p.pump(l, c, t, true)
}

// pump copies src to dst, chunk by chunk, each when the mode lets it
// pass. A nil dst drops everything (a link born in a black hole).
// fromClient tells the client's direction, where StallOn looks.
func (p *Proxy) pump(l *link, src, dst net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && dst == nil {
			p.mu.Lock()
			p.markCaught(true)
			p.mu.Unlock()
		}
		if n > 0 && dst != nil {
			var trigger []byte
			if fromClient {
				trigger = buf[:n]
			}
			ok, held := p.pass(l, trigger)
			var werr error
			if ok {
				_, werr = dst.Write(buf[:n])
			}
			if held {
				p.release()
			}
			if werr != nil {
				p.finish(l, true)
				return
			}
		}
		if err == nil {
			continue
		}
		closed := false
		if errors.Is(err, io.EOF) && dst != nil {
			// An orderly close travels on after the bytes before it.
			ok, held := p.pass(l, nil)
			if cw, isTCP := dst.(interface{ CloseWrite() error }); ok && isTCP {
				closed = cw.CloseWrite() == nil
			}
			if held {
				p.release()
			}
		}
		p.finish(l, !closed)
		return
	}
}

// pass waits until a chunk of l may be forwarded. It reports false when
// the chunk is dropped (black hole) or the link is gone, and held when a
// stall held it: the caller then calls release once it has delivered or
// dropped the chunk, so that Resume can wait for it. chunk is what a
// client sends, to be matched against StallOn's trigger; nil otherwise.
func (p *Proxy) pass(l *link, chunk []byte) (ok, held bool) {
	for {
		p.mu.Lock()
		if p.mode == modeArmed && chunk != nil && bytes.Contains(chunk, p.armed) {
			p.mode = modeStall
			close(p.gate)
			p.gate = make(chan struct{})
		}
		m, gate := p.mode, p.gate
		if p.closed {
			p.mu.Unlock()
			return false, held
		}
		switch m {
		case modeArmed:
			p.mu.Unlock()
			return true, held
		case modePass:
			p.mu.Unlock()
			return true, held
		case modeBlackHole:
			l.torn = true
			p.markCaught(true)
			p.mu.Unlock()
			return false, held
		case modeReset:
			p.mu.Unlock()
			return false, held // the link was aborted when the reset began
		}
		p.markCaught(true)
		if !held {
			held = true
			if p.held == 0 {
				p.drain = make(chan struct{})
			}
			p.held++
		}
		p.mu.Unlock()
		select {
		case <-gate:
		case <-l.done:
			return false, held
		}
	}
}

// release ends one hold that pass began.
func (p *Proxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held--
	if p.held == 0 {
		close(p.drain)
		p.drain = nil
	}
}

// finish ends one pump of l; the last one, or any that failed, closes it.
func (p *Proxy) finish(l *link, failed bool) {
	p.mu.Lock()
	l.pumps--
	last := l.pumps <= 0
	if failed || last {
		delete(p.links, l)
	}
	p.mu.Unlock()
	switch {
	case failed:
		l.abort()
	case last:
		l.close()
	}
}

// abort closes both sides with a TCP RST.
func (l *link) abort() {
	for _, c := range []net.Conn{l.client, l.target} {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	l.close()
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		_ = l.client.Close()
		if l.target != nil {
			_ = l.target.Close()
		}
	})
}
