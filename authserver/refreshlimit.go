package authserver

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// DefaultGrace is the retry window of a refresh whose response was lost
// (TokenHandlerConfig.Grace). It is well above the default StoreTimeout
// (2 s) plus a client's retry back-off, so a refresh caught by a stalled
// store, a crash or a dropped connection can be retried, and short enough
// that a stolen predecessor is only worth something while the legitimate
// client has not refreshed again.
const DefaultGrace = 30 * time.Second

// The default RefreshLimit lets a session refresh 10 times back to back,
// then once every 6 seconds: far above what a client refreshing before
// its access token expires (or retrying a lost response) needs, and far
// below a loop.
const (
	DefaultRefreshBurst = 10
	DefaultRefreshEvery = 6 * time.Second
)

// maxLimitedFamilies bounds the memory of the refresh limiter: one small
// entry per session that refreshed recently.
const maxLimitedFamilies = 100_000

// RefreshLimit is a token bucket per refresh family: Burst refreshes at
// once, then one more per Every. It is kept in the memory of each
// TokenHandler, so with n instances behind a balancer a session may
// refresh up to n times as often.
type RefreshLimit struct {
	// Burst is the bucket size. Default: DefaultRefreshBurst.
	Burst int
	// Every is how long the bucket takes to regain one refresh.
	// Default: DefaultRefreshEvery.
	Every time.Duration
	// Off turns the limit off. Default: false.
	Off bool
}

// refreshLimiter holds the buckets. A family's bucket is its level and
// the time it was last updated; a bucket that has refilled completely is
// the same as none, so entries may be dropped when the table is full.
type refreshLimiter struct {
	limit RefreshLimit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]bucket
}

type bucket struct {
	level float64 // refreshes available
	at    time.Time
}

// newRefreshLimiter returns nil when the limit is off.
func newRefreshLimiter(l RefreshLimit, now func() time.Time) (*refreshLimiter, error) {
	if l.Off {
		return nil, nil
	}
	if l.Burst < 0 || l.Every < 0 {
		return nil, fmt.Errorf("%w: negative RefreshLimit", ErrConfig)
	}
	if l.Burst == 0 {
		l.Burst = DefaultRefreshBurst
	}
	if l.Every == 0 {
		l.Every = DefaultRefreshEvery
	}
	return &refreshLimiter{limit: l, now: now, buckets: make(map[string]bucket)}, nil
}

// allow takes one refresh from the family's bucket, or reports how long
// until one is available.
func (l *refreshLimiter) allow(subject, familyID string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	burst := float64(l.limit.Burst)
	l.mu.Lock()
	defer l.mu.Unlock()
	key := subject + "\x00" + familyID
	b, ok := l.buckets[key]
	if !ok {
		b = bucket{level: burst, at: now}
	} else if d := now.Sub(b.at); d > 0 {
		b.level = min(burst, b.level+float64(d)/float64(l.limit.Every))
		b.at = now
	}
	if b.level < 1 {
		wait := time.Duration((1 - b.level) * float64(l.limit.Every))
		l.buckets[key] = b
		return false, max(wait, time.Second)
	}
	b.level--
	if !ok && len(l.buckets) >= maxLimitedFamilies {
		l.evict(now)
	}
	l.buckets[key] = b
	return true, 0
}

// evict drops the buckets that have refilled (they equal no entry); if
// none has, it drops one arbitrary bucket, which only gives that session
// a fresh bucket. The caller holds l.mu.
func (l *refreshLimiter) evict(now time.Time) {
	full := time.Duration(l.limit.Burst) * l.limit.Every
	dropped := false
	for id, b := range l.buckets {
		if now.Sub(b.at) >= full {
			delete(l.buckets, id)
			dropped = true
		}
	}
	if dropped {
		return
	}
	for id := range l.buckets {
		delete(l.buckets, id)
		return
	}
}

// errRefreshLimited answers a refresh over the family's limit.
func errRefreshLimited(wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "slow_down",
		Description: "too many refreshes for this session; retry later", Detail: "Too many refreshes",
		RetryAfter: wait}
}
