// Command report turns one run of the benchmarks (go test -bench output),
// the machine description and the wrk results into the markdown tables of
// internal/bench/RESULTS.md. Every ratio is computed from medians of the same run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type result struct {
	ns, bytes, allocs []float64
}

type stat struct{ ns, bytes, allocs float64 }

var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func parse(r io.Reader) (map[string]stat, error) {
	raw := map[string]*result{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		res := raw[m[1]]
		if res == nil {
			res = &result{}
			raw[m[1]] = res
		}
		f := func(s string) float64 { x, _ := strconv.ParseFloat(s, 64); return x }
		res.ns = append(res.ns, f(m[2]))
		res.bytes = append(res.bytes, f(m[3]))
		res.allocs = append(res.allocs, f(m[4]))
	}
	out := map[string]stat{}
	for k, v := range raw {
		out[k] = stat{median(v.ns), median(v.bytes), median(v.allocs)}
	}
	return out, sc.Err()
}

func ns(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1f µs", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f ns", v)
}

func cell(s stat, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%s · %.0f allocs · %.0f B", ns(s.ns), s.allocs, s.bytes)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func yes(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

var algs = []string{"HS256", "RS256", "ES256", "EdDSA"}

func main() {
	benchFile := flag.String("bench", "", "go test -bench output")
	machineFile := flag.String("machine", "", "machine description (markdown)")
	httpFile := flag.String("http", "", "wrk rows: name|healthz rps|healthz p50|me rps|me p50|me non-2xx|ratio")
	flag.Parse()

	f, err := os.Open(*benchFile)
	if err != nil {
		fail(err)
	}
	b, err := parse(f)
	f.Close()
	if err != nil {
		fail(err)
	}
	get := func(name string) (stat, bool) { s, ok := b["Benchmark"+name]; return s, ok }
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }

	p("## Machine\n\n")
	if m, err := os.ReadFile(*machineFile); err == nil {
		p("%s\n", strings.TrimSpace(string(m)))
	}
	p("\nFigures are medians of the runs of one `run.sh` invocation; ratios compare figures of that same run.\n")

	var goals [][4]string
	addGoal := func(goal, measured string, ok bool) { goals = append(goals, [4]string{goal, measured, yes(ok), ""}) }

	// Verify.
	p("\n## Verify (signature + every claim check)\n\n")
	p("| alg | jwtkit | std (hand-written) | golang-jwt v5 | jwx v3 | crypto only | jwtkit / std | jwtkit / golang-jwt |\n|---|---|---|---|---|---|---|---|\n")
	for _, a := range algs {
		jk, okj := get("Verify/" + a + "/jwtkit")
		sd, oks := get("Verify/" + a + "/std")
		gj, okg := get("Verify/" + a + "/golang-jwt")
		jx, okx := get("Verify/" + a + "/jwx-v3")
		cr, okc := get("SignatureOnly/" + a + "/crypto")
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", a, cell(jk, okj), cell(sd, oks), cell(gj, okg), cell(jx, okx), cell(cr, okc), ratio(jk.ns, sd.ns), ratio(jk.ns, gj.ns))
		if a == "HS256" {
			addGoal("HS256 verify ≤ 1.3× hand-written std", ratio(jk.ns, sd.ns), okj && oks && jk.ns <= 1.3*sd.ns)
			addGoal("HS256 verify faster than golang-jwt, no more allocations",
				fmt.Sprintf("%s time; %.0f vs %.0f allocs", ratio(jk.ns, gj.ns), jk.allocs, gj.allocs),
				okj && okg && jk.ns < gj.ns && jk.allocs <= gj.allocs)
		} else {
			addGoal(a+" verify within 10% of std (raw signature check + same claims)", ratio(jk.ns, sd.ns), okj && oks && jk.ns <= 1.10*sd.ns)
		}
	}

	// Sign.
	p("\n## Sign one access token\n\n")
	p("| alg | jwtkit | std (hand-written) | golang-jwt v5 | jwtkit / std |\n|---|---|---|---|---|\n")
	for _, a := range algs {
		jk, okj := get("Sign/" + a + "/jwtkit")
		sd, oks := get("Sign/" + a + "/std")
		gj, okg := get("Sign/" + a + "/golang-jwt")
		p("| %s | %s | %s | %s | %s |\n", a, cell(jk, okj), cell(sd, oks), cell(gj, okg), ratio(jk.ns, sd.ns))
	}
	jk, okj := get("IssuePair/HS256/jwtkit")
	sd, oks := get("IssuePair/HS256/std")
	p("\n**Login pair (HS256 refresh token of a new session + access token):** jwtkit %s, hand-written floor %s: %s.\n", cell(jk, okj), cell(sd, oks), ratio(jk.ns, sd.ns))
	addGoal("HS256 access+refresh pair within 2× the hand-written floor", ratio(jk.ns, sd.ns), okj && oks && jk.ns <= 2*sd.ns)

	// Middleware.
	p("\n## Middleware: one request into a handler that reads the subject\n\n")
	p("Each cell is the time minus `no-auth` (the bare handler), i.e. what the middleware adds to a request. `jwtkit` is RequireBearer without stores; `-stores` adds WithUsers and WithRevocations on memstore; `-cache` adds WithTokenCache (the same token on every request). The second table subtracts the signature check itself (`crypto only` above), which every library pays alike and which dominates RS256, ES256 and EdDSA.\n\n")
	names := []string{"jwtkit", "golang-jwt", "jwtauth", "auth0", "jwtkit-cache", "jwtkit-stores", "jwtkit-stores-cache"}
	header := func() {
		p("| alg |")
		for _, n := range names {
			p(" %s |", n)
		}
		p("\n|---|%s\n", strings.Repeat("---|", len(names)))
	}
	header()
	for _, a := range algs {
		base, _ := get("Middleware/" + a + "/no-auth")
		p("| %s |", a)
		for _, n := range names {
			s, ok := get("Middleware/" + a + "/" + n)
			if !ok {
				p(" – |")
				continue
			}
			p(" %s · %.0f allocs |", ns(s.ns-base.ns), s.allocs)
		}
		p("\n")
	}
	p("\nBeyond the signature check (time − no-auth − crypto only; the cached rows skip the signature check, so they are not repeated here):\n\n")
	p("| alg | jwtkit | golang-jwt | jwtauth | auth0 | jwtkit-stores |\n|---|---|---|---|---|---|\n")
	for _, a := range algs {
		base, _ := get("Middleware/" + a + "/no-auth")
		cr, _ := get("SignatureOnly/" + a + "/crypto")
		beyond := func(n string) float64 {
			s, _ := get("Middleware/" + a + "/" + n)
			return s.ns - base.ns - cr.ns
		}
		p("| %s | %s | %s | %s | %s | %s |\n", a, ns(beyond("jwtkit")), ns(beyond("golang-jwt")), ns(beyond("jwtauth")), ns(beyond("auth0")), ns(beyond("jwtkit-stores")))
		jk, _ := get("Middleware/" + a + "/jwtkit")
		gj, _ := get("Middleware/" + a + "/golang-jwt")
		ja, _ := get("Middleware/" + a + "/jwtauth")
		a0, _ := get("Middleware/" + a + "/auth0")
		o, og, oj, oa := jk.ns-base.ns, gj.ns-base.ns, ja.ns-base.ns, a0.ns-base.ns
		if a == "HS256" {
			addGoal("HS256 RequireBearer overhead below the hand-written golang-jwt middleware and well below (≤ 0.5×) jwtauth and auth0",
				fmt.Sprintf("%s of golang-jwt, %s of jwtauth, %s of auth0", ratio(o, og), ratio(o, oj), ratio(o, oa)),
				o < og && o <= 0.5*oj && o <= 0.5*oa)
			continue
		}
		bj, bg, bja, ba := beyond("jwtkit"), beyond("golang-jwt"), beyond("jwtauth"), beyond("auth0")
		addGoal(a+" RequireBearer overhead below golang-jwt (total); well below (≤ 0.5×) jwtauth and auth0 beyond the shared signature check",
			fmt.Sprintf("total: %s of golang-jwt, %s of jwtauth, %s of auth0; beyond the signature: %s, %s, %s", ratio(o, og), ratio(o, oj), ratio(o, oa), ratio(bj, bg), ratio(bj, bja), ratio(bj, ba)),
			o < og && bj < bg && bj <= 0.5*bja && bj <= 0.5*ba)
	}

	// Cache.
	p("\n## Token cache: Authenticator decision for a repeated token\n\n")
	p("| alg | cold (verify) | cached (hit) | cold / cached |\n|---|---|---|---|\n")
	for _, a := range algs {
		c, okc := get("Authenticate/" + a + "/cold")
		h, okh := get("Authenticate/" + a + "/cached")
		p("| %s | %s | %s | %s |\n", a, cell(c, okc), cell(h, okh), ratio(c.ns, h.ns))
		addGoal(a+" repeated token ≥ 10× cheaper than a cold verify", ratio(c.ns, h.ns), okc && okh && c.ns >= 10*h.ns)
	}

	// HTTP.
	p("\n## HTTP (wrk -t2 -c64, 127.0.0.1, HS256, memory store)\n\n")
	p("Each server runs alone; `/healthz` and `/users/me` alternate %s, and req/s are the medians (p50 latency is listed per round).\n\n", "in rounds")
	p("| server | /healthz req/s | p50 | /users/me req/s | p50 | non-2xx | /users/me ÷ /healthz |\n|---|---|---|---|---|---|---|\n")
	if hf, err := os.ReadFile(*httpFile); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(hf)), "\n") {
			cols := strings.Split(line, "|")
			if len(cols) < 7 {
				continue
			}
			p("| %s |\n", strings.Join(cols, " | "))
			if strings.HasPrefix(cols[0], "examples/server") {
				h, _ := strconv.ParseFloat(cols[1], 64)
				m, _ := strconv.ParseFloat(cols[3], 64)
				addGoal("HTTP "+cols[0]+": /users/me ≥ 80% of /healthz", cols[6], h > 0 && m >= 0.8*h)
			}
		}
	}

	p("\n## Goals\n\n| goal | measured | status |\n|---|---|---|\n")
	for _, g := range goals {
		p("| %s | %s | %s |\n", g[0], g[1], g[2])
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}
