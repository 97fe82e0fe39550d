#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make bench-report: seeds SCANS (default 10,000,000) synthetic scans over
# 90 days, 300 regions, 50 dealers and 200 SKUs into a fresh SQLite
# database (scripts/bench_report.c: the rollups the writer would keep),
# (with the audience's A/B arms, channel funnels and 3,000,000 consumers'
# stages), starts yima-scanapi on it and times each report endpoint, as the
# administrator and as a distributor (5 dealers, 30 regions), REQUESTS
# times each on loopback. Prints p50/p99 per endpoint (target p50 <= 50 ms,
# p99 <= 200 ms). Environment: BUILD (build), SCANS, REQUESTS (40),
# KEEP_DB (a path: seed once into it, reuse it after).
set -euo pipefail

build=${BUILD:-build}
scans=${SCANS:-10000000}
reqs=${REQUESTS:-40}
. "$(dirname "$0")/bench_lib.sh" report

db=${KEEP_DB:-$tmp/report.db}
if [ ! -f "$db" ]; then
	"$build/yima-scanapi" migrate --db "$db" > /dev/null
	"$build/bench_report" "$db" "$here/assets/regions.txt" "$scans"
else
	echo "bench-report: reusing $db"
fi
"$build/yima-codegen" keygen --keyring "$tmp/kr" > /dev/null
admin=$("$build/yima-scanapi" token create --db "$db" --role admin --name bench 2>/dev/null)
dealer=$("$build/yima-scanapi" token create --db "$db" --role dealer --dealer d10 --name bench 2>/dev/null)

bench_start server "$build/yima-scanapi" serve --db "$db" --keyring "$tmp/kr" \
    --listen 127.0.0.1:0 --web "$here/scanapi/web" --web-assets "$here/assets/web" \
    --regions "$here/assets/regions.txt" --ip-rate 0 --log "$tmp/server.log"

to=$(TZ=Asia/Shanghai date +%F)
from=$(TZ=Asia/Shanghai date -d "-89 days" +%F)
week=$(TZ=Asia/Shanghai date -d "-6 days" +%F)
echo "bench-report: ${reqs} requests each, one at a time, loopback; window $from..$to (90 days)"
printf '%-52s %8s %8s %8s %s\n' endpoint p50_ms p99_ms max_ms rows
worst50=0; worst99=0
run() {
	local who=$1 tok=$2 path=$3 times=() t i
	for i in $(seq "$reqs"); do
		t=$(curl -s -o "$tmp/out" -w '%{http_code} %{time_total}' \
		    -H "Authorization: Bearer $tok" "http://127.0.0.1:$port$path")
		[ "${t%% *}" = 200 ] || { echo "bench-report: $path answered ${t%% *}" >&2; cat "$tmp/out" >&2; exit 1; }
		times+=("${t#* }")
	done
	read -r p50 p99 max < <(printf '%s\n' "${times[@]}" | sort -n |
	    awk '{ a[NR] = $1 * 1000 } END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR;
	    printf "%.1f %.1f %.1f\n", a[int((NR + 1) / 2)], a[i], a[NR] }')
	case $path in
	*format=csv*) rows=$(( $(wc -l < "$tmp/out") - 1 )) ;;
	*) rows=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get("rows", d.get("events", d.get("alerts", d.get("variants", []))))))' "$tmp/out") ;;
	esac
	printf '%-52s %8s %8s %8s %s\n' "$who $path" "$p50" "$p99" "$max" "$rows" |
	    sed "s|/api/v1/reports/||; s/from=$from&to=$to/90d/; s/from=$week&to=$to/7d/"
	worst50=$(awk -v a="$worst50" -v b="$p50" 'BEGIN { print (b > a) ? b : a }')
	worst99=$(awk -v a="$worst99" -v b="$p99" 'BEGIN { print (b > a) ? b : a }')
}
q="from=$from&to=$to"
for by in day region sku dealer; do
	run admin "$admin" "/api/v1/reports/scans?by=$by&$q"
done
run admin "$admin" "/api/v1/reports/scans?by=sku&region=44&$q"
for by in day region sku dealer; do
	run d10 "$dealer" "/api/v1/reports/scans?by=$by&$q"
done
run admin "$admin" "/api/v1/reports/scans?by=region&$q&format=csv"
run admin "$admin" "/api/v1/reports/diversion?from=$week&to=$to"
run d10 "$dealer" "/api/v1/reports/diversion?from=$week&to=$to"
run admin "$admin" "/api/v1/reports/alerts"
run d10 "$dealer" "/api/v1/reports/alerts"
# The audience's: an A/B test, 500 store channels' funnels over 90 days,
# and the stages of 3,000,000 consumers.
run admin "$admin" "/api/v1/reports/experiments/1"
run admin "$admin" "/api/v1/reports/channels?$q"
run d10 "$dealer" "/api/v1/reports/channels?$q"
run admin "$admin" "/api/v1/reports/channels?$q&format=csv"
run admin "$admin" "/api/v1/reports/segments"
run admin "$admin" "/api/v1/reports/segments?region=44"
run d10 "$dealer" "/api/v1/reports/segments"
total=$(curl -s -H "Authorization: Bearer $admin" \
    "http://127.0.0.1:$port/api/v1/reports/scans?by=day&$q" |
    python3 -c 'import json,sys; print(sum(r["scans"] for r in json.load(sys.stdin)["rows"]))')
echo "scans the by=day report counts: $total (seeded $scans)"
echo "worst p50 ${worst50} ms (target <= 50), worst p99 ${worst99} ms (target <= 200)"
