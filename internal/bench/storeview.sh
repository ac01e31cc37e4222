#!/usr/bin/env bash
# storeview.sh: what the local store view saves per request.
#
# Runs examples/server (HS256, token cache on) against the shared
# PostgreSQL and Redis, with -store-view=false and =true, and measures
# GET /users/me against GET /healthz of the same process with wrk,
# alternating them WRK_ROUNDS times (default 3, WRK_DURATION each,
# default 5s), as run.sh does. Then the revocation propagation delay
# across two views, per backend, idle and while wrk drives /users/me.
# Bounded: about 3 minutes.
#
#   bash internal/bench/storeview.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
WRK_ROUNDS=${WRK_ROUNDS:-3}
WRK_DURATION=${WRK_DURATION:-5s}
PG=${JWTKIT_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS=${JWTKIT_REDIS_URL:-redis://127.0.0.1:6379/0}
work=$(mktemp -d)
tag=bench_view_$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	psql -q "$PG" -c "DROP SCHEMA IF EXISTS $tag CASCADE" >/dev/null 2>&1 || true
	redis-cli -u "$REDIS" --scan --pattern "$tag*" | xargs -r redis-cli -u "$REDIS" DEL >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "== $*" >&2; }

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
wrk_rps() {
	local url=$1 hdr=${2:-}
	local args=(-t2 -c64 -d"$WRK_DURATION" --timeout 5s)
	[[ -n "$hdr" ]] && args+=(-H "$hdr")
	timeout 60 wrk "${args[@]}" "$url" >"$work/wrk.txt"
	local non2xx
	non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
	echo "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") ${non2xx:-0}"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

rows=()
run() {
	local name=$1; shift
	local port secret tok hs=() ms=() bad=0
	port=$(free_port)
	secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	JWT_SECRET=$secret "$work/server" -addr "127.0.0.1:$port" "$@" 2>"$work/server-$port.log" &
	local pid=$!
	pids+=("$pid")
	wait_http "http://127.0.0.1:$port/healthz"
	tok=$(curl -fs -X POST -d 'username=johndoe&password=secret' "http://127.0.0.1:$port/token" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
	curl -fs -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/users/me" >/dev/null
	for r in $(seq 1 "$WRK_ROUNDS"); do
		log "$name round $r"
		read -r rps non < <(wrk_rps "http://127.0.0.1:$port/healthz")
		hs+=("$rps")
		read -r rps non < <(wrk_rps "http://127.0.0.1:$port/users/me" "Authorization: Bearer $tok")
		ms+=("$rps"); bad=$((bad + non))
	done
	kill "$pid"; wait "$pid" 2>/dev/null || true
	local h m
	h=$(printf '%s\n' "${hs[@]}" | median)
	m=$(printf '%s\n' "${ms[@]}" | median)
	rows+=("| $name | $h | $m | $bad | $(awk -v a="$m" -v b="$h" 'BEGIN{printf "%.2f", a/b}') |")
}

pgargs=(-store postgres -postgres "$PG" -postgres-schema "$tag")
rdargs=(-redis "$REDIS" -redis-prefix "$tag")
run "-store postgres, view off" "${pgargs[@]}" -store-view=false
run "-store postgres, view on" "${pgargs[@]}" -store-view=true
run "-store postgres -redis, view off" "${pgargs[@]}" "${rdargs[@]}" -store-view=false
run "-store postgres -redis, view on" "${pgargs[@]}" "${rdargs[@]}" -store-view=true

echo "| configuration | /healthz req/s | /users/me req/s | non-2xx | /users/me ÷ /healthz |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"

prop() {
	(cd "$root" && go test -run '^$' -bench RevocationPropagation -benchtime 500x ./store/pgstore ./store/redisstore |
		awk -v what="$1" '/^pkg:/ {pkg=$2} /^Benchmark/ {sub(".*/", "", pkg); print "| " what " | " pkg " | " $7 " | " $9 " | " $5 " |"}')
}
echo
echo "| load | backend | p50 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|"
log "propagation, idle (two views, 500 revocations per backend)"
prop idle
# The same while wrk drives /users/me of a server with the view on.
port=$(free_port)
JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') "$work/server" -addr "127.0.0.1:$port" \
	"${pgargs[@]}" "${rdargs[@]}" -store-view=true 2>"$work/server-load.log" &
pids+=("$!")
wait_http "http://127.0.0.1:$port/healthz"
tok=$(curl -fs -X POST -d 'username=johndoe&password=secret' "http://127.0.0.1:$port/token" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
timeout 120 wrk -t2 -c64 -d60s -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/users/me" >/dev/null &
pids+=("$!")
sleep 2
log "propagation under wrk load"
prop "wrk on /users/me"
