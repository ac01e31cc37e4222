package jwt_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
)

// A set holding an HMAC secret next to public keys publishes the public
// keys only, whichever key signs.
func TestMixedKeySet_HMACKeyNeverPublished(t *testing.T) {
	h := ktHMAC(t, "h1")
	r := ktKey(t, "r1", jwt.RS256, "rsa")
	e := ktKey(t, "e1", jwt.ES256, "p256")
	for name, set := range map[string]*jwt.KeySet{
		"HMAC signs":      ktSet(t, h, r, e),
		"HMAC verifies":   ktSet(t, e, h, r),
		"HMAC scheduled":  ktScheduled(t, []jwt.ScheduledKey{{Key: h}, {Key: e, From: time.Unix(1e9, 0)}}, r),
		"HMAC after EC":   ktScheduled(t, []jwt.ScheduledKey{{Key: e}, {Key: h, From: time.Unix(1e9, 0)}}),
		"HMAC alone left": ktSet(t, nil, h, ktPublic(t, r)),
	} {
		t.Run(name, func(t *testing.T) {
			doc, err := set.PublicJWKS()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(doc, []byte(`"oct"`)) || bytes.Contains(doc, []byte(`"h1"`)) || bytes.Contains(doc, []byte(`"k"`)) {
				t.Fatalf("the HMAC key is published: %s", doc)
			}
			var parsed struct{ Keys []map[string]any }
			if err := json.Unmarshal(doc, &parsed); err != nil {
				t.Fatal(err)
			}
			for _, k := range parsed.Keys {
				if k["kty"] != "RSA" && k["kty"] != "EC" {
					t.Fatalf("unexpected key %v", k)
				}
			}
		})
	}
}

// In a set mixing HS256 and RS256, the RSA public key (PEM, DER or its
// JWK) used as an HMAC secret never verifies, under the RSA key's kid, the
// HMAC key's kid or no kid; and each key verifies only its own algorithm.
func TestMixedKeySet_PublicKeyAsHMACSecretRefused(t *testing.T) {
	h := ktHMAC(t, "h1")
	r := ktKey(t, "r1", jwt.RS256, "rsa")
	pemPub, _ := r.PublicPEM()
	der, _ := x509.MarshalPKIXPublicKey(r.Public())
	for name, set := range map[string]*jwt.KeySet{
		"HMAC signs": ktSet(t, h, r),
		"RSA signs":  ktSet(t, r, h),
		"verify":     ktSet(t, nil, ktPublic(t, r), h),
	} {
		v := ktVerifier(t, set, ktIssuer)
		for sname, secret := range map[string][]byte{"PEM": pemPub, "DER": der, "JWKS": ktJWKS(t, r)} {
			for _, tc := range []struct {
				header map[string]any
				want   error
			}{
				{map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "r1"}, jwt.ErrAlgorithm},
				{map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "h1"}, jwt.ErrSignature},
				{map[string]any{"alg": "HS256", "typ": "at+jwt"}, jwt.ErrUnknownKey},
				{map[string]any{"alg": "HS384", "typ": "at+jwt", "kid": "r1"}, jwt.ErrAlgorithm},
			} {
				tok := ktCraft(t, tc.header, ktClaims(), ktHS256(secret))
				_, err := v.VerifyAccess(context.Background(), tok)
				if !errors.Is(err, tc.want) {
					t.Errorf("%s, secret = public key %s, header %v: %v, want %v", name, sname, tc.header, err, tc.want)
				}
			}
		}
		// Genuine tokens moved to the other key's kid are refused on the
		// algorithm.
		rsTok := ktCraft(t, map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "h1"}, ktClaims(), ktRS256(t, ktSigner(t, "rsa").(*rsa.PrivateKey)))
		hsTok := ktCraft(t, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "r1"}, ktClaims(), ktHS256(ktSecret))
		for _, tok := range []string{rsTok, hsTok} {
			if _, err := v.VerifyAccess(context.Background(), tok); !errors.Is(err, jwt.ErrAlgorithm) {
				t.Errorf("%s: key swapped by kid: %v", name, err)
			}
		}
		// Each key still verifies its own tokens.
		for kid, sign := range map[string]func([]byte) []byte{"h1": ktHS256(ktSecret), "r1": ktRS256(t, ktSigner(t, "rsa").(*rsa.PrivateKey))} {
			alg := map[string]string{"h1": "HS256", "r1": "RS256"}[kid]
			tok := ktCraft(t, map[string]any{"alg": alg, "typ": "at+jwt", "kid": kid}, ktClaims(), sign)
			if c, err := v.VerifyAccess(context.Background(), tok); err != nil || c.KeyID != kid {
				t.Errorf("%s: own token of %s: %v %v", name, kid, c, err)
			}
		}
	}
}

