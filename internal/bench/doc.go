// Package bench compares jwtkit with the standard library and other Go JWT
// libraries. It is a separate module so that the libraries it compares
// against never enter jwtkit's own go.mod.
package bench
