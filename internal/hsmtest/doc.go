// Package hsmtest tests jwtkit's signing with keys held by a PKCS #11
// token (SoftHSM2 through github.com/ThalesGroup/crypto11). It is a module
// of its own so that users of jwtkit never build cgo or download the
// PKCS #11 stack.
package hsmtest
