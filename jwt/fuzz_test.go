package jwt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jwtkit/jwtkit/internal/compact"
)

// issuedToken is a token made with the fuzz fixture's keys: one its
// Issuer minted, or a valid row of the security tables signed by hand
// with key K (a "valid-" seed). These are the only tokens its verifier
// may ever accept.
type issuedToken struct {
	name    string
	use     TokenUse // 0 for a valid- seed: either use
	subject string
	id      string
}

// fuzzFixture is a verifier over two HS256 keys (k1 with key K, k2) at
// testNow, and the tokens made for it. Everything is deterministic, so the
// issued tokens are also seeds in testdata.
type fuzzFixture struct {
	ver    *Verifier
	issued map[string]issuedToken
}

var fuzzOnce = sync.OnceValues(func() (*fuzzFixture, error) {
	k1, err := NewHMACKey(testKID, HS256, keyK())
	if err != nil {
		return nil, err
	}
	k2, err := NewHMACKey("k2", HS256, testSecret("k2", 32))
	if err != nil {
		return nil, err
	}
	both, err := NewKeySet(k1, k2)
	if err != nil {
		return nil, err
	}
	only2, err := NewKeySet(k2)
	if err != nil {
		return nil, err
	}
	ver, err := NewVerifier(VerifierConfig{Keys: both, Issuer: testIssuer, Audience: testAudience, Leeway: testLeeway, Now: fixedClock})
	if err != nil {
		return nil, err
	}
	ff := &fuzzFixture{ver: ver, issued: map[string]issuedToken{}}
	for _, ks := range []*KeySet{both, only2} {
		iss, err := NewIssuer(IssuerConfig{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}, Now: fixedClock})
		if err != nil {
			return nil, err
		}
		kid := ks.Active().ID()
		for _, g := range []struct {
			name string
			use  TokenUse
			g    Grant
		}{
			{"access", Access, Grant{Subject: "alice", ID: "fz-a-" + kid}},
			{"access-scopes-extra", Access, Grant{Subject: "bob", ID: "fz-b-" + kid, Scopes: []string{"read", "write"}, FamilyID: "fam-1", Extra: map[string]any{"role": "editor", "n": []int{1, 2}}}},
			{"access-escapes", Access, Grant{Subject: "a\"\\\u2028ü", ID: "fz-c-" + kid}},
			{"refresh", Refresh, Grant{Subject: "alice", ID: "fz-r-" + kid, FamilyID: "fam-1"}},
		} {
			var tok *Token
			if g.use == Refresh {
				tok, err = iss.IssueRefresh(context.Background(), g.g)
			} else {
				tok, err = iss.IssueAccess(context.Background(), g.g)
			}
			if err != nil {
				return nil, err
			}
			ff.issued[tok.Raw] = issuedToken{name: "issued-" + g.name + "-" + kid, use: g.use, subject: g.g.Subject, id: g.g.ID}
		}
	}
	valid, _ := filepath.Glob(filepath.Join(corpusDir, "FuzzVerifyAccess", "valid-*"))
	for _, p := range valid {
		raw, err := readCorpusFile(p)
		if err != nil {
			return nil, err
		}
		// The expected claims are read independently of the package.
		parts := strings.Split(raw, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		var c struct{ Sub, Jti string }
		if err := json.Unmarshal(payload, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		ff.issued[raw] = issuedToken{name: filepath.Base(p), subject: c.Sub, id: c.Jti}
	}
	return ff, nil
})

// accepts reports whether the fuzz verifier accepts raw on either path.
func (ff *fuzzFixture) accepts(raw string) bool {
	_, errA := ff.ver.VerifyAccess(context.Background(), raw)
	_, errR := ff.ver.VerifyRefresh(context.Background(), raw)
	return errA == nil || errR == nil
}

func fuzzFix(tb testing.TB) *fuzzFixture {
	tb.Helper()
	ff, err := fuzzOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return ff
}

// check holds one verification result to the fuzz property: either the
// claims of a token we issued for this use, or an error wrapping one of
// the verification sentinels.
func (ff *fuzzFixture) check(t *testing.T, raw string, use TokenUse) {
	var c *Claims
	var err error
	if use == Refresh {
		c, err = ff.ver.VerifyRefresh(context.Background(), raw)
	} else {
		c, err = ff.ver.VerifyAccess(context.Background(), raw)
	}
	if err != nil {
		if c != nil {
			t.Fatalf("%s: claims returned with error %v", use, err)
		}
		if sentinelOf(err) == nil {
			t.Fatalf("%s: error %q wraps no verification sentinel", use, err)
		}
		return
	}
	// Strict canonical encoding means a token has one accepted string, so
	// an accepted input must be byte-equal to an issued token.
	want, ok := ff.issued[raw]
	if !ok {
		t.Fatalf("%s: accepted a token that was never issued: %q", use, raw)
	}
	if (want.use != 0 && want.use != use) || c.Use != use || c.Subject != want.subject || c.ID != want.id {
		t.Fatalf("%s: claims %+v for issued %+v", use, c, want)
	}
}

func FuzzVerifyAccess(f *testing.F) {
	ff := fuzzFix(f)
	for raw := range ff.issued {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ff.check(t, raw, Access)
		ff.check(t, raw, Refresh)
	})
}

