package authserver

import (
	"cmp"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// defaultGrace is the retry window of a refresh whose response was lost
// (TokenHandlerConfig.Grace). It is well above the default StoreTimeout
// (2 s) plus a client's retry back-off, so a refresh caught by a stalled
// store, a crash or a dropped connection can be retried, and short enough
// that a stolen predecessor is only worth something while the legitimate
// client has not refreshed again.
const defaultGrace = 30 * time.Second

// The default RefreshLimit lets a session refresh 10 times back to back,
// then once every 6 seconds: far above what a client refreshing before
// its access token expires (or retrying a lost response) needs, and far
// below a loop.
const (
	defaultRefreshBurst = 10
	defaultRefreshEvery = 6 * time.Second
)

// maxLimitedFamilies bounds the memory of the refresh limiter: one small
// entry per session that refreshed recently.
const maxLimitedFamilies = 100_000

// RefreshLimit is a token bucket per refresh family: Burst refreshes at
// once, then one more per Every. It is kept in the memory of each
// TokenHandler, so with n instances behind a balancer a session may
// refresh up to n times as often.
type RefreshLimit struct {
	// Burst is the bucket size. Default: 10.
	Burst int
	// Every is how long the bucket takes to regain one refresh.
	// Default: 6 s.
	Every time.Duration
	// Off turns the limit off. Default: false.
	Off bool
}

// refreshLimiter holds a token bucket (golang.org/x/time/rate, as the
// login throttle's address buckets) per family that refreshed recently.
type refreshLimiter struct {
	every rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// newRefreshLimiter returns nil when the limit is off.
func newRefreshLimiter(l RefreshLimit, now func() time.Time) (*refreshLimiter, error) {
	if l.Off {
		return nil, nil
	}
	if l.Burst < 0 || l.Every < 0 {
		return nil, fmt.Errorf("%w: negative RefreshLimit", ErrConfig)
	}
	return &refreshLimiter{
		every:   rate.Every(cmp.Or(l.Every, defaultRefreshEvery)),
		burst:   cmp.Or(l.Burst, defaultRefreshBurst),
		now:     now,
		buckets: make(map[string]*rate.Limiter),
	}, nil
}

// allow takes one refresh from the family's bucket, or reports how long
// until one is available.
func (l *refreshLimiter) allow(subject, familyID string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	key := subject + "\x00" + familyID
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.buckets[key]
	if lim == nil {
		if len(l.buckets) >= maxLimitedFamilies {
			l.evict(now)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.buckets[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, max(d, time.Second)
	}
	return true, 0
}

// evict makes room for an eighth of the table at once, so that a flood
// of new sessions costs O(1) per insertion when amortised: first the
// buckets that have refilled (they equal no entry), then arbitrary ones,
// which only hands those sessions a fresh bucket. The caller holds l.mu.
func (l *refreshLimiter) evict(now time.Time) {
	target := maxLimitedFamilies - maxLimitedFamilies/8
	for k, lim := range l.buckets {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) <= target {
			return
		}
		delete(l.buckets, k)
	}
}

// errRefreshLimited answers a refresh over the family's limit.
func errRefreshLimited(wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "slow_down",
		Description: "too many refreshes for this session; retry later", Detail: "Too many refreshes",
		RetryAfter: wait}
}
