package password

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Fixtures. Unless noted they were made by pyca/bcrypt and argon2-cffi, the
// libraries behind passlib and pwdlib, and are hashes of "secret".
const (
	// FastAPI's OAuth2 recipe (passlib, cost 12).
	recipeBcrypt = "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW"
	// FastAPI's current docs (pwdlib, RFC 9106 low-memory parameters).
	recipeArgon2 = "$argon2id$v=19$m=65536,t=3,p=4$wagCPXjifgvUFBzq4hqe3w$CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc"

	secretCost4  = "$2b$04$v4xI1P61cPaGeruebmqF2ebeAbR626tfNDI4pNbHmdTptf5Zqo/U2"
	secretCost10 = "$2b$10$9B9ISTtplfvYPTvIMgRDu.6rpSKGvqbC5rNrG7lX/ZWuMfPscCUoS"
	a72Cost4     = "$2b$04$lY7fAybmarSzWm6q4Cax4Ofs9qLZVvRtR/k2FG1/VtjWAkiP5I1lK" // 72×"a"
	euro24Cost4  = "$2b$04$euGKW.zxxrwPGmCKlWXLTO3DPv28jb/QreufH1dltaLIIeWy.c9aW" // 24×"€"
	nfcCost4     = "$2b$04$DV/MiIIxoxD2UZLimVJAaO.YZ4uFBNJWwEbFbmDAcwDzHAe0xQGV." // "\u00e9"

	// Argon2id with m=64 KiB, t=1, p=1: valid, and cheap to verify.
	argon2Low      = "$argon2id$v=19$m=64,t=1,p=1$Z9HESgoTq+EDGK4Y1EDmMA$jDsO1IrG/Kv7Tgu4FaXFnx4OWt05HQ010KjbgD9SqVc"
	argon2LowSalt  = "Z9HESgoTq+EDGK4Y1EDmMA"
	argon2LowKey   = "jDsO1IrG/Kv7Tgu4FaXFnx4OWt05HQ010KjbgD9SqVc"
	argon2Low16    = "$argon2id$v=19$m=64,t=1,p=1$EptenvlPD3E$HzkqOhIQ6cMlxqllmiCKUw" // 8-byte salt, 16-byte key
	argon2iLow     = "$argon2i$v=19$m=64,t=1,p=1$T6bnbXiDZwYe/buRZyJtgA$mT4QJd0s3ZiwSqF+JbKzOBFJmEIqCMY7CqZgUhXlnu0"
	argon2dLow     = "$argon2d$v=19$m=64,t=1,p=1$rvjJGnwy+bNq+wAqVq/FvA$nvtfQWJI1gRnPWK3On+sPxESGQhsnJ/yK6NYk2aaJ28"
	argon2LowTail  = "$" + argon2LowSalt + "$" + argon2LowKey
	bcryptLowTail4 = "v4xI1P61cPaGeruebmqF2ebeAbR626tfNDI4pNbHmdTptf5Zqo/U2" // salt+checksum of secretCost4
)

// sentinels lists every error the package may return or wrap.
var sentinels = []error{
	ErrMismatch, ErrEmpty, ErrTooLong, ErrInvalidPassword,
	ErrMalformedHash, ErrUnsupportedHash, ErrCost,
}

// fastParams is the cheapest Argon2id configuration Validate accepts.
var fastParams = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// fastHasher returns a Hasher whose dummy work (done by Compare on refused
// hashes) is the cheapest the package allows, to keep the suite fast under
// the race detector, where bcrypt at cost 10 takes most of a second.
func fastHasher() *Hasher {
	return &Hasher{Scheme: Argon2id, Argon2: fastParams}
}

// bcryptWith returns secretCost4 with its identifier and cost replaced.
func bcryptWith(id, cost string) string {
	return "$" + id + "$" + cost + "$" + bcryptLowTail4
}

// argon2With returns an argon2id hash with the given version-and-parameter
// part and argon2Low's salt and key.
func argon2With(mid string) string {
	return "$argon2id$" + mid + argon2LowTail
}

// verification is one hash computation seen by the spy.
type verification struct {
	scheme   Scheme
	cost     int
	argon2   Argon2Params
	encoded  string
	input    string
	computed bool
}

type verifySpy struct {
	mu    sync.Mutex
	calls []verification
}

