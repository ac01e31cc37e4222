package providertest

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/jwt"
)

// startExampleServer builds examples/server from the repository and runs
// it on a free loopback port; it returns the base URL (also the issuer).
func startExampleServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.SkipOrFail(t, "no go command on PATH to build examples/server: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command(goBin, "build", "-o", bin, "./examples/server")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building examples/server: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		testenv.SkipOrFail(t, "no loopback port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr, "-alg", "ES256", "-key", filepath.Join(t.TempDir(), "key.pem"))
	cmd.Env = append(os.Environ(), "JWTKIT_STORE=memory")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// The server logs "listening" once it accepts connections.
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), "msg=listening") {
				found = true
				ready <- true
			}
		}
		if !found {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("examples/server exited before listening")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("examples/server did not start")
	}
	return "http://" + addr
}

// examples/server's /openapi.json is a valid OpenAPI 3.1 document, and its
// metadata lets a verifier find its keys from the issuer URL alone.
func TestExampleServer_OpenAPIAndDiscovery(t *testing.T) {
	base := startExampleServer(t)
	doc, err := openapi3.NewLoader().LoadFromURI(mustParse(t, base+"/openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	pw := doc.Components.SecuritySchemes[authserver.OpenAPIPasswordScheme]
	if pw == nil || pw.Value.Flows.Password.TokenURL != base+"/token" {
		t.Fatalf("password scheme %+v", pw)
	}
	if op := doc.Paths.Find("/users/me"); op == nil || op.Get == nil || op.Get.Security == nil {
		t.Fatal("/users/me has no security requirement")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := jwt.DiscoverKeySet(ctx, base, jwt.RemoteKeySetConfig{Algorithms: []jwt.Algorithm{jwt.ES256}, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(keys.Status().KeyIDs); n != 1 {
		t.Fatalf("%d keys", n)
	}
}