// FuzzReadObject holds the strict JSON reader to encoding/json: whatever
// readObject accepts is valid JSON with as many distinct members, each
// member's raw text is valid JSON of the reported kind, and string values
// unescape to what encoding/json reads.
func FuzzReadObject(f *testing.F) {
	for _, s := range readObjectSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var accepted [2]bool
		for i, fold := range []bool{false, true} {
			type got struct {
				name string
				v    jsonValue
			}
			var members []got
			err := readObject(s, fold, func(name string, v jsonValue) error {
				members = append(members, got{name, v})
				return nil
			})
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("fold=%t: error %v does not wrap ErrMalformed", fold, err)
				}
				continue
			}
			accepted[i] = true
			if !json.Valid([]byte(s)) {
				t.Fatalf("fold=%t: accepted invalid JSON %q", fold, s)
			}
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("fold=%t: encoding/json: %v", fold, err)
			}
			if len(m) != len(members) {
				t.Fatalf("fold=%t: %d members, encoding/json reads %d", fold, len(members), len(m))
			}
			for _, mb := range members {
				jv, ok := m[mb.name]
				if !ok {
					t.Fatalf("fold=%t: member %q unknown to encoding/json", fold, mb.name)
				}
				if !json.Valid([]byte(mb.v.raw)) {
					t.Fatalf("fold=%t: member %q raw %q is not JSON", fold, mb.name, mb.v.raw)
				}
				var kindOK bool
				switch mb.v.kind {
				case kindString:
					s, isStr := jv.(string)
					kindOK = isStr && s == mb.v.str
				case kindNumber:
					_, kindOK = jv.(json.Number)
				case kindObject:
					_, kindOK = jv.(map[string]any)
				case kindArray:
					_, kindOK = jv.([]any)
				case kindTrue:
					kindOK = jv == true
				case kindFalse:
					kindOK = jv == false
				case kindNull:
					kindOK = jv == nil
				}
				if !kindOK {
					t.Fatalf("fold=%t: member %q kind %d raw %q, encoding/json reads %#v", fold, mb.name, mb.v.kind, mb.v.raw, jv)
				}
			}
		}
		if accepted[1] && !accepted[0] {
			t.Fatalf("accepted with case folding but not without: %q", s)
		}
	})
}

