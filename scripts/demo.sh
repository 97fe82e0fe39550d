#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The demo: a keyring, a batch of 24 bottles in GS1 Digital Link form with
# cap-inside codes and print files, a printed code read back and verified,
# then the batch imported, the scan service started on SQLite, the
# bottles' product, a demo lottery campaign, a distributor and some scans
# made through its API. A second run reuses the first run's keyring, batch,
# tokens and data: it mints and scans nothing new.
# Usage: scripts/demo.sh [BUILD_DIR]   (run by 'make demo')
#   LISTEN=ADDR:PORT   where the service listens (default 127.0.0.1:8080;
#                      0.0.0.0:8080 lets a phone on this network open it)
#   DEMO_DOMAIN=HOST   the domain printed in the labels (default
#                      yima.example.com, which leads nowhere: give a domain
#                      of yours served over HTTPS, e.g. nginx in front)
#   DEMO_DIR=DIR       where it keeps its files (default demo)
#   DEMO_SERVE=0       stops after the import
set -eu

build=${1:-build}
gen="$build/yima-codegen"
api="$build/yima-scanapi"
listen=${LISTEN:-127.0.0.1:8080}
domain=${DEMO_DOMAIN:-yima.example.com}
demo=${DEMO_DIR:-demo}
keyring="$demo/keyring"
batch="$demo/batch-$domain"
db="$demo/scan.db"
log="$demo/scanapi.log"
tokens="$demo/tokens"

[ -x "$gen" ] || { echo "demo: $gen missing; run make first" >&2; exit 1; }
umask 077	# the tokens, the database and the log are the demo's alone
mkdir -p "$demo"
# Each piece is made aside and moved in whole: an interrupted run leaves
# nothing half-made for the next one to trip on.
if [ ! -d "$keyring" ]; then
	rm -rf "$keyring.tmp"
	"$gen" keygen --keyring "$keyring.tmp"
	mv "$keyring.tmp" "$keyring"
fi
# Tokens belong to their database.
[ -f "$db" ] || rm -f "$tokens"

if [ -f "$batch/manifest.json" ]; then
	echo "== the batch of the last run, $batch (24 bottles for $domain)"
else
	echo "== minting 24 item codes (GS1 Digital Link) for $domain with cap-inside codes, SVG, PNG and PDF"
	rm -rf "$batch" "$batch.tmp"
	"$gen" mint --keyring "$keyring" --kind item --count 24 --inner \
	    --format dl --domain "$domain" --gtin 06901234567892 \
	    --lot L2026-11 --line LINE-1 --mfg 2026-11-01 --expiry 2028-10-31 \
	    --svg --png --pdf --out "$batch.tmp"
	mv "$batch.tmp" "$batch"
	echo "== files for the printers in $batch"
	ls "$batch"
	head -n 3 "$batch/codes.csv"
fi

first=$(sed -n 2p "$batch/codes.csv" | cut -d, -f1)
echo "== reading the printed code $batch/png/$first.png back with zbar"
"$gen" read --keyring "$keyring" "$batch/png/$first.png"

echo "== a forged code (one character changed) is refused"
code=$(sed -n 2p "$batch/codes.csv" | cut -d, -f3)
forged=$(printf '%s' "$code" | sed 's/.$/0/')
[ "$forged" != "$code" ] || forged=$(printf '%s' "$code" | sed 's/.$/1/')
if "$gen" verify --keyring "$keyring" "$forged"; then
	echo "demo: a forged code verified" >&2
	exit 1
fi
echo "== importing the batch into the scan service's database (SQLite)"
"$api" import --db "$db" --keyring "$keyring" "$batch/manifest.json"

# Tokens: made once, kept in $tokens (mode 0600) for the next runs.
token_for() {	# ROLE [DEALER]
	t=
	[ ! -f "$tokens" ] || t=$(sed -n "s/^$1${2:+ $2} //p" "$tokens")
	if [ -z "$t" ]; then
		t=$("$api" token create --db "$db" --role "$1" \
		    ${2:+--dealer "$2"} --name demo)
		echo "$1${2:+ $2} $t" >> "$tokens"
	fi
	echo "$t"
}
token=$(token_for admin)

[ "${DEMO_SERVE:-1}" = 1 ] || { echo "demo: done (DEMO_SERVE=0)"; exit 0; }

# The service's log to a file; this terminal gets the instructions.
echo "== starting yima-scanapi on $listen (its log: $log)"
start=1
[ ! -f "$log" ] || start=$(($(wc -c < "$log") + 1))
# Job control on a terminal: Ctrl-C then reaches the service alone, which
# stops cleanly, and this script and make end with its exit status, 0.
tty -s 2>/dev/null && set -m
"$api" serve --db "$db" --keyring "$keyring" --listen "$listen" \
    >> "$log" 2>&1 &
pid=$!
stop() {
	kill -TERM $pid 2>/dev/null || true
	wait $pid
	exit $?
}
trap stop INT TERM
trap 'kill $pid 2>/dev/null || true' EXIT	# a failed step ends it too
port=
for _ in $(seq 100); do
	port=$(tail -c +"$start" "$log" | sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p')
	[ -z "$port" ] || break
	kill -0 $pid 2>/dev/null || { tail -c +"$start" "$log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { echo "demo: the service did not start; see $log" >&2; exit 1; }
# The demo's own calls go where the service listens.
case ${listen%:*} in
0.0.0.0|"") addr="127.0.0.1:$port" ;;
"[::]") addr="[::1]:$port" ;;
*) addr="${listen%:*}:$port" ;;
esac
case ${listen%:*} in
0.0.0.0|"[::]"|"")
	# Every address: name this machine's first one, which a phone can open.
	host=$(hostname -I 2>/dev/null | awk '{ print $1 }')
	shown="${host:-127.0.0.1}:$port" ;;
