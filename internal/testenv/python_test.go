package testenv

import (
	"strings"
	"testing"
)

func TestPythonMissingModule(t *testing.T) {
	cases := []struct {
		name, require, ci string
		wantFail          bool
	}{
		{"local", "", "", false},
		{"JWTKIT_REQUIRE_INTEROP=1", "1", "", true},
		{"CI=true", "", "true", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(RequireInteropEnv, tc.require)
			t.Setenv(CIEnv, tc.ci)
			r := &recorder{TB: t}
			if got := Python(r, "python3-nothing", "jwtkit_no_such_module"); got != "" {
				t.Fatalf("Python found %q", got)
			}
			got, other := r.skipped, r.failed
			if tc.wantFail {
				got, other = r.failed, r.skipped
			}
			if got == "" || other != "" {
				t.Fatalf("skipped=%q failed=%q; want only %s", r.skipped, r.failed, map[bool]string{true: "a failure", false: "a skip"}[tc.wantFail])
			}
			for _, want := range []string{"jwtkit_no_such_module", "python3-nothing", PythonEnv, RequireInteropEnv} {
				if !strings.Contains(got, want) {
					t.Errorf("message %q should name %s", got, want)
				}
			}
		})
	}
}

func TestRunPython(t *testing.T) {
	python := Python(t, "python3", "json")
	var out map[string]string
	RunPython(t, python, "import json, sys\njson.dump({k: v.upper() for k, v in json.load(sys.stdin).items()}, sys.stdout)",
		map[string]string{"a": "secret"}, &out)
	if out["a"] != "SECRET" {
		t.Fatalf("round trip: %v", out)
	}

	r := &recorder{TB: t}
	RunPython(r, python, "import sys\nsys.exit('boom')", nil, &out)
	if !strings.Contains(r.failed, "boom") {
		t.Errorf("a failing script: failed=%q, want the script's stderr", r.failed)
	}
	r = &recorder{TB: t}
	RunPython(r, python, "print('not json')", nil, &out)
	if !strings.Contains(r.failed, "not json") {
		t.Errorf("output that is not JSON: failed=%q", r.failed)
	}
}