func (s *verifySpy) take() []verification {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// spyVerifications replaces verifyHash until the test ends. Cheap
// computations (bcrypt cost up to 6, Argon2 up to 4 MiB·passes) still run;
// dearer ones are recorded but skipped and report no match. Tests using it
// must not run in parallel.
func spyVerifications(t testing.TB) *verifySpy {
	t.Helper()
	orig := verifyHash
	s := &verifySpy{}
	verifyHash = func(p *parsedHash, pw []byte) bool {
		cheap := (p.scheme == Bcrypt && p.cost <= 6) ||
			(p.scheme == Argon2id && uint64(p.argon2.Memory)*uint64(p.argon2.Time) <= 4096)
		s.mu.Lock()
		s.calls = append(s.calls, verification{
			scheme: p.scheme, cost: p.cost, argon2: p.argon2,
			encoded: p.encoded, input: string(pw), computed: cheap,
		})
		s.mu.Unlock()
		if !cheap {
			return false
		}
		return orig(p, pw)
	}
	t.Cleanup(func() { verifyHash = orig })
	return s
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, err := range sentinels {
		msg := err.Error()
		if !strings.HasPrefix(msg, "password: ") {
			t.Errorf("%q lacks the package prefix", msg)
		}
		if seen[msg] {
			t.Errorf("duplicate message %q", msg)
		}
		seen[msg] = true
	}
}

func TestScheme_String(t *testing.T) {
	t.Parallel()
	for s, want := range map[Scheme]string{Bcrypt: "bcrypt", Argon2id: "argon2id", Scheme(9): "Scheme(9)"} {
		if got := s.String(); got != want {
			t.Errorf("Scheme(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

// New bcrypt hashes carry the "$2b$" identifier that passlib writes, and
// differ from x/crypto's "$2a$" output in nothing else (P-13). The zero
// Hasher's own cost-12 output is checked by the P-08 login flow.
func TestHasher_P13_HashIdentifier(t *testing.T) {
	t.Parallel()
	h := &Hasher{Cost: MinCost}
	got, err := h.Hash("secret")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(got, "$2b$10$") || len(got) != 60 {
		t.Fatalf("Hash = %q, want a 60-byte $2b$10$ hash", got)
	}
	if err := bcrypt.CompareHashAndPassword([]byte("$2a$"+got[4:]), []byte("secret")); err != nil {
		t.Errorf("x/crypto does not verify the hash under $2a$: %v", err)
	}
	if h.NeedsRehash(got) {
		t.Error("NeedsRehash(fresh hash) = true")
	}
}

func TestHasher_P01_HashTooLong(t *testing.T) {
	t.Parallel()
	bc := &Hasher{Cost: MinCost}
	a2 := fastHasher()
	tests := []struct {
		name    string
		h       *Hasher
		pw      string
		wantErr error
	}{
		{"bcrypt 73 bytes", bc, strings.Repeat("a", 73), ErrTooLong},
		{"bcrypt 1 MiB", bc, strings.Repeat("a", 1<<20), ErrTooLong},
		{"bcrypt 72 bytes", bc, strings.Repeat("a", 72), nil},
		{"argon2id 1025 bytes", a2, strings.Repeat("a", 1025), ErrTooLong},
		{"argon2id 73 bytes", a2, strings.Repeat("a", 73), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.h.Hash(tc.pw)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Hash = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if got != "" {
					t.Errorf("Hash returned %q with an error", got)
				}
				if strings.Contains(err.Error(), "aaaa") {
					t.Errorf("error %q repeats the password", err)
				}
				return
			}
			if _, err := parseHash(got); err != nil {
				t.Errorf("Hash = %q, which does not parse: %v", got, err)
			}
			if tc.h.Scheme == Argon2id {
				if err := tc.h.Compare(got, tc.pw); err != nil {
					t.Errorf("Compare(own hash) = %v", err)
				}
			}
		})
	}
}

// A stored hash of 72×"a" must not accept 72×"a" plus anything (P-02);
// x/crypto alone would accept it. The refusal still costs one computation
// at the stored cost, on a filler rather than the password.
func TestHasher_P02_VerifyTimeTruncation(t *testing.T) {
	a72 := strings.Repeat("a", 72)
	long := a72 + "b"
	if err := bcrypt.CompareHashAndPassword([]byte(a72Cost4), []byte(long)); err != nil {
		t.Fatalf("premise: x/crypto no longer matches the 73-byte password (%v); update the docs", err)
	}
	spy := spyVerifications(t)
	h := &Hasher{Cost: MinCost}

	if err := h.Compare(a72Cost4, long); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Compare(73 bytes) = %v, want ErrTooLong", err)
	}
	calls := spy.take()
	if len(calls) != 1 || calls[0].encoded != a72Cost4 || calls[0].input == long || calls[0].input == a72 {
		t.Fatalf("refusal did %+v, want one computation of the stored hash on a filler", calls)
	}
	if err := h.Compare(a72Cost4, a72); err != nil {
		t.Errorf("Compare(72 bytes) = %v, want nil", err)
	}
	if err := h.Compare(a72Cost4, a72[:71]); !errors.Is(err, ErrMismatch) {
		t.Errorf("Compare(71 bytes) = %v, want ErrMismatch", err)
	}
}

// Limits count bytes, not characters (P-03).
func TestHasher_P03_BytesNotCharacters(t *testing.T) {
	t.Parallel()
	bc := &Hasher{Cost: MinCost}
	euro24, euro25 := strings.Repeat("€", 24), strings.Repeat("€", 25)
	cjk64 := strings.Repeat("界", 64)

	if err := bc.Compare(euro24Cost4, euro24); err != nil {
		t.Errorf("Compare(24×€, 72 bytes) = %v, want nil", err)
	}
	if err := bc.Compare(euro24Cost4, euro25); !errors.Is(err, ErrTooLong) {
		t.Errorf("Compare(25×€, 75 bytes) = %v, want ErrTooLong", err)
	}
	if _, err := bc.Hash(euro25); !errors.Is(err, ErrTooLong) {
		t.Errorf("Hash(25×€) = %v, want ErrTooLong", err)
	}
	_, err := bc.Hash(cjk64)
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash(64×界, 192 bytes) = %v, want ErrTooLong", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "72 bytes") || !strings.Contains(msg, "not 72 characters") {
		t.Errorf("message %q does not explain the byte limit", msg)
	}

	// Argon2id removes the conflict with "allow 64 characters".
	a2 := fastHasher()
	got, err := a2.Hash(cjk64)
	if err != nil {
		t.Fatalf("argon2id Hash(64×界) = %v", err)
	}
	if err := a2.Compare(got, cjk64); err != nil {
		t.Errorf("argon2id Compare(64×界) = %v", err)
	}
}

func TestHasher_P04_NULBytes(t *testing.T) {
	t.Parallel()
	for _, h := range []*Hasher{{Cost: MinCost}, fastHasher()} {
		for _, pw := range []string{"pass\x00word", "\x00", "secret\x00"} {
			if _, err := h.Hash(pw); !errors.Is(err, ErrInvalidPassword) {
				t.Errorf("%v Hash(%q) = %v, want ErrInvalidPassword", h.Scheme, pw, err)
			}
		}
	}
	h := fastHasher()
	for _, stored := range []string{secretCost4, argon2Low} {
		if err := h.Compare(stored, "secret\x00"); !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("Compare(%.10s…, NUL) = %v, want ErrInvalidPassword", stored, err)
		}
	}
}

