package hsmtest

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/jwt"
)

// ModuleEnv names the SoftHSM2 PKCS #11 library to load instead of the
// Debian locations.
const ModuleEnv = "JWTKIT_SOFTHSM2_MODULE"

var moduleCandidates = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// The token is created once per test binary in a temporary directory:
// SOFTHSM2_CONF points SoftHSM2 at a configuration of its own, so nothing
// outside the directory is read or written.
var token struct {
	once sync.Once
	ctx  *crypto11.Context
	dir  string
	miss string // why there is no token: a missing prerequisite
	err  error  // why there is no token: a failed set-up
}

func TestMain(m *testing.M) {
	code := m.Run()
	if token.ctx != nil {
		_ = token.ctx.Close()
	}
	if token.dir != "" {
		_ = os.RemoveAll(token.dir)
	}
	os.Exit(code)
}

// hsm returns the PKCS #11 context of the test token, skipping the test
// (failing it under CI=true) when SoftHSM2 is not installed.
func hsm(tb testing.TB) *crypto11.Context {
	tb.Helper()
	token.once.Do(func() { token.err = openToken() })
	if token.miss != "" {
		testenv.SkipOrFail(tb, "%s", token.miss)
	}
	if token.err != nil {
		tb.Fatalf("SoftHSM2 token: %v", token.err)
	}
	return token.ctx
}

func openToken() error {
	module := os.Getenv(ModuleEnv)
	if module == "" {
		for _, c := range moduleCandidates {
			if _, err := os.Stat(c); err == nil {
				module = c
				break
			}
		}
	}
	util, lookErr := exec.LookPath("softhsm2-util")
	if module == "" || lookErr != nil {
		token.miss = "SoftHSM2 is not installed (apt-get install softhsm2, or set " + ModuleEnv + ")"
		return nil
	}
	dir, err := os.MkdirTemp("", "jwtkit-softhsm-")
	if err != nil {
		return err
	}
	token.dir = dir
	conf := filepath.Join(dir, "softhsm2.conf")
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return err
	}
	cfg := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return err
	}
	// The library reads SOFTHSM2_CONF when it is loaded; this test binary
	// loads it only here.
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return err
	}
	const label, pin = "jwtkit-test", "1234"
	out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "5678").CombinedOutput()
	if err != nil {
		return fmt.Errorf("softhsm2-util --init-token: %w\n%s", err, out)
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: module, TokenLabel: label, Pin: pin})
	if err != nil {
		return fmt.Errorf("crypto11.Configure(%s): %w", module, err)
	}
	token.ctx = ctx
	return nil
}

// hsmSigner generates a key pair inside the token for alg and returns its
// handle: a crypto.Signer whose private half never leaves the token.
func hsmSigner(tb testing.TB, alg jwt.Algorithm) crypto.Signer {
	tb.Helper()
	ctx := hsm(tb)
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		tb.Fatal(err)
	}
	label := []byte(string(alg) + "-" + hex.EncodeToString(id))
	var s crypto.Signer
	var err error
	switch alg {
	case jwt.RS256, jwt.PS256:
		s, err = ctx.GenerateRSAKeyPairWithLabel(id, label, 2048)
	case jwt.ES256:
		s, err = ctx.GenerateECDSAKeyPairWithLabel(id, label, elliptic.P256())
	default:
		tb.Fatalf("no HSM key for %s", alg)
	}
	if err != nil {
		tb.Fatalf("generating a %s key in the token: %v", alg, err)
	}
	return s
}
