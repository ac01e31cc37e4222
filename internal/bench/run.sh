#!/usr/bin/env bash
# Reproduces every figure of internal/bench/RESULTS.md (summarised in BENCHMARKS.md) in one run, on this machine:
#
#   bash internal/bench/run.sh            # from the repository root
#
# 1. go test TestEquivalence: every compared path accepts and refuses the
#    same tokens (a faster verifier that checks less is no comparison);
# 2. go test -bench . -count $COUNT in this module, summarised by benchstat;
# 3. examples/server on 127.0.0.1 (HS256, memory store), wrk on GET /healthz
#    and GET /users/me, without and with -token-cache;
# 4. the FastAPI recipe (python-jose) under uvicorn, when Debian's packages
#    for it are installed (see fastapi/README.md);
# 5. the markdown tables, printed and written into internal/bench/RESULTS.md between its
#    "results" markers (or to $OUT when set).
#
# Environment: COUNT (default 6), BENCHTIME (default 300ms), WRK_DURATION
# (default 10s), WRK_ROUNDS (default 3: /healthz and /users/me alternate,
# medians are reported), OUT. Total run time stays under 10 minutes on 2
# cores. Only loopback addresses are used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-300ms}
WRK_DURATION=${WRK_DURATION:-10s}
WRK_ROUNDS=${WRK_ROUNDS:-3}
OUT=${OUT:-}
BENCHSTAT="golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

log() { printf '==> %s\n' "$*" >&2; }

cd "$here"

log "machine"
{
	echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
	echo "- $(go version | cut -d' ' -f3-)"
	echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
} >"$work/machine.md"
cat "$work/machine.md" >&2

log "equivalence"
go test -count=1 -run 'TestEquivalence' . >&2

log "benchmarks (count $COUNT, benchtime $BENCHTIME)"
timeout 480 go test -run '^$' -bench . -benchtime "$BENCHTIME" -count "$COUNT" -timeout 470s . | tee "$work/bench.txt" >&2

log "benchstat"
go run "$BENCHSTAT" "$work/bench.txt" >"$work/benchstat.txt"

# ---- HTTP ----
command -v wrk >/dev/null || { log "wrk missing: apt-get install -y wrk"; exit 1; }
(cd "$root" && go build -o "$work/server" ./examples/server)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() {
	for _ in $(seq 1 100); do
		curl -fs "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# wrk_rps URL [header]: requests/s and non-2xx count of one bounded run.
wrk_rps() {
	local url=$1 hdr=${2:-}
	local args=(-t2 -c64 -d"$WRK_DURATION" --timeout 5s --latency)
	[[ -n "$hdr" ]] && args+=(-H "$hdr")
	timeout 60 wrk "${args[@]}" "$url" >"$work/wrk.txt"
	local rps non2xx p50
	rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
	non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
	echo "$rps ${non2xx:-0} $p50"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# measure NAME BASE TOKEN: alternate /healthz and /users/me WRK_ROUNDS
# times, so that both see the same background load, and add a table row
# with the medians.
http_rows=()
measure() {
	local name=$1 base=$2 tok=$3
	local hs=() ms=() hp=() mp=() bad=0
	for r in $(seq 1 "$WRK_ROUNDS"); do
		log "wrk $name round $r: /healthz"
		read -r rps non p50 < <(wrk_rps "$base/healthz")
		hs+=("$rps"); hp+=("$p50")
		log "wrk $name round $r: /users/me"
		read -r rps non p50 < <(wrk_rps "$base/users/me" "Authorization: Bearer $tok")
		ms+=("$rps"); mp+=("$p50"); bad=$((bad + non))
	done
	local h m
	h=$(printf '%s\n' "${hs[@]}" | median)
	m=$(printf '%s\n' "${ms[@]}" | median)
	http_rows+=("$name|$h|${hp[*]}|$m|${mp[*]}|$bad|$(awk -v a="$m" -v b="$h" 'BEGIN{printf "%.0f%%", 100*a/b}')")
}

run_go_server() {
	local name=$1; shift
	local port secret
	port=$(free_port)
	secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	JWT_SECRET=$secret "$work/server" -addr "127.0.0.1:$port" "$@" 2>"$work/server-$port.log" &
	local pid=$!
	pids+=("$pid")
	wait_http "http://127.0.0.1:$port/healthz"
	local tok
	tok=$(curl -fs -X POST -d 'username=johndoe&password=secret' "http://127.0.0.1:$port/token" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
	curl -fs -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/users/me" >/dev/null
	measure "$name" "http://127.0.0.1:$port" "$tok"
	kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_go_server "examples/server -token-cache=false" -token-cache=false
run_go_server "examples/server -token-cache=true (default)" -token-cache=true

# Debian's python3 (not a pyenv or venv one) has the packages.
PY=${PY:-/usr/bin/python3}
if [[ -x "$PY" ]] && "$PY" -c 'import fastapi, uvicorn, jose, passlib, multipart' 2>/dev/null; then
	port=$(free_port)
	(cd "$here/fastapi" && exec "$PY" -m uvicorn app:app --host 127.0.0.1 --port "$port" --log-level warning --no-access-log) 2>"$work/fastapi.log" &
	pid=$!
	pids+=("$pid")
	if wait_http "http://127.0.0.1:$port/healthz"; then
		tok=$(curl -fs -X POST -d 'username=johndoe&password=secret' "http://127.0.0.1:$port/token" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
		WRK_ROUNDS=1 measure "FastAPI recipe (uvicorn, 1 worker, python-jose)" "http://127.0.0.1:$port" "$tok"
	else
		log "the FastAPI app did not start; see $work/fastapi.log"
	fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
else
	http_rows+=("FastAPI recipe (not run: Debian's python3-fastapi, uvicorn, python3-jose, python3-passlib, python3-multipart are not installed)|0|–|0|–|0|–")
fi

log "tables"
results="$work/results.md"
go run ./cmd/report -bench "$work/bench.txt" -machine "$work/machine.md" -http <(printf '%s\n' "${http_rows[@]}") >"$results"
{
	echo
	echo '<details><summary>benchstat</summary>'
	echo
	echo '```'
	cat "$work/benchstat.txt"
	echo '```'
	echo '</details>'
} >>"$results"
cat "$results"
cp "$work/bench.txt" "$here/last-run.txt"
if [[ -n "$OUT" ]]; then
	cp "$results" "$OUT"
	log "written to $OUT"
elif grep -q '^<!-- results:begin -->$' "$here/RESULTS.md" 2>/dev/null; then
	awk -v f="$results" '
		/^<!-- results:begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/^<!-- results:end -->$/ { skip = 0 }
		!skip { print }
	' "$here/RESULTS.md" >"$work/RESULTS.md"
	cp "$work/RESULTS.md" "$here/RESULTS.md"
	log "tables written into $here/RESULTS.md"
else
	log "RESULTS.md has no results markers; paste the tables above"
fi
