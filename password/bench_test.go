package password_test

import (
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/password"
)

// benchHashers are the two default configurations: bcrypt at cost 12 and
// Argon2id at m=64 MiB, t=3, p=4.
func benchHashers() []struct {
	name string
	h    *password.Hasher
} {
	return []struct {
		name string
		h    *password.Hasher
	}{
		{"bcrypt-12", &password.Hasher{}},
		{"argon2id-default", &password.Hasher{Scheme: password.Argon2id}},
	}
}

func BenchmarkHash(b *testing.B) {
	for _, bh := range benchHashers() {
		b.Run(bh.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bh.h.Hash("correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompare and BenchmarkCompareDummy give the timings that L-01
// compares: "wrong-password" (known user) against CompareDummy's
// "unknown-user", which should be within a few percent of each other, as
// should "too-long", a refusal that still does the work.
func BenchmarkCompare(b *testing.B) {
	for _, bh := range benchHashers() {
		stored, err := bh.h.Hash("correct horse battery staple")
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct{ name, pw string }{
			{"match", "correct horse battery staple"},
			{"wrong-password", "Tr0ub4dor&3"},
			{"too-long", strings.Repeat("a", 2048)},
		} {
			b.Run(bh.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = bh.h.Compare(stored, c.pw)
				}
			})
		}
	}
}

func BenchmarkCompareDummy(b *testing.B) {
	for _, bh := range benchHashers() {
		bh.h.CompareDummy("warm up") // builds the dummy hash
		b.Run(bh.name+"/unknown-user", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bh.h.CompareDummy("Tr0ub4dor&3")
			}
		})
	}
}
