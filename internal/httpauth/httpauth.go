// Package httpauth holds the wire details of RFC 6750 bearer
// authentication: parsing the Authorization header, formatting
// WWW-Authenticate challenges, and the lexical rules the jwt and
// middleware packages share with them (scope tokens, ASCII case folding).
package httpauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/jwtkit/jwtkit/internal/compact"
)

// Errors returned by [BearerToken].
var (
	// ErrNoCredentials reports that the request carries no bearer
	// credentials at all (no header, or another scheme).
	ErrNoCredentials = errors.New("no bearer credentials")
	// ErrMalformed reports an Authorization header that names the Bearer
	// scheme but does not carry exactly one well-formed token.
	ErrMalformed = errors.New("malformed bearer credentials")
	// ErrAmbiguous reports more than one set of credentials: several
	// Authorization headers, or a header and an access_token query
	// parameter.
	ErrAmbiguous = errors.New("more than one set of credentials")
)

// DefaultMaxHeaderBytes bounds the Authorization header value.
const DefaultMaxHeaderBytes = 8<<10 + len("Bearer ")

// BearerToken extracts the bearer token from r's Authorization header.
//
// The scheme is matched case-insensitively; it is followed by one or more
// spaces (SP or HTAB) and exactly one b64token (RFC 6750 §2.1); spaces and
// tabs around the value are tolerated. Unicode spaces, commas, quotes and a
// second token make the header malformed. Tokens in the query string are
// never read; their presence next to a header is ambiguous.
func BearerToken(r *http.Request, maxBytes int) (string, error) {
	tok, err := BearerTokenUnchecked(r, maxBytes)
	if err == nil && !IsB64Token(tok) {
		return "", ErrMalformed
	}
	return tok, err
}

// BearerTokenUnchecked is [BearerToken] without its last step, the check
// that the token consists of b64token characters. A caller that finds the
// token among tokens known to be well formed may skip that check; any
// other token must pass [IsB64Token], or be refused with ErrMalformed, to
// get BearerToken's result.
func BearerTokenUnchecked(r *http.Request, maxBytes int) (string, error) {
	// The key is already canonical: index the map directly rather than
	// through Header.Values, which canonicalizes it on every request.
	values := r.Header["Authorization"]
	// The name may arrive percent-encoded ("access%5Ftoken"), which
	// Query decodes.
	if r.URL != nil && r.URL.RawQuery != "" && (strings.Contains(r.URL.RawQuery, "access_token") || strings.Contains(r.URL.RawQuery, "%")) {
		if _, ok := r.URL.Query()["access_token"]; ok && len(values) > 0 {
			return "", ErrAmbiguous
		}
	}
	switch len(values) {
	case 0:
		return "", ErrNoCredentials
	case 1:
	default:
		return "", ErrAmbiguous
	}
	return parseBearer(values[0], maxBytes)
}

// ParseBearer parses one Authorization header value.
func ParseBearer(v string, maxBytes int) (string, error) {
	tok, err := parseBearer(v, maxBytes)
	if err == nil && !IsB64Token(tok) {
		return "", ErrMalformed
	}
	return tok, err
}

// parseBearer is ParseBearer up to, not including, the b64token check.
func parseBearer(v string, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxHeaderBytes
	}
	if len(v) > maxBytes {
		return "", ErrMalformed
	}
	v = trimSPHT(v)
	const scheme = "bearer"
	if len(v) < len(scheme) || !EqualFoldASCII(v[:len(scheme)], scheme) {
		return "", ErrNoCredentials
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", ErrMalformed // "Bearer" alone: the scheme without a token
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		if isTChar(rest[0]) {
			return "", ErrNoCredentials // "Bearerx": another scheme
		}
		// "Bearer<U+00A0>x", "Bearer,x": the Bearer scheme with a
		// separator that is not SP or HTAB.
		return "", ErrMalformed
	}
	tok := trimSPHT(rest)
	if tok == "" {
		return "", ErrMalformed
	}
	return tok, nil
}

// isTChar reports whether c may appear in an auth-scheme name (RFC 9110
// §5.6.2 tchar).
func isTChar(c byte) bool {
	if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func trimSPHT(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// IsB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func IsB64Token(s string) bool {
	i := b64TokenChars.Span(s)
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// b64TokenChars are the characters of b64token before its padding.
var b64TokenChars = compact.NewByteSet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")

// EqualFoldASCII reports whether a and b are equal under ASCII case
// folding. Unlike strings.EqualFold it never matches a non-ASCII letter
// ("ſ", the Kelvin sign) to an ASCII one, which protocol tokens require.
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ValidScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ). Such tokens may be placed in a
// [Challenge] scope attribute unchanged.
func ValidScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7E || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Challenge formats a WWW-Authenticate value for the Bearer scheme. Empty
// attributes are left out. Values must come from fixed strings or
// validated scope tokens; characters outside RFC 6750's allowed set are
// dropped so that nothing a client sent can reach the header.
func Challenge(realm, errCode, description, scope string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	add := func(name, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		for i := 0; i < len(value); i++ {
			c := value[i]
			// %x20-21 / %x23-5B / %x5D-7E
			if c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E) {
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
		sep = ", "
	}
	add("realm", realm)
	add("error", errCode)
	add("error_description", description)
	add("scope", scope)
	return b.String()
}
