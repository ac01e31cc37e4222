package httpauth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// isB64Token is an independent statement of RFC 6750's b64token.
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		ok := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			strings.IndexByte("-._~+/", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// FuzzParseBearer checks, for any header value and two bounds: no panic;
// an error is exactly one of the package's sentinels; a returned token is
// a non-empty b64token without spaces, no longer than the value, the value
// fits the bound, and the canonical header built from the token parses
// back to the same token.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{
		"Bearer " + tok, "bearer x", "Basic dXNlcjpwYXNz", "Bearer\u00a0x",
		"Bearer a b", "Bearer a, Bearer b", "Bearer", "Bearer ==", " \tBearer x\t ",
	} {
		f.Add(s)
	}
	const small = 64
	f.Fuzz(func(t *testing.T, v string) {
		for _, max := range []int{0, small} {
			got, err := httpauth.ParseBearer(v, max)
			if err != nil {
				n := 0
				for _, s := range []error{httpauth.ErrNoCredentials, httpauth.ErrMalformed, httpauth.ErrAmbiguous} {
					if errors.Is(err, s) {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("ParseBearer(%q, %d): error %v matches %d sentinels", v, max, err, n)
				}
				if errors.Is(err, httpauth.ErrAmbiguous) {
					t.Fatalf("ParseBearer(%q, %d): ErrAmbiguous from a single value", v, max)
				}
				if got != "" {
					t.Fatalf("ParseBearer(%q, %d) = %q with error %v", v, max, got, err)
				}
				continue
			}
			bound := max
			if bound == 0 {
				bound = httpauth.DefaultMaxHeaderBytes
			}
			switch {
			case got == "":
				t.Fatalf("ParseBearer(%q, %d): empty token without error", v, max)
			case !isB64Token(got):
				t.Fatalf("ParseBearer(%q, %d) = %q: not a b64token", v, max, got)
			case strings.ContainsAny(got, " \t\r\n"):
				t.Fatalf("ParseBearer(%q, %d) = %q: contains a space", v, max, got)
			case len(v) > bound:
				t.Fatalf("ParseBearer(%q, %d) accepted a value of %d bytes", v, max, len(v))
			case len(got) > len(v) || !strings.Contains(v, got):
				t.Fatalf("ParseBearer(%q, %d) = %q: not taken from the value", v, max, got)
			}
			if again, err := httpauth.ParseBearer("Bearer "+got, max); err != nil || again != got {
				t.Fatalf("round trip of %q: %q, %v", got, again, err)
			}
		}
	})
}
