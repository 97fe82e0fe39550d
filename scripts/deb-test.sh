#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The package as an operator meets it (CI runs this as root after make deb,
# on a machine it may change): install build/deb/yima_*.deb, find the user,
# the directories, the keyring and the configuration as the package left
# them; start the service through its unit where systemd runs, else the
# unit's own ExecStart as its user; mint, import and scan a code; reload;
# back up; stop (exit 0); purge, which keeps the keys and scans. It
# removes all it made, keys and user too, so it refuses a machine that
# has yima already.
set -eu
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "deb-test: run as root" >&2; exit 1; }
if dpkg-query -W -f='${Status}' yima 2>/dev/null | grep -q installed ||
    [ -e /var/lib/yima ] || getent passwd yima >/dev/null; then
	echo "deb-test: yima is on this machine already (package, /var/lib/yima" \
	    "or user): not touching it; run this on a throwaway machine" >&2
	exit 1
fi
deb=$(ls build/deb/yima_*.deb)
work=$(mktemp -d /tmp/yima-debtest.XXXXXX)
pid=
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	if [ -d /run/systemd/system ]; then
		systemctl stop yima-scanapi 2>/dev/null || true
	fi
	dpkg --purge yima >/dev/null 2>&1 || true
	rm -rf "$work" /var/lib/yima
	deluser --system --quiet yima 2>/dev/null || true
}
trap cleanup EXIT

echo "deb-test: install $deb"
# apt resolves the dependencies (present after scripts/setup.sh).
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$deb" \
    > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "install"; }

getent passwd yima >/dev/null || fail "no yima user"
[ "$(stat -c '%U %a' /var/lib/yima)" = "yima 700" ] || fail "/var/lib/yima"
# The keyring postinst made: the service's own, its key 0600.
key=$(ls /var/lib/yima/keyring/keys/*.key 2>/dev/null | head -n 1)
[ -n "$key" ] && [ "$(stat -c '%U %a' "$key")" = "yima 600" ] ||
    fail "no keyring of yima's: $(ls -lR /var/lib/yima 2>&1)"
[ "$(stat -c '%U:%G %a' /etc/yima/scanapi.conf)" = "root:yima 640" ] ||
    fail "/etc/yima/scanapi.conf is $(stat -c '%U:%G %a' /etc/yima/scanapi.conf)"
for f in /usr/bin/yima-scanapi /usr/bin/yima-codegen \
    /usr/share/yima/web/landing.html /usr/share/yima/assets/echarts.min.js \
    /usr/share/yima/regions.txt /usr/share/man/man1/yima-scanapi.1.gz \
    /lib/systemd/system/yima-scanapi.service \
    /lib/systemd/system/yima-scanapi@.service; do
	[ -e "$f" ] || fail "$f not installed"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify /lib/systemd/system/yima-scanapi.service \
	    > "$work/verify.log" 2>&1 || { cat "$work/verify.log"; fail "unit"; }
fi
# A free port: the service says which (its log, or its systemd status).
sed -i "s/^listen = .*/listen = 127.0.0.1:0/" /etc/yima/scanapi.conf

unit=/lib/systemd/system/yima-scanapi.service
if [ -d /run/systemd/system ]; then
	# postinst started it on 8080: again, on the port-0 configuration.
	echo "deb-test: systemctl restart yima-scanapi"
	systemctl restart yima-scanapi
else
	# No systemd here: the unit's ExecStart, as its User, from /.
	cmd=$(sed -n 's/^ExecStart=//p' "$unit")
	user=$(sed -n 's/^User=//p' "$unit")
	echo "deb-test: no systemd; as $user: $cmd"
	(cd / && exec runuser -u "$user" -- $cmd) 2> "$work/serve.err" &
	pid=$!
fi
port=
for _ in $(seq 100); do
	if [ -n "$pid" ]; then
		port=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' \
		    "$work/serve.err")
	else
		port=$(systemctl show -p StatusText --value yima-scanapi |
		    sed -n 's/^listening on port \([0-9]*\).*/\1/p')
	fi
	[ -z "$port" ] || break
	sleep 0.1
done
if [ -z "$port" ]; then
	if [ -n "$pid" ]; then
		cat "$work/serve.err"
	else
		journalctl -u yima-scanapi -n 50 --no-pager
	fi
	fail "not serving"
fi
curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" || fail "healthz"

echo "deb-test: mint, import, scan"
chown yima "$work"
runuser -u yima -- yima-codegen mint --keyring /var/lib/yima/keyring \
    --kind item --count 3 --domain yima.example.com --out "$work/batch" \
    > /dev/null
runuser -u yima -- yima-scanapi import --db /var/lib/yima/scan.db \
    --keyring /var/lib/yima/keyring "$work/batch/manifest.json"
code=$(sed -n 2p "$work/batch/codes.csv" | cut -d, -f3)
answer=$(curl -s -H 'Content-Type: application/json' \
    -d "{\"code\":\"$code\"}" "http://127.0.0.1:$port/api/v1/scans")
echo "$answer" | grep -q '"verdict":"genuine"' || fail "scan: $answer"
curl -sf -o /dev/null "http://127.0.0.1:$port/dashboard/echarts.min.js" ||
    fail "dashboard assets"

echo "deb-test: reload, backup, stop"
if [ -n "$pid" ]; then
	# The unit's reload: its check of the settings, then the SIGHUP.
	check=$(sed -n 's/^ExecReload=\(.*--check\)$/\1/p' "$unit")
	[ -n "$check" ] || fail "the unit's reload checks nothing"
	(cd / && runuser -u "$user" -- $check) || fail "reload check: $check"
	# The service itself (runuser's child; $pid is runuser).
	spid=$(pgrep -u yima -f 'yima-scanapi serve --config [^ ]*$')
	kill -HUP "$spid"
else
	systemctl reload yima-scanapi
fi
sleep 0.5
curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" || fail "after reload"
runuser -u yima -- yima-scanapi backup --db /var/lib/yima/scan.db \
    --out /var/lib/yima/backup.db
[ "$(stat -c '%U %a' /var/lib/yima/backup.db)" = "yima 600" ] ||
    fail "backup mode"
if [ -n "$pid" ]; then
	kill -TERM "$spid"
	wait "$pid" || fail "serve exited $?"
	pid=
	grep -q '"event":"reload"' "$work/serve.err" || fail "no reload logged"
else
	systemctl stop yima-scanapi
	[ "$(systemctl show -p Result --value yima-scanapi)" = success ] &&
	    [ "$(systemctl show -p ExecMainStatus --value yima-scanapi)" = 0 ] ||
	    fail "the unit did not stop cleanly"
	journalctl -u yima-scanapi --no-pager | grep -q '"event":"reload"' ||
	    fail "no reload logged"
fi

echo "deb-test: purge"
dpkg --purge yima > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "purge"; }
[ ! -e /usr/bin/yima-scanapi ] || fail "purge left the program"
[ ! -e /etc/yima/scanapi.conf ] || fail "purge left the configuration"
[ -d /var/lib/yima/keyring ] || fail "purge removed the keyring"
echo "deb-test: ok"
