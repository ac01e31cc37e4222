package password_test

import (
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/jwtkit/jwtkit/password"
)

func ExampleHasher() {
	h := &password.Hasher{Cost: 10} // the zero Hasher uses cost 12
	if err := h.Validate(); err != nil {
		log.Fatal(err)
	}

	stored, err := h.Hash("correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stored[:7])

	if err := h.Compare(stored, "correct horse battery staple"); err == nil {
		fmt.Println("ok")
	}
	err = h.Compare(stored, "Tr0ub4dor&3")
	fmt.Println(errors.Is(err, password.ErrMismatch), err)
	// Output:
	// $2b$10$
	// ok
	// true password: mismatch
}

func ExampleHasher_argon2id() {
	h := &password.Hasher{Scheme: password.Argon2id} // m=64 MiB, t=3, p=4
	stored, err := h.Hash("secret")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stored[:31])
	fmt.Println(h.Compare(stored, "secret"))

	// A hash made by pwdlib (argon2-cffi) for FastAPI's documentation.
	pwdlib := "$argon2id$v=19$m=65536,t=3,p=4$wagCPXjifgvUFBzq4hqe3w$CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc"
	fmt.Println(h.Compare(pwdlib, "secret"))
	// Output:
	// $argon2id$v=19$m=65536,t=3,p=4$
	// <nil>
	// <nil>
}

func ExampleHasher_Hash_errors() {
	var h password.Hasher
	for _, pw := range []string{
		"",
		strings.Repeat("界", 64), // 64 characters, 192 bytes
		"pass\x00word",
	} {
		_, err := h.Hash(pw)
		fmt.Println(err)
	}

	bad := &password.Hasher{Cost: 4}
	_, err := bad.Hash("secret")
	fmt.Println(errors.Is(err, password.ErrCost), err)
	// Output:
	// password: empty
	// password: too long: bcrypt accepts at most 72 bytes of UTF-8, not 72 characters
	// password: invalid password: contains a NUL byte
	// true password: cost out of range: Cost 4 outside 10..16
}

func ExampleHasher_NeedsRehash() {
	h := &password.Hasher{} // bcrypt, cost 12

	fmt.Println(h.NeedsRehash("$2b$10$9B9ISTtplfvYPTvIMgRDu.6rpSKGvqbC5rNrG7lX/ZWuMfPscCUoS")) // cost 10
	fmt.Println(h.NeedsRehash("$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW")) // cost 12
	fmt.Println(h.NeedsRehash("$2a$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW")) // x/crypto's $2a$
	fmt.Println(h.NeedsRehash("$argon2id$v=19$m=65536,t=3,p=4$wagCPXjifgvUFBzq4hqe3w$CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc"))
	// Output:
	// true
	// false
	// true
	// true
}

// A login handler compares against the stored hash when the user exists and
// does the same work through CompareDummy when it does not, then answers
// both failures alike.
func ExampleHasher_CompareDummy() {
	h := &password.Hasher{Cost: 10}
	users := map[string]string{
		"johndoe": "$2b$10$9B9ISTtplfvYPTvIMgRDu.6rpSKGvqbC5rNrG7lX/ZWuMfPscCUoS", // "secret"
	}
	errInvalid := errors.New("incorrect username or password")

	login := func(username, pw string) error {
		stored, ok := users[username]
		if !ok {
			h.CompareDummy(pw)
			return errInvalid
		}
		if err := h.Compare(stored, pw); err != nil {
			return errInvalid // log err: it may be ErrMalformedHash or ErrCost
		}
		return nil
	}

	fmt.Println(login("johndoe", "secret"))
	fmt.Println(login("johndoe", "wrong"))
	fmt.Println(login("nobody", "secret"))
	// Output:
	// <nil>
	// incorrect username or password
	// incorrect username or password
}

// A login verifies against the account's hash, or "" when there is no
// such account, and waits out the returned time before refusing (after
// recording the failure), so that a legacy hash answers no sooner than an
// unknown user.
func ExampleHasher_Verify() {
	h := &password.Hasher{Cost: password.MinCost}
	stored, err := h.Hash("correct horse")
	if err != nil {
		log.Fatal(err)
	}
	wait, err := h.Verify(stored, "wrong guess")
	fmt.Println(errors.Is(err, password.ErrMismatch), wait) // a current hash: no wait

	_, err = h.Verify("", "wrong guess") // unknown user: the dummy comparison
	fmt.Println(errors.Is(err, password.ErrMalformedHash))

	_, err = h.Verify(stored, "correct horse")
	fmt.Println(err)
	// Output:
	// true 0s
	// true
	// <nil>
}
