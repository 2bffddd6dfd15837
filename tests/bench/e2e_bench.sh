#!/bin/sh
# e2e_bench.sh — the end-to-end rows of `make bench`: POST /v1/recognize of a
# one-face photo against dejaviewd with the real networks and a private
# PostgreSQL (the face enrolled, so every request is a full recognition with
# its event written), measured with wrk on loopback: latency at one client
# and throughput at saturation, with 1 and 2 workers.
#   tests/bench/e2e_bench.sh BUILD_DIR PHOTO [SECONDS]
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$1 photo=$2 secs=${3:-8}
command -v wrk >/dev/null 2>&1 || { echo "(end-to-end rows skipped: wrk is not installed; apt-get install wrk)"; exit 0; }
[ -f "$build/models/face_recognition.weights" ] || { echo "(end-to-end rows skipped: run make models)"; exit 0; }
work="$build/var/bench"
mkdir -p "$work"
db=$("$here/scripts/pg.sh" start "$work/pg")
psql_args=$(echo "$db" | sed 's/dbname=[^ ]*/dbname=postgres/')
PGOPTIONS="-c client_min_messages=warning" psql "$psql_args" -qXc "DROP DATABASE IF EXISTS dv_bench WITH (FORCE)" >/dev/null
psql "$psql_args" -qXc "CREATE DATABASE dv_bench" >/dev/null
db=$(echo "$db" | sed 's/dbname=[^ ]*/dbname=dv_bench/')
cat >"$work/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("DV_BENCH_PHOTO"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DV_API_KEY")
wrk.headers["Content-Type"] = "application/octet-stream"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %.1f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
LUA
printf '%-34s %8s %8s %8s %9s %7s\n' "POST /v1/recognize (one face)" "p50 ms" "p95 ms" "p99 ms" "req/s" "errors"
for workers in 1 2; do
	sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^workers:/d' -e "s|\.\./scripts/|$here/scripts/|g" "$here/conf/dejaview.yaml" >"$work/c.yaml"
	cat >>"$work/c.yaml" <<EOF2
listen: {http: "127.0.0.1:0", tcp: ""}
workers: $workers
database: "$db"
plugin_dir: "$build/plugins/.libs"
model_dir: "$build/models"
log: {level: warn}
EOF2
	rm -f "$work/ports"
	OPENBLAS_NUM_THREADS=1 "$build/dejaviewd" -c "$work/c.yaml" --ports-file "$work/ports" 2>"$work/dejaviewd.log" &
	pid=$!
	n=0; while [ ! -s "$work/ports" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
	port=$(sed -n 's/^http=//p' "$work/ports")
	n=0; while [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" != 200 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
	DV_API_KEY=$("$build/dejaviewd" -c "$work/c.yaml" admin tenant create "bench$workers" 2>/dev/null)
	export DV_API_KEY DV_BENCH_PHOTO="$photo"
	pid_json=$(curl -s -H "Authorization: Bearer $DV_API_KEY" -H 'Content-Type: application/json' -d '{"name":"bench"}' "http://127.0.0.1:$port/v1/persons")
	person=$(echo "$pid_json" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
	curl -s -o /dev/null -H "Authorization: Bearer $DV_API_KEY" --data-binary @"$photo" "http://127.0.0.1:$port/v1/persons/$person/faces"
	wrk -t1 -c1 -d2s -s "$work/post.lua" "http://127.0.0.1:$port/v1/recognize" >/dev/null 2>&1 || true # warm up
	for conns in 1 $((workers * 4)); do
		r=$(wrk -t1 -c$conns -d${secs}s --timeout 10s -s "$work/post.lua" "http://127.0.0.1:$port/v1/recognize" 2>&1 | sed -n 's/^RESULT //p')
		set -- $r
		label="$workers worker$( [ $workers = 1 ] || echo s), $conns client$( [ $conns = 1 ] || echo s)"
		printf '%-34s %8s %8s %8s %9s %7s\n' "$label" "$3" "$4" "$5" "$6" "$2"
	done
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
done
"$here/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
