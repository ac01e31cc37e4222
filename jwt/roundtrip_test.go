package jwt

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/internal/tokenid"
)

var allAlgorithms = []Algorithm{HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA}

// TestRoundTrip issues an access and a refresh token with every algorithm
// and verifies them: the verified claims equal the issued ones, the header
// is exactly what jwtkit documents, and each kind is refused on the other
// path.
func TestRoundTrip(t *testing.T) {
	for _, alg := range allAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			f := algFixture(t, alg)
			g := Grant{Subject: "u1", Scopes: []string{"read", "write"}, FamilyID: "fam-1", Extra: map[string]any{"role": "x"}}
			at, err := f.iss.IssueAccess(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := f.iss.IssueRefresh(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			ac, err := f.ver.VerifyAccess(t.Context(), at.Raw)
			if err != nil {
				t.Fatal(err)
			}
			checkClaims(t, ac, at.Claims)
			if string(ac.raw) != string(at.Claims.raw) {
				t.Fatalf("claims JSON\n got %s\nwant %s", ac.raw, at.Claims.raw)
			}
			rc, err := f.ver.VerifyRefresh(t.Context(), rt.Raw)
			if err != nil {
				t.Fatal(err)
			}
			checkClaims(t, rc, rt.Claims)

			want := Claims{
				Subject: "u1", Issuer: testIssuer, Audience: []string{testAudience}, ID: ac.ID,
				IssuedAt: testNow, ExpiresAt: testNow.Add((15 * time.Minute)), Scopes: []string{"read", "write"},
				FamilyID: "fam-1", Use: Access, KeyID: testKID,
			}
			checkClaims(t, ac, &want)
			want.ID, want.Use, want.ExpiresAt = rc.ID, Refresh, testNow.Add((7 * 24 * time.Hour))
			checkClaims(t, rc, &want)
			if ac.ID == rc.ID {
				t.Fatal("access and refresh tokens share a jti")
			}

			for tok, typ := range map[string]string{at.Raw: "at+jwt", rt.Raw: "refresh+jwt"} {
				hseg := tok[:strings.IndexByte(tok, '.')]
				hdr, err := base64.RawURLEncoding.DecodeString(hseg)
				if err != nil {
					t.Fatal(err)
				}
				if want := `{"alg":"` + string(alg) + `","kid":"k1","typ":"` + typ + `"}`; string(hdr) != want {
					t.Fatalf("header %s, want %s", hdr, want)
				}
			}
			if _, err := f.ver.VerifyRefresh(t.Context(), at.Raw); !errors.Is(err, ErrTokenUse) {
				t.Fatalf("access as refresh: %v", err)
			}
			if _, err := f.ver.VerifyAccess(t.Context(), rt.Raw); !errors.Is(err, ErrTokenUse) {
				t.Fatalf("refresh as access: %v", err)
			}
		})
	}
}

