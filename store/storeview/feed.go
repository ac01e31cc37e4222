package storeview

import (
	"context"
	"sync"
	"time"
)

// Kind says what a [Record] reports.
type Kind uint8

// The kinds of [Record].
const (
	// Token is a denylisted access token; Record.ID is store.TokenID(jti).
	Token Kind = iota + 1
	// Family is a revoked family; Record.ID is store.TokenID(familyID)
	// and Record.Subject is store.TokenID(subject).
	Family
	// Cutoff is a subject cut-off at Record.At; Record.Subject is
	// store.TokenID(subject).
	Cutoff
	// User is a user account that changed or was deleted; Record.ID is
	// store.TokenID(userID).
	User
)

// Record is one change as a feed reports it. Identifiers are hashed with
// [store.TokenID], so a record's size does not depend on the input.
type Record struct {
	Kind    Kind
	ID      string
	Subject string
	// At is the cut-off time of a Cutoff record.
	At time.Time
	// Until is when a revocation record stops refusing tokens (the
	// denylist entry's, family's or cut-off's expiry).
	Until time.Time
}

// Sink receives what a [Feed] reads. Its methods are called from the
// feed's goroutine, one at a time.
type Sink interface {
	// Reset replaces the view with records, a full load of the live
	// revocation records that includes every change committed before
	// asOf. The feed must already be listening when the load starts.
	Reset(asOf time.Time, records []Record)
	// Apply adds one change.
	Apply(r Record)
	// Fresh reports that every change committed before asOf has been
	// passed to Apply or Reset.
	Fresh(asOf time.Time)
}

// Feed is a backend's change feed.
type Feed interface {
	// Follow connects, starts listening, loads every live revocation
	// record into sink.Reset, then passes changes to sink.Apply and
	// heartbeats to sink.Fresh, at least every heartbeat, until ctx is
	// done or the connection fails. It returns why it stopped.
	Follow(ctx context.Context, sink Sink, heartbeat time.Duration) error
}

// contents is what a view keeps: the follower calls it with its lock
// held.
type contents interface {
	reset(records []Record)
	apply(r Record)
	prune(now time.Time)
}

// follower runs a feed for a view and tracks how current the view is.
type follower struct {
	feed     Feed
	maxStale time.Duration
	logf     func(string, ...any)

	mu       sync.RWMutex // guards asOf, rebuilds and the view's contents
	c        contents
	asOf     time.Time // zero until the first Reset, and after a failure
	rebuilds int

	cancel context.CancelFunc
	done   chan struct{}
}

func (f *follower) start(feed Feed, maxStale time.Duration, logf func(string, ...any), c contents) {
	f.feed, f.maxStale, f.c = feed, maxStale, c
	if f.maxStale == 0 {
		f.maxStale = DefaultMaxStaleness
	}
	f.logf = logf
	if f.logf == nil {
		f.logf = func(string, ...any) {}
	}
	f.done = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.run(ctx)
}

func (f *follower) stop() {
	f.cancel()
	<-f.done
}

// fresh reports, with f.mu held, whether the view may answer at now.
func (f *follower) fresh(now time.Time) bool {
	return !f.asOf.IsZero() && now.Sub(f.asOf) <= f.maxStale
}

// run follows the feed, reconnecting with a capped backoff.
func (f *follower) run(ctx context.Context) {
	defer close(f.done)
	backoff := 50 * time.Millisecond
	for {
		s := &sink{f: f}
		err := f.feed.Follow(ctx, s, f.maxStale/4)
		if ctx.Err() != nil {
			return
		}
		f.logf("storeview: feed stopped: %v", err)
		if s.loaded {
			backoff = 50 * time.Millisecond
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// sink is the view's side of one Follow call.
type sink struct {
	f      *follower
	loaded bool
}

func (s *sink) Reset(asOf time.Time, records []Record) {
	s.loaded = true
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.c.reset(records)
	s.f.rebuilds++
	s.f.asOf = asOf
}

func (s *sink) Apply(rec Record) {
	if !s.loaded {
		return // a feed bug; the next Reset covers it
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.c.apply(rec)
}

func (s *sink) Fresh(asOf time.Time) {
	if !s.loaded {
		return
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if asOf.After(s.f.asOf) {
		s.f.asOf = asOf
	}
	s.f.c.prune(time.Now())
}
