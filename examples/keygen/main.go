// Command keygen creates a signing key for jwtkit: it writes the private
// key as PKCS #8 PEM to a new file (mode 0600) and prints the public key
// as a JSON Web Key Set on standard output.
//
//	go run ./examples/keygen -alg ES256 -out es256.pem > jwks.json
//	go run ./examples/keygen -alg RS256 -bits 3072 -kid 2026-01 -out rs256.pem
//
// -out is required, so keygen never writes into the working directory
// unasked; keep keys outside any source checkout. The key ID defaults to
// the key's RFC 7638 thumbprint, the kid jwt.ParseKeyPEM("", alg, pem)
// gives the key, so examples/server publishes the kid printed here. Load
// the key with os.ReadFile and jwt.ParseKeyPEM; publish its public half
// with authserver.NewJWKSHandler, or serve the printed set as is.
//
// keygen never overwrites a file: remove an old key deliberately, after
// every token it signed has expired.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jwtkit/jwtkit/jwt"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage is printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygen:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	algName := fs.String("alg", "ES256", "algorithm: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA")
	kid := fs.String("kid", "", "key ID (default: the RFC 7638 thumbprint)")
	out := fs.String("out", "", "file for the private key (PEM, created with mode 0600; must not exist)")
	bits := fs.Int("bits", 2048, "RSA modulus size in bits (RS*/PS* only; at least 2048)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	alg := jwt.Algorithm(*algName)
	key, err := generate(alg, *bits)
	if err != nil {
		return err
	}
	pemBytes, err := key.MarshalPEM()
	if err != nil {
		return err
	}
	// The same key under its ID, for the printed set: an empty -kid
	// gives the default, the thumbprint.
	if key, err = jwt.ParseKeyPEM(*kid, alg, pemBytes); err != nil {
		return err
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		return err
	}
	jwks, err := keys.PublicJWKS()
	if err != nil {
		return err
	}
	if err := writeNew(*out, pemBytes); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s private key %q to %s\n", alg, key.ID(), *out)
	_, err = fmt.Fprintf(stdout, "%s\n", jwks)
	return err
}

// generate returns a new key without ID. Only RSA needs more than
// jwt.GenerateKey: a modulus size other than the minimum.
func generate(alg jwt.Algorithm, bits int) (*jwt.Key, error) {
	switch {
	case strings.HasPrefix(string(alg), "HS"):
		return nil, fmt.Errorf("%s keys are shared secrets: generate one with openssl rand -base64 %d", alg, map[jwt.Algorithm]int{jwt.HS256: 32, jwt.HS384: 48, jwt.HS512: 64}[alg])
	case strings.HasPrefix(string(alg), "RS"), strings.HasPrefix(string(alg), "PS"):
		if bits < 2048 {
			return nil, fmt.Errorf("-bits %d: at least 2048 required", bits)
		}
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, err
		}
		return jwt.NewSigningKey("", alg, priv)
	}
	return jwt.GenerateKey("", alg)
}

// writeNew creates path with mode 0600 and refuses to replace a file.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; keygen never overwrites a key", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
