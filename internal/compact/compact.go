// Package compact holds the checks on the shape of a compact JWS that are
// shared by package jwt and the middleware: the base64url alphabet, the
// two dots and the length limit, applied before anything is decoded. It
// also holds the one byte-set scanner that these checks and the
// Authorization-header parser use.
package compact

// DefaultMaxBytes is the default cap on the length of a token.
const DefaultMaxBytes = 8 << 10

// ByteSet is a set of bytes, as a lookup table (1 for a member).
type ByteSet [256]uint8

// NewByteSet returns the set of the bytes of chars.
func NewByteSet(chars string) *ByteSet {
	var s ByteSet
	for i := 0; i < len(chars); i++ {
		s[chars[i]] = 1
	}
	return &s
}

// Span returns the length of the longest prefix of str whose bytes are all
// in s.
//
// Every request's token passes through here once or twice, so the loop
// tests eight bytes per step with one branch (internal/bench shows the
// scan among the costs of a cached request); the byte loop after it finds
// where the prefix ends.
func (s *ByteSet) Span(str string) int {
	i := 0
	for ; i+8 <= len(str); i += 8 {
		b := str[i : i+8]
		if s[b[0]]&s[b[1]]&s[b[2]]&s[b[3]]&s[b[4]]&s[b[5]]&s[b[6]]&s[b[7]] == 0 {
			break
		}
	}
	for i < len(str) && s[str[i]] != 0 {
		i++
	}
	return i
}

// base64URL is the unpadded base64url alphabet (RFC 4648 §5).
var base64URL = NewByteSet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

// Split checks that raw is a compact JWS in shape: at most maxBytes long
// (DefaultMaxBytes when maxBytes is not positive), three non-empty
// segments of base64url characters separated by two dots. It returns the
// positions of the dots, or a short description of the first fault.
func Split(raw string, maxBytes int) (dot1, dot2 int, fault string) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	switch {
	case len(raw) == 0:
		return 0, 0, "empty token"
	case len(raw) > maxBytes:
		return 0, 0, "token too long"
	}
	dot1, dot2 = -1, -1
	for i := 0; ; {
		i += base64URL.Span(raw[i:])
		if i == len(raw) {
			break
		}
		if raw[i] != '.' {
			return 0, 0, "character outside the base64url alphabet"
		}
		switch {
		case dot1 < 0:
			dot1 = i
		case dot2 < 0:
			dot2 = i
		default:
			return 0, 0, "more than three segments"
		}
		i++
	}
	switch {
	case dot2 < 0:
		return 0, 0, "fewer than three segments"
	case dot1 == 0 || dot2 == dot1+1 || dot2 == len(raw)-1:
		return 0, 0, "empty segment"
	}
	return dot1, dot2, ""
}