func TestHasher_P05_EmptyPassword(t *testing.T) {
	t.Parallel()
	for _, h := range []*Hasher{{}, fastHasher()} {
		if got, err := h.Hash(""); !errors.Is(err, ErrEmpty) || got != "" {
			t.Errorf("%v Hash(\"\") = %q, %v; want ErrEmpty", h.Scheme, got, err)
		}
	}
	h := fastHasher()
	for _, stored := range []string{secretCost4, argon2Low} {
		if err := h.Compare(stored, ""); !errors.Is(err, ErrEmpty) {
			t.Errorf("Compare(%.10s…, \"\") = %v, want ErrEmpty", stored, err)
		}
	}
}

func TestHasher_P06_HashPrefixes(t *testing.T) {
	t.Parallel()
	// Premises: x/crypto would verify $2x$ and read cost 31, which is why
	// the package refuses them itself.
	if err := bcrypt.CompareHashAndPassword([]byte(bcryptWith("2x", "04")), []byte("secret")); err != nil {
		t.Errorf("premise: x/crypto refuses $2x$ now (%v); update the docs", err)
	}
	if c, err := bcrypt.Cost([]byte(bcryptWith("2b", "31"))); err != nil || c != 31 {
		t.Errorf("premise: x/crypto reads cost 31 as %d, %v", c, err)
	}

	long := argon2With("v=19$m=64,t=1,p=1") + strings.Repeat("A", 200)
	tests := []struct {
		name    string
		hash    string
		pw      string
		wantErr error
	}{
		{"2b passlib", secretCost4, "secret", nil},
		{"2a x/crypto", bcryptWith("2a", "04"), "secret", nil},
		{"2y PHP", bcryptWith("2y", "04"), "secret", nil},
		{"2b wrong password", secretCost4, "Secret", ErrMismatch},
		{"argon2id", argon2Low, "secret", nil},
		{"argon2id 8-byte salt 16-byte key", argon2Low16, "secret", nil},
		{"argon2id wrong password", argon2Low, "secret ", ErrMismatch},

		{"2x crypt_blowfish bug", bcryptWith("2x", "04"), "secret", ErrUnsupportedHash},
		{"2 original", "$2$04$" + bcryptLowTail4, "secret", ErrUnsupportedHash},
		{"1 md5crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "secret", ErrUnsupportedHash},
		{"5 sha256crypt", "$5$rounds=5000$salt$abc", "secret", ErrUnsupportedHash},
		{"argon2i", argon2iLow, "secret", ErrUnsupportedHash},
		{"argon2d", argon2dLow, "secret", ErrUnsupportedHash},
		{"argon2id without version", "$argon2id$m=64,t=1,p=1" + argon2LowTail, "secret", ErrUnsupportedHash},
		{"argon2id v=16", argon2With("v=16$m=64,t=1,p=1"), "secret", ErrUnsupportedHash},
		{"pbkdf2", "$pbkdf2-sha256$29000$c2FsdA$aGFzaA", "secret", ErrUnsupportedHash},

		{"empty", "", "secret", ErrMalformedHash},
		{"public dummy", "dummyhash", "secret", ErrMalformedHash},
		{"lock marker !", "!", "secret", ErrMalformedHash},
		{"lock marker *", "*", "secret", ErrMalformedHash},
		{"no identifier end", "$2b", "secret", ErrMalformedHash},
		{"empty identifier", "$$04$", "secret", ErrMalformedHash},
		{"identifier with capitals", "$2B$04$" + bcryptLowTail4, "secret", ErrMalformedHash},
		{"truncated", secretCost4[:59], "secret", ErrMalformedHash},
		{"trailing byte", secretCost4 + ".", "secret", ErrMalformedHash},
		{"one-digit cost", "$2b$4$" + bcryptLowTail4 + ".", "secret", ErrMalformedHash},
		{"non-digit cost", bcryptWith("2b", "1x"), "secret", ErrMalformedHash},
		{"outside bcrypt alphabet", "$2b$04$" + strings.Replace(bcryptLowTail4, "v", "+", 1), "secret", ErrMalformedHash},
		{"non-ASCII", "$2b$04$" + strings.Replace(bcryptLowTail4, "v4", "é", 1), "secret", ErrMalformedHash},
		{"too long", long, "secret", ErrMalformedHash},
		{"argon2id no hash", "$argon2id$v=19$m=64,t=1,p=1$" + argon2LowSalt, "secret", ErrMalformedHash},
		{"argon2id version text", argon2With("v=x$m=64,t=1,p=1"), "secret", ErrMalformedHash},
		{"argon2id parameter order", argon2With("v=19$t=1,m=64,p=1"), "secret", ErrMalformedHash},
		{"argon2id leading zero", argon2With("v=19$m=064,t=1,p=1"), "secret", ErrMalformedHash},
		{"argon2id sign", argon2With("v=19$m=+64,t=1,p=1"), "secret", ErrMalformedHash},
		{"argon2id overflow", argon2With("v=19$m=99999999999,t=1,p=1"), "secret", ErrMalformedHash},
		{"argon2id extra data", argon2With("v=19$m=64,t=1,p=1,data=YQ"), "secret", ErrMalformedHash},
		{"argon2id t=0", argon2With("v=19$m=64,t=0,p=1"), "secret", ErrMalformedHash},
		{"argon2id p=0", argon2With("v=19$m=64,t=1,p=0"), "secret", ErrMalformedHash},
		{"argon2id m<8p", argon2With("v=19$m=64,t=1,p=9"), "secret", ErrMalformedHash},
		{"argon2id padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + argon2LowSalt + "==$" + argon2LowKey, "secret", ErrMalformedHash},
		{"argon2id non-canonical salt", "$argon2id$v=19$m=64,t=1,p=1$" + argon2LowSalt[:21] + "B$" + argon2LowKey, "secret", ErrMalformedHash},
		{"argon2id url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + argon2LowSalt + "$" + strings.ReplaceAll(argon2LowKey, "/", "_"), "secret", ErrMalformedHash},
		{"argon2id 4-byte salt", "$argon2id$v=19$m=64,t=1,p=1$YWJjZA$" + argon2LowKey, "secret", ErrMalformedHash},
		{"argon2id 8-byte key", "$argon2id$v=19$m=64,t=1,p=1$" + argon2LowSalt + "$YWJjZGVmZ2g", "secret", ErrMalformedHash},

		{"bcrypt cost 31", bcryptWith("2b", "31"), "secret", ErrCost},
		{"bcrypt cost 17", bcryptWith("2b", "17"), "secret", ErrCost},
		{"bcrypt cost 03", bcryptWith("2b", "03"), "secret", ErrCost},
		{"bcrypt cost 00", bcryptWith("2a", "00"), "secret", ErrCost},
		{"argon2id 2 GiB", argon2With("v=19$m=2097152,t=1,p=1"), "secret", ErrCost},
		{"argon2id t=17", argon2With("v=19$m=64,t=17,p=1"), "secret", ErrCost},
		{"argon2id p=65", argon2With("v=19$m=1024,t=1,p=65"), "secret", ErrCost},
		{"argon2id p=255", argon2With("v=19$m=4096,t=1,p=255"), "secret", ErrCost},
	}
	h := fastHasher()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := h.Compare(tc.hash, tc.pw)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Compare = %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				return
			}
			for _, other := range sentinels {
				if other != tc.wantErr && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			if len(tc.hash) > 8 && strings.Contains(err.Error(), tc.hash) {
				t.Errorf("error %q repeats the stored hash", err)
			}
		})
	}
}

