package password

import (
	"errors"
	"testing"
)

// FuzzCompare holds Compare and NeedsRehash to their contract for any
// input: no panic; either nil or an error matching exactly one sentinel;
// nil only for a parsable hash and an acceptable password; exactly one hash
// computation per Compare. Computations dearer than bcrypt cost 6 or 4 MiB
// of Argon2 passes are counted but not run (they report a mismatch), so the
// fuzzer keeps its pace.
func FuzzCompare(f *testing.F) {
	seeds := [][2]string{
		{secretCost4, "secret"},
		{secretCost4, "Secret"},
		{bcryptWith("2y", "04"), "secret"},
		{bcryptWith("2x", "04"), "secret"},
		{bcryptWith("2b", "31"), "secret"},
		{recipeBcrypt, "secret"},
		{a72Cost4, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"},
		{argon2Low, "secret"},
		{argon2Low16, "secret\x00"},
		{argon2iLow, "secret"},
		{"$argon2id$v=19$m=64,t=1,p=1$$", ""},
		{"dummyhash", "secret"},
		{"$", "\xff\xfe"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	spy := spyVerifications(f)
	h := fastHasher()
	f.Fuzz(func(t *testing.T, hash, pw string) {
		p, perr := parseHash(hash)
		err := h.Compare(hash, pw)
		if n := len(spy.take()); n != 1 {
			t.Fatalf("Compare did %d hash computations, want 1", n)
		}
		if err != nil {
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("Compare = %v, matching %d sentinels, want 1", err, n)
			}
		} else if perr != nil || checkPassword(p.scheme, pw) != nil {
			t.Fatalf("Compare accepted hash %q (parse: %v) with password %q", hash, perr, pw)
		}
		if perr != nil && !h.NeedsRehash(hash) {
			t.Fatalf("NeedsRehash(%q) = false for an unparsable hash", hash)
		}
	})
}
