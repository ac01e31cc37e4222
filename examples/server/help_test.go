package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestHelpPrintsUsage: -h prints the flags and reports flag.ErrHelp, which
// main turns into a clean exit rather than an error.
func TestHelpPrintsUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseConfig([]string{"-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "-addr") {
		t.Fatalf("usage does not list -addr:\n%s", out.String())
	}
}
