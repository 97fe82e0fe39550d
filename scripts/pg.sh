#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# pg.sh - a throwaway PostgreSQL cluster for tests and benchmarks, on a
# loopback port, owned by an unprivileged user (postgres refuses root):
#
#   scripts/pg.sh start DIR [PORT]   initdb into DIR, start, create the
#                                    database yima; prints its URL
#   scripts/pg.sh stop DIR           stop it (DIR stays; rm -rf it after)
#   scripts/pg.sh resume DIR         start a stopped one again (same port)
#
# PG_OPTS adds server options (the benchmark's statement profile, say).
# The cluster trusts local connections from 127.0.0.1 only (a test
# cluster: never expose it). Uses Debian's postgresql (scripts/setup.sh
# installs it); as root the server runs as the user postgres.
set -eu

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] ||
    { echo "pg.sh: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: pg.sh start DIR [PORT] | stop DIR | resume DIR" >&2; exit 2; }

# Starts the server on port $1; fails (its log says why) if it cannot.
start_on() {
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
	    "-c listen_addresses=127.0.0.1 -p $1 -c unix_socket_directories='$dir' -c fsync=on -c max_connections=200 ${PG_OPTS:-}" \
	    start > /dev/null
}

run_server() {
	start_on "$1" || { cat "$dir/server.log" >&2; exit 1; }
}

case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" -ne 0 ] || chown postgres "$dir"
	as_owner "$bin/initdb" -D "$dir/data" -U yima --auth=trust \
	    --encoding=UTF8 --locale=C > "$dir/initdb.log" 2>&1 ||
	    { cat "$dir/initdb.log" >&2; exit 1; }
	if [ -n "${3:-}" ]; then
		port=$3
		run_server "$port"
	else
		# A port picked by pid may be another program's: try others.
		port=$(( 20000 + $$ % 20000 ))
		tries=1
		until start_on "$port" 2>/dev/null; do
			[ "$tries" -lt 20 ] || { cat "$dir/server.log" >&2; exit 1; }
			tries=$((tries + 1))
			port=$(( 20000 + (port + 997) % 20000 ))
		done
	fi
	echo "$port" > "$dir/port"
	# (_test: the test suite empties only a database so named)
	as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U yima yima_test
	echo "postgresql://yima@127.0.0.1:$port/yima_test"
	;;
resume)
	run_server "$(cat "$dir/port")"
	;;
stop)
	as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null
	;;
*)
	echo "usage: pg.sh start DIR [PORT] | stop DIR | resume DIR" >&2
	exit 2
	;;
esac
