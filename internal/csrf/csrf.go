// Package csrf protects requests authenticated by a cookie against
// cross-site request forgery. authserver's cookie sessions and
// middleware's cookie option share it, so that both sides apply one rule.
//
// The rule: a state-changing request must pass net/http's
// CrossOriginProtection (Sec-Fetch-Site, else Origin against Host); a
// request that carries neither header, which no current browser sends
// without, must also present the double-submit token, the same value in
// the CSRF cookie and in the X-CSRF-Token header. A header that is present
// must match the cookie in every case.
package csrf

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
)

// Header carries the double-submit token.
const Header = "X-CSRF-Token"

// Errors of [Protection.Check].
var (
	// ErrCrossOrigin: the browser reported a cross-origin request.
	ErrCrossOrigin = errors.New("cross-origin request")
	// ErrToken: the double-submit token is missing or does not match.
	ErrToken = errors.New("missing or mismatched CSRF token")
)

// Protection checks state-changing requests. It is safe for concurrent
// use.
type Protection struct {
	cop    *http.CrossOriginProtection
	cookie string
}

// New returns a Protection whose double-submit cookie is named cookie.
// Requests from the trusted origins (scheme://host[:port]) pass the
// origin check.
func New(cookie string, trusted []string) (*Protection, error) {
	cop := http.NewCrossOriginProtection()
	for _, o := range trusted {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("trusted origin %q: %w", o, err)
		}
	}
	return &Protection{cop: cop, cookie: cookie}, nil
}

// Check reports whether r may change state. Safe methods (GET, HEAD,
// OPTIONS) always pass the origin check; the token check applies to them
// too when a header is sent.
func (p *Protection) Check(r *http.Request) error {
	if err := p.cop.Check(r); err != nil {
		return fmt.Errorf("%w: %w", ErrCrossOrigin, err)
	}
	sent, hasHeader := headerToken(r)
	browserSignal := r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != ""
	if !hasHeader && (browserSignal || safeMethod(r.Method)) {
		return nil
	}
	c, err := r.Cookie(p.cookie)
	if err != nil || c.Value == "" || sent == "" ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(sent)) != 1 {
		return ErrToken
	}
	return nil
}

// CheckOrigin is the origin half of Check alone, for a request that
// carries no session yet (a login): there is no cookie to double-submit.
func (p *Protection) CheckOrigin(r *http.Request) error {
	if err := p.cop.Check(r); err != nil {
		return fmt.Errorf("%w: %w", ErrCrossOrigin, err)
	}
	return nil
}

// headerToken returns the X-CSRF-Token value and whether the header was
// sent. Several values are a mismatch: none is returned.
func headerToken(r *http.Request) (string, bool) {
	vs := r.Header.Values(Header)
	switch len(vs) {
	case 0:
		return "", false
	case 1:
		return vs[0], true
	}
	return "", true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// NewToken returns a fresh double-submit token: 128 bits from crypto/rand.
func NewToken() string { return rand.Text() }
