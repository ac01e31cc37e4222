package jwt

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small strict JSON reader for token headers and claim
// sets. encoding/json is lenient where tokens must not be: it keeps the
// last of duplicate names, matches struct fields case-insensitively and
// replaces invalid UTF-8. The reader below accepts exactly one JSON object
// with valid UTF-8, no duplicate (or case-variant) member names and nothing
// after it, and hands out member values as substrings of the input so that
// the common case allocates nothing.

const (
	maxJSONDepth   = 32
	maxJSONMembers = 64
)

type jsonKind uint8

const (
	kindString jsonKind = iota + 1
	kindNumber
	kindObject
	kindArray
	kindTrue
	kindFalse
	kindNull
)

// jsonValue is one member value. raw is the exact source text; for strings
// str holds the unescaped content.
type jsonValue struct {
	kind jsonKind
	raw  string
	str  string
}

type jsonReader struct {
	s    string
	pos  int
	fold bool // names differing only in case count as duplicates
}

var errJSON = fail(ErrMalformed, "invalid JSON")

// readObject parses s as one JSON object and calls visit for each member
// in order. It fails on duplicate names, in nested objects too, and also
// on names that differ only in case when foldDup is set. Case is folded
// the way encoding/json matches struct fields (Unicode simple folding, so
// "ſub" collides with "sub").
func readObject(s string, foldDup bool, visit func(name string, v jsonValue) error) error {
	var o objectReader
	if err := o.start(s, foldDup); err != nil {
		return err
	}
	for {
		name, v, ok, err := o.next()
		if err != nil || !ok {
			return err
		}
		if err := visit(name, v); err != nil {
			return err
		}
	}
}

// objectReader is readObject as an iterator, for hot paths where a
// callback would move the decoded text to the heap. Each call to next
// returns one member, in order, after checking that its name is new; the
// separator after a member is checked by the following call.
type objectReader struct {
	r     jsonReader
	names [maxJSONMembers]string
	n     int
	done  bool
}

// start positions o at the first member of the object s.
func (o *objectReader) start(s string, foldDup bool) error {
	o.r = jsonReader{s: s, fold: foldDup}
	o.n, o.done = 0, false
	if len(s) == 0 || s[0] != '{' {
		return errJSON
	}
	o.r.pos = 1
	o.r.skipSpace()
	if o.r.peek() == '}' {
		o.r.pos++
		if o.r.pos != len(s) {
			return errJSON
		}
		o.done = true
	}
	return nil
}

// next returns the next member; ok is false at the end of the object.
func (o *objectReader) next() (name string, v jsonValue, ok bool, err error) {
	r := &o.r
	if o.done {
		return "", jsonValue{}, false, nil
	}
	if o.n > 0 {
		r.skipSpace()
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			if r.pos != len(r.s) {
				return "", jsonValue{}, false, errJSON
			}
			o.done = true
			return "", jsonValue{}, false, nil
		default:
			return "", jsonValue{}, false, errJSON
		}
	}
	r.skipSpace()
	if r.peek() != '"' {
		return "", jsonValue{}, false, errJSON
	}
	name, ok = r.readString()
	if !ok {
		return "", jsonValue{}, false, errJSON
	}
	for _, seen := range o.names[:o.n] {
		if r.sameName(seen, name) {
			return "", jsonValue{}, false, fail(ErrMalformed, "duplicate member name")
		}
	}
	if o.n == maxJSONMembers {
		return "", jsonValue{}, false, fail(ErrMalformed, "too many members")
	}
	o.names[o.n] = name
	o.n++
	r.skipSpace()
	if r.peek() != ':' {
		return "", jsonValue{}, false, errJSON
	}
	r.pos++
	r.skipSpace()
	v, ok = r.readValue(1)
	if !ok {
		return "", jsonValue{}, false, errJSON
	}
	return name, v, true, nil
}

// sameName reports whether two member names of one object collide.
func (r *jsonReader) sameName(a, b string) bool {
	return a == b || (r.fold && strings.EqualFold(a, b))
}

