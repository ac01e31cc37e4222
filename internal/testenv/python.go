package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Environment variables read by the interoperability helpers.
const (
	// PythonEnv names the Python interpreter to try first.
	PythonEnv = "JWTKIT_PYTHON"
	// RequireInteropEnv makes a missing Python peer fail the test when set
	// to "true" or "1", as CI=true does.
	RequireInteropEnv = "JWTKIT_REQUIRE_INTEROP"
)

// PythonTimeout bounds one [RunPython] call.
const PythonTimeout = 60 * time.Second

// Python returns a Python 3 interpreter that can import every module in
// modules. It tries $JWTKIT_PYTHON, python3 on PATH and /usr/bin/python3,
// where Debian installs its packages when PATH leads to another Python
// first. When none can, the test is skipped, or failed under
// JWTKIT_REQUIRE_INTEROP=1 or CI=true, with a message naming install, the
// packages that provide the modules.
func Python(t testing.TB, install string, modules ...string) string {
	t.Helper()
	for _, c := range []string{os.Getenv(PythonEnv), "python3", "/usr/bin/python3"} {
		if c == "" {
			continue
		}
		path, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import "+strings.Join(modules, ", ")).Run() == nil {
			return path
		}
	}
	msg := "no python3 can import " + strings.Join(modules, ", ") + "; install " + install + " or set " + PythonEnv
	if mustFail(os.Getenv(RequireInteropEnv)) || mustFail(os.Getenv(CIEnv)) {
		t.Fatalf("%s (%s or %s set: failing instead of skipping)", msg, RequireInteropEnv, CIEnv)
		return ""
	}
	t.Skipf("%s (skipped; with %s=1 or %s=true this fails)", msg, RequireInteropEnv, CIEnv)
	return ""
}

// RunPython runs script with python, passing in as JSON on standard input
// (so secrets and tokens land in neither files nor process arguments), and
// decodes the JSON the script prints into out. The test fails if the
// script fails, prints something else or runs longer than [PythonTimeout].
func RunPython(t testing.TB, python, script string, in, out any) {
	t.Helper()
	req, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), PythonTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", python, err, stderr.String())
		return
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("python output %q: %v", res, err)
	}
}