func TestHasher_P07_CostConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		h       *Hasher
		wantErr error
	}{
		{"zero value", &Hasher{}, nil},
		{"cost 10", &Hasher{Cost: 10}, nil},
		{"cost 16", &Hasher{Cost: 16}, nil},
		{"cost -1", &Hasher{Cost: -1}, ErrCost},
		{"cost 3", &Hasher{Cost: 3}, ErrCost},
		{"cost 4", &Hasher{Cost: 4}, ErrCost},
		{"cost 9", &Hasher{Cost: 9}, ErrCost},
		{"cost 17", &Hasher{Cost: 17}, ErrCost},
		{"cost 31", &Hasher{Cost: 31}, ErrCost},
		{"cost 32", &Hasher{Cost: 32}, ErrCost},
		{"bad cost with argon2id", &Hasher{Scheme: Argon2id, Cost: 3}, ErrCost},
		{"unknown scheme", &Hasher{Scheme: Scheme(2)}, ErrUnsupportedHash},
		{"negative scheme", &Hasher{Scheme: Scheme(-1)}, ErrUnsupportedHash},
		{"argon2 defaults", &Hasher{Scheme: Argon2id}, nil},
		{"argon2 OWASP m=19MiB t=2 p=1", &Hasher{Scheme: Argon2id, Argon2: fastParams}, nil},
		{"argon2 OWASP m=46MiB t=1", &Hasher{Argon2: Argon2Params{Memory: 47104, Time: 1}}, nil},
		{"argon2 m=19MiB t=1", &Hasher{Argon2: Argon2Params{Memory: 19456, Time: 1}}, ErrCost},
		{"argon2 m=8MiB t=16", &Hasher{Argon2: Argon2Params{Memory: 8192, Time: 16}}, ErrCost},
		{"argon2 1 GiB", &Hasher{Argon2: Argon2Params{Memory: 1 << 20, Time: 1}}, nil},
		{"argon2 2 GiB", &Hasher{Argon2: Argon2Params{Memory: 2 << 20, Time: 1}}, ErrCost},
		{"argon2 t=16", &Hasher{Argon2: Argon2Params{Time: 16}}, nil},
		{"argon2 t=17", &Hasher{Argon2: Argon2Params{Time: 17}}, ErrCost},
		{"argon2 p=64", &Hasher{Argon2: Argon2Params{Threads: 64}}, nil},
		{"argon2 p=65", &Hasher{Argon2: Argon2Params{Threads: 65}}, ErrCost},
		{"argon2 salt 8", &Hasher{Argon2: Argon2Params{SaltLen: 8}}, ErrCost},
		{"argon2 salt 65", &Hasher{Argon2: Argon2Params{SaltLen: 65}}, ErrCost},
		{"argon2 key 15", &Hasher{Argon2: Argon2Params{KeyLen: 15}}, ErrCost},
		{"argon2 key 64", &Hasher{Argon2: Argon2Params{KeyLen: 64}}, nil},
		{"argon2 key 65", &Hasher{Argon2: Argon2Params{KeyLen: 65}}, ErrCost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			err := h.Validate()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
			if again := h.Validate(); fmt.Sprint(again) != fmt.Sprint(err) {
				t.Errorf("Validate is not deterministic: %v then %v", err, again)
			}
			if tc.wantErr == nil {
				return
			}
			// Hash reports the same error without computing anything.
			got, herr := h.Hash("secret")
			if got != "" || herr == nil || herr.Error() != err.Error() {
				t.Errorf("Hash = %q, %v; want the Validate error %v", got, herr, err)
			}
			if h.NeedsRehash("garbage") {
				t.Error("NeedsRehash = true with an invalid configuration")
			}
			if h.dummyHash() != nil {
				t.Error("an invalid configuration built a dummy hash")
			}
		})
	}
}

