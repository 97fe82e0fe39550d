#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# web.sh - install the dashboard's third-party files from the npm registry:
# Apache ECharts (its full build, which draws maps via registerMap) copied to
# ASSETS_DIR/web/echarts.min.js, and playwright-core, which the browser test
# uses to drive Debian's chromium.  Nothing third-party is committed: the
# packages go into ASSETS_DIR/web/npm (assets/ is git-ignored).  Idempotent
# and offline once the pinned versions are installed.
#
#   scripts/web.sh [ASSETS_DIR]      (default: assets/ at the repo root)
set -eu

ECHARTS_VERSION=6.1.0
PLAYWRIGHT_VERSION=1.65.1

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
assets=${1:-"$(dirname -- "$script_dir")/assets"}
prefix="$assets/web/npm"
nm="$prefix/node_modules"
pkgs="echarts@$ECHARTS_VERSION playwright-core@$PLAYWRIGHT_VERSION"

have() {
  [ -f "$nm/$1/package.json" ] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "$nm/$1/package.json" "$2"
}

if have echarts "$ECHARTS_VERSION" && have playwright-core "$PLAYWRIGHT_VERSION"; then
  echo "web: $pkgs already in $prefix"
else
  echo "web: npm install $pkgs into $prefix"
  mkdir -p "$prefix"
  # shellcheck disable=SC2086 # a list of words
  npm install --no-audit --no-fund --prefix "$prefix" $pkgs
fi
# playwright-core never downloads a browser: the test gives it /usr/bin/chromium.
cp -f "$nm/echarts/dist/echarts.min.js" "$assets/web/echarts.min.js"
echo "web: $assets/web/echarts.min.js ($(wc -c < "$assets/web/echarts.min.js" | tr -d ' ') bytes)"