// TestGenerateKey checks that generated keys fit their algorithm and sign
// tokens that verify. RSA generation is slow under -race, so one RSA
// algorithm stands for the family.
func TestGenerateKey(t *testing.T) {
	algs := []Algorithm{HS256, HS384, HS512, ES256, ES384, ES512, EdDSA, RS256}
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			k, err := GenerateKey("g1", alg)
			if err != nil {
				t.Fatal(err)
			}
			if k.alg != alg || k.ID() != "g1" || !k.CanSign() || k.IsSymmetric() != (alg.family() == familyHMAC) {
				t.Fatalf("generated %v", k)
			}
			if alg.family() == familyHMAC {
				if n := len(k.verifier.([]byte)); n != alg.hmacMinBytes() {
					t.Fatalf("secret of %d bytes", n)
				}
			}
			f := newFixture(t, k, nil)
			tok := f.issue(t, Grant{Subject: "alice"})
			if _, err := f.ver.VerifyAccess(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
			// A second generated key is a different key.
			k2, _ := GenerateKey("g1", alg)
			f2 := newFixture(t, k2, nil)
			if _, err := f2.ver.VerifyAccess(t.Context(), tok); !errors.Is(err, ErrSignature) {
				t.Fatalf("token verified with another generated key: %v", err)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	f := hsFixture(t)
	if f.iss.accessTTL != (15*time.Minute) || f.iss.refreshTTL != (7*24*time.Hour) || !f.iss.now().Equal(testNow) {
		t.Fatalf("issuer defaults: %s %s %s", f.iss.accessTTL, f.iss.refreshTTL, f.iss.now())
	}
	if f.ver.leeway != testLeeway || !f.ver.now().Equal(testNow) {
		t.Fatalf("verifier: %s %s", f.ver.leeway, f.ver.now())
	}

	t.Run("lifetimes", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			g    Grant
			want time.Duration
		}{
			{"default", Grant{Subject: "a"}, (15 * time.Minute)},
			{"ttl-override", Grant{Subject: "a", TTL: 5 * time.Minute}, 5 * time.Minute},
			{"capped-by-expires-at", Grant{Subject: "a", ExpiresAt: testNow.Add(time.Minute)}, time.Minute},
			{"expires-at-later-than-ttl", Grant{Subject: "a", ExpiresAt: testNow.Add(time.Hour)}, (15 * time.Minute)},
			{"expires-at-rounded-down", Grant{Subject: "a", ExpiresAt: testNow.Add(90*time.Second + 900*time.Millisecond)}, 90 * time.Second},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok, err := f.iss.IssueAccess(context.Background(), tc.g)
				if err != nil {
					t.Fatal(err)
				}
				c, err := f.ver.VerifyAccess(t.Context(), tok.Raw)
				if err != nil {
					t.Fatal(err)
				}
				if got := c.ExpiresAt.Sub(c.IssuedAt); got != tc.want {
					t.Fatalf("lifetime %s, want %s", got, tc.want)
				}
			})
		}
	})

	t.Run("whole-seconds", func(t *testing.T) {
		// A clock with a fraction of a second: iat and exp are whole
		// seconds, and exp never lies beyond what was asked.
		now := testNow.Add(700 * time.Millisecond)
		iss, err := NewIssuer(IssuerConfig{Keys: f.keys, Now: func() time.Time { return now }, AccessTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := iss.IssueAccess(context.Background(), Grant{Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		exp, _ := tok.Claims.rawClaim("exp")
		iat, _ := tok.Claims.rawClaim("iat")
		if string(iat) != num(testNow.Unix()) || string(exp) != num(testNow.Unix()+60) {
			t.Fatalf("iat %s exp %s", iat, exp)
		}
		if _, hasIss := tok.Claims.rawClaim("iss"); hasIss {
			t.Fatal("iss written without IssuerConfig.Issuer")
		}
		if _, hasAud := tok.Claims.rawClaim("aud"); hasAud {
			t.Fatal("aud written without IssuerConfig.Audience")
		}
	})

	t.Run("several-audiences", func(t *testing.T) {
		iss, err := NewIssuer(IssuerConfig{Keys: f.keys, Issuer: testIssuer, Audience: []string{"api", "billing"}, Now: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := iss.IssueAccess(context.Background(), Grant{Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if aud, _ := tok.Claims.rawClaim("aud"); string(aud) != `["api","billing"]` {
			t.Fatalf("aud %s", aud)
		}
		billing := fixtureOn(t, f.keys, f.key, f.sign, func(c *VerifierConfig) { c.Audience = "billing" })
		if _, err := billing.ver.VerifyAccess(t.Context(), tok.Raw); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("jti", func(t *testing.T) {
		tok, err := f.iss.IssueAccess(context.Background(), Grant{Subject: "a", ID: "my-id"})
		if err != nil || tok.Claims.ID != "my-id" {
			t.Fatalf("Grant.ID: %v %v", tok, err)
		}
		// Default jti: 128 random bits, base64url, all distinct.
		seen := make(map[string]bool)
		for range 2000 {
			tok, err := f.iss.IssueAccess(context.Background(), Grant{Subject: "a"})
			if err != nil {
				t.Fatal(err)
			}
			id := tok.Claims.ID
			if b, err := base64.RawURLEncoding.Strict().DecodeString(id); err != nil || len(b) != 16 {
				t.Fatalf("jti %q is not 16 bytes of base64url", id)
			}
			if seen[id] {
				t.Fatalf("jti %q issued twice", id)
			}
			seen[id] = true
		}
		if a, b := tokenid.New(), tokenid.New(); a == b || len(a) != 22 {
			t.Fatalf("NewID: %q %q", a, b)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			refresh bool
			g       Grant
			wantErr error
		}{
			{"subject-missing", false, Grant{}, ErrMissingClaim},
			{"refresh-subject-missing", true, Grant{FamilyID: "f"}, ErrMissingClaim},
			{"refresh-family-missing", true, Grant{Subject: "a"}, ErrMissingClaim},
			{"subject-invalid-utf8", false, Grant{Subject: "a\xff"}, ErrInvalidClaim},
			{"jti-invalid-utf8", false, Grant{Subject: "a", ID: "\xff"}, ErrInvalidClaim},
			{"family-invalid-utf8", true, Grant{Subject: "a", FamilyID: "\xff"}, ErrInvalidClaim},
			{"C14/scope-with-space", false, Grant{Subject: "a", Scopes: []string{"read admin"}}, ErrInvalidClaim},
			{"C14/scope-empty", false, Grant{Subject: "a", Scopes: []string{""}}, ErrInvalidClaim},
			{"C14/scope-quote", false, Grant{Subject: "a", Scopes: []string{`a"b`}}, ErrInvalidClaim},
			{"C14/scope-backslash", false, Grant{Subject: "a", Scopes: []string{`a\b`}}, ErrInvalidClaim},
			{"C14/scope-tab", false, Grant{Subject: "a", Scopes: []string{"a\tb"}}, ErrInvalidClaim},
			{"C14/scope-non-ascii", false, Grant{Subject: "a", Scopes: []string{"ádmin"}}, ErrInvalidClaim},
			{"expires-before-issue", false, Grant{Subject: "a", ExpiresAt: testNow.Add(-time.Second)}, ErrConfig},
			{"expires-within-the-second", false, Grant{Subject: "a", ExpiresAt: testNow.Add(500 * time.Millisecond)}, ErrConfig},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var err error
				if tc.refresh {
					_, err = f.iss.IssueRefresh(context.Background(), tc.g)
				} else {
					_, err = f.iss.IssueAccess(context.Background(), tc.g)
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
			})
		}
	})

	t.Run("escaping", func(t *testing.T) {
		// Values that need JSON escaping survive the round trip.
		for _, s := range []string{`a"b`, `a\b`, "line\nbreak", "\x00", "</script>", "ключ", "\u2028"} {
			g := Grant{Subject: s, ID: s, FamilyID: s, Scopes: []string{"https://api.test/read"}}
			tok, err := f.iss.IssueRefresh(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.ver.VerifyRefresh(t.Context(), tok.Raw)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if c.Subject != s || c.ID != s || c.FamilyID != s || !c.HasScope("https://api.test/read") {
				t.Fatalf("%q: got %+v", s, c)
			}
		}
	})
}
