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
	var stdout, stderr bytes.Buffer
	err := run([]string{"-h"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "-alg") || stdout.Len() != 0 {
		t.Fatalf("usage not printed as expected: stdout %q, stderr:\n%s", stdout.String(), stderr.String())
	}
}
