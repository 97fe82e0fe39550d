#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make bench-scan DB=pg: scans/s and p99 on a throwaway PostgreSQL
# (scripts/pg.sh, loopback) with one node and with two nodes, and on
# SQLite in the same run for comparison. wrk POSTs scans of distinct
# codes (each run its own slice). Two nodes: one wrk each, half the
# connections each, summed. Environment: BUILD, DURATION (10), CODES
# (450000), THREADS (HTTP threads per node, 2), POOL (--db-pool, 4).
set -euo pipefail

build=${BUILD:-build}
dur=${DURATION:-10}
count=${CODES:-450000}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/yima-bench-pg.XXXXXX)
pgdir=$(mktemp -d /tmp/yima-bench-pgdata.XXXXXX)	# owned by the server's user
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	"$here/scripts/pg.sh" stop "$pgdir" 2>/dev/null || true
	rm -rf "$tmp" "$pgdir"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench-scan: wrk missing; run scripts/setup.sh" >&2; exit 1; }

start() {	# LOGNAME CMD...: starts a node, sets $port
	local err="$tmp/$1.err"
	shift
	"$@" 2> "$err" &
	pids+=($!)
	for _ in $(seq 100); do
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$err")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	cat "$err" >&2
	exit 1
}
serve() {	# NAME DB [NODE-ID]
	start "$1" "$build/yima-scanapi" serve --db "$2" --keyring "$tmp/kr" \
	    --listen 127.0.0.1:0 --web "$here/scanapi/web" --threads "${THREADS:-2}" \
	    --db-pool "${POOL:-4}" --node-id "${3:-0}" --ip-rate 0 --log "$tmp/$1.log"
}
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
wrk_run() {	# PORT CODES THREADS CONNS
	CODES="$2" WRK_THREADS="$3" wrk -t"$3" -c"$4" -d"${dur}s" \
	    -s "$here/tests/bench/scan.lua" "http://127.0.0.1:$1" | sed -n 's/^RESULT //p'
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<< "$2"; }

url=$("$here/scripts/pg.sh" start "$pgdir")
"$build/yima-codegen" keygen --keyring "$tmp/kr" > /dev/null
"$build/yima-codegen" mint --keyring "$tmp/kr" --kind item --count "$count" \
    --domain yima.example.com --gtin 06901234567892 --out "$tmp/batch" \
    --no-sync > /dev/null
tail -n +2 "$tmp/batch/codes.csv" | cut -d, -f2 > "$tmp/all.txt"
third=$((count / 3))
sed -n "1,${third}p" "$tmp/all.txt" > "$tmp/sqlite.txt"
sed -n "$((third + 1)),$((2 * third))p" "$tmp/all.txt" > "$tmp/one.txt"
sed -n "$((2 * third + 1)),\$p" "$tmp/all.txt" | awk 'NR % 2' > "$tmp/two.a.txt"
sed -n "$((2 * third + 1)),\$p" "$tmp/all.txt" | awk '!(NR % 2)' > "$tmp/two.b.txt"
"$build/yima-scanapi" import --db "$tmp/scan.db" --keyring "$tmp/kr" "$tmp/batch/manifest.json" > /dev/null
"$build/yima-scanapi" import --db "$url" --keyring "$tmp/kr" "$tmp/batch/manifest.json" > /dev/null

serve sqlite "$tmp/scan.db"
sq=$(wrk_run "$port" "$tmp/sqlite.txt" 2 64)
stop_all

serve one "$url"
one=$(wrk_run "$port" "$tmp/one.txt" 2 64)
stop_all

serve a "$url" 1; pa=$port
serve b "$url" 2; pb=$port
wrk_run "$pa" "$tmp/two.a.txt" 1 32 > "$tmp/two.a.out" &
wa=$!
wrk_run "$pb" "$tmp/two.b.txt" 1 32 > "$tmp/two.b.out" &
wb=$!
wait "$wa" "$wb"
stop_all
ta=$(cat "$tmp/two.a.out"); tb=$(cat "$tmp/two.b.out")

stored=$(psql -Atq "$url" -c "SELECT COUNT(*) FROM scans WHERE verdict = 1")
echo "bench-scan DB=pg: wrk ${dur}s each, loopback, ${THREADS:-2} HTTP threads and --db-pool ${POOL:-4} per node, PostgreSQL $(psql -Atq "$url" -c 'SHOW server_version') (synchronous_commit on)"
echo "sqlite, one node:       $(field rps "$sq")/s  p50 $(field p50_ms "$sq") ms  p99 $(field p99_ms "$sq") ms  (non-2xx $(field non2xx "$sq"))"
echo "postgresql, one node:   $(field rps "$one")/s  p50 $(field p50_ms "$one") ms  p99 $(field p99_ms "$one") ms  (non-2xx $(field non2xx "$one"))"
awk -v a="$(field rps "$ta")" -v b="$(field rps "$tb")" -v pa="$(field p99_ms "$ta")" \
    -v pb="$(field p99_ms "$tb")" -v na="$(field non2xx "$ta")" -v nb="$(field non2xx "$tb")" \
    'BEGIN { w = pa > pb ? pa : pb; printf "postgresql, two nodes:  %.0f/s  p99 %.2f ms (the worse node)  (non-2xx %d)\n", a + b, w, na + nb }'
echo "genuine scans stored in PostgreSQL: $stored"
