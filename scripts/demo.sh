#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The demo: a keyring, a batch of 24 bottles with cap-inside codes and
# print files, and a printed code read back and verified.
# Usage: scripts/demo.sh [BUILD_DIR]   (run by 'make demo')
set -eu

build=${1:-build}
gen="$build/yima-codegen"
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
echo "demo: done. Batch in $batch; keyring in $keyring (keep it secret)."