// NeedsRehash drives passlib's deprecated="auto" upgrade at login (P-08).
func TestHasher_P08_RehashSignal(t *testing.T) {
	t.Parallel()
	bc := &Hasher{} // the zero value: bcrypt, cost 12
	a2 := &Hasher{Scheme: Argon2id}
	tail := "$" + "wagCPXjifgvUFBzq4hqe3w" + "$" + "CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc"
	a2hash := func(params string) string { return "$argon2id$v=19$" + params + tail }
	tests := []struct {
		name string
		h    *Hasher
		hash string
		want bool
	}{
		{"2b cost 10", bc, bcryptWith("2b", "10"), true},
		{"2b cost 11", bc, bcryptWith("2b", "11"), true},
		{"2b cost 12", bc, bcryptWith("2b", "12"), false},
		{"2b cost 13", bc, bcryptWith("2b", "13"), false},
		{"2a cost 12", bc, bcryptWith("2a", "12"), true},
		{"2y cost 12", bc, bcryptWith("2y", "12"), true},
		{"recipe bcrypt", bc, recipeBcrypt, false},
		{"argon2id under bcrypt", bc, recipeArgon2, true},
		{"2x", bc, bcryptWith("2x", "12"), true},
		{"cost 31", bc, bcryptWith("2b", "31"), true},
		{"garbage", bc, "garbage", true},
		{"empty", bc, "", true},

		{"recipe argon2id", a2, recipeArgon2, false},
		{"bcrypt under argon2id", a2, recipeBcrypt, true},
		{"lower memory", a2, a2hash("m=65535,t=3,p=4"), true},
		{"lower time", a2, a2hash("m=65536,t=2,p=4"), true},
		{"higher memory", a2, a2hash("m=131072,t=3,p=4"), false},
		{"higher time", a2, a2hash("m=65536,t=4,p=4"), false},
		{"other threads", a2, a2hash("m=65536,t=3,p=1"), false},
		{"shorter key", a2, "$argon2id$v=19$m=65536,t=3,p=4$wagCPXjifgvUFBzq4hqe3w$HzkqOhIQ6cMlxqllmiCKUw", true},
		{"shorter salt", a2, "$argon2id$v=19$m=65536,t=3,p=4$EptenvlPD3E$CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc", true},
		{"argon2i", a2, argon2iLow, true},
	}
	for _, tc := range tests {
		if got := tc.h.NeedsRehash(tc.hash); got != tc.want {
			t.Errorf("%s: NeedsRehash = %v, want %v", tc.name, got, tc.want)
		}
	}

	// The login flow with the zero Hasher: a cost-10 hash verifies, is
	// flagged, and is replaced by a "$2b$" cost-12 hash that is not flagged.
	if err := bc.Validate(); err != nil {
		t.Fatalf("zero Hasher: Validate = %v", err)
	}
	if err := bc.Compare(secretCost10, "secret"); err != nil {
		t.Fatalf("Compare(cost 10) = %v", err)
	}
	if !bc.NeedsRehash(secretCost10) {
		t.Fatal("NeedsRehash(cost 10) = false under cost 12")
	}
	upgraded, err := bc.Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(upgraded)); err != nil || cost != DefaultCost ||
		!strings.HasPrefix(upgraded, "$2b$12$") || len(upgraded) != 60 {
		t.Errorf("upgraded hash %q has cost %d (%v), want a 60-byte $2b$ hash of cost 12", upgraded, cost, err)
	}
	if bc.NeedsRehash(upgraded) {
		t.Error("NeedsRehash(upgraded) = true")
	}
}

