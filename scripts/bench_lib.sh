# SPDX-License-Identifier: Apache-2.0
# Sourced by the bench scripts: a scratch directory, servers started in
# the background on a free loopback port, and all of it gone at exit.
# Sets $tmp (from NAME, the first argument of the sourcing) and $here.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "/tmp/yima-bench-$1.XXXXXX")
pids=()
bench_cleanup_more() { :; }	# a script may redefine it
bench_cleanup() {
	bench_stop_all
	bench_cleanup_more
	rm -rf "$tmp"
}
trap bench_cleanup EXIT

# LOGNAME CMD...: starts CMD, its stderr in $tmp/LOGNAME.err, and waits
# for its "(port N)" line: sets $port.
bench_start() {
	local err="$tmp/$1.err"
	shift
	"$@" 2> "$err" &
	pids+=($!)
	for _ in $(seq 100); do
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$err")
		[ -n "$port" ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || break	# it died
		sleep 0.1
	done
	cat "$err" >&2
	exit 1
}

# NAME TEXT: the number after NAME= in TEXT (a wrk RESULT line).
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<< "$2"; }

# PORT TOKEN: the benchmarks' lottery campaign on cap codes: points, a
# red packet now and then, a bottle voucher now and then.
bench_lottery() {
	curl -sf -o /dev/null -H "Authorization: Bearer $2" \
	    -H 'Content-Type: application/json' -d '{"name":"bench lottery",
	    "start":"2020-01-01T00:00:00Z","end":"2099-01-01T00:00:00Z",
	    "claim_kind":"inner","points":10,"prizes":[
	    {"name":"red packet","type":"cash","amount":888,"count":1000000,
	    "probability":0.05},{"name":"another bottle","type":"voucher",
	    "amount":1,"count":1000000,"probability":0.02}]}' \
	    "http://127.0.0.1:$1/api/v1/admin/campaigns"
}

# Stops every server started so far.
bench_stop_all() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
