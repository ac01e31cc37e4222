package main

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

func TestKeygen(t *testing.T) {
	for _, alg := range []jwt.Algorithm{jwt.RS256, jwt.PS384, jwt.ES256, jwt.ES512, jwt.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			var stdout, stderr bytes.Buffer
			if err := run([]string{"-alg", string(alg), "-out", path}, &stdout, &stderr); err != nil {
				t.Fatal(err, stderr.String())
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Fatalf("mode %v", info.Mode())
			}
			keys, err := jwt.ParseJWKS(stdout.Bytes())
			if err != nil || len(keys) != 1 {
				t.Fatalf("printed JWKS: %v %s", err, stdout.String())
			}
			kid := keys[0].ID()
			// The key file loaded without a kid, as examples/server
			// loads it, has the printed kid.
			pemBytes, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			k, err := jwt.ParseKeyPEM("", alg, pemBytes)
			if err != nil || !k.CanSign() || k.ID() != kid {
				t.Fatal(k, err)
			}
			set, _ := jwt.NewKeySet(k)
			doc, _ := set.PublicJWKS()
			if string(doc) != strings.TrimSpace(stdout.String()) {
				t.Fatalf("printed JWKS differs from the key written:\n%s\n%s", doc, stdout.String())
			}
			// The default kid is the RFC 7638 thumbprint, as jwx computes it.
			published, err := jwk.Parse(stdout.Bytes())
			if err != nil || published.Len() != 1 {
				t.Fatal(published, err)
			}
			xk, _ := published.Key(0)
			tp, err := xk.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(tp); kid != want {
				t.Fatalf("kid %q, thumbprint %q", kid, want)
			}
			if strings.Contains(stdout.String(), `"d"`) {
				t.Fatal("private key printed")
			}
			// Never overwrite.
			before, _ := os.ReadFile(path)
			if err := run([]string{"-alg", string(alg), "-out", path}, &stdout, &stderr); err == nil {
				t.Fatal("overwrote the key")
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Fatal("key file changed")
			}
		})
	}
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"HMAC":         {"-alg", "HS256", "-out", filepath.Join(dir, "a")},
		"short RSA":    {"-alg", "RS256", "-bits", "1024", "-out", filepath.Join(dir, "b")},
		"unknown alg":  {"-alg", "none", "-out", filepath.Join(dir, "c")},
		"no -out":      {"-alg", "ES256"},
		"explicit kid": {"-alg", "ES256", "-kid", "k-2026", "-out", filepath.Join(dir, "d")},
	} {
		var stdout, stderr bytes.Buffer
		err := run(args, &stdout, &stderr)
		if name == "explicit kid" {
			if err != nil || !strings.Contains(stdout.String(), `"kid":"k-2026"`) {
				t.Errorf("%s: %v %s", name, err, stdout.String())
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, statErr := os.Stat(args[len(args)-1]); statErr == nil && name != "no -out" {
			t.Errorf("%s: a file was written", name)
		}
	}
}
