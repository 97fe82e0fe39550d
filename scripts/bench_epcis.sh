#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make bench-epcis: events/s of the EPCIS export and capture on SQLite.
# A batch of ITEMS Digital Link bottles is imported (its commissioning
# events), wrk scans them for DURATION seconds (a consumer-scan event
# each), and 'epcis export' writes them all; then CASES packing events
# (24 bottles a case) are captured in one EPCIS document, against the
# same packing sent as one POST /api/v1/packs a case (the baseline).
# Environment: BUILD (build), ITEMS (120000), CASES (2000), DURATION (5)
set -euo pipefail

build=${BUILD:-build}
items=${ITEMS:-120000}
cases=${CASES:-2000}
dur=${DURATION:-5}
. "$(dirname "$0")/bench_lib.sh" epcis

command -v wrk >/dev/null || { echo "bench-epcis: wrk missing; run scripts/setup.sh" >&2; exit 1; }
[ $((cases * 48)) -le "$items" ] || { echo "bench-epcis: ITEMS must be >= 48 x CASES" >&2; exit 1; }

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

"$build/yima-codegen" keygen --keyring "$tmp/kr" > /dev/null
"$build/yima-codegen" mint --keyring "$tmp/kr" --kind item --count "$items" \
    --domain yima.example.com --gtin 06901234567892 --lot BENCH --format dl \
    --out "$tmp/items" --no-sync > /dev/null
"$build/yima-codegen" mint --keyring "$tmp/kr" --kind box --count $((cases * 2)) \
    --domain yima.example.com --out "$tmp/cases" --no-sync > /dev/null
tail -n +2 "$tmp/items/codes.csv" | cut -d, -f3 > "$tmp/urls.txt"
tail -n +2 "$tmp/cases/codes.csv" | cut -d, -f3 > "$tmp/cases.txt"
"$build/yima-scanapi" import --db "$tmp/e.db" --keyring "$tmp/kr" "$tmp/items/manifest.json" > /dev/null
"$build/yima-scanapi" import --db "$tmp/e.db" --keyring "$tmp/kr" "$tmp/cases/manifest.json" > /dev/null
token=$("$build/yima-scanapi" token create --db "$tmp/e.db" --role ops 2>/dev/null)

bench_start e "$build/yima-scanapi" serve --db "$tmp/e.db" --keyring "$tmp/kr" \
    --listen 127.0.0.1:0 --web "$here/scanapi/web" --ip-rate 0 --log "$tmp/e.log"
# Consumer scans: one event each.
CODES="$tmp/urls.txt" WRK_THREADS=2 wrk -t2 -c64 -d"${dur}s" \
    -s "$here/tests/bench/scan.lua" "http://127.0.0.1:$port" > "$tmp/wrk.txt"

# Capture: the first half of the cases, one document, all or nothing.
python3 - "$tmp" "$cases" <<'PY'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
urls = open(tmp + "/urls.txt").read().split()
cases = open(tmp + "/cases.txt").read().split()
ev = [{"type": "AggregationEvent", "eventTime": "2026-12-04T10:00:00Z",
       "eventTimeZoneOffset": "+00:00", "parentID": cases[i],
       "childEPCs": urls[24 * i:24 * i + 24], "action": "ADD",
       "bizStep": "packing"} for i in range(n)]
json.dump({"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
           "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2026-12-04T10:00:00Z",
           "epcisBody": {"eventList": ev}}, open(tmp + "/capture.json", "w"))
for i in range(n):
    json.dump({"parent": cases[n + i],
               "children": urls[24 * (n + i):24 * (n + i) + 24]},
              open("%s/pack.%d.json" % (tmp, i), "w"))
PY
t0=$(now)
status=$(curl -s -o "$tmp/capture.out" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/ld+json' --data-binary @"$tmp/capture.json" \
    "http://127.0.0.1:$port/api/v1/epcis/capture")
t1=$(now)
[ "$status" = 202 ] && grep -q '"success"' "$tmp/capture.out" ||
    { echo "bench-epcis: capture answered $status: $(cat "$tmp/capture.out")" >&2; exit 1; }
# The baseline: the same packing, one request a case, on one kept-alive
# connection of one curl.
for i in $(seq 0 $((cases - 1))); do
	[ "$i" = 0 ] || echo next
	printf 'url = "http://127.0.0.1:%s/api/v1/packs"\ndata-binary = "@%s/pack.%d.json"\n' \
	    "$port" "$tmp" "$i"
	printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' "$token"
	printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
done > "$tmp/packs.curl"
t2=$(now)
curl -s -K "$tmp/packs.curl" > "$tmp/packs.status"
t3=$(now)
[ "$(grep -c '^201$' "$tmp/packs.status")" = "$cases" ] ||
    { echo "bench-epcis: packs answered $(sort "$tmp/packs.status" | uniq -c)" >&2; exit 1; }
bench_stop_all

t4=$(now)
"$build/yima-scanapi" epcis export --db "$tmp/e.db" --keyring "$tmp/kr" > "$tmp/export.jsonld" 2> "$tmp/export.err"
t5=$(now)
events=$(sed -n 's/.*: \([0-9]*\) events/\1/p' "$tmp/export.err")
scans=$(sqlite3 "$tmp/e.db" "SELECT COUNT(*) FROM scans")
size=$(wc -c < "$tmp/export.jsonld")
echo "bench-epcis: SQLite, $items bottles (DL), $scans consumer scans, $((cases * 2)) cases of 24"
echo "export: $events events ($size bytes) in $(awk -v a="$t4" -v b="$t5" 'BEGIN { printf "%.2f", b - a }') s: $(rate "$events" "$t4" "$t5") events/s"
echo "capture: $cases packing events (24 children each) in one document: $(rate "$cases" "$t0" "$t1") events/s"
echo "baseline: the same through POST /api/v1/packs, one request a case: $(rate "$cases" "$t2" "$t3") packs/s"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "ratio capture/packs: %.2f\n", (d - c) / (b - a) }'
