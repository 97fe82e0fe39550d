#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make bench-scan: wrk -t2 -c64 POSTing scans of distinct valid codes to
# yima-scanapi on SQLite, then the same load against a bare libmicrohttpd
# handler (the limit). Prints scans/s, p50/p99 and the ratio.
# Environment: BUILD (build), SYNC (normal|full), DURATION (10), CODES (1000000)
set -euo pipefail

build=${BUILD:-build}
sync=${SYNC:-normal}
dur=${DURATION:-10}
count=${CODES:-1000000}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/yima-bench-scan.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench-scan: wrk missing; run scripts/setup.sh" >&2; exit 1; }

# Starts a server in the background; sets $port from its "(port N)" line.
start() {
	"$@" 2> "$tmp/start.err" &
	pids+=($!)
	for _ in $(seq 100); do
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$tmp/start.err")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	cat "$tmp/start.err" >&2
	exit 1
}

run_wrk() {
	CODES="$tmp/codes.txt" WRK_THREADS=2 wrk -t2 -c64 -d"${dur}s" \
	    -s "$here/tests/bench/scan.lua" "http://127.0.0.1:$1" |
	    tee "$tmp/wrk.$1.txt" | sed -n 's/^RESULT //p'
}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<< "$2"; }

"$build/yima-codegen" keygen --keyring "$tmp/kr" > /dev/null
"$build/yima-codegen" mint --keyring "$tmp/kr" --kind item --count "$count" \
    --domain yima.example.com --gtin 06901234567892 --lot BENCH \
    --out "$tmp/batch" --no-sync > /dev/null
tail -n +2 "$tmp/batch/codes.csv" | cut -d, -f2 > "$tmp/codes.txt"
"$build/yima-scanapi" import --db "$tmp/scan.db" --keyring "$tmp/kr" \
    "$tmp/batch/manifest.json" > /dev/null

start "$build/yima-scanapi" serve --db "$tmp/scan.db" --keyring "$tmp/kr" \
    --listen 127.0.0.1:0 --web "$here/scanapi/web" --threads ${THREADS:-2} \
    --sync "$sync" --ip-rate 0 --log "$tmp/scan.log"
scan=$(run_wrk "$port")
grep -h "Socket errors" "$tmp"/wrk.*.txt >&2 || true
kill "${pids[-1]}"; wait "${pids[-1]}" || true

start "$build/bench_hello" 0 2
hello=$(run_wrk "$port")

stored=$(sqlite3 "$tmp/scan.db" "SELECT COUNT(*) FROM scans WHERE verdict = 1")
s_rps=$(field rps "$scan"); h_rps=$(field rps "$hello")
echo "bench-scan: wrk -t2 -c64 -d${dur}s, loopback, SQLite WAL, --sync $sync, 2 HTTP threads"
echo "scans (durable, group commit): $s_rps/s  p50 $(field p50_ms "$scan") ms  p99 $(field p99_ms "$scan") ms  (non-2xx $(field non2xx "$scan"), errors $(field errors "$scan"))"
echo "libmicrohttpd hello (limit):  $h_rps/s  p50 $(field p50_ms "$hello") ms  p99 $(field p99_ms "$hello") ms"
awk -v s="$s_rps" -v h="$h_rps" 'BEGIN { printf "ratio scans/hello: %.2f (target >= 0.5; p99 target <= 20 ms)\n", s / h }'
echo "genuine scans stored: $stored"
