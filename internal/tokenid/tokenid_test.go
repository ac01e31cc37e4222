package tokenid

import (
	"encoding/base64"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	a, b := New(), New()
	if a == b {
		t.Fatalf("two IDs are equal: %q", a)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(a)
	if err != nil || len(raw) != 16 {
		t.Fatalf("New() = %q: %d bytes, %v; want 16 bytes of base64url", a, len(raw), err)
	}
}
