package httpauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// A JWT-shaped token: every character is a b64token character.
const tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

func TestParseBearer(t *testing.T) {
	atMax := "Bearer " + strings.Repeat("a", httpauth.DefaultMaxHeaderBytes-len("Bearer "))
	tests := []struct {
		name    string
		value   string
		max     int
		want    string
		wantErr error
	}{
		{name: "canonical", value: "Bearer " + tok, want: tok},

		// H-02: the scheme is matched with an ASCII case fold.
		{name: "H-02 lower case", value: "bearer x", want: "x"},
		{name: "H-02 upper case", value: "BEARER x", want: "x"},
		{name: "H-02 mixed case", value: "BeArEr x", want: "x"},
		{name: "H-02 non-ASCII look-alike is another scheme", value: "Bеarer x", wantErr: httpauth.ErrNoCredentials}, // Cyrillic е

		// H-03: other schemes carry no bearer credentials.
		{name: "H-03 Basic", value: "Basic dXNlcjpwYXNz", wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 Token", value: "Token x", wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 JWT", value: "JWT " + tok, wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 Bearerx", value: "Bearerx", wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 Bearerx with token", value: "Bearerx " + tok, wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 Bearer-x is another scheme name", value: "Bearer-x y", wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 Bear x", value: "Bear x", wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 Bea", value: "Bea", wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 empty value", value: "", wantErr: httpauth.ErrNoCredentials},
		{name: "H-03 token without scheme", value: tok, wantErr: httpauth.ErrNoCredentials},

		// H-04: SP and HTAB separate; Unicode spaces do not.
		{name: "H-04 three SP", value: "Bearer   x", want: "x"},
		{name: "H-04 HTAB", value: "Bearer\tx", want: "x"},
		{name: "H-04 SP HTAB SP", value: "Bearer \t x", want: "x"},
		{name: "H-04 surrounding SP and HTAB", value: " \tBearer x\t ", want: "x"},
		{name: "H-04 NBSP", value: "Bearer\u00a0x", wantErr: httpauth.ErrMalformed},
		{name: "H-04 IDEOGRAPHIC SPACE", value: "Bearer\u3000x", wantErr: httpauth.ErrMalformed},
		{name: "H-04 EM SPACE", value: "Bearer\u2003x", wantErr: httpauth.ErrMalformed},
		{name: "H-04 SP then NBSP", value: "Bearer \u00a0x", wantErr: httpauth.ErrMalformed},
		{name: "H-04 trailing NBSP", value: "Bearer x\u00a0", wantErr: httpauth.ErrMalformed},
		{name: "H-04 leading NBSP hides the scheme", value: "\u00a0Bearer x", wantErr: httpauth.ErrNoCredentials},
		{name: "H-04 comma right after the scheme", value: "Bearer,x", wantErr: httpauth.ErrMalformed},
		{name: "H-04 quote right after the scheme", value: `Bearer"x"`, wantErr: httpauth.ErrMalformed},
		{name: "H-04 line feed", value: "Bearer\nx", wantErr: httpauth.ErrMalformed},

		// H-05: exactly one token.
		{name: "H-05 two tokens", value: "Bearer a b", wantErr: httpauth.ErrMalformed},
		{name: "H-05 two bearer credentials", value: "Bearer a, Bearer b", wantErr: httpauth.ErrMalformed},
		{name: "H-05 bearer and basic", value: "Bearer a, Basic b", wantErr: httpauth.ErrMalformed},
		{name: "H-05 comma list", value: "Bearer a,b", wantErr: httpauth.ErrMalformed},
		{name: "H-05 auth-param form", value: `Bearer token="x"`, wantErr: httpauth.ErrMalformed},

		// H-06: the scheme without a token.
		{name: "H-06 Bearer", value: "Bearer", wantErr: httpauth.ErrMalformed},
		{name: "H-06 Bearer SP", value: "Bearer ", wantErr: httpauth.ErrMalformed},
		{name: "H-06 Bearer SP HTAB SP", value: "Bearer \t ", wantErr: httpauth.ErrMalformed},
		{name: "H-06 quoted empty string", value: `Bearer ""`, wantErr: httpauth.ErrMalformed},

		// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
		{name: "b64token every character", value: "Bearer aZ09-._~+/==", want: "aZ09-._~+/=="},
		{name: "b64token only padding", value: "Bearer ==", wantErr: httpauth.ErrMalformed},
		{name: "b64token padding inside", value: "Bearer a=b", wantErr: httpauth.ErrMalformed},
		{name: "b64token quoted", value: `Bearer "abc"`, wantErr: httpauth.ErrMalformed},
		{name: "b64token NUL", value: "Bearer a\x00b", wantErr: httpauth.ErrMalformed},
		{name: "b64token CR LF", value: "Bearer a\r\nb", wantErr: httpauth.ErrMalformed},
		{name: "b64token percent", value: "Bearer a%2Eb", wantErr: httpauth.ErrMalformed},
		{name: "b64token non-ASCII", value: "Bearer ä", wantErr: httpauth.ErrMalformed},

		// H-09: the value is bounded before it is parsed.
		{name: "H-09 at the default bound", value: atMax, want: atMax[len("Bearer "):]},
		{name: "H-09 one byte over the default bound", value: atMax + "a", wantErr: httpauth.ErrMalformed},
		{name: "H-09 1 MiB", value: "Bearer " + strings.Repeat("a", 1<<20), wantErr: httpauth.ErrMalformed},
		{name: "H-09 oversize value of another scheme", value: "Basic " + strings.Repeat("a", 9000), wantErr: httpauth.ErrMalformed},
		{name: "H-09 at a custom bound", value: "Bearer abc", max: 10, want: "abc"},
		{name: "H-09 over a custom bound", value: "Bearer abc", max: 9, wantErr: httpauth.ErrMalformed},
		{name: "H-09 negative bound means default", value: "Bearer abc", max: -1, want: "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := httpauth.ParseBearer(tc.value, tc.max)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ParseBearer(%.40q) error = %v, want %v", tc.value, err, tc.wantErr)
				}
				if got != "" {
					t.Fatalf("ParseBearer(%.40q) returned token %.40q with an error", tc.value, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBearer(%.40q) error = %v, want token", tc.value, err)
			}
			if got != tc.want {
				t.Fatalf("ParseBearer(%.40q) = %.40q, want %.40q", tc.value, got, tc.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		headers []string // Authorization values, in order
		max     int
		want    string
		wantErr error
	}{
		{name: "H-01 no header", target: "/", wantErr: httpauth.ErrNoCredentials},
		{name: "one header", target: "/", headers: []string{"Bearer " + tok}, want: tok},
		{name: "H-03 other scheme", target: "/", headers: []string{"Basic dXNlcjpwYXNz"}, wantErr: httpauth.ErrNoCredentials},
		{name: "H-05 malformed", target: "/", headers: []string{"Bearer a b"}, wantErr: httpauth.ErrMalformed},

		// H-07: never first-one-wins.
		{name: "H-07 two different tokens", target: "/", headers: []string{"Bearer " + tok, "Bearer other"}, wantErr: httpauth.ErrAmbiguous},
		{name: "H-07 the same token twice", target: "/", headers: []string{"Bearer " + tok, "Bearer " + tok}, wantErr: httpauth.ErrAmbiguous},
		{name: "H-07 empty header then token", target: "/", headers: []string{"", "Bearer " + tok}, wantErr: httpauth.ErrAmbiguous},
		{name: "H-07 bearer and basic", target: "/", headers: []string{"Basic dXNlcjpwYXNz", "Bearer " + tok}, wantErr: httpauth.ErrAmbiguous},

		// H-08: query tokens are never read; next to a header they are ambiguous.
		{name: "H-08 query token alone", target: "/?access_token=" + tok, wantErr: httpauth.ErrNoCredentials},
		{name: "H-08 header and query token", target: "/?access_token=" + tok, headers: []string{"Bearer " + tok}, wantErr: httpauth.ErrAmbiguous},
		{name: "H-08 header and empty query token", target: "/?x=1&access_token=", headers: []string{"Bearer " + tok}, wantErr: httpauth.ErrAmbiguous},
		{name: "H-08 header and percent-encoded name", target: "/?access%5Ftoken=x", headers: []string{"Bearer " + tok}, wantErr: httpauth.ErrAmbiguous},
		{name: "H-08 header and other scheme and query token", target: "/?access_token=x", headers: []string{"Basic dXNlcjpwYXNz"}, wantErr: httpauth.ErrAmbiguous},
		{name: "H-08 similar parameter name is not a token", target: "/?my_access_token=x", headers: []string{"Bearer " + tok}, want: tok},
		{name: "H-08 access_token as a value is not a token", target: "/?q=access_token", headers: []string{"Bearer " + tok}, want: tok},
		{name: "H-08 unrelated percent-encoded query", target: "/?q=a%20b", headers: []string{"Bearer " + tok}, want: tok},

		// H-09: the bound is passed through.
		{name: "H-09 over the caller's bound", target: "/", headers: []string{"Bearer " + tok}, max: 16, wantErr: httpauth.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := httpauth.BearerToken(r, tc.max)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("BearerToken error = %v, want %v", err, tc.wantErr)
				}
				if got != "" {
					t.Fatalf("BearerToken returned %q with an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("BearerToken = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestBearerToken_ErrorsAreDistinct guards the mapping the middleware
// relies on: each failure is exactly one sentinel.
func TestBearerToken_ErrorsAreDistinct(t *testing.T) {
	sentinels := []error{httpauth.ErrNoCredentials, httpauth.ErrMalformed, httpauth.ErrAmbiguous}
	for i, a := range sentinels {
		for j, b := range sentinels {
			if i != j && errors.Is(a, b) {
				t.Fatalf("%v matches %v", a, b)
			}
		}
	}
}

// allowedInQuoted reports whether c may appear inside a quoted
// WWW-Authenticate attribute value per RFC 6750 §3:
// %x20-21 / %x23-5B / %x5D-7E.
func allowedInQuoted(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

// checkChallenge fails unless v is `Bearer` optionally followed by
// name="value" attributes whose values use only RFC 6750 characters.
func checkChallenge(t *testing.T, v string) {
	t.Helper()
	rest, ok := strings.CutPrefix(v, "Bearer")
	if !ok {
		t.Fatalf("challenge %q does not start with Bearer", v)
	}
	sep := " "
	for rest != "" {
		var found bool
		if rest, found = strings.CutPrefix(rest, sep); !found {
			t.Fatalf("challenge %q: missing separator %q before %q", v, sep, rest)
		}
		sep = ", "
		name, after, found := strings.Cut(rest, `="`)
		if !found {
			t.Fatalf("challenge %q: attribute without value at %q", v, rest)
		}
		switch name {
		case "realm", "error", "error_description", "scope":
		default:
			t.Fatalf("challenge %q: unexpected attribute %q", v, name)
		}
		end := strings.IndexByte(after, '"')
		if end < 0 {
			t.Fatalf("challenge %q: unterminated value", v)
		}
		for i := 0; i < end; i++ {
			if !allowedInQuoted(after[i]) {
				t.Fatalf("challenge %q: byte %#x outside RFC 6750's set", v, after[i])
			}
		}
		rest = after[end+1:]
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		name                          string
		realm, code, description, scp string
		want                          string
	}{
		{name: "H-01 bare", want: "Bearer"},
		{name: "realm only", realm: "api", want: `Bearer realm="api"`},
		{name: "invalid_token", code: "invalid_token", description: "the access token is invalid",
			want: `Bearer error="invalid_token", error_description="the access token is invalid"`},
		{name: "H-12 every attribute", realm: "api", code: "insufficient_scope", description: "needs more", scp: "admin read",
			want: `Bearer realm="api", error="insufficient_scope", error_description="needs more", scope="admin read"`},

		// H-11: nothing outside RFC 6750's set reaches the header.
		{name: "H-11 CR LF header injection in realm", realm: "api\"\r\nSet-Cookie: a=b",
			want: `Bearer realm="apiSet-Cookie: a=b"`},
		{name: "H-11 quotes and backslashes in description", code: "invalid_token", description: `bad "kid" \" here`,
			want: `Bearer error="invalid_token", error_description="bad kid  here"`},
		{name: "H-11 control characters and non-ASCII", description: "a\x00b\tc\x7fd é",
			want: `Bearer error_description="abcd "`},
		{name: "H-11 value made only of forbidden bytes is kept empty", scp: "\"\\\r\n",
			want: `Bearer scope=""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := httpauth.Challenge(tc.realm, tc.code, tc.description, tc.scp)
			if got != tc.want {
				t.Fatalf("Challenge = %q, want %q", got, tc.want)
			}
			checkChallenge(t, got)
		})
	}
}

// TestChallenge_H11_EveryByte puts each of the 256 byte values into each
// attribute and checks the result stays inside RFC 6750's character set.
func TestChallenge_H11_EveryByte(t *testing.T) {
	for b := range 256 {
		s := "x" + string([]byte{byte(b)}) + "y"
		for _, got := range []string{
			httpauth.Challenge(s, "", "", ""),
			httpauth.Challenge("", s, "", ""),
			httpauth.Challenge("", "", s, ""),
			httpauth.Challenge("", "", "", s),
		} {
			checkChallenge(t, got)
			if allowedInQuoted(byte(b)) != strings.Contains(got, s) {
				t.Fatalf("byte %#x: Challenge = %q; kept = %v, want %v", b, got, strings.Contains(got, s), allowedInQuoted(byte(b)))
			}
		}
	}
}

func TestValidScopeToken(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"read", true},
		{"!#[]~", true},
		{"urn:example:read/write", true},
		{"", false},
		{"read write", false},
		{`a"b`, false},
		{`a\b`, false},
		{"a\tb", false},
		{"a\x7f", false},
		{"ádmin", false},
	} {
		if got := httpauth.ValidScopeToken(tc.s); got != tc.want {
			t.Errorf("ValidScopeToken(%q) = %t, want %t", tc.s, got, tc.want)
		}
	}
}

func TestEqualFoldASCII(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Bearer", "bearer", true},
		{"AT+JWT", "at+jwt", true},
		{"", "", true},
		{"at+jwt", "at+jw", false},
		{"@", "`", false},      // 0x40 and 0x60 differ by the case bit but are not letters
		{"ſ", "s", false},      // Unicode folding would match these
		{"\u212a", "k", false}, // the Kelvin sign
	} {
		if got := httpauth.EqualFoldASCII(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFoldASCII(%q, %q) = %t, want %t", tc.a, tc.b, got, tc.want)
		}
	}
}