func (r *jsonReader) peek() byte {
	if r.pos < len(r.s) {
		return r.s[r.pos]
	}
	return 0
}

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.s) {
		switch r.s[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *jsonReader) readValue(depth int) (jsonValue, bool) {
	if depth > maxJSONDepth {
		return jsonValue{}, false
	}
	start := r.pos
	switch c := r.peek(); {
	case c == '"':
		str, ok := r.readString()
		return jsonValue{kind: kindString, raw: r.s[start:r.pos], str: str}, ok
	case c == '-' || (c >= '0' && c <= '9'):
		ok := r.readNumber()
		return jsonValue{kind: kindNumber, raw: r.s[start:r.pos]}, ok
	case c == '{':
		ok := r.skipComposite(depth, '}', true)
		return jsonValue{kind: kindObject, raw: r.s[start:r.pos]}, ok
	case c == '[':
		ok := r.skipComposite(depth, ']', false)
		return jsonValue{kind: kindArray, raw: r.s[start:r.pos]}, ok
	case r.literal("true"):
		return jsonValue{kind: kindTrue, raw: "true"}, true
	case r.literal("false"):
		return jsonValue{kind: kindFalse, raw: "false"}, true
	case r.literal("null"):
		return jsonValue{kind: kindNull, raw: "null"}, true
	}
	return jsonValue{}, false
}

func (r *jsonReader) literal(lit string) bool {
	if len(r.s)-r.pos >= len(lit) && r.s[r.pos:r.pos+len(lit)] == lit {
		r.pos += len(lit)
		return true
	}
	return false
}

// skipComposite validates a nested object or array. Nested objects are
// checked for duplicate names too, so that custom claims decoded later
// with encoding/json cannot be read two ways.
func (r *jsonReader) skipComposite(depth int, closer byte, object bool) bool {
	r.pos++ // opening bracket
	r.skipSpace()
	if r.peek() == closer {
		r.pos++
		return true
	}
	var seen []string
	for {
		r.skipSpace()
		if object {
			if r.peek() != '"' {
				return false
			}
			name, ok := r.readString()
			if !ok {
				return false
			}
			for _, s := range seen {
				if r.sameName(s, name) {
					return false
				}
			}
			seen = append(seen, name)
			r.skipSpace()
			if r.peek() != ':' {
				return false
			}
			r.pos++
			r.skipSpace()
		}
		if _, ok := r.readValue(depth + 1); !ok {
			return false
		}
		r.skipSpace()
		switch r.peek() {
		case ',':
			r.pos++
		case closer:
			r.pos++
			return true
		default:
			return false
		}
	}
}

func (r *jsonReader) readNumber() bool {
	s, i := r.s, r.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	r.pos = i
	return true
}

// readString reads a string starting at the opening quote and returns its
// unescaped content. Without escapes the result is a substring of the input.
func (r *jsonReader) readString() (string, bool) {
	s := r.s
	i := r.pos + 1
	start := i
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			r.pos = i + 1
			return s[start:i], true
		case c == '\\':
			return r.readEscapedString(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			i++
		default:
			rn, size := utf8.DecodeRuneInString(s[i:])
			if rn == utf8.RuneError && size <= 1 {
				return "", false
			}
			i += size
		}
	}
	return "", false
}

func (r *jsonReader) readEscapedString(start int) (string, bool) {
	s := r.s
	buf := make([]byte, 0, len(s)-start)
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			r.pos = i + 1
			return string(buf), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if i+1 >= len(s) {
				return "", false
			}
			i++
			switch s[i] {
			case '"', '\\', '/':
				buf = append(buf, s[i])
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				rn, n, ok := readUnicodeEscape(s, i-1)
				if !ok {
					return "", false
				}
				buf = utf8.AppendRune(buf, rn)
				i += n - 2
			default:
				return "", false
			}
			i++
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			rn, size := utf8.DecodeRuneInString(s[i:])
			if rn == utf8.RuneError && size <= 1 {
				return "", false
			}
			buf = append(buf, s[i:i+size]...)
			i += size
		}
	}
	return "", false
}

// readUnicodeEscape decodes \uXXXX (and a following low surrogate) at
// s[at:]. It returns the rune and the number of bytes consumed. Lone
// surrogates are refused.
func readUnicodeEscape(s string, at int) (rune, int, bool) {
	hex4 := func(p int) (rune, bool) {
		if p+6 > len(s) || s[p] != '\\' || s[p+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[p+2:p+6], 16, 32)
		if err != nil {
			return 0, false
		}
		return rune(v), true
	}
	r1, ok := hex4(at)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6, true
	}
	if r1 >= 0xDC00 {
		return 0, 0, false
	}
	r2, ok := hex4(at + 6)
	if !ok {
		return 0, 0, false
	}
	rn := utf16.DecodeRune(r1, r2)
	if rn == utf8.RuneError {
		return 0, 0, false
	}
	return rn, 12, true
}

// appendJSONString appends s as a JSON string. It refuses invalid UTF-8
// rather than silently replacing it.
func appendJSONString(dst []byte, s string) ([]byte, bool) {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		rn, size := utf8.DecodeRuneInString(s[i:])
		if rn == utf8.RuneError && size == 1 {
			return dst, false
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}
