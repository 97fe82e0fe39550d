#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make bench-scan DB=pg: scans/s and p99 on a throwaway PostgreSQL
# (scripts/pg.sh, loopback) with one node and with two nodes, and on
# SQLite in the same run for comparison. wrk POSTs scans of distinct
# codes (each run its own slice). Two nodes: one wrk each, half the
# connections each, summed. One node runs twice, the second time with
# synchronous_commit off, each with a CPU and WAL account. Environment: BUILD, DURATION (10), CODES
# (450000), THREADS, POOL, WRITERS (--threads, --db-pool, --db-writers of
# every node; unset: serve's defaults). Last, two nodes behind nginx.
set -euo pipefail

build=${BUILD:-build}
dur=${DURATION:-10}
count=${CODES:-450000}
. "$(dirname "$0")/bench_lib.sh" pg
pgdir=$(mktemp -d /tmp/yima-bench-pgdata.XXXXXX)	# owned by the server's user
bench_cleanup_more() {
	"$here/scripts/lb.sh" stop "$tmp/nginx" 2>/dev/null || true
	"$here/scripts/pg.sh" stop "$pgdir" 2>/dev/null || true
	rm -rf "$pgdir"
}

command -v wrk >/dev/null || { echo "bench-scan: wrk missing; run scripts/setup.sh" >&2; exit 1; }

# `serve` with its defaults, unless THREADS, POOL or WRITERS say otherwise;
# nodes take their node numbers themselves.
serve() {	# NAME DB [FLAG...]
	local name=$1 db=$2
	shift 2
	bench_start "$name" "$build/yima-scanapi" serve --db "$db" \
	    --keyring "$tmp/kr" --listen 127.0.0.1:0 --web "$here/scanapi/web" \
	    --ip-rate 0 --log "$tmp/$name.log" ${THREADS:+--threads "$THREADS"} \
	    ${POOL:+--db-pool "$POOL"} ${WRITERS:+--db-writers "$WRITERS"} "$@"
}
wrk_run() {	# PORT CODES THREADS CONNS
	CODES="$2" WRK_THREADS="$3" wrk -t"$3" -c"$4" -d"${dur}s" \
	    -s "$here/tests/bench/scan.lua" "http://127.0.0.1:$1" | sed -n 's/^RESULT //p'
}
# Where the time goes: CPU ticks (1/100 s) of the node and of the
# PostgreSQL processes (the machine's own tick count misses the many
# short runs of a round-trip load), and the server's WAL writes and syncs.
ticks() {	# PID...: their CPU ticks so far
	local s=0 p t
	for p in "$@"; do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) && s=$((s + t))
	done
	echo "$s"
}
wal() { psql -Atq "$url" -c "SELECT wal_write || ' ' || wal_sync FROM pg_stat_wal"; }
# The node's SQL statements and committed scans so far (its /metrics).
stmts() {	# PORT
	curl -s "http://127.0.0.1:$1/metrics" | awk '
	    /^yima_store_statements_total / { s = $2 }
	    /^yima_committed_scans_total / { c = $2 } END { print s + 0, c + 0 }'
}
conflicts() {	# PORT: the node's transactions run again after a conflict
	curl -s "http://127.0.0.1:$1/metrics" | awk '/^yima_store_conflicts_total / { c = $2 } END { print c + 0 }'
}
warm() {	# CODES: a 2 s run on its first 10,000 (taken off), then ANALYZE
	head -n 10000 "$1" > "$tmp/warm.txt"
	sed -i 1,10000d "$1"
	CODES="$tmp/warm.txt" WRK_THREADS=2 wrk -t2 -c64 -d2s \
	    -s "$here/tests/bench/scan.lua" "http://127.0.0.1:$port" > /dev/null
	psql -Atq "$url" -c "ANALYZE"
}
# The statements by PostgreSQL's time in them since the last reset, per
# request of the wrk run RESULT.
top() {
	psql -Atq -F '|' "$url" -v k="$(field requests "$1")" <<'EOF' |
SELECT round(total_exec_time * 1000 / :k)::text || ' us',
    round(calls::numeric / :k, 3)::text,
    regexp_replace(left(query, 70), '\s+', ' ', 'g')
FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
ORDER BY total_exec_time DESC LIMIT 8
EOF
	    awk -F'|' '{ printf "      %8s  %6s  %s\n", $1, $2, $3 }'
}
pg_pids() {	# this cluster's processes: the postmaster and its children
	local pm
	pm=$(head -1 "$pgdir/data/postmaster.pid")
	echo "$pm" $(pgrep -P "$pm")
}
profile() {	# PORT CODES NODE-PID: wrk_run with a CPU and WAL account
	local n0 p0 w0 s0 n1 p1 w1 s1 out
	n0=$(ticks "$3"); p0=$(ticks $(pg_pids)); w0=$(wal); s0=$(stmts "$1")
	out=$(wrk_run "$1" "$2" 2 64)
	n1=$(ticks "$3"); p1=$(ticks $(pg_pids)); w1=$(wal); s1=$(stmts "$1")
	awk -v out="$out" -v n=$((n1 - n0)) -v p=$((p1 - p0)) -v w0="$w0" \
	    -v w1="$w1" -v s0="$s0" -v s1="$s1" -v d="$dur" 'BEGIN {
		split(w0, a, " "); split(w1, b, " ")
		split(s0, x, " "); split(s1, y, " ")
		match(out, /requests=[0-9]+/); k = substr(out, RSTART + 9, RLENGTH - 9)
		if (k == 0) k = 1
		c = y[2] - x[2]; if (c == 0) c = 1
		printf "cores=%.2f node_us=%.0f pg_us=%.0f syncs=%.0f writes=%.0f stmts=%.1f batch=%.1f\n",
		    (n + p) / d / 100, n * 1e4 / k, p * 1e4 / k,
		    (b[2] - a[2]) / k * 1000, (b[1] - a[1]) / k * 1000,
		    (y[1] - x[1]) / c, c / (k > 0 ? k : 1) }'
	echo "$out"
}

