#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# lb.sh - Debian's nginx as the load balancer in front of scanapi nodes,
# on loopback, the way the README's deployment section runs it:
#
#   scripts/lb.sh start DIR PORT NODE_PORT...   write DIR/nginx.conf for
#                                    127.0.0.1:PORT in front of the nodes on
#                                    127.0.0.1:NODE_PORT..., and start it
#   scripts/lb.sh conf DIR PORT NODE_PORT...    only write and check it (to
#                                    run nginx -c DIR/nginx.conf -p DIR
#                                    -g 'daemon off;' under a supervisor)
#   scripts/lb.sh stop DIR           stop it (DIR stays)
#
# Start each node with --trusted-proxy 127.0.0.1 so that it believes the
# X-Forwarded-For nginx adds. scripts/setup.sh installs nginx.
set -eu

nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "lb.sh: nginx is not installed (scripts/setup.sh installs it)" >&2; exit 1; }

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: lb.sh start DIR PORT NODE_PORT... | stop DIR" >&2; exit 2; }

case $cmd in
start|conf)
	port=${3:-}
	[ -n "$port" ] && [ $# -ge 4 ] || { echo "usage: lb.sh $cmd DIR PORT NODE_PORT..." >&2; exit 2; }
	shift 3
	mkdir -p "$dir/tmp"
	dir=$(cd "$dir" && pwd)
	# As root, nginx's workers run as nobody: their buffers are theirs.
	[ "$(id -u)" -ne 0 ] || chown nobody "$dir/tmp"
	servers=""
	for p in "$@"; do
		# A node that refuses or fails is left alone for 2 s.
		servers="$servers		server 127.0.0.1:$p max_fails=1 fail_timeout=2s;
"
	done
	cat > "$dir/nginx.conf" <<CONF
# Written by scripts/lb.sh: nginx in front of yima-scanapi nodes.
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	upstream yima {
$servers		keepalive 32;		# idle connections kept to the nodes
	}
	server {
		listen 127.0.0.1:$port;
		client_max_body_size 16m;	# a batch manifest
		location / {
			proxy_pass http://yima;
			proxy_http_version 1.1;		# keep-alive to the nodes
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
			# A node that is down or answers 503 (its database
			# gone): the next one. A POST already sent is not sent
			# twice (it may have been recorded): its client sees
			# the error, as with one node.
			proxy_next_upstream error timeout http_503;
			proxy_next_upstream_tries 3;
			proxy_connect_timeout 1s;
			proxy_read_timeout 30s;
		}
	}
}
CONF
	"$nginx" -q -t -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" ||
	    { cat "$dir/error.log" >&2; exit 1; }
	[ "$cmd" = start ] || { echo "$dir/nginx.conf"; exit 0; }
	"$nginx" -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" ||
	    { cat "$dir/error.log" >&2; exit 1; }
	echo "http://127.0.0.1:$port"
	;;
stop)
	[ -f "$dir/nginx.pid" ] || exit 0
	pid=$(cat "$dir/nginx.pid")
	kill -QUIT "$pid" 2>/dev/null || exit 0
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	;;
*)
	echo "usage: lb.sh start|conf DIR PORT NODE_PORT... | stop DIR" >&2
	exit 2
	;;
esac