// readObjectSeeds are edge cases of the JSON grammar and of the reader's
// own limits. The testdata corpus adds the header and claims of every
// security row.
func readObjectSeeds() []string {
	nest := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	arr := func(n int) string { return `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}" }
	members := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"m` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
		}
		b.WriteByte('}')
		return b.String()
	}
	return []string{
		`{}`, ` {}`, `{} `, `{`, `}`, `[]`, `null`, `""`, ``,
		`{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a" : 1 , "b" : [ 1 , { } ] }`, "{\t\n\r\"a\":1}",
		`{"a":1,"a":2}`, `{"a":1,"A":2}`, `{"sub":1,"ſub":2}`, `{"a":{"b":1,"b":2}}`, `{"a":{"b":1,"B":2}}`, `{"a":[{"b":1,"b":2}]}`,
		`{"a":"\u0041"}`, `{"\u0061":1,"a":2}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`, `{"a":"\udc00"}`, `{"a":"\ud800\u0041"}`,
		`{"a":"\x"}`, `{"a":"\u00"}`, `{"a":"\u00g0"}`, `{"a":"\/\b\f\n\r\t\"\\"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"\xc0\xaf\":1}",
		`{"a":0}`, `{"a":-0}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":1e+}`, `{"a":1E-5}`, `{"a":-}`, `{"a":+1}`,
		`{"a":1e400}`, `{"a":123456789012345678901234567890}`, `{"a":true}`, `{"a":false}`, `{"a":null}`, `{"a":tru}`, `{"a":nul}`, `{"a":truex}`,
		`{"a":1}x`, `{"a":1}{"b":2}`, "{\"a\":1}\x00", `{"a"}`, `{"a":}`, `{a:1}`, `{'a':1}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b"}}`,
		nest(maxJSONDepth), nest(maxJSONDepth + 1), arr(maxJSONDepth - 1), arr(maxJSONDepth), members(maxJSONMembers), members(maxJSONMembers + 1),
	}
}

// corpus records the inputs of the security tables while the seed
// corpus is being written; nil otherwise.
var corpus *corpusRecorder

type corpusRecorder struct {
	mu     sync.Mutex
	tokens []corpusEntry
	seen   map[string]bool
}

type corpusEntry struct{ name, value string }

func (r *corpusRecorder) add(name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[value] || len(value) > 10<<10 {
		return
	}
	r.seen[value] = true
	r.tokens = append(r.tokens, corpusEntry{name, value})
}

func recordToken(t testing.TB, raw string) {
	if corpus != nil {
		corpus.add(t.Name(), raw)
	}
}

const corpusDir = "testdata/fuzz"

// TestWriteFuzzCorpus regenerates the seed corpora from the security
// tables, the fuzz fixture and the JSON edge cases:
//
//	JWTKIT_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./jwt/
//
// Crashers found by fuzzing are kept: only files this test wrote before
// (named after rows) are replaced.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("JWTKIT_WRITE_CORPUS") == "" {
		t.Skip("set JWTKIT_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	rec := &corpusRecorder{seen: map[string]bool{}}
	corpus = rec
	t.Cleanup(func() { corpus = nil })
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"TestVerifyAlgorithms", TestVerifyAlgorithms},
		{"TestVerifyA04HeaderAlgMismatch", TestVerifyA04HeaderAlgMismatch},
		{"TestVerifyAsymmetricAttacks", TestVerifyAsymmetricAttacks},
		{"TestVerifyFormat", TestVerifyFormat},
		{"TestVerifyJSON", TestVerifyJSON},
		{"TestVerifyTypeFuzzing", TestVerifyTypeFuzzing},
		{"TestVerifyClaims", TestVerifyClaims},
		{"TestVerifyScopes", TestVerifyScopes},
		{"TestVerifyTokenUse", TestVerifyTokenUse},
		{"TestVerifyKeyIDs", TestVerifyKeyIDs},
	} {
		t.Run(tc.name, tc.fn)
	}
	corpus = nil

	ff := fuzzFix(t)
	verify := []corpusEntry{
		{"edge-many-dots", strings.Repeat(".", 10000)},
		{"edge-8KiB-plus-1", strings.Repeat("a", compact.DefaultMaxBytes+1)},
		{"edge-three-empty", ".."},
		{"edge-non-ascii", "é.é.é"},
	}
	for raw, it := range ff.issued {
		if it.use != 0 {
			verify = append(verify, corpusEntry{it.name, raw})
		}
	}
	slices.SortFunc(verify, func(a, b corpusEntry) int { return strings.Compare(a.name, b.name) })
	for _, e := range rec.tokens {
		if _, issued := ff.issued[e.value]; issued && ff.issued[e.value].use != 0 {
			continue
		}
		// Rows the fuzz verifier accepts are tokens signed with K: the
		// fuzz property admits exactly these.
		if ff.accepts(e.value) {
			e.name = "valid-" + corpusName(e.name)
		}
		verify = append(verify, e)
	}

	var objects []corpusEntry
	seenObj := map[string]bool{}
	addObj := func(name, s string) {
		if !seenObj[s] && len(s) <= 4<<10 {
			seenObj[s] = true
			objects = append(objects, corpusEntry{name, s})
		}
	}
	for i, s := range readObjectSeeds() {
		addObj("edge-"+strconv.Itoa(i), s)
	}
	for _, e := range verify {
		parts := strings.Split(e.value, ".")
		if len(parts) != 3 {
			continue
		}
		for i, part := range parts[:2] {
			if b, err := base64.RawURLEncoding.DecodeString(part); err == nil {
				addObj(e.name+[]string{"-header", "-claims"}[i], string(b))
			}
		}
	}
	writeCorpus(t, "FuzzVerifyAccess", verify)
	writeCorpus(t, "FuzzReadObject", objects)
}

