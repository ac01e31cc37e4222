package jwt_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
)

// ktAccessVerifier has the method set of middleware.AccessVerifier.
type ktAccessVerifier interface {
	VerifyAccess(ctx context.Context, raw string) (*jwt.Claims, error)
}

var (
	_ ktAccessVerifier = (*jwt.Verifier)(nil)
	_ ktAccessVerifier = (*jwt.MultiVerifier)(nil)
)

func TestMultiVerifier_RoutesByIssuer(t *testing.T) {
	const issA, issB = "https://a.test", "https://b.test"
	ka := ktKey(t, "a1", jwt.RS256, "rsa")
	kb := ktKey(t, "b1", jwt.ES256, "p256")
	kb2 := ktKey(t, "a1", jwt.RS256, "rsa2") // B also has an RSA key, under A's kid
	va := ktVerifier(t, ktSet(t, nil, ktPublic(t, ka)), issA)
	vb := ktVerifier(t, ktSet(t, nil, ktPublic(t, kb)), issB)
	mv, err := jwt.NewMultiVerifier(va, vb)
	if err != nil {
		t.Fatal(err)
	}
	var av ktAccessVerifier = mv
	ctx := context.Background()

	for name, tc := range map[string]struct {
		raw     string
		wantIss string
	}{
		"issuer A": {ktIssue(t, ktSet(t, ka), issA), issA},
		"issuer B": {ktIssue(t, ktSet(t, kb), issB), issB},
	} {
		c, err := av.VerifyAccess(ctx, tc.raw)
		if err != nil || c.Issuer != tc.wantIss {
			t.Fatalf("%s: %v %v", name, c, err)
		}
	}

	rogue := ktSigner(t, "rsa3").(*rsa.PrivateKey)
	withIss := func(iss any) map[string]any {
		c := ktClaims()
		if iss == nil {
			delete(c, "iss")
		} else {
			c["iss"] = iss
		}
		return c
	}
	rsHdr := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "a1"}
	cases := map[string]struct {
		raw  string
		want error
	}{
		"unknown issuer":          {ktIssue(t, ktSet(t, ka), "https://evil.test"), jwt.ErrIssuer},
		"no iss":                  {ktCraft(t, rsHdr, withIss(nil), ktRS256(t, rogue)), jwt.ErrIssuer},
		"empty iss":               {ktCraft(t, rsHdr, withIss(""), ktRS256(t, rogue)), jwt.ErrIssuer},
		"iss not a string":        {ktCraft(t, rsHdr, withIss([]string{issA}), ktRS256(t, rogue)), jwt.ErrInvalidClaim},
		"iss differs in case":     {ktIssue(t, ktSet(t, ka), "HTTPS://A.TEST"), jwt.ErrIssuer},
		"iss with trailing slash": {ktIssue(t, ktSet(t, ka), issA+"/"), jwt.ErrIssuer},
		// A token signed by A's key but claiming B goes to B alone, whose
		// keys are EC: it is never tried against A.
		"A's key claiming B": {ktIssue(t, ktSet(t, ka), issB), jwt.ErrAlgorithm},
		// B's RSA key under A's kid, claiming A: A's verifier checks the
		// signature with A's key.
		"other key claiming A": {ktIssue(t, ktSet(t, kb2), issA), jwt.ErrSignature},
		"duplicate iss":        {ktCraftRaw(t, `{"alg":"RS256","typ":"at+jwt","kid":"a1"}`, `{"iss":"https://evil.test","iss":"https://a.test","sub":"u","exp":4102444800}`, rogue), jwt.ErrMalformed},
		"case-variant iss":     {ktCraftRaw(t, `{"alg":"RS256","typ":"at+jwt","kid":"a1"}`, `{"ISS":"https://evil.test","iss":"https://a.test","sub":"u","exp":4102444800}`, rogue), jwt.ErrMalformed},
		"claims not an object": {ktCraftRaw(t, `{"alg":"RS256","typ":"at+jwt","kid":"a1"}`, `["https://a.test"]`, rogue), jwt.ErrMalformed},
		"not a token":          {"not.a.token!", jwt.ErrMalformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := av.VerifyAccess(ctx, tc.raw)
			ktWantErr(t, err, tc.want)
		})
	}
	if iss := mv.Issuers(); len(iss) != 2 {
		t.Fatalf("issuers %v", iss)
	}
}

func ktCraftRaw(tb testing.TB, header, claims string, priv *rsa.PrivateKey) string {
	tb.Helper()
	input := ktB64([]byte(header)) + "." + ktB64([]byte(claims))
	return input + "." + ktB64(ktRS256(tb, priv)([]byte(input)))
}

