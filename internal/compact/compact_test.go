package compact

import (
	"strings"
	"testing"
)

func TestSpan(t *testing.T) {
	t.Parallel()
	s := NewByteSet("ab")
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"c", 0},
		{"abab", 4},
		{"ababababab", 10},
		{"abababab" + "c", 8},
		{"abababa" + "c" + "ab", 7},
		{strings.Repeat("a", 17) + "\xff", 17},
	} {
		if got := s.Span(tc.in); got != tc.want {
			t.Errorf("Span(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in        string
		max       int
		d1, d2    int
		wantFault bool
	}{
		{"a.b.c", 0, 1, 3, false},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", 0, 20, 36, false},
		{"", 0, 0, 0, true},
		{"a.b.c", 4, 0, 0, true},
		{strings.Repeat("a", DefaultMaxBytes-4) + ".b.c", 0, DefaultMaxBytes - 4, DefaultMaxBytes - 2, false},
		{strings.Repeat("a", DefaultMaxBytes-3) + ".b.c", 0, 0, 0, true},
		{"a.b", 0, 0, 0, true},
		{"a.b.c.d", 0, 0, 0, true},
		{".b.c", 0, 0, 0, true},
		{"a..c", 0, 0, 0, true},
		{"a.b.", 0, 0, 0, true},
		{"a.b.c=", 0, 0, 0, true},
		{"a+b.b.c", 0, 0, 0, true},
		{"aaaaaaaa/aaaa.b.c", 0, 0, 0, true},
	} {
		d1, d2, fault := Split(tc.in, tc.max)
		if (fault != "") != tc.wantFault || d1 != tc.d1 || d2 != tc.d2 {
			t.Errorf("Split(%.20q, %d) = %d, %d, %q; want %d, %d, fault %t", tc.in, tc.max, d1, d2, fault, tc.d1, tc.d2, tc.wantFault)
		}
	}
}
