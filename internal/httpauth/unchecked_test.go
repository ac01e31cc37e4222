package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// FuzzBearerTokenUnchecked holds the split form to BearerToken: the
// unchecked token plus IsB64Token gives exactly BearerToken's result.
func FuzzBearerTokenUnchecked(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c ", "Bearer a b", "Bearer a==", "Bearer =", "Bearer é", "Basic x", "Bearer", "Bearer\ta~+/"} {
		f.Add(s, "", 0)
		f.Add(s, "access_token=x", 16)
	}
	f.Fuzz(func(t *testing.T, header, query string, max int) {
		r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/?"+query, nil)
		if err != nil {
			t.Skip()
		}
		r.Header["Authorization"] = []string{header}
		want, wantErr := httpauth.BearerToken(r, max)
		got, gotErr := httpauth.BearerTokenUnchecked(r, max)
		if gotErr == nil && !httpauth.IsB64Token(got) {
			got, gotErr = "", httpauth.ErrMalformed
		}
		if got != want || gotErr != wantErr {
			t.Fatalf("%q %q %d: split %q %v, BearerToken %q %v", header, query, max, got, gotErr, want, wantErr)
		}
	})
}