// The FastAPI recipe's hashes verify (P-09).
func TestHasher_P09_RecipeHashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		hash    string
		pw      string
		wantErr error
	}{
		{"passlib bcrypt", recipeBcrypt, "secret", nil},
		{"pwdlib argon2id", recipeArgon2, "secret", nil},
		{"pwdlib argon2id wrong password", recipeArgon2, "johndoe", ErrMismatch},
	}
	var h Hasher
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := h.Compare(tc.hash, tc.pw); !errors.Is(err, tc.wantErr) {
				t.Errorf("Compare = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// Passwords are compared as given bytes, without normalisation (P-10).
func TestHasher_P10_UnicodeNotNormalized(t *testing.T) {
	t.Parallel()
	const nfc, nfd = "\u00e9", "e\u0301"
	h := fastHasher()
	if err := h.Compare(nfcCost4, nfc); err != nil {
		t.Errorf("bcrypt Compare(NFC) = %v, want nil", err)
	}
	if err := h.Compare(nfcCost4, nfd); !errors.Is(err, ErrMismatch) {
		t.Errorf("bcrypt Compare(NFD) = %v, want ErrMismatch", err)
	}
	stored, err := h.Hash(nfc)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Compare(stored, nfc); err != nil {
		t.Errorf("argon2id Compare(NFC) = %v, want nil", err)
	}
	if err := h.Compare(stored, nfd); !errors.Is(err, ErrMismatch) {
		t.Errorf("argon2id Compare(NFD) = %v, want ErrMismatch", err)
	}
}

// Huge passwords never reach Argon2id (P-11).
func TestHasher_P11_LongPasswordArgon2(t *testing.T) {
	h := fastHasher()
	huge := strings.Repeat("x", 1<<20)
	stored, err := h.Hash(huge[:MaxArgon2Bytes])
	if err != nil {
		t.Fatalf("Hash(1024 bytes) = %v", err)
	}
	if err := h.Compare(stored, huge[:MaxArgon2Bytes]); err != nil {
		t.Errorf("Compare(1024 bytes) = %v", err)
	}

	spy := spyVerifications(t)
	if _, err := h.Hash(huge); !errors.Is(err, ErrTooLong) {
		t.Errorf("Hash(1 MiB) = %v, want ErrTooLong", err)
	}
	if _, err := h.Hash(huge[:MaxArgon2Bytes+1]); !errors.Is(err, ErrTooLong) {
		t.Errorf("Hash(1025 bytes) = %v, want ErrTooLong", err)
	}
	if err := h.Compare(argon2Low, huge); !errors.Is(err, ErrTooLong) {
		t.Errorf("Compare(1 MiB) = %v, want ErrTooLong", err)
	}
	h.CompareDummy(huge)
	calls := spy.take()
	if len(calls) != 2 {
		t.Fatalf("got %d computations, want 2 (Compare and CompareDummy)", len(calls))
	}
	for _, c := range calls {
		if len(c.input) > MaxArgon2Bytes {
			t.Errorf("a %d-byte password reached argon2id", len(c.input))
		}
	}
}

// Argon2id keys are compared with crypto/subtle, never with a
// short-circuiting comparison (P-12). The source check guards against a
// later edit; the behaviour check flips single bytes.
func TestHasher_P12_ConstantTimeComparison(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	usesSubtle := false
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch pkg.Name + "." + sel.Sel.Name {
			case "bytes.Equal", "bytes.Compare", "reflect.DeepEqual", "slices.Equal":
				t.Errorf("%s: %s.%s compares secrets in variable time", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
			case "subtle.ConstantTimeCompare":
				usesSubtle = true
			}
			return true
		})
	}
	if !usesSubtle {
		t.Error("no subtle.ConstantTimeCompare in the package")
	}

	p, err := parseHash(argon2Low)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, len(p.key) / 2, len(p.key) - 1} {
		key := append([]byte(nil), p.key...)
		key[i] ^= 0x01
		tampered := formatArgon2id(p.argon2, p.salt, key)
		if err := fastHasher().Compare(tampered, "secret"); !errors.Is(err, ErrMismatch) {
			t.Errorf("key byte %d flipped: Compare = %v, want ErrMismatch", i, err)
		}
	}
}

