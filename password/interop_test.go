package password_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/password"
)

// interopScript verifies and makes hashes with passlib (the FastAPI
// recipe's library), pyca/bcrypt and argon2-cffi (pwdlib's backend). It
// reads a request as JSON on stdin and writes the answer as JSON.
const interopScript = `
import json, sys, warnings
warnings.simplefilter("ignore")
import argon2, bcrypt
from passlib.context import CryptContext

ctx = CryptContext(schemes=["bcrypt", "argon2"])
req = json.load(sys.stdin)

def native(h, pw):
    if h.startswith("$2"):
        return bcrypt.checkpw(pw.encode(), h.encode())
    try:
        return argon2.PasswordHasher().verify(h, pw)
    except argon2.exceptions.VerifyMismatchError:
        return False

out = {"verify": [], "bcrypt": [], "argon2": [], "argon2_default": []}
for v in req["verify"]:
    out["verify"].append({"passlib": ctx.verify(v["password"], v["hash"]),
                          "native": native(v["hash"], v["password"])})
for pw in req["make"]:
    out["bcrypt"].append(ctx.handler("bcrypt").using(rounds=4).hash(pw))
    out["argon2"].append(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(pw))
out["argon2_default"] = argon2.PasswordHasher().hash(req["make"][0])
json.dump(out, sys.stdout)
`

// wrong returns pw with its first character replaced, no longer than pw:
// appending would push a 72-byte password past bcrypt's limit, where
// passlib with pyca/bcrypt before 5.0 silently truncates and matches.
func wrong(pw string) string {
	_, n := utf8.DecodeRuneInString(pw)
	return "X" + pw[n:]
}

type interopResult struct {
	Verify []struct {
		Passlib bool `json:"passlib"`
		Native  bool `json:"native"`
	} `json:"verify"`
	Bcrypt        []string `json:"bcrypt"`
	Argon2        []string `json:"argon2"`
	Argon2Default string   `json:"argon2_default"`
}

// Hashes made here verify in passlib, pyca/bcrypt and argon2-cffi, and
// theirs verify here (P-13 in both directions, P-09's libraries).
func TestHasher_P13_InteropPasslib(t *testing.T) {
	t.Parallel()
	python := testenv.Python(t, "the Debian packages python3-passlib python3-bcrypt python3-argon2", "passlib.context", "bcrypt", "argon2")

	passwords := []string{"pässwörd ✓", strings.Repeat("€", 24)}
	bc := &password.Hasher{Cost: password.MinCost}
	a2 := &password.Hasher{Scheme: password.Argon2id, Argon2: password.Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}}

	type check struct {
		Hash     string `json:"hash"`
		Password string `json:"password"`
		want     bool
	}
	var checks []check
	for _, pw := range passwords {
		for _, h := range []*password.Hasher{bc, a2} {
			stored, err := h.Hash(pw)
			if err != nil {
				t.Fatal(err)
			}
			checks = append(checks, check{stored, pw, true}, check{stored, wrong(pw), false})
		}
	}
	checks = append(checks, check{
		"$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW", "secret", true,
	})

	var res interopResult
	testenv.RunPython(t, python, interopScript, map[string]any{"verify": checks, "make": passwords}, &res)

	if len(res.Verify) != len(checks) {
		t.Fatalf("python answered %d checks, want %d", len(res.Verify), len(checks))
	}
	for i, c := range checks {
		if res.Verify[i].Passlib != c.want || res.Verify[i].Native != c.want {
			t.Errorf("python verify(%q, %q) = passlib %v, native %v; want %v",
				c.Hash, c.Password, res.Verify[i].Passlib, res.Verify[i].Native, c.want)
		}
	}

	if len(res.Bcrypt) != len(passwords) || len(res.Argon2) != len(passwords) {
		t.Fatalf("python made %d bcrypt and %d argon2 hashes, want %d each", len(res.Bcrypt), len(res.Argon2), len(passwords))
	}
	for i, pw := range passwords {
		for _, stored := range []string{res.Bcrypt[i], res.Argon2[i]} {
			if err := bc.Compare(stored, pw); err != nil {
				t.Errorf("Compare(%q, %q) = %v", stored, pw, err)
			}
			if err := bc.Compare(stored, wrong(pw)); !errors.Is(err, password.ErrMismatch) {
				t.Errorf("Compare(%q, wrong) = %v, want ErrMismatch", stored, err)
			}
		}
		if !strings.HasPrefix(res.Bcrypt[i], "$2b$04$") || !bc.NeedsRehash(res.Bcrypt[i]) {
			t.Errorf("passlib hash %q: want a $2b$04$ hash flagged for rehash", res.Bcrypt[i])
		}
	}
	// argon2-cffi's own defaults differ between versions (RFC 9106 low
	// memory since 21.2.0; m=100 MiB, t=2, p=8, 16-byte key before).
	if err := a2.Compare(res.Argon2Default, passwords[0]); err != nil {
		t.Errorf("Compare(argon2-cffi default %q) = %v", res.Argon2Default, err)
	}
}
