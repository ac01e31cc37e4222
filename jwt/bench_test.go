package jwt

import (
	"context"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/internal/compact"
	"github.com/jwtkit/jwtkit/internal/tokenid"
)

var benchAlgorithms = []Algorithm{HS256, HS384, HS512, RS256, PS256, ES256, ES384, EdDSA}

var benchGrant = Grant{Subject: "alice", Scopes: []string{"read", "write"}}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range benchAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			f := algFixture(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.iss.IssueAccess(context.Background(), benchGrant); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIssuePair issues what a login returns: an access and a refresh
// token.
func BenchmarkIssuePair(b *testing.B) {
	b.Run("HS256", func(b *testing.B) {
		f := algFixture(b, HS256)
		g := benchGrant
		g.FamilyID = tokenid.New()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.iss.IssueAccess(context.Background(), g); err != nil {
				b.Fatal(err)
			}
			if _, err := f.iss.IssueRefresh(context.Background(), g); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range benchAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			f := algFixture(b, alg)
			tok := f.issue(b, benchGrant)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.ver.VerifyAccess(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyReject measures inputs refused before any decoding
// (F-07): their cost must not grow with the input.
func BenchmarkVerifyReject(b *testing.B) {
	ctx := context.Background()
	f := algFixture(b, HS256)
	valid := f.issue(b, benchGrant)
	for _, tc := range []struct{ name, tok string }{
		{"many-dots-1MB", strings.Repeat(".", 1<<20)},
		{"oversize", strings.Repeat("a", compact.DefaultMaxBytes+1)},
		{"bad-signature", valid[:len(valid)-2] + "AA"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.ver.VerifyAccess(ctx, tc.tok); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
