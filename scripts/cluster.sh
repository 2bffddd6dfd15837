#!/bin/sh
# cluster.sh — a dejaview cluster on one machine, on proven parts
# (docs/scaling.md): three dejaviewd nodes started from
# deploy/dejaviewd@.service, HAProxy from deploy/haproxy.cfg in front (health
# checks on each node's /readyz), a PostgreSQL primary and a synchronous
# streaming standby (scripts/pg.sh); the nodes' conninfo names both, with
# target_session_attrs=read-write.
#
#   scripts/cluster.sh start          set up (as serve.sh) and start everything
#   scripts/cluster.sh stop           stop everything
#   scripts/cluster.sh status         the nodes and what HAProxy thinks of them
#   scripts/cluster.sh kill-node N    SIGKILL node N (a crash)
#   scripts/cluster.sh start-node N   start node N again (it loads the gallery from PostgreSQL)
#   scripts/cluster.sh ports          the ports, as shell assignments
#
#   DV_CLUSTER_DIR     where it all lives (var/cluster)
#   DV_CLUSTER_PORT    base port (9100): clients on BASE, node N's HTTP on
#                      BASE+N, its /readyz and /metrics on BASE+10+N, its raw
#                      TCP on BASE+20+N, HAProxy's stats on BASE+9
#   DV_CLUSTER_CONFIG  the nodes' configuration (conf/dejaview.yaml)
#   DV_CLUSTER_WORKERS workers per node (1)
#   DV_CLUSTER_NOBUILD=1  use the build tree as it is (the tests)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
cmd=${1:-}
dir=${DV_CLUSTER_DIR:-$top/var/cluster}
base=${DV_CLUSTER_PORT:-9100}
conf=${DV_CLUSTER_CONFIG:-$top/conf/dejaview.yaml}
workers=${DV_CLUSTER_WORKERS:-1}
unit=$top/deploy/dejaviewd@.service
nodes="1 2 3"
mkdir -p "$dir"

lb_port=$base
stats_port=$((base + 9))
http_port() { echo $((base + $1)); }
ops_port() { echo $((base + 10 + $1)); }
tcp_port() { echo $((base + 20 + $1)); }

ready() { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(ops_port "$1")/readyz")" = 200 ]; }
wait_for() { # wait_for SECONDS COMMAND...
	_t=$1; shift
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		[ $_i -gt $((_t * 10)) ] && return 1
		sleep 0.1
	done
}
alive() { [ -s "$dir/n$1.pid" ] && kill -0 "$(cat "$dir/n$1.pid")" 2>/dev/null; }

