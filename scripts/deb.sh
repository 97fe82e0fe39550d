#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make deb: the Debian package, built with debhelper from a copy of this
# tree (the dashboard's assets and region data of scripts/setup.sh
# included, git's files and the builds left out) in build/deb/, then
# checked with lintian: an error fails, warnings are shown.
set -eu
cd "$(dirname "$0")/.."

version=$(sed -n '1s/^yima (\([^)]*\)).*/\1/p' debian/changelog)
out=build/deb
src="$out/yima-$version"
for f in assets/web/echarts.min.js assets/web/china.json assets/regions.txt; do
	[ -f "$f" ] || { echo "deb: $f missing: run scripts/setup.sh" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$src"
tar -cf - --exclude=./build --exclude=./build-asan --exclude=./build-fuzz \
    --exclude=./.git --exclude=./demo --exclude=./assets/npm \
    --exclude=./assets/web/npm --exclude=./assets/epcis . | tar -xf - -C "$src"
echo "deb: building yima $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b -j2 > ../build.log 2>&1) || {
	tail -n 40 "$out/build.log" >&2
	exit 1
}
deb=$(ls "$out"/yima_"$version"_*.deb)
echo "deb: $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Depends:/p'
echo "deb: lintian"
lintian --fail-on error --suppress-tags-from-file /dev/null "$deb"
