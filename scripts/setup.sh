#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what yima needs to build and test on Debian 12. Idempotent: a
# package already installed is skipped, and apt-get update runs at most once.
set -eu

PKGS="build-essential pkg-config clang
libqrencode-dev libzbar-dev libmicrohttpd-dev libsqlite3-dev libssl-dev
libjansson-dev libpng-dev libhpdf-dev zlib1g-dev libpq-dev libcurl4-openssl-dev
libsodium-dev libsystemd-dev
check
zbar-tools poppler-utils sqlite3 postgresql nginx-light curl wrk chromium
debhelper lintian
fonts-wqy-microhei python3 python3-jsonschema"

# Node.js and npm convert the region data and fetch the dashboard's ECharts;
# any installed version will do.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

here=$(cd "$(dirname "$0")" && pwd)

if [ -z "$missing" ]; then
	echo "setup: all packages present"
	"$here/regions.sh"
	"$here/epcis.sh"
	exec "$here/web.sh"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages:$missing" >&2
	echo "setup: run this script as root (sudo $0) to install them" >&2
	exit 1
fi

echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# The servers (PostgreSQL, nginx) are started by the tests on loopback,
# never as system services: packages must not start them (nor fail when
# a port is taken) while they install.
policy=/usr/sbin/policy-rc.d
made=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made=1
	trap 'rm -f "$policy"' EXIT	# on a failure
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
[ -z "$made" ] || rm -f "$policy"
trap - EXIT
echo "setup: packages done"
"$here/regions.sh"
"$here/epcis.sh"
exec "$here/web.sh"
