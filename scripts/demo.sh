#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The demo: a keyring, a batch of 24 bottles in GS1 Digital Link form with
# cap-inside codes and print files, a printed code read back and verified,
# then the batch imported, the scan service started on SQLite at
# 127.0.0.1:8080, the bottles' product and a demo lottery campaign created
# through its API.
# Usage: scripts/demo.sh [BUILD_DIR]   (run by 'make demo')
#        DEMO_SERVE=0 skips starting the service; LISTEN changes the address.
set -eu

build=${1:-build}
gen="$build/yima-codegen"
api="$build/yima-scanapi"
listen=${LISTEN:-127.0.0.1:8080}
demo=demo
keyring="$demo/keyring"
batch="$demo/batch-$(date +%Y%m%d-%H%M%S)"

[ -x "$gen" ] || { echo "demo: $gen missing; run make first" >&2; exit 1; }
mkdir -p "$demo"
if [ ! -d "$keyring" ]; then
	"$gen" keygen --keyring "$keyring"
fi

echo "== minting 24 item codes (GS1 Digital Link) with cap-inside codes, SVG, PNG and PDF"
"$gen" mint --keyring "$keyring" --kind item --count 24 --inner --format dl \
    --domain yima.example.com --gtin 06901234567892 --lot L2026-11 \
    --line LINE-1 --mfg 2026-11-01 --expiry 2028-10-31 \
    --svg --png --pdf --out "$batch"

echo "== files for the printers in $batch"
ls "$batch"
head -n 3 "$batch/codes.csv"

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
"$api" import --db "$demo/scan.db" --keyring "$keyring" "$batch/manifest.json"

echo "== an admin token (shown once; only its SHA-256 is stored)"
token=$("$api" token create --db "$demo/scan.db" --role admin --name demo)
echo "$token"

echo "demo: batch in $batch; keyring in $keyring (keep it secret)."
[ "${DEMO_SERVE:-1}" = 1 ] || exit 0
echo
inner=$(sed -n 2p "$batch/inner.csv" | cut -d, -f2)
echo "== starting yima-scanapi on $listen (Ctrl-C stops it)"
"$api" serve --db "$demo/scan.db" --keyring "$keyring" \
    --listen "$listen" --web scanapi/web &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do
	curl -sf -o /dev/null "http://$listen/healthz" && break
	kill -0 $pid 2>/dev/null || exit 1
	sleep 0.2
done
echo "== the bottles' product: its name, brand, picture (served here) and GS1 links"
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"name":"一码精酿 经典 500ml",
    "brand":"一码精酿 (demo)","spec":"500ml","origin":"中国 青岛",
    "shelf_life_days":365,"image_url":"/dashboard/bottle.svg",
    "description":"A demo product: scan the bottle to check it, open the cap to win.",
    "names":{"en":"Yima Craft Classic 500ml"},
    "links":[{"rel":"gs1:certificationInfo","href":"https://example.com/certificates",
    "title":"Certificates (example)","lang":"en"}]}' \
    "http://$listen/api/v1/admin/products/06901234567892"
# One lottery for the demo's bottles, made once: the cap code claims.
if ! curl -sf -H "Authorization: Bearer $token" \
    "http://$listen/api/v1/admin/campaigns" | grep -q '"demo lottery"'; then
	echo "== a demo lottery: 10 points a bottle, red packets and another bottle"
	curl -sf -o /dev/null -H "Authorization: Bearer $token" \
	    -H 'Content-Type: application/json' -d '{"name":"demo lottery",
	    "start":"2020-01-01T00:00:00Z","end":"2099-01-01T00:00:00Z",
	    "gtins":["06901234567892"],"points":10,"prizes":[
	    {"name":"红包 8.88","type":"cash","amount":888,"count":100,
	    "probability":0.3},{"name":"再来一瓶","type":"voucher","amount":1,
	    "count":50,"probability":0.2}]}' \
	    "http://$listen/api/v1/admin/campaigns"
fi
echo "== a distributor in Shanghai, 12 bottles shipped to it, and scans of them"
api() {	# METHOD PATH BODY: the status code (the body goes to $demo/last.json)
	curl -s -o "$demo/last.json" -w '%{http_code}' -X "$1" \
	    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	    ${3:+-d "$3"} "http://$listen$2"
}
st=$(api POST /api/v1/admin/dealers \
    '{"id":"demo-east","name":"华东经销商 (demo)","type":"distributor"}')
[ "$st" = 201 ] || [ "$st" = 409 ] || { cat "$demo/last.json" >&2; exit 1; }
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
		    -d "{\"code\":\"$c\"$at}" "http://$listen/api/v1/scans"
	done
	n=$((n + 1))
done
dealer=$("$api" token create --db "$demo/scan.db" --role dealer --dealer demo-east --name demo)
echo "== the dashboard: http://$listen/dashboard"
echo "   log in as the distributor with: $dealer"
echo "   or as the administrator with:   $token"
path=${code#*://*/}
echo "== open on a phone or a browser:"
echo "   the bottle:           http://$listen/$path"
echo "   its product:          http://$listen/${path%/21/*}"
echo "   the code in its cap:  http://$listen/c/$inner   (claims the lottery)"
echo "   its GS1 links:        curl -s 'http://$listen/$path?linkType=linkset'"
echo "   or: curl -s -H 'Content-Type: application/json' \\"
echo "         -d '{\"code\":\"$inner\"}' http://$listen/api/v1/scans"
echo "   its EPCIS 2.0 events: curl -s -H 'Authorization: Bearer $token' \\"
echo "         'http://$listen/api/v1/epcis/events?limit=5'"
wait $pid