func writeCorpus(t *testing.T, target string, entries []corpusEntry) {
	dir := filepath.Join(corpusDir, target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Replace what this test wrote before; keep crashers (hash names).
	old, _ := filepath.Glob(filepath.Join(dir, "*-*"))
	for _, p := range old {
		if !isHashName(filepath.Base(p)) {
			_ = os.Remove(p)
		}
	}
	used := map[string]bool{}
	for _, e := range entries {
		name := corpusName(e.name)
		for n := 2; used[name]; n++ {
			name = corpusName(e.name) + "-" + strconv.Itoa(n)
		}
		used[name] = true
		data := "go test fuzz v1\nstring(" + strconv.Quote(e.value) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s: %d seeds", target, len(entries))
}

// corpusName turns a subtest name into a file name.
func corpusName(testName string) string {
	if i := strings.IndexByte(testName, '/'); i >= 0 && strings.HasPrefix(testName, "TestWriteFuzzCorpus/") {
		testName = testName[i+1:]
	}
	if i := strings.IndexByte(testName, '/'); i >= 0 && strings.HasPrefix(testName, "Test") {
		testName = testName[i+1:]
	}
	var b strings.Builder
	for _, r := range testName {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '+', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "_.")
	if len(name) > 100 {
		sum := sha256.Sum256([]byte(name))
		name = name[:90] + "-" + hex.EncodeToString(sum[:4])
	}
	return name
}

// isHashName reports whether name is a corpus file named by go test
// itself (16 hexadecimal digits), such as a crasher.
func isHashName(name string) bool {
	if len(name) != 16 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil
}

// readCorpusFile decodes a one-string corpus file.
func readCorpusFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text() != "go test fuzz v1" {
		return "", fmt.Errorf("%s: not a fuzz corpus file", path)
	}
	if !sc.Scan() {
		return "", fmt.Errorf("%s: no value", path)
	}
	line := sc.Text()
	if !strings.HasPrefix(line, "string(") || !strings.HasSuffix(line, ")") {
		return "", fmt.Errorf("%s: not a string value", path)
	}
	s, err := strconv.Unquote(line[len("string(") : len(line)-1])
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// TestFuzzCorpus keeps the committed seeds meaningful: every token the
// fuzz fixture issues is a seed and verifies (so a change of the token
// format shows up here, not as a silently stale corpus), every "valid-"
// seed is accepted, and every other seed is refused on both paths.
func TestFuzzCorpus(t *testing.T) {
	ff := fuzzFix(t)
	files, err := filepath.Glob(filepath.Join(corpusDir, "FuzzVerifyAccess", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d seeds for FuzzVerifyAccess", len(files))
	}
	issued := 0
	for _, p := range files {
		raw, err := readCorpusFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		it, known := ff.issued[raw]
		switch {
		case strings.HasPrefix(name, "issued-"):
			if !known || it.use == 0 {
				t.Errorf("%s: no longer what the fuzz fixture issues; regenerate the corpus (see TestWriteFuzzCorpus)", name)
				continue
			}
			issued++
			fallthrough
		case strings.HasPrefix(name, "valid-"):
			if !ff.accepts(raw) {
				t.Errorf("%s: refused", name)
			}
		default:
			if ff.accepts(raw) {
				t.Errorf("%s: accepted, but not a valid- or issued- seed", name)
			}
		}
	}
	want := 0
	for _, it := range ff.issued {
		if it.use != 0 {
			want++
		}
	}
	if issued != want {
		t.Fatalf("%d of %d issued tokens are seeds; regenerate the corpus (see TestWriteFuzzCorpus)", issued, want)
	}
}
