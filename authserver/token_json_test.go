package authserver

import "testing"

func TestJSONForm_E04(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"plain", `{"refresh_token":"abc"}`, true},
		{"E04/repeated", `{"refresh_token":"a","refresh_token":"b"}`, false},
		{"non-string", `{"refresh_token":1}`, false},
		{"array", `["refresh_token"]`, false},
		{"trailing", `{"refresh_token":"a"}{}`, false},
		{"truncated", `{"refresh_token":"a"`, false},
		{"nested", `{"refresh_token":{"x":"y"}}`, false},
		{"empty", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form, oerr := jsonForm([]byte(tc.body))
			if tc.ok {
				if oerr != nil || form.Get("refresh_token") != "abc" {
					t.Fatalf("got %v %v", form, oerr)
				}
				return
			}
			if oerr == nil || oerr.Code != "invalid_request" {
				t.Fatalf("accepted %q: %v", tc.body, form)
			}
		})
	}
}