// Every Compare and CompareDummy performs exactly one hash computation, of
// the stored hash when it is usable and of the dummy hash otherwise, so the
// unknown-user path and every refusal cost what a wrong password costs
// (L-01; also P-02, P-05 and P-06 "with dummy work").
func TestHasher_L01_OneComputationPerCall(t *testing.T) {
	spy := spyVerifications(t)
	h := &Hasher{Cost: MinCost}
	long := strings.Repeat("a", 73)
	dummy := func(c verification) bool {
		return c.scheme == Bcrypt && c.cost == MinCost && c.encoded == h.dummyHash().encoded
	}
	stored := func(c verification) bool { return c.encoded == secretCost4 }
	tests := []struct {
		name     string
		call     func() error
		wantErr  error
		wantWork func(verification) bool
		filler   bool
	}{
		{"L-01 unknown user", func() error { h.CompareDummy("secret"); return nil }, nil, dummy, false},
		{"L-01 unknown user, long password", func() error { h.CompareDummy(long); return nil }, nil, dummy, true},
		{"L-01 unknown user, empty password", func() error { h.CompareDummy(""); return nil }, nil, dummy, true},
		{"L-01 wrong password", func() error { return h.Compare(secretCost4, "wrong") }, ErrMismatch, stored, false},
		{"right password", func() error { return h.Compare(secretCost4, "secret") }, nil, stored, false},
		{"P-02 long password", func() error { return h.Compare(secretCost4, long) }, ErrTooLong, stored, true},
		{"P-04 NUL", func() error { return h.Compare(secretCost4, "sec\x00ret") }, ErrInvalidPassword, stored, true},
		{"P-05 empty password", func() error { return h.Compare(secretCost4, "") }, ErrEmpty, stored, true},
		{"P-06 malformed hash", func() error { return h.Compare("!", "secret") }, ErrMalformedHash, dummy, false},
		{"P-06 unsupported hash", func() error { return h.Compare(bcryptWith("2x", "04"), "secret") }, ErrUnsupportedHash, dummy, false},
		{"P-06 cost 31", func() error { return h.Compare(bcryptWith("2b", "31"), "secret") }, ErrCost, dummy, false},
	}
	for _, tc := range tests {
		err := tc.call()
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
		calls := spy.take()
		if len(calls) != 1 {
			t.Errorf("%s: %d computations, want exactly 1", tc.name, len(calls))
			continue
		}
		if !tc.wantWork(calls[0]) {
			t.Errorf("%s: computed %+v, not the expected hash", tc.name, calls[0])
		}
		if tc.filler != (calls[0].input == fillerPassword) {
			t.Errorf("%s: computed on %q (filler expected: %v)", tc.name, calls[0].input, tc.filler)
		}
	}

	// An invalid configuration has no dummy and does no dummy work.
	bad := &Hasher{Cost: 3}
	bad.CompareDummy("secret")
	if calls := spy.take(); len(calls) != 0 {
		t.Errorf("invalid configuration: %d computations, want 0", len(calls))
	}
}