# pg_stat_statements: where PostgreSQL's time goes, statement by statement.
url=$(PG_OPTS="-c shared_preload_libraries=pg_stat_statements" "$here/scripts/pg.sh" start "$pgdir")
psql -Atq "$url" -c "CREATE EXTENSION pg_stat_statements"
"$build/yima-codegen" keygen --keyring "$tmp/kr" > /dev/null
"$build/yima-codegen" mint --keyring "$tmp/kr" --kind item --count "$count" \
    --domain yima.example.com --gtin 06901234567892 --out "$tmp/batch" \
    --inner --no-sync > /dev/null
# In random order, as consumers scan (the same order every run): codes
# scanned in serial order all fall on one writer's block (see scanq.c).
tail -n +2 "$tmp/batch/codes.csv" | cut -d, -f2 |
    shuf --random-source=<(yes) > "$tmp/all.txt"
q=$((count / 4))	# a quarter each: SQLite, one node, two nodes, nginx
sed -n "1,${q}p" "$tmp/all.txt" > "$tmp/sqlite.txt"
sed -n "$((q + 1)),$((2 * q))p" "$tmp/all.txt" > "$tmp/one.txt"
sed -n "$((2 * q + 1)),$((3 * q))p" "$tmp/all.txt" | awk 'NR % 2' > "$tmp/two.a.txt"
sed -n "$((2 * q + 1)),$((3 * q))p" "$tmp/all.txt" | awk '!(NR % 2)' > "$tmp/two.b.txt"
sed -n "$((3 * q + 1)),\$p" "$tmp/all.txt" > "$tmp/lb.txt"
tail -n +2 "$tmp/batch/inner.csv" | cut -d, -f2 |
    shuf --random-source=<(yes) > "$tmp/inner.txt"
"$build/yima-scanapi" import --db "$tmp/scan.db" --keyring "$tmp/kr" "$tmp/batch/manifest.json" > /dev/null
"$build/yima-scanapi" import --db "$url" --keyring "$tmp/kr" "$tmp/batch/manifest.json" > /dev/null

serve sqlite "$tmp/scan.db"
sq=$(wrk_run "$port" "$tmp/sqlite.txt" 2 64)
bench_stop_all

half=$(( $(wc -l < "$tmp/one.txt") / 2 ))
head -n "$half" "$tmp/one.txt" > "$tmp/one.a.txt"
tail -n +"$((half + 1))" "$tmp/one.txt" > "$tmp/one.b.txt"
serve one "$url"
# Steady state first: a running system's tables have statistics, which
# autovacuum keeps (a minute at most behind). Without them, the plans of
# the first batches (an empty code_state: seq scans) stay until it runs.
warm "$tmp/one.a.txt"
psql -Atq "$url" -c "SELECT pg_stat_statements_reset()" > /dev/null
one=$(profile "$port" "$tmp/one.a.txt" "${pids[-1]}")
bench_stop_all
top=$(top "$one")
# The same node without waiting for the WAL fsync at commit: its share.
serve nosync "$url?options=-csynchronous_commit%3Doff"
nosync=$(profile "$port" "$tmp/one.b.txt" "${pids[-1]}")
bench_stop_all

