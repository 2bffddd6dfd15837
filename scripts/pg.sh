#!/bin/sh
# pg.sh — a private PostgreSQL cluster for the quick start and the tests.
#
#   scripts/pg.sh start [DIR]   initdb (first time) + pg_ctl start; prints the conninfo
#   scripts/pg.sh stop  [DIR]   pg_ctl stop -m fast
#   scripts/pg.sh status [DIR]
#   scripts/pg.sh conninfo [DIR]
#   scripts/pg.sh standby DIR PRIMARY_DIR [sync]
#                               a streaming standby of the cluster in PRIMARY_DIR
#                               (pg_basebackup the first time), started; with
#                               "sync" the primary waits for it at every commit
#   scripts/pg.sh promote DIR   a standby becomes a primary (pg_ctl promote)
#   scripts/pg.sh kill DIR      SIGKILL the cluster's postmaster (a crash, for tests)
#
# DIR defaults to $DV_PG_DIR, else var/pg in the checkout. The server listens
# only on a Unix socket inside DIR (no TCP port is opened), trusts local
# connections, and has a database named "dejaview". As root, the cluster runs
# as the "postgres" user; if that user cannot reach DIR (or the socket path
# would be too long), the cluster goes to /tmp/dejaview-pg-<hash> instead and
# DIR/location says where. Starting an already running cluster is a no-op.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
dir=${2:-${DV_PG_DIR:-$here/var/pg}}
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac

pgbin=${DV_PG_BIN:-}
if [ -z "$pgbin" ]; then
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/pg_ctl" ] && { pgbin=$d; break; }
	done
fi
if [ -z "$pgbin" ] || [ ! -x "$pgbin/pg_ctl" ]; then
	echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
	exit 1
fi

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Where the cluster really lives.
mkdir -p "$dir"
if [ -f "$dir/location" ]; then
	data=$(cat "$dir/location")
else
	data=$dir
	if [ "$(id -u)" = 0 ]; then
		if ! id postgres >/dev/null 2>&1; then
			echo "pg.sh: running as root needs the 'postgres' user (apt-get install postgresql)" >&2
			exit 1
		fi
		if ! runuser -u postgres -- test -x "$dir" 2>/dev/null || [ ${#dir} -gt 80 ]; then
			data=/tmp/dejaview-pg-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
		fi
	elif [ ${#dir} -gt 80 ]; then
		data=/tmp/dejaview-pg-$(id -u)-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
	fi
	[ "$data" != "$dir" ] && echo "$data" > "$dir/location"
fi
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown postgres "$data"
port=5432
conninfo="host=$data port=$port user=postgres dbname=dejaview"

# A postmaster killed with SIGKILL may linger as a zombie where nothing reaps
# it (a container's init), and pg_ctl would take it for a running server.
alive() {
	[ -f "$data/data/postmaster.pid" ] || return 1
	p=$(head -1 "$data/data/postmaster.pid")
	[ -n "$p" ] && [ -r "/proc/$p/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status"
}
running() { alive && as_pg "$pgbin/pg_ctl" -D "$data/data" status >/dev/null 2>&1; }
pg_start() {
	as_pg "$pgbin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 30 \
		-o "-k $data -c listen_addresses='' -p $port -c fsync=on -c max_connections=200" start >/dev/null 9>&- || {
		tail -20 "$data/server.log" >&2
		exit 1
	}
}
# the data folder of another cluster made by this script
other() { if [ -f "$1/location" ]; then cat "$1/location"; else echo "$1"; fi; }

case $cmd in
start)
	exec 9>"$dir/.lock"
	flock 9
	if [ ! -f "$data/data/PG_VERSION" ]; then
		as_pg "$pgbin/initdb" -D "$data/data" -U postgres --auth=trust -E UTF8 --no-locale >"$data/initdb.log" 2>&1 || {
			cat "$data/initdb.log" >&2
			exit 1
		}
	fi
	if ! running; then
		pg_start
	fi
	as_pg "$pgbin/psql" -h "$data" -p $port -U postgres -d postgres -qAtc \
		"SELECT 1 FROM pg_database WHERE datname='dejaview'" | grep -q 1 ||
		as_pg "$pgbin/psql" -h "$data" -p $port -U postgres -d postgres -qc "CREATE DATABASE dejaview" >/dev/null
	echo "$conninfo"
	;;
standby)
	[ $# -ge 3 ] || { echo "usage: $0 standby DIR PRIMARY_DIR [sync]" >&2; exit 2; }
	pdir=$3
	case $pdir in /*) ;; *) pdir=$(pwd)/$pdir ;; esac
	pdata=$(other "$pdir")
	name=dv_standby_$(printf '%s' "$data" | cksum | cut -d' ' -f1)
	exec 9>"$dir/.lock"
	flock 9
	if [ ! -f "$data/data/PG_VERSION" ]; then
		as_pg "$pgbin/pg_basebackup" -h "$pdata" -p $port -U postgres -D "$data/data" -X stream -R -c fast >"$data/basebackup.log" 2>&1 || {
			cat "$data/basebackup.log" >&2
			exit 1
		}
		echo "primary_conninfo = 'host=$pdata port=$port user=postgres application_name=$name'" |
			as_pg tee -a "$data/data/postgresql.auto.conf" >/dev/null
	fi
	running || pg_start
	if [ "${4:-}" = sync ]; then
		as_pg "$pgbin/psql" -h "$pdata" -p $port -U postgres -d postgres -qc \
			"ALTER SYSTEM SET synchronous_standby_names = '$name'" -c "SELECT pg_reload_conf()" >/dev/null
	fi
	# streaming (and, with sync, synchronous) before this returns
	want=streaming; [ "${4:-}" = sync ] && want=sync
	i=0
	until as_pg "$pgbin/psql" -h "$pdata" -p $port -U postgres -d postgres -qAtc \
		"SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = '$name'" |
		grep -q "^streaming .*$([ $want = sync ] && echo sync)"; do
		i=$((i + 1))
		[ $i -gt 600 ] && { echo "pg.sh: the standby does not stream (see $data/server.log)" >&2; exit 1; }
		sleep 0.1
	done
	echo "$conninfo"
	;;
promote)
	as_pg "$pgbin/pg_ctl" -D "$data/data" -w -t 60 promote >/dev/null
	;;
kill)
	alive && kill -KILL "$(head -1 "$data/data/postmaster.pid")"
	# (its children notice that their postmaster is gone and exit)
	;;
stop)
	if running; then
		as_pg "$pgbin/pg_ctl" -D "$data/data" -m fast -w stop >/dev/null
	fi
	;;
status)
	if running; then echo "running: $conninfo"; else echo "stopped"; exit 3; fi
	;;
conninfo)
	echo "$conninfo"
	;;
*)
	echo "usage: $0 start|stop|status|conninfo [DIR] | standby DIR PRIMARY_DIR [sync] | promote DIR | kill DIR" >&2
	exit 2
	;;
esac
