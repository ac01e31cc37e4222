package jwt

import (
	"errors"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/internal/compact"
)

// readObjectReference is the straightforward object reader the iterator
// replaced: one loop, every name compared with sameName. The fuzz test
// below holds objectReader to it.
func readObjectReference(s string, foldDup bool, visit func(name string, v jsonValue) error) error {
	r := jsonReader{s: s, fold: foldDup}
	if len(s) == 0 || s[0] != '{' {
		return errJSON
	}
	r.pos = 1
	var names []string
	r.skipSpace()
	if r.peek() == '}' {
		r.pos++
		if r.pos != len(s) {
			return errJSON
		}
		return nil
	}
	for {
		r.skipSpace()
		if r.peek() != '"' {
			return errJSON
		}
		name, ok := r.readString()
		if !ok {
			return errJSON
		}
		for _, n := range names {
			if r.sameName(n, name) {
				return fail(ErrMalformed, "duplicate member name")
			}
		}
		if len(names) == maxJSONMembers {
			return fail(ErrMalformed, "too many members")
		}
		names = append(names, name)
		r.skipSpace()
		if r.peek() != ':' {
			return errJSON
		}
		r.pos++
		r.skipSpace()
		v, ok := r.readValue(1)
		if !ok {
			return errJSON
		}
		if err := visit(name, v); err != nil {
			return err
		}
		r.skipSpace()
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			if r.pos != len(s) {
				return errJSON
			}
			return nil
		default:
			return errJSON
		}
	}
}

func FuzzObjectReaderMatchesReference(f *testing.F) {
	for _, s := range []string{
		`{}`, ` {}`, `{} `, `{"a":1}`, `{"a":1,"A":2}`, `{"sub":1,"ſub":2}`, `{"k":1,"K":2}`,
		`{"k":1,"\u212a":2}`, `{"ab":1,"abc":2}`, `{"a":1,}`, `{"a":{"b":1,"B":2}}`,
		`{"iss":"x","sub":"y","aud":["a","b"],"exp":1,"nbf":2,"iat":3,"jti":"j","scope":"a b"}`,
		`{"a":1 "b":2}`, `{"a":1}x`, `{"\u0061":1,"a":2}`, `{"é":1,"É":2}`, `{"x":1,"X\u0000":2}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fold := range []bool{false, true} {
			var got, want []string
			errGot := readObject(s, fold, func(name string, v jsonValue) error {
				got = append(got, name+"\x00"+v.raw+"\x00"+v.str)
				return nil
			})
			errWant := readObjectReference(s, fold, func(name string, v jsonValue) error {
				want = append(want, name+"\x00"+v.raw+"\x00"+v.str)
				return nil
			})
			if (errGot == nil) != (errWant == nil) || (errGot != nil && errGot.Error() != errWant.Error()) {
				t.Fatalf("fold=%t %q: error %v, reference %v", fold, s, errGot, errWant)
			}
			if errGot != nil && !errors.Is(errGot, ErrMalformed) {
				t.Fatalf("fold=%t %q: %v", fold, s, errGot)
			}
			if strings.Join(got, "\x01") != strings.Join(want, "\x01") {
				t.Fatalf("fold=%t %q: members %q, reference %q", fold, s, got, want)
			}
		}
	})
}

// splitCompactReference is the compact-form rule written as plainly as
// possible, without the eight-bytes-per-step scan.
func splitCompactReference(raw string, maxBytes int) (int, int, bool) {
	if maxBytes <= 0 {
		maxBytes = compact.DefaultMaxBytes
	}
	if len(raw) == 0 || len(raw) > maxBytes {
		return 0, 0, false
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return 0, 0, false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, b64URLAlphabet) != "" {
			return 0, 0, false
		}
	}
	return len(parts[0]), len(parts[0]) + 1 + len(parts[1]), true
}

const b64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func FuzzSplitCompactMatchesReference(f *testing.F) {
	for _, s := range []string{"", "a.b.c", ".b.c", "a..c", "a.b.", "a.b", "a.b.c.d", "a.b.c=", "abcdefgh.ijklmnop.qrstuvwx",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "aaaaaaa\x80.b.c", "a.b.c d", "aaaaaaaaaaaaaaaa.b.c\n"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 64
		d1, d2, err := splitCompact(s, max)
		r1, r2, ok := splitCompactReference(s, max)
		if (err == nil) != ok || d1 != r1 || d2 != r2 {
			t.Fatalf("%q (max %d): %d %d %v, reference %d %d %t", s, max, d1, d2, err, r1, r2, ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	})
}