// A token whose algorithm no key of the set has is refused before any
// key lookup.
func TestMixedKeySet_AlgorithmOfNoKeyRefused(t *testing.T) {
	set := ktSet(t, ktHMAC(t, "h1"), ktKey(t, "e1", jwt.ES256, "p256"))
	v := ktVerifier(t, set, ktIssuer)
	for _, alg := range []string{"RS256", "PS256", "ES384", "HS512", "EdDSA", "none"} {
		tok := ktCraft(t, map[string]any{"alg": alg, "typ": "at+jwt", "kid": "e1"}, ktClaims(), ktHS256(ktSecret))
		if _, err := v.VerifyAccess(context.Background(), tok); !errors.Is(err, jwt.ErrAlgorithm) {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

// The signing key of a scheduled set follows the issuer's clock; every
// scheduled key verifies and is published from the start.
func TestScheduledKeySet_SwitchesAtItsTime(t *testing.T) {
	clock := jwttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	switchAt := clock.Now().Add(time.Hour)
	old := ktHMAC(t, "old")
	next := ktKey(t, "next", jwt.ES256, "p256")
	set := ktScheduled(t, []jwt.ScheduledKey{{Key: next, From: switchAt}, {Key: old}})
	if ks := set.Keys(); len(ks) != 2 || ks[0] != next || ks[1] != old {
		t.Fatalf("Keys: %v", ks)
	}
	doc, _ := set.PublicJWKS()
	if !bytes.Contains(doc, []byte(`"next"`)) {
		t.Fatalf("the scheduled key is not published before it signs: %s", doc)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: set, Issuer: ktIssuer, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: set, Issuer: ktIssuer, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mint := func() *jwt.Token {
		tok, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "u"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, step := range []struct {
		at  time.Time
		kid string
	}{
		{switchAt.Add(-time.Second), "old"},
		{switchAt, "next"},
		{switchAt.Add(time.Hour), "next"},
	} {
		clock.Set(step.at)
		tok := mint()
		if tok.Claims.KeyID != step.kid {
			t.Fatalf("at %s: signed by %q, want %q", step.at, tok.Claims.KeyID, step.kid)
		}
		if c, err := v.VerifyAccess(ctx, tok.Raw); err != nil || c.KeyID != step.kid {
			t.Fatalf("at %s: %v %v", step.at, c, err)
		}
	}
}

func TestScheduledKeySet_Refused(t *testing.T) {
	k1 := ktHMAC(t, "k1")
	k2 := ktKey(t, "k2", jwt.ES256, "p256")
	at := time.Unix(1e9, 0)
	for name, tc := range map[string]struct {
		schedule []jwt.ScheduledKey
		verify   []*jwt.Key
		want     error
	}{
		"empty schedule":           {nil, []*jwt.Key{k1}, jwt.ErrConfig},
		"nil key":                  {[]jwt.ScheduledKey{{Key: k1}, {From: at}}, nil, jwt.ErrConfig},
		"verify-only key":          {[]jwt.ScheduledKey{{Key: ktPublic(t, k2), From: at}}, nil, jwt.ErrConfig},
		"same time":                {[]jwt.ScheduledKey{{Key: k1, From: at}, {Key: k2, From: at}}, nil, jwt.ErrConfig},
		"same key twice":           {[]jwt.ScheduledKey{{Key: k1}, {Key: k1, From: at}}, nil, jwt.ErrConfig},
		"kid shared with verify":   {[]jwt.ScheduledKey{{Key: k1}}, []*jwt.Key{k1}, jwt.ErrConfig},
		"nil verification key":     {[]jwt.ScheduledKey{{Key: k1}}, []*jwt.Key{nil}, jwt.ErrConfig},
		"accepted, mixed families": {[]jwt.ScheduledKey{{Key: k1}, {Key: k2, From: at}}, nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := jwt.NewScheduledKeySet(tc.schedule, tc.verify...)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ktWantErr(t, err, tc.want)
		})
	}
}

// Before the first scheduled key's time nothing signs: issuing fails with
// ErrConfig instead of picking some key.
func TestScheduledKeySet_NothingSignsBeforeFirstKey(t *testing.T) {
	clock := jwttest.NewClock(time.Unix(1e9, 0))
	set := ktScheduled(t, []jwt.ScheduledKey{{Key: ktHMAC(t, "k1"), From: clock.Now().Add(time.Minute)}})
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: set, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = iss.IssueAccess(context.Background(), jwt.Grant{Subject: "u"})
	ktWantErr(t, err, jwt.ErrConfig)
	clock.Advance(time.Minute)
	if _, err := iss.IssueAccess(context.Background(), jwt.Grant{Subject: "u"}); err != nil {
		t.Fatal(err)
	}
}

var ktSecret = bytes.Repeat([]byte("s"), 32)

func ktHMAC(tb testing.TB, kid string) *jwt.Key {
	tb.Helper()
	k, err := jwt.NewHMACKey(kid, jwt.HS256, ktSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func ktScheduled(tb testing.TB, schedule []jwt.ScheduledKey, verifyOnly ...*jwt.Key) *jwt.KeySet {
	tb.Helper()
	s, err := jwt.NewScheduledKeySet(schedule, verifyOnly...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// A remote set may accept several families: each published key verifies
// its own algorithm, and a token of an algorithm not accepted is refused
// without a fetch, even with an unknown kid.
func TestRemoteKeySet_SeveralFamilies(t *testing.T) {
	r := ktKey(t, "r1", jwt.RS256, "rsa")
	e := ktKey(t, "e1", jwt.ES256, "p256")
	srv := newKTJWKSServer(t, ktJWKS(t, r, e), true)
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.RS256, jwt.ES256}, Now: newKTClock().Now})
	v := ktVerifier(t, remote, ktIssuer)
	for _, k := range []*jwt.Key{r, e} {
		tok := ktIssue(t, ktSet(t, k), ktIssuer)
		if c, err := v.VerifyAccess(context.Background(), tok); err != nil || c.KeyID != k.ID() {
			t.Fatalf("%s: %v %v", k.ID(), c, err)
		}
		// The same token relabelled to the other accepted algorithm.
		other := map[string]string{"r1": "ES256", "e1": "RS256"}[k.ID()]
		_, err := v.VerifyAccess(context.Background(), ktRelabel(t, tok, func(h map[string]any) { h["alg"] = other }))
		ktWantErr(t, err, jwt.ErrAlgorithm)
	}
	fetches := srv.requests.Load()
	for _, alg := range []string{"PS256", "ES384", "EdDSA", "HS256"} {
		tok := ktCraft(t, map[string]any{"alg": alg, "typ": "at+jwt", "kid": "unknown-" + alg}, ktClaims(), ktHS256(ktSecret))
		_, err := v.VerifyAccess(context.Background(), tok)
		ktWantErr(t, err, jwt.ErrAlgorithm)
	}
	if n := srv.requests.Load() - fetches; n != 0 {
		t.Fatalf("tokens of algorithms not accepted caused %d fetches", n)
	}
}
