package jwt_test

import (
	"context"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
)

var ktBenchAlgs = []struct {
	alg  jwt.Algorithm
	name string
}{{jwt.RS256, "rsa"}, {jwt.ES256, "p256"}}

func ktBenchVerify(b *testing.B, v *jwt.Verifier, raw string) {
	ctx := context.Background()
	if _, err := v.VerifyAccess(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyAccess(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyLocal verifies with a local KeySet of two public keys.
func BenchmarkVerifyLocal(b *testing.B) {
	for _, tc := range ktBenchAlgs {
		b.Run(string(tc.alg), func(b *testing.B) {
			k := ktKey(b, "k1", tc.alg, tc.name)
			other := map[string]string{"rsa": "rsa2", "p256": "p256b"}[tc.name]
			keys := ktSet(b, nil, ktPublic(b, k), ktPublic(b, ktKey(b, "k2", tc.alg, other)))
			ktBenchVerify(b, ktVerifier(b, keys, ktIssuer), ktIssue(b, ktSet(b, k), ktIssuer))
		})
	}
}

// BenchmarkVerifyRemote verifies with a RemoteKeySet holding the same two
// keys, fetched once from an httptest server.
func BenchmarkVerifyRemote(b *testing.B) {
	for _, tc := range ktBenchAlgs {
		b.Run(string(tc.alg), func(b *testing.B) {
			k := ktKey(b, "k1", tc.alg, tc.name)
			other := map[string]string{"rsa": "rsa2", "p256": "p256b"}[tc.name]
			srv := newKTJWKSServer(b, ktJWKS(b, k, ktKey(b, "k2", tc.alg, other)), true)
			remote := ktRemote(b, srv, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{tc.alg}})
			ktBenchVerify(b, ktVerifier(b, remote, ktIssuer), ktIssue(b, ktSet(b, k), ktIssuer))
			if n := srv.requests.Load(); n != 1 {
				b.Fatalf("%d fetches during the benchmark", n)
			}
		})
	}
}