func TestMultiVerifier_ConfigRefused(t *testing.T) {
	keys := ktSet(t, ktKey(t, "k", jwt.ES256, "p256"))
	anyIss, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, AnyIssuer: true})
	if err != nil {
		t.Fatal(err)
	}
	a1 := ktVerifier(t, keys, "https://a.test")
	a2 := ktVerifier(t, keys, "https://a.test")
	for name, vs := range map[string][]*jwt.Verifier{
		"none":        nil,
		"nil":         {a1, nil},
		"any issuer":  {anyIss},
		"same issuer": {a1, a2},
	} {
		if _, err := jwt.NewMultiVerifier(vs...); !errors.Is(err, jwt.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A MultiVerifier over remote key sets: each issuer's keys come from its
// own JWKS endpoint.
func TestMultiVerifier_RemoteIssuers(t *testing.T) {
	ka := ktKey(t, "a1", jwt.RS256, "rsa")
	kb := ktKey(t, "b1", jwt.EdDSA, "ed")
	srvA := newKTJWKSServer(t, ktJWKS(t, ka), true)
	srvB := newKTJWKSServer(t, ktJWKS(t, kb), true)
	ra := ktRemote(t, srvA, jwt.RemoteKeySetConfig{})
	rb := ktRemote(t, srvB, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.EdDSA}})
	mv, err := jwt.NewMultiVerifier(ktVerifier(t, ra, "https://a.test"), ktVerifier(t, rb, "https://b.test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := mv.VerifyAccess(ctx, ktIssue(t, ktSet(t, ka), "https://a.test")); err != nil {
		t.Fatal(err)
	}
	if _, err := mv.VerifyAccess(ctx, ktIssue(t, ktSet(t, kb), "https://b.test")); err != nil {
		t.Fatal(err)
	}
	before := srvA.requests.Load() + srvB.requests.Load()
	_, err = mv.VerifyAccess(ctx, ktIssue(t, ktSet(t, kb), "https://c.test"))
	ktWantErr(t, err, jwt.ErrIssuer)
	if srvA.requests.Load()+srvB.requests.Load() != before {
		t.Fatal("an unknown issuer caused a fetch")
	}
}

// T-04, T-05 over a remote key set: two services trusting the same issuer
// and keys refuse each other's tokens by audience, and a token from
// another deployment that reused the key is refused by issuer.
func TestRemote_T04T05_Substitution(t *testing.T) {
	k := ktKey(t, "k1", jwt.ES256, "p256")
	srv := newKTJWKSServer(t, ktJWKS(t, k), true)
	remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.ES256}})
	service := func(aud string) *jwt.Verifier {
		v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: remote, Issuer: ktIssuer, Audience: aud})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	mint := func(iss, aud string) string {
		i, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: ktSet(t, k), Issuer: iss, Audience: []string{aud}})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := i.IssueAccess(context.Background(), jwt.Grant{Subject: "u"})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Raw
	}
	a, b := service("A"), service("B")
	ctx := context.Background()
	forA := mint(ktIssuer, "A")
	if _, err := a.VerifyAccess(ctx, forA); err != nil {
		t.Fatal(err)
	}
	_, err := b.VerifyAccess(ctx, forA)
	ktWantErr(t, err, jwt.ErrAudience)
	_, err = a.VerifyAccess(ctx, mint("https://dev.issuer.keys.test", "A"))
	ktWantErr(t, err, jwt.ErrIssuer)
}

// FuzzMultiVerifierRoute: whatever the input, a MultiVerifier returns an
// error wrapping a verification sentinel, never a panic, and accepts only
// the token its verifier accepts.
func FuzzMultiVerifierRoute(f *testing.F) {
	k := ktKey(f, "k1", jwt.ES256, "p256")
	valid := ktIssue(f, ktSet(f, k), ktIssuer)
	v := ktVerifier(f, ktSet(f, nil, ktPublic(f, k)), ktIssuer)
	mv, err := jwt.NewMultiVerifier(v)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add("a.b.c")
	f.Add(ktB64([]byte(`{"alg":"ES256"}`)) + "." + ktB64([]byte(`{"iss":"`+ktIssuer+`"}`)) + ".AAAA")
	sentinels := []error{jwt.ErrMalformed, jwt.ErrHeader, jwt.ErrAlgorithm, jwt.ErrUnknownKey, jwt.ErrSignature,
		jwt.ErrExpired, jwt.ErrNotYetValid, jwt.ErrIssuedInFuture, jwt.ErrLifetime, jwt.ErrIssuer,
		jwt.ErrAudience, jwt.ErrTokenUse, jwt.ErrMissingClaim, jwt.ErrInvalidClaim, jwt.ErrNoKeys}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := mv.VerifyAccess(context.Background(), raw)
		if err == nil {
			if _, verr := v.VerifyAccess(context.Background(), raw); verr != nil || c.Issuer != ktIssuer {
				t.Fatalf("MultiVerifier accepted what its verifier refuses: %v", verr)
			}
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("unclassified error: %v", err)
	})
}
