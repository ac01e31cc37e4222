package jwt

import (
	"encoding/json"
	"testing"
)

// FuzzParseMetadata: any body either fails cleanly or is one JSON object
// that encoding/json accepts too, and the issuer and jwks_uri read are
// the values of exactly those member names.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		`{"issuer":"https://a.example","jwks_uri":"https://a.example/k"}`,
		`{"issuer":"https://a.example","issuer":"https://b.example"}`,
		`{"issuer":1}`, `[]`, `{}`, `{"a":{"issuer":"x"}}`, `{"issuer":"x"} {}`, `{"issuer":"\u0068"}`,
		`{"Issuer":"x","issuer":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		md, err := parseMetadata(body)
		if err != nil {
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("parseMetadata accepted what encoding/json refuses: %v", err)
		}
		for name, got := range map[string]string{"issuer": md.Issuer, "jwks_uri": md.JWKSURI} {
			var want string
			if raw, ok := members[name]; ok && string(raw) != "null" {
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("%s accepted as %q from %s", name, got, raw)
				}
			}
			if got != want {
				t.Fatalf("%s = %q, the document says %q", name, got, want)
			}
		}
	})
}
