package hsmtest

import (
	"context"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
)

// BenchmarkHSMIssueAccess measures issuing one access token with a key
// inside the SoftHSM2 token: the PKCS #11 signature plus jwtkit's own
// work (claims, the goroutine that lets a request's context stop the
// wait, the check of the signature against the public key).
// Bounded runs: go test -run '^$' -bench . -benchtime 200x
func BenchmarkHSMIssueAccess(b *testing.B) {
	for _, alg := range hsmAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			iss, _, _, _ := hsmIssuer(b, alg)
			// A cancellable context, as a request's is: the signature then
			// runs on a goroutine the issuer can stop waiting for.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "42"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInMemoryIssueAccess is the same with the key in process memory,
// for comparison.
func BenchmarkInMemoryIssueAccess(b *testing.B) {
	for _, alg := range hsmAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			key, err := jwt.GenerateKey("mem", alg)
			if err != nil {
				b.Fatal(err)
			}
			keys, _ := jwt.NewKeySet(key)
			iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: issuer})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.IssueAccess(ctx, jwt.Grant{Subject: "42"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
