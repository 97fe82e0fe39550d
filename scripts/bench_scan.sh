#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make bench-scan: wrk -t2 -c64 POSTing scans of distinct valid codes to
# yima-scanapi on SQLite; then the same with every scan a cap (inner) code
# claiming in a lottery campaign; then the same load against a bare
# libmicrohttpd handler (the limit). Prints scans/s, p50/p99 and ratios.
# Environment: BUILD (build), SYNC (normal|full), DURATION (10), CODES (1000000),
# FORM (c: /C/ codes; dl: GS1 Digital Link codes, whose GTIN has a product)
set -euo pipefail

build=${BUILD:-build}
sync=${SYNC:-normal}
dur=${DURATION:-10}
count=${CODES:-1000000}
form=${FORM:-c}
. "$(dirname "$0")/bench_lib.sh" scan

command -v wrk >/dev/null || { echo "bench-scan: wrk missing; run scripts/setup.sh" >&2; exit 1; }


run_wrk() {
	CODES="${2:-$tmp/codes.txt}" WRK_THREADS=2 wrk -t2 -c64 -d"${dur}s" \
	    -s "$here/tests/bench/scan.lua" "http://127.0.0.1:$1" |
	    tee "$tmp/wrk.$1.txt" | sed -n 's/^RESULT //p'
}

"$build/yima-codegen" keygen --keyring "$tmp/kr" > /dev/null
"$build/yima-codegen" mint --keyring "$tmp/kr" --kind item --count "$count" \
    --domain yima.example.com --gtin 06901234567892 --lot BENCH --inner \
    --format "$form" --out "$tmp/batch" --no-sync > /dev/null
# The text a scanner reads: the URL (a DL code's S alone is no code).
tail -n +2 "$tmp/batch/codes.csv" | cut -d, -f$([ "$form" = dl ] && echo 3 || echo 2) \
    > "$tmp/codes.txt"
tail -n +2 "$tmp/batch/inner.csv" | cut -d, -f2 > "$tmp/inner.txt"
for db in scan reward; do
	"$build/yima-scanapi" import --db "$tmp/$db.db" --keyring "$tmp/kr" \
	    "$tmp/batch/manifest.json" > /dev/null
done

serve() {
	bench_start "$1" "$build/yima-scanapi" serve --db "$tmp/$1.db" --keyring "$tmp/kr" \
	    --listen 127.0.0.1:0 --web "$here/scanapi/web" --threads ${THREADS:-2} \
	    --sync "$sync" --ip-rate 0 --log "$tmp/$1.log"
}

stoken=$("$build/yima-scanapi" token create --db "$tmp/scan.db" --role admin 2>/dev/null)
serve scan
# DL: every answer names the product (the cache's hit on the hot path).
[ "$form" != dl ] || curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $stoken" \
    -H 'Content-Type: application/json' -d '{"name":"bench 500ml","brand":"bench",
    "image_url":"/dashboard/bottle.svg"}' \
    "http://127.0.0.1:$port/api/v1/admin/products/06901234567892"
scan=$(run_wrk "$port")
bench_stop_all

# Every scan a first scan of a cap code in a lottery: a draw, a prize
# taken from the pool now and then, points, the ledger.
token=$("$build/yima-scanapi" token create --db "$tmp/reward.db" --role admin 2>/dev/null)
serve reward
bench_lottery "$port" "$token"
reward=$(run_wrk "$port" "$tmp/inner.txt")
bench_stop_all
grep -h "Socket errors" "$tmp"/wrk.*.txt >&2 || true

bench_start hello "$build/bench_hello" 0 2
hello=$(run_wrk "$port")

stored=$(sqlite3 "$tmp/scan.db" "SELECT COUNT(*) FROM scans WHERE verdict = 1")
claims=$(sqlite3 "$tmp/reward.db" "SELECT COUNT(*) || ' claims, ' ||
    SUM(prize IS NOT NULL) || ' prizes' FROM claims WHERE status = 'granted'")
ledger=$("$build/yima-scanapi" ledger check --db "$tmp/reward.db" | tail -1)
s_rps=$(field rps "$scan"); h_rps=$(field rps "$hello"); r_rps=$(field rps "$reward")
echo "bench-scan: wrk -t2 -c64 -d${dur}s, loopback, SQLite WAL, --sync $sync, 2 HTTP threads, codes in form $form"
echo "scans (durable, group commit): $s_rps/s  p50 $(field p50_ms "$scan") ms  p99 $(field p99_ms "$scan") ms  (non-2xx $(field non2xx "$scan"), errors $(field errors "$scan"))"
echo "scans claiming a lottery:      $r_rps/s  p50 $(field p50_ms "$reward") ms  p99 $(field p99_ms "$reward") ms  (non-2xx $(field non2xx "$reward"), errors $(field errors "$reward"))"
echo "libmicrohttpd hello (limit):  $h_rps/s  p50 $(field p50_ms "$hello") ms  p99 $(field p99_ms "$hello") ms"
awk -v s="$s_rps" -v h="$h_rps" 'BEGIN { printf "ratio scans/hello: %.2f (target >= 0.5; p99 target <= 20 ms)\n", s / h }'
awk -v s="$s_rps" -v r="$r_rps" 'BEGIN { printf "ratio with rewards/without: %.2f\n", r / s }'
echo "genuine scans stored: $stored; rewarded: $claims; $ledger"
