package jwt_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/jwt"
)

// interoperability with two independent JOSE implementations in
// Python, jwcrypto and PyJWT (Debian packages python3-jwcrypto,
// python3-jwt, python3-cryptography).

// ktPython returns a Python interpreter that has the three modules (see
// testenv.Python for when a missing one skips or fails the test).
func ktPython(t *testing.T) string {
	t.Helper()
	return testenv.Python(t, "the Debian packages python3-jwt python3-cryptography python3-jwcrypto", "jwt", "jwcrypto", "cryptography")
}

const ktPyVerify = `
import json, sys
import jwt as pyjwt
from jwcrypto import jwk, jwt as jjwt

req = json.load(sys.stdin)
keyset = jwk.JWKSet.from_json(json.dumps(req["jwks"]))
by_kid = {k["kid"]: k for k in req["jwks"]["keys"]}
out = {}
for alg, tok in req["tokens"].items():
    res = {}
    try:
        t = jjwt.JWT(jwt=tok, key=keyset, algs=[alg])
        res["jwcrypto"] = json.loads(t.claims)["sub"]
    except Exception as e:
        res["jwcrypto"] = "ERROR " + repr(e)
    try:
        kid = pyjwt.get_unverified_header(tok)["kid"]
        key = pyjwt.PyJWK(by_kid[kid])
        claims = pyjwt.decode(tok, key=key.key, algorithms=[alg], issuer=req["issuer"])
        res["pyjwt"] = claims["sub"]
    except Exception as e:
        res["pyjwt"] = "ERROR " + repr(e)
    # A tampered token must fail in both.
    bad = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    try:
        jjwt.JWT(jwt=bad, key=keyset, algs=[alg])
        res["jwcrypto_tampered"] = "accepted"
    except Exception:
        res["jwcrypto_tampered"] = "refused"
    out[alg] = res
json.dump(out, sys.stdout)
`

// jwtkit's tokens and JWKS verify in jwcrypto and PyJWT.
func TestInterop_X03_JWTKitToPython(t *testing.T) {
	python := ktPython(t)
	keys := map[jwt.Algorithm]*jwt.Key{
		jwt.RS256: ktKey(t, "rs-1", jwt.RS256, "rsa"),
		jwt.PS256: ktKey(t, "ps-1", jwt.PS256, "rsa2"),
		jwt.ES256: ktKey(t, "es-1", jwt.ES256, "p256"),
		jwt.ES384: ktKey(t, "es-2", jwt.ES384, "p384"),
		jwt.EdDSA: ktKey(t, "ed-1", jwt.EdDSA, "ed"),
	}
	var all []map[string]any
	tokens := map[string]string{}
	for alg, k := range keys {
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(ktJWKS(t, k), &doc); err != nil {
			t.Fatal(err)
		}
		all = append(all, doc.Keys...)
		tokens[string(alg)] = ktIssue(t, ktSet(t, k), ktIssuer, "read")
	}
	var out map[string]map[string]string
	testenv.RunPython(t, python, ktPyVerify, map[string]any{"jwks": map[string]any{"keys": all}, "tokens": tokens, "issuer": ktIssuer}, &out)
	for alg := range keys {
		res := out[string(alg)]
		if res["jwcrypto"] != "user-1" || res["pyjwt"] != "user-1" || res["jwcrypto_tampered"] != "refused" {
			t.Errorf("%s: %v", alg, res)
		}
	}
}

const ktPySign = `
import json, sys, time
import jwt as pyjwt
from jwcrypto import jwk, jwt as jjwt

req = json.load(sys.stdin)
now = int(time.time())
claims = {"iss": req["issuer"], "sub": "py-user", "iat": now, "exp": now + 600, "scope": "read write"}
specs = {"RS256": dict(kty="RSA", size=2048), "PS256": dict(kty="RSA", size=2048),
         "ES256": dict(kty="EC", crv="P-256"), "ES512": dict(kty="EC", crv="P-521"),
         "EdDSA": dict(kty="OKP", crv="Ed25519")}
keys, tokens = [], {}
for alg, spec in specs.items():
    kid = "py-" + alg
    key = jwk.JWK.generate(kid=kid, alg=alg, use="sig", **spec)
    keys.append(json.loads(key.export_public()))
    # jwcrypto signs an at+jwt access token,
    t = jjwt.JWT(header={"alg": alg, "kid": kid, "typ": "at+jwt"}, claims=claims)
    t.make_signed_token(key)
    tokens["jwcrypto-" + alg] = t.serialize()
    # PyJWT a plain JWT with its default typ.
    pem = key.export_to_pem(private_key=True, password=None)
    tokens["pyjwt-" + alg] = pyjwt.encode(claims, pem, algorithm=alg, headers={"kid": kid})
json.dump({"jwks": {"keys": keys}, "tokens": tokens}, sys.stdout)
`

// Tokens and a JWKS made by jwcrypto and PyJWT verify in jwtkit, from the
// parsed JWKS and through a RemoteKeySet serving it.
func TestInterop_X03_PythonToJWTKit(t *testing.T) {
	python := ktPython(t)
	var out struct {
		JWKS   json.RawMessage   `json:"jwks"`
		Tokens map[string]string `json:"tokens"`
	}
	testenv.RunPython(t, python, ktPySign, map[string]any{"issuer": ktIssuer}, &out)
	if len(out.Tokens) != 10 {
		t.Fatalf("python produced %d tokens", len(out.Tokens))
	}
	// The set mixes key families: it is read whole, and key by key, and
	// remote sets accept one family or all of them.
	all, err := jwt.ParseJWKS(out.JWKS)
	if err != nil || len(all) != 5 {
		t.Fatalf("ParseJWKS: %d keys, %v", len(all), err)
	}
	everyAlg := []jwt.Algorithm{jwt.RS256, jwt.PS256, jwt.ES256, jwt.ES512, jwt.EdDSA}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(out.JWKS, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []*jwt.Key
	for _, raw := range doc.Keys {
		k, err := jwt.ParseJWK(raw)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys) != 5 {
		t.Fatalf("%d keys", len(keys))
	}
	srv := newKTJWKSServer(t, out.JWKS, true)
	byFamily := map[string][]jwt.Algorithm{"RS256": {jwt.RS256, jwt.PS256}, "PS256": {jwt.RS256, jwt.PS256}, "ES256": {jwt.ES256, jwt.ES512}, "ES512": {jwt.ES256, jwt.ES512}, "EdDSA": {jwt.EdDSA}}
	for name, tok := range out.Tokens {
		alg := name[len(name)-5:]
		var key *jwt.Key
		for _, k := range keys {
			if string(k.Algorithm()) == alg {
				key = k
			}
		}
		remote := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: byFamily[alg]})
		remoteAll := ktRemote(t, srv, jwt.RemoteKeySetConfig{Algorithms: everyAlg})
		for src, ks := range map[string]jwt.KeySource{
			"JWKS": ktSet(t, nil, key), "remote": remote,
			"whole JWKS": ktSet(t, nil, all...), "remote, every algorithm": remoteAll,
		} {
			v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: ks, Issuer: ktIssuer, AllowPlainJWT: true})
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.VerifyAccess(context.Background(), tok)
			if err != nil {
				t.Errorf("%s via %s: %v", name, src, err)
				continue
			}
			if c.Subject != "py-user" || !c.HasScope("write") || c.KeyID != "py-"+alg {
				t.Errorf("%s via %s: claims %+v", name, src, c)
			}
		}
	}
}
