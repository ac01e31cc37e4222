package csrf

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheck(t *testing.T) {
	p, err := New("c", []string{"https://trusted.example"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		cookie  string
		want    error
	}{
		{"same-origin", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, "", nil},
		{"cross-site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", ErrCrossOrigin},
		{"same-site", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, "", ErrCrossOrigin},
		{"trusted origin", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://trusted.example"}, "", nil},
		{"Origin matches Host", "POST", map[string]string{"Origin": "http://example.com"}, "", nil},
		{"Origin differs", "POST", map[string]string{"Origin": "http://example.com:8080"}, "", ErrCrossOrigin},
		{"neither header, no token", "POST", nil, "tok", ErrToken},
		{"neither header, token matches", "POST", map[string]string{Header: "tok"}, "tok", nil},
		{"neither header, token differs", "POST", map[string]string{Header: "other"}, "tok", ErrToken},
		{"neither header, empty cookie", "POST", map[string]string{Header: ""}, "", ErrToken},
		{"same-origin, forged token", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", Header: "other"}, "tok", ErrToken},
		{"GET without anything", "GET", nil, "", nil},
		{"GET cross-site", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", nil},
		{"GET with a forged token", "GET", map[string]string{Header: "other"}, "tok", ErrToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://example.com/x", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "c", Value: tt.cookie})
			}
			if err := p.Check(r); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTwoTokenHeadersAreAMismatch(t *testing.T) {
	p, _ := New("c", nil)
	r := httptest.NewRequest("POST", "http://example.com/x", nil)
	r.Header.Add(Header, "tok")
	r.Header.Add(Header, "tok")
	r.AddCookie(&http.Cookie{Name: "c", Value: "tok"})
	if err := p.Check(r); !errors.Is(err, ErrToken) {
		t.Fatalf("Check = %v, want ErrToken", err)
	}
}

func TestNewRefusesBadOrigins(t *testing.T) {
	if _, err := New("c", []string{"not an origin"}); err == nil {
		t.Fatal("New accepted a bad origin")
	}
}

func TestNewTokenIsFresh(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) != 26 {
		t.Fatalf("tokens %q %q", a, b)
	}
}
