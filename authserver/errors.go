package authserver

import "errors"

// Sentinel errors of the package, tested with errors.Is.
var (
	// ErrConfig: a configuration is incomplete or holds an invalid value
	// (a negative duration, size or count; a Grace that defeats reuse
	// detection).
	ErrConfig = errors.New("authserver: invalid configuration")
	// ErrReservedClaim: the Claims hook named a claim jwtkit sets itself.
	ErrReservedClaim = errors.New("authserver: custom claim names a claim jwtkit sets")
	// ErrCustomClaims: the Claims hook returned a value that does not
	// encode as JSON.
	ErrCustomClaims = errors.New("authserver: custom claims do not encode")
)
