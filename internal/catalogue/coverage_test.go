package catalogue

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// rowRe matches a catalogue row: | ID | title | tests |.
	rowRe = regexp.MustCompile(`^\| ([A-Z]-[0-9]+) \|[^|]*\| (.*) \|$`)
	// pkgRe matches the package a reference starts with ("jwt: …").
	pkgRe = regexp.MustCompile(`^\s*([a-z][a-z/-]*): `)
	// funcRe matches the top-level test function of a reference.
	funcRe = regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+`)
)

// TestCoverageTableNamesExistingTests: every test function COVERAGE.md
// names exists in the package it names. Subtest paths and storetest's
// suite subtests are not checked; the top-level function is.
func TestCoverageTableNamesExistingTests(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	f, err := os.Open("COVERAGE.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	funcs := map[string]map[string]bool{} // package dir → test functions
	testsIn := func(dir string) map[string]bool {
		if m, ok := funcs[dir]; ok {
			return m
		}
		m := map[string]bool{}
		files, _ := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
		declRe := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)\(`)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m2 := range declRe.FindAllStringSubmatch(string(b), -1) {
				m[m2[1]] = true
			}
		}
		funcs[dir] = m
		return m
	}

	rows, refs := 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		row := rowRe.FindStringSubmatch(sc.Text())
		if row == nil {
			continue
		}
		rows++
		pkg := ""
		for part := range strings.SplitSeq(row[2], ";") {
			if m := pkgRe.FindStringSubmatch(part); m != nil {
				pkg = m[1]
			}
			switch pkg {
			case "", "documented", "storetest", "n/a":
				continue
			}
			if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
				t.Errorf("%s: package %q does not exist", row[1], pkg)
				continue
			}
			for _, name := range funcRe.FindAllString(part, -1) {
				refs++
				if !testsIn(pkg)[name] {
					t.Errorf("%s: %s names %s, which is not a test there", row[1], pkg, name)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows < 150 || refs < 150 {
		t.Fatalf("read %d rows and %d test references; the table's format changed?", rows, refs)
	}
}