*)	shown="${listen%:*}:$port" ;;
esac

api() {	# METHOD PATH BODY: the status code (the body goes to $demo/last.json)
	curl -s -o "$demo/last.json" -w '%{http_code}' -X "$1" \
	    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	    ${3:+-d "$3"} "http://$addr$2"
}
echo "== the bottles' product: its name, brand, picture (served here) and GS1 links"
case $(api PUT /api/v1/admin/products/06901234567892 '{"name":"一码精酿 经典 500ml",
    "brand":"一码精酿 (demo)","spec":"500ml","origin":"中国 青岛",
    "shelf_life_days":365,"image_url":"/dashboard/bottle.svg",
    "description":"A demo product: scan the bottle to check it, open the cap to win.",
    "names":{"en":"Yima Craft Classic 500ml"},
    "links":[{"rel":"gs1:certificationInfo","href":"https://example.com/certificates",
    "title":"Certificates (example)","lang":"en"}]}') in
20?) ;;
*) cat "$demo/last.json" >&2; exit 1 ;;
esac
# One lottery for the demo's bottles, made once: the cap code claims.
if ! curl -sf -H "Authorization: Bearer $token" \
    "http://$addr/api/v1/admin/campaigns" | grep -q '"demo lottery"'; then
	echo "== a demo lottery: 10 points a bottle, red packets and another bottle"
	[ "$(api POST /api/v1/admin/campaigns '{"name":"demo lottery",
	    "start":"2020-01-01T00:00:00Z","end":"2099-01-01T00:00:00Z",
	    "gtins":["06901234567892"],"points":10,"prizes":[
	    {"name":"红包 8.88","type":"cash","amount":888,"count":100,
	    "probability":0.3},{"name":"再来一瓶","type":"voucher","amount":1,
	    "count":50,"probability":0.2}]}')" = 201 ] ||
	    { cat "$demo/last.json" >&2; exit 1; }
fi
# A distributor in Shanghai, shipped 12 bottles that are scanned: once.
st=$(api POST /api/v1/admin/dealers \
    '{"id":"demo-east","name":"华东经销商 (demo)","type":"distributor"}')
if [ "$st" = 201 ]; then
	echo "== a distributor in Shanghai, 12 bottles shipped to it, and scans of them"
	api PUT /api/v1/admin/dealers/demo-east/territory '{"regions":["31"]}' > /dev/null
	codes=$(sed -n '4,15p' "$batch/codes.csv" | cut -d, -f3 |
	    awk 'BEGIN { ORS = "" } { print (NR > 1 ? "," : "") "\"" $0 "\"" }')
	[ "$(api POST /api/v1/shipments "{\"to\":\"demo-east\",\"codes\":[$codes]}")" = 201 ] ||
	    { cat "$demo/last.json" >&2; exit 1; }
	# Shanghai (home), Hangzhou and Beijing (outside: diversion), unlocated.
	n=0
	for c in $(sed -n '4,15p' "$batch/codes.csv" | cut -d, -f3); do
		case $((n % 4)) in
		0) at=',"lat":31.2304,"lon":121.4737' ;;
		1) at=',"lat":30.2741,"lon":120.1551' ;;
		2) at=',"lat":39.9042,"lon":116.4074' ;;
		*) at= ;;
		esac
		for _ in $(seq $((n % 3 == 0 ? 2 : 1))); do
			curl -sf -o /dev/null -H 'Content-Type: application/json' \
			    -d "{\"code\":\"$c\"$at}" "http://$addr/api/v1/scans"
		done
		n=$((n + 1))
	done
elif [ "$st" != 409 ]; then
	cat "$demo/last.json" >&2
	exit 1
fi
dealer=$(token_for dealer demo-east)
inner=$(sed -n 2p "$batch/inner.csv" | cut -d, -f2)
path=${code#*://*/}

cat <<EOF

========================================================================
 yima demo: running at http://$shown   (Ctrl-C stops it)
------------------------------------------------------------------------
 dashboard      http://$shown/dashboard
   distributor  $dealer
   admin        $token
 console        http://$shown/console   (the admin token above)
 open on a phone or a browser:
   the bottle             http://$shown/$path
   its product            http://$shown/${path%/21/*}
   the code in its cap    http://$shown/c/$inner   (claims the lottery)
 its GS1 links  curl -s 'http://$shown/$path?linkType=linkset'
 EPCIS events   curl -s -H 'Authorization: Bearer $token' \\
                  'http://$shown/api/v1/epcis/events?limit=5'
 labels         $batch/labels.pdf, for https://$domain
EOF
case ${listen%:*} in
127.*|localhost|"[::1]")
	echo " a phone on this network: LISTEN=0.0.0.0:8080 make demo" ;;
esac
[ "$domain" != yima.example.com ] ||
	echo " printed labels lead nowhere: DEMO_DOMAIN=your.domain (HTTPS to here)"
cat <<EOF
 service log    $log
 files          $demo/   (tokens in $tokens; a next run reuses them all)
========================================================================
EOF
# In the foreground with job control (Ctrl-C to it alone), else waited on.
if [ -n "$(set +o | sed -n 's/^set -o monitor$/on/p')" ]; then
	fg %1 > /dev/null || exit $?
	exit 0
fi
wait $pid