// The dummy hash is a valid hash of the configured scheme and cost, unlike
// the "dummyhash" string seen in public ports, which x/crypto refuses at
// once without any work (L-02).
func TestHasher_L02_DummyHashIsValid(t *testing.T) {
	t.Parallel()
	if _, err := bcrypt.Cost([]byte("dummyhash")); err == nil {
		t.Fatal("premise: x/crypto parses \"dummyhash\"")
	}
	if _, err := parseHash("dummyhash"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("parseHash(\"dummyhash\") = %v, want ErrMalformedHash", err)
	}

	for _, cost := range []int{0, 10, 13, 16} {
		h := &Hasher{Cost: cost}
		want := cost
		if want == 0 {
			want = DefaultCost
		}
		d := h.dummyHash()
		if d == nil {
			t.Fatalf("cost %d: no dummy hash", cost)
		}
		if got, err := bcrypt.Cost([]byte(d.encoded)); err != nil || got != want {
			t.Errorf("cost %d: x/crypto reads the dummy %q as cost %d, %v; want %d", cost, d.encoded, got, err, want)
		}
		if _, err := parseHash(d.encoded); err != nil || !strings.HasPrefix(d.encoded, "$2b$") {
			t.Errorf("cost %d: dummy %q: parse %v", cost, d.encoded, err)
		}
		if h.NeedsRehash(d.encoded) {
			t.Errorf("cost %d: dummy %q does not match the configuration", cost, d.encoded)
		}
		if h.dummyHash() != d {
			t.Errorf("cost %d: dummy rebuilt on second use", cost)
		}
		if other := (&Hasher{Cost: cost}).dummyHash(); other.encoded == d.encoded {
			t.Errorf("cost %d: two Hashers share the dummy %q", cost, d.encoded)
		}
	}

	for _, params := range []Argon2Params{{}, fastParams, {Memory: 47104, Time: 1, Threads: 2, SaltLen: 32, KeyLen: 64}} {
		h := &Hasher{Scheme: Argon2id, Argon2: params}
		c, err := h.config()
		if err != nil {
			t.Fatal(err)
		}
		d := h.dummyHash()
		p, err := parseHash(d.encoded)
		if err != nil {
			t.Fatalf("argon2 dummy %q: %v", d.encoded, err)
		}
		if p.scheme != Argon2id || p.argon2 != c.argon2 {
			t.Errorf("argon2 dummy %q has %+v, want %+v", d.encoded, p.argon2, c.argon2)
		}
	}

	// The dummy goes through the whole computation and matches nothing.
	h := &Hasher{Cost: MinCost}
	if err := h.Compare(h.dummyHash().encoded, "dummypassword"); !errors.Is(err, ErrMismatch) {
		t.Errorf("Compare(bcrypt dummy) = %v, want ErrMismatch", err)
	}
	a2 := fastHasher()
	if err := a2.Compare(a2.dummyHash().encoded, "dummypassword"); !errors.Is(err, ErrMismatch) {
		t.Errorf("Compare(argon2id dummy) = %v, want ErrMismatch", err)
	}
}

func TestHasher_Argon2idFormat(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	h := fastHasher()
	a, err := h.Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	if !re.MatchString(a) {
		t.Errorf("Hash = %q, want PHC form %s", a, re)
	}
	if a == b {
		t.Error("two hashes of one password are equal: salt is not random")
	}
	if err := h.Compare(a, "secret"); err != nil {
		t.Errorf("Compare(own hash) = %v", err)
	}

	big := &Hasher{Scheme: Argon2id, Argon2: Argon2Params{Memory: 19456, Time: 2, Threads: 2, SaltLen: 32, KeyLen: 64}}
	got, err := big.Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(got, "$")
	if len(f) != 6 || f[3] != "m=19456,t=2,p=2" || len(f[4]) != 43 || len(f[5]) != 86 {
		t.Errorf("Hash = %q, want p=2, 32-byte salt and 64-byte key", got)
	}
	if err := h.Compare(got, "secret"); err != nil {
		t.Errorf("Compare with another Hasher = %v", err)
	}
}

// Compare verifies every supported scheme whatever the configured one.
func TestHasher_CompareAnyScheme(t *testing.T) {
	t.Parallel()
	for _, h := range []*Hasher{{Cost: MinCost}, fastHasher()} {
		for _, stored := range []string{secretCost4, argon2Low} {
			if err := h.Compare(stored, "secret"); err != nil {
				t.Errorf("%v Hasher: Compare(%.12s…) = %v", h.Scheme, stored, err)
			}
		}
	}
}

func TestHasher_ConcurrentUse(t *testing.T) {
	t.Parallel()
	h := fastHasher()
	const n = 8
	var wg sync.WaitGroup
	dummies := make([]*parsedHash, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			h.CompareDummy("secret")
			dummies[i] = h.dummyHash()
			errs[i] = h.Compare(argon2Low, "secret")
			if !h.NeedsRehash(argon2Low) {
				errs[i] = errors.New("NeedsRehash(weak hash) = false")
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("goroutine %d: %v", i, errs[i])
		}
		if dummies[i] == nil || dummies[i] != dummies[0] {
			t.Errorf("goroutine %d saw another dummy hash", i)
		}
	}
}
