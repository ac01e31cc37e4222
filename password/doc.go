// Package password hashes passwords and checks them against stored hashes,
// with bcrypt by default and Argon2id as an option.
//
// A [Hasher] plays the part of passlib's CryptContext: it makes new hashes
// in one configured scheme and cost, verifies every supported scheme, and
// tells with [Hasher.NeedsRehash] when a stored hash should be upgraded
// after a successful login:
//
//	var h password.Hasher // bcrypt, cost 12
//	if err := h.Validate(); err != nil { … } // at construction time
//
//	stored, err := h.Hash(pw) // "$2b$12$…"
//
//	err = h.Compare(stored, pw) // nil or password.ErrMismatch (or another sentinel)
//	if err == nil && h.NeedsRehash(stored) {
//		stored, err = h.Hash(pw) // save it
//	}
//
// For an unknown user, call [Hasher.CompareDummy] instead of Compare and
// answer exactly as for a wrong password. A login endpoint calls
// [Hasher.Verify], which does either and also says how long to wait
// before refusing a user whose hash is still at a legacy cost.
//
// Hashes are interchangeable with passlib, pwdlib, pyca/bcrypt and
// argon2-cffi: bcrypt hashes are written as "$2b$" (and "$2a$", "$2b$",
// "$2y$" are read), Argon2id hashes as PHC strings
// "$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>" with standard base64
// without padding. The arguments of [Hasher.Compare] come in the order of
// bcrypt.CompareHashAndPassword: hash first, then password.
//
// # Security
//
// Length. bcrypt reads at most 72 bytes and ignores the rest, and
// golang.org/x/crypto/bcrypt compares only those 72 bytes (so a stored hash
// of 72×"a" matches 72×"a" followed by anything). This package refuses a
// longer password with [ErrTooLong], at hashing and at comparison, and
// never truncates it. The limit is in bytes of UTF-8, not characters:
// 24×"€" fits, 25×"€" does not, and 64 CJK characters (192 bytes) do not
// either. Deployments that must accept 64 characters of any script should
// choose [Argon2id], whose limit is [MaxArgon2Bytes] (1 KiB), a cap that
// also keeps huge inputs from costing server work.
//
// NUL bytes. Passwords containing a NUL byte are refused with
// [ErrInvalidPassword] in every scheme: C implementations stop at the first
// NUL (passlib refuses them), so such hashes would not verify elsewhere.
// Empty passwords are refused with [ErrEmpty].
//
// Unicode. Passwords are hashed and compared as the exact bytes given; no
// normalisation is applied. "é" typed as one code point (NFC) and as "e"
// plus a combining accent (NFD) are different passwords. An application
// that wants NIST's suggested NFKC normalisation must apply it itself,
// before both Hash and Compare, from the first stored hash on (changing the
// rule later locks out users whose passwords change under it).
//
// Identifiers. "$2a$", "$2b$" and "$2y$" verify. "$2x$" (hashes made by
// crypt_blowfish with the sign-extension bug, CVE-2011-2483), "$2$",
// "$1$", "$argon2i$", "$argon2d$", Argon2 versions other than 19 and
// anything unknown are refused with [ErrUnsupportedHash], although
// x/crypto would verify some of them. Everything that does not parse
// strictly is [ErrMalformedHash].
//
// Planted costs. A stored hash decides how much work its verification takes,
// so stored costs are bounded: bcrypt 4 to [MaxCost] (cost 31 would mean
// 2^31 rounds), Argon2id at most 1 GiB of memory, 16 passes and 64 lanes.
// Hashes beyond that are refused with [ErrCost] without being computed.
//
// Timing. Argon2id keys are compared with crypto/subtle, bcrypt digests by
// x/crypto in constant time. [Hasher.Compare] performs exactly one hash
// computation whatever fails: a refused password is replaced by a filler
// and still computed at the stored hash's cost, and a refused hash costs
// one [Hasher.CompareDummy]. CompareDummy computes against a valid hash of
// the configured scheme and cost, so "unknown user" and "wrong password"
// take the same time. Users whose hash has a lower cost than the
// configured one answer faster until [Hasher.NeedsRehash] has upgraded
// them at their next login, unless the caller waits out the time
// [Hasher.Verify] returns with a refusal: the difference to a running
// average of the dummy comparison, which only dummy comparisons feed.
//
// Configuration. New bcrypt hashes use cost [MinCost] (10) to [MaxCost].
// A zero Cost selects [DefaultCost] (12); any other value out of range is
// refused with [ErrCost], where x/crypto would silently use cost 10 for
// anything below 4. Argon2id parameters are bounded as documented on
// [Argon2Params].
package password
