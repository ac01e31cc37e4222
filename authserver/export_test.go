package authserver

import (
	"context"
	"time"
)

// SetPause replaces how h waits out a failed login against an outdated
// hash, so tests can see the wait without sleeping.
func SetPause(h *TokenHandler, f func(ctx context.Context, d time.Duration)) { h.pause = f }

// The defaults of the refresh retry window and limit, for the tests that
// exceed them.
const (
	DefaultGrace        = defaultGrace
	DefaultRefreshBurst = defaultRefreshBurst
)