conninfo() {
	h1=$("$top/scripts/pg.sh" conninfo "$dir/pg1" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
	h2=$("$top/scripts/pg.sh" conninfo "$dir/pg2" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
	echo "host=$h1,$h2 port=5432,5432 user=postgres dbname=dejaview target_session_attrs=read-write"
}

node_conf() { # node_conf N: the node's configuration file
	sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^workers:/d' -e '/^node:/d' -e "s|\.\./scripts/|$top/scripts/|g" \
		"$conf" >"$dir/node-$1.yaml"
	cat >>"$dir/node-$1.yaml" <<EOF
listen:
  http: "127.0.0.1:$(http_port "$1")"
  ops: "127.0.0.1:$(ops_port "$1")"
  tcp: "127.0.0.1:$(tcp_port "$1")"
workers: $workers
node: "n$1"
database: "$(conninfo)"
EOF
	grep -q '^plugin_dir:' "$dir/node-$1.yaml" || echo "plugin_dir: \"$top/plugins/.libs\"" >>"$dir/node-$1.yaml"
	grep -q '^model_dir:' "$dir/node-$1.yaml" || echo "model_dir: \"$top/models\"" >>"$dir/node-$1.yaml"
	grep -q '^web:' "$dir/node-$1.yaml" || printf 'web:\n  dir: "%s/web"\n' "$top" >>"$dir/node-$1.yaml"
}

start_node() { # start_node N: as the unit says (its Environment and ExecStart), with our paths
	alive "$1" && return 0
	node_conf "$1"
	envs=$(sed -n 's/^Environment=//p' "$unit" | tr '\n' ' ')
	exec_line=$(sed -n 's/^ExecStart=//p' "$unit" | sed -e "s|/usr/local/sbin/dejaviewd|$top/dejaviewd|" \
		-e "s|/etc/dejaview/node-%i.yaml|$dir/node-$1.yaml|" -e "s|%i|$1|g")
	# shellcheck disable=SC2086
	env $envs $exec_line >>"$dir/n$1.log" 2>&1 &
	echo $! >"$dir/n$1.pid"
	wait_for 120 ready "$1" || { echo "cluster.sh: node $1 is not ready (see $dir/n$1.log)" >&2; tail -5 "$dir/n$1.log" >&2; return 1; }
}

stop_node() {
	alive "$1" || return 0
	pid=$(cat "$dir/n$1.pid")
	kill -TERM "$pid" 2>/dev/null || true
	wait_for 40 sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	rm -f "$dir/n$1.pid"
}

lb_env() {
	export DV_LB_BIND="127.0.0.1:$lb_port" DV_LB_STATS="127.0.0.1:$stats_port"
	for n in $nodes; do
		export "DV_N${n}_HTTP=127.0.0.1:$(http_port "$n")" "DV_N${n}_OPS=$(ops_port "$n")"
	done
}

stats() { curl -s -m 2 "http://127.0.0.1:$stats_port/stats;csv" 2>/dev/null | awk -F, '$1 == "nodes" && $2 ~ /^n[0-9]/ { print $2, $18 }'; }
all_up() { [ "$(stats | grep -c ' UP$')" = 3 ]; }

case $cmd in
start)
	if [ "${DV_CLUSTER_NOBUILD:-}" != 1 ]; then
		scripts/deps.sh --cluster
		scripts/build.sh
		make -s models
	fi
	command -v haproxy >/dev/null || { echo "cluster.sh: haproxy is not installed (apt-get install haproxy)" >&2; exit 1; }
	"$top/scripts/pg.sh" start "$dir/pg1" >/dev/null
	"$top/scripts/pg.sh" standby "$dir/pg2" "$dir/pg1" sync >/dev/null
	# the first node applies the migrations, then the others start
	for n in $nodes; do start_node "$n"; done
	if [ ! -s "$dir/haproxy.pid" ] || ! kill -0 "$(cat "$dir/haproxy.pid")" 2>/dev/null; then
		lb_env
		haproxy -f "$top/deploy/haproxy.cfg" -D -p "$dir/haproxy.pid" >>"$dir/haproxy.log" 2>&1
	fi
	wait_for 30 all_up || { echo "cluster.sh: HAProxy does not see three nodes up" >&2; stats >&2; exit 1; }
	if [ ! -s "$dir/demo.key" ]; then
		umask 077
		"$top/dejaviewd" -c "$dir/node-1.yaml" admin tenant create demo >"$dir/demo.key" 2>/dev/null || true
		umask 022
	fi
	echo "cluster.sh: clients on http://127.0.0.1:$lb_port (HAProxy; stats on http://127.0.0.1:$stats_port/stats),"
	echo "  nodes on $(for n in $nodes; do printf '%s ' "$(http_port "$n")"; done)(ops $(for n in $nodes; do printf '%s ' "$(ops_port "$n")"; done|sed 's/ $//')),"
	echo "  PostgreSQL: $(conninfo)"
	echo "  the demo tenant's API key is in $dir/demo.key"
	;;
stop)
	if [ -s "$dir/haproxy.pid" ]; then kill "$(cat "$dir/haproxy.pid")" 2>/dev/null || true; rm -f "$dir/haproxy.pid"; fi
	for n in $nodes; do stop_node "$n"; done
	"$top/scripts/pg.sh" stop "$dir/pg2" >/dev/null 2>&1 || true
	"$top/scripts/pg.sh" stop "$dir/pg1" >/dev/null 2>&1 || true
	;;
status)
	for n in $nodes; do
		if alive "$n"; then s=running; else s=stopped; fi
		echo "node $n: $s, HTTP $(http_port "$n"), ops $(ops_port "$n")"
	done
	echo "HAProxy says:"; stats | sed 's/^/  /'
	;;
kill-node) kill -KILL "$(cat "$dir/n$2.pid")"; rm -f "$dir/n$2.pid" ;;
start-node) start_node "$2" ;;
stop-node) stop_node "$2" ;;
ports)
	echo "LB=$lb_port STATS=$stats_port"
	for n in $nodes; do echo "N${n}_HTTP=$(http_port "$n") N${n}_OPS=$(ops_port "$n") N${n}_TCP=$(tcp_port "$n")"; done
	;;
*)
	echo "usage: $0 start|stop|status|kill-node N|start-node N|stop-node N|ports" >&2
	exit 2
	;;
esac
