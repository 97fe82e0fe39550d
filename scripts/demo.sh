#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The demo: a keyring, a batch of 24 bottles with cap-inside codes and
# print files, a printed code read back and verified, then the batch
# imported and the scan service started on SQLite at 127.0.0.1:8080.
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

echo "== minting 24 item codes with cap-inside codes, SVG, PNG and PDF"
"$gen" mint --keyring "$keyring" --kind item --count 24 --inner \
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
code=$(sed -n 2p "$batch/codes.csv" | cut -d, -f2)
forged=$(printf '%s' "$code" | sed 's/.$/0/')
[ "$forged" != "$code" ] || forged=$(printf '%s' "$code" | sed 's/.$/1/')
if "$gen" verify --keyring "$keyring" "$forged"; then
	echo "demo: a forged code verified" >&2
	exit 1
fi
echo "== importing the batch into the scan service's database (SQLite)"
"$api" import --db "$demo/scan.db" --keyring "$keyring" "$batch/manifest.json"

echo "== an admin token (shown once; only its SHA-256 is stored)"
"$api" token create --db "$demo/scan.db" --role admin --name demo

echo "demo: batch in $batch; keyring in $keyring (keep it secret)."
[ "${DEMO_SERVE:-1}" = 1 ] || exit 0
echo
echo "== starting yima-scanapi on $listen (Ctrl-C stops it). Open:"
echo "   http://$listen/c/$code"
echo "   or: curl -s -H 'Content-Type: application/json' \\"
echo "         -d '{\"code\":\"$code\"}' http://$listen/api/v1/scans"
exec "$api" serve --db "$demo/scan.db" --keyring "$keyring" \
    --listen "$listen" --web scanapi/web
