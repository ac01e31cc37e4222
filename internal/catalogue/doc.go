// Package catalogue holds the table that maps each row of jwtkit's attack
// and fault catalogue to the tests that cover it (COVERAGE.md), and a test
// that keeps the table true as tests are renamed and moved.
package catalogue