serve a "$url"; pa=$port
serve b "$url"; pb=$port
wrk_run "$pa" "$tmp/two.a.txt" 1 32 > "$tmp/two.a.out" &
wa=$!
wrk_run "$pb" "$tmp/two.b.txt" 1 32 > "$tmp/two.b.out" &
wb=$!
wait "$wa" "$wb"
conflicts=$(( $(conflicts "$pa") + $(conflicts "$pb") ))
bench_stop_all
ta=$(cat "$tmp/two.a.out"); tb=$(cat "$tmp/two.b.out")

# Two nodes behind Debian's nginx (scripts/lb.sh), one wrk at nginx.
serve la "$url" --trusted-proxy 127.0.0.1; pa=$port
serve lb "$url" --trusted-proxy 127.0.0.1; pb=$port
lport=$((20000 + RANDOM % 20000))
"$here/scripts/lb.sh" start "$tmp/nginx" "$lport" "$pa" "$pb" > /dev/null
lb=$(wrk_run "$lport" "$tmp/lb.txt" 2 64)
"$here/scripts/lb.sh" stop "$tmp/nginx"
bench_stop_all

# Last (its campaign stays): one node, every scan a first scan of a cap
# code claiming in a lottery, as bench-scan on SQLite does.
token=$("$build/yima-scanapi" token create --db "$url" --role admin 2>/dev/null)
serve lottery "$url"
bench_lottery "$port" "$token"
warm "$tmp/inner.txt"
psql -Atq "$url" -c "SELECT pg_stat_statements_reset()" > /dev/null
lottery=$(profile "$port" "$tmp/inner.txt" "${pids[-1]}")
ltop=$(top "$lottery")
bench_stop_all
claims=$(psql -Atq "$url" -c "SELECT COUNT(*) || ' claims, ' ||
    COUNT(prize) || ' prizes' FROM claims WHERE status = 'granted'")

stored=$(psql -Atq "$url" -c "SELECT COUNT(*) FROM scans WHERE verdict = 1")
flags="serve defaults"
[ -z "${THREADS:-}${POOL:-}${WRITERS:-}" ] ||
    flags="--threads ${THREADS:-default} --db-pool ${POOL:-default} --db-writers ${WRITERS:-default}"
echo "bench-scan DB=pg: wrk ${dur}s each, loopback, $flags, PostgreSQL $(psql -Atq "$url" -c 'SHOW server_version') (synchronous_commit on)"
echo "sqlite, one node:       $(field rps "$sq")/s  p50 $(field p50_ms "$sq") ms  p99 $(field p99_ms "$sq") ms  (non-2xx $(field non2xx "$sq"))"
for r in one nosync; do
	v=${!r}
	[ "$r" = one ] && label="postgresql, one node:  " || label="  synchronous_commit off:"
	echo "$label $(field rps "$v")/s  p50 $(field p50_ms "$v") ms  p99 $(field p99_ms "$v") ms  (non-2xx $(field non2xx "$v"))"
	echo "    CPU per scan: node $(field node_us "$v") us, PostgreSQL $(field pg_us "$v") us (together $(field cores "$v") of 2 cores); WAL per 1,000 scans: $(field writes "$v") writes, $(field syncs "$v") fsyncs; SQL statements per scan: $(field stmts "$v")"
done
echo "    PostgreSQL's time per scan by statement (executing; calls per scan):"
echo "$top"
awk -v a="$(field rps "$ta")" -v b="$(field rps "$tb")" -v pa="$(field p99_ms "$ta")" \
    -v pb="$(field p99_ms "$tb")" -v na="$(field non2xx "$ta")" -v nb="$(field non2xx "$tb")" \
    -v c="$conflicts" \
    'BEGIN { w = pa > pb ? pa : pb; printf "postgresql, two nodes:  %.0f/s  p99 %.2f ms (the worse node)  (non-2xx %d; %d conflicts, run again)\n", a + b, w, na + nb, c }'
echo "postgresql, one node, scans claiming a lottery: $(field rps "$lottery")/s  p50 $(field p50_ms "$lottery") ms  p99 $(field p99_ms "$lottery") ms  (non-2xx $(field non2xx "$lottery"); $claims)"
echo "    CPU per scan: node $(field node_us "$lottery") us, PostgreSQL $(field pg_us "$lottery") us; SQL statements per scan: $(field stmts "$lottery")"
echo "    PostgreSQL's time per scan by statement (executing; calls per scan):"
echo "$ltop"
echo "postgresql, two nodes behind nginx: $(field rps "$lb")/s  p50 $(field p50_ms "$lb") ms  p99 $(field p99_ms "$lb") ms  (non-2xx $(field non2xx "$lb"))"
awk -v s="$(field rps "$sq")" -v o="$(field rps "$one")" 'BEGIN { if (s > 0)
    printf "postgresql one node / sqlite: %.2fx\n", o / s }'
echo "genuine scans stored in PostgreSQL: $stored"
