#!/bin/sh
# e2e_bench.sh — the end-to-end rows of `make bench`: POST /v1/recognize
# against dejaviewd with the real networks, the shipped hooks and a private
# PostgreSQL, measured with wrk on loopback: a 640x480 one-face JPEG (made
# from PHOTO; the face enrolled, so every request is a full recognition with
# its event and hook writes committed), the same at 2 and 12 megapixels (the
# photos people upload) and a six-face group photo, against a
# gallery of GALLERY synthetic faces; latency p50/p95/p99 at one client and
# throughput at saturation, with 1 and 2 workers; and the memory a worker adds.
#   tests/bench/e2e_bench.sh BUILD_DIR PHOTO [SECONDS [GROUP [GALLERY]]]
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$1 photo=$2 secs=${3:-8} group=${4:-} gallery=${5:-100000}
command -v wrk >/dev/null 2>&1 || { echo "(end-to-end rows skipped: wrk is not installed; apt-get install wrk)"; exit 0; }
[ -f "$build/models/face_recognition.weights" ] || { echo "(end-to-end rows skipped: run make models)"; exit 0; }
work="$build/var/bench"
mkdir -p "$work"
db=$("$here/scripts/pg.sh" start "$work/pg")
admin=$(echo "$db" | sed 's/dbname=[^ ]*/dbname=postgres/')
PGOPTIONS="-c client_min_messages=warning" psql "$admin" -qXc "DROP DATABASE IF EXISTS dv_bench WITH (FORCE)" >/dev/null
psql "$admin" -qXc "CREATE DATABASE dv_bench" >/dev/null
db=$(echo "$db" | sed 's/dbname=[^ ]*/dbname=dv_bench/')
"$build/tests/tools/dv_tojpeg" "$photo" "$work/one.jpg" 640 480
# the photos users upload: 2 and 12 megapixels, phone-like (bilinear, grain, quality 92)
"$build/tests/tools/dv_tojpeg" "$photo" "$work/2mp.jpg" 1600 1200 3.5
"$build/tests/tools/dv_tojpeg" "$photo" "$work/12mp.jpg" 4000 3000 3.5
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
conf() { # conf WORKERS
	# BENCH_SED='s/so: detect_darknet,/so: detect_darknet, input_fit: false,/': an edit of
	# conf/dejaview.yaml (a plugin's parameter), to compare
	sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^workers:/d' -e "s|\.\./scripts/|$here/scripts/|g" \
		-e "${BENCH_SED:-}" "$here/conf/dejaview.yaml" >"$work/c.yaml"
	cat >>"$work/c.yaml" <<EOF2
listen: {http: "127.0.0.1:0", tcp: ""}
workers: $1
database: "$db"
plugin_dir: "$build/plugins/.libs"
model_dir: "$build/models"
log: {level: warn}
EOF2
	# BENCH_CONF="decode: {min_side: 0}": other settings, to compare
	[ -z "${BENCH_CONF:-}" ] || printf '%s\n' "$BENCH_CONF" >>"$work/c.yaml"
}
start() { # start WORKERS: sets pid, port
	conf "$1"
	rm -f "$work/ports"
	# BENCH_PRELOAD=/path/lib.so: another allocator preloaded, to compare
	env ${BENCH_PRELOAD:+LD_PRELOAD="$BENCH_PRELOAD"} OPENBLAS_NUM_THREADS=1 "$build/dejaviewd" -c "$work/c.yaml" \
		--ports-file "$work/ports" 2>"$work/dejaviewd.log" &
	pid=$!
	n=0; while [ ! -s "$work/ports" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
	port=$(sed -n 's/^http=//p' "$work/ports")
	n=0; while [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" != 200 ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
}
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; }
photo() { # photo NAME: sets DV_BENCH_PHOTO and label; 1 when there is none (no group photo)
	case $1 in
	one) DV_BENCH_PHOTO="$work/one.jpg"; label="640x480, 1 face" ;;
	2mp) DV_BENCH_PHOTO="$work/2mp.jpg"; label="1600x1200 (2 MP), 1 face" ;;
	12mp) DV_BENCH_PHOTO="$work/12mp.jpg"; label="4000x3000 (12 MP), 1 face" ;;
	*) [ -n "$group" ] && [ -f "$group" ] || return 1
		DV_BENCH_PHOTO=$group; label="710x473, 6 faces" ;;
	esac
}
rows() { # rows URL WORKERS UNIT: one row per photo and client count
	for p in one 2mp 12mp group; do
		photo "$p" || continue
		export DV_BENCH_PHOTO
		wrk -t1 -c1 -d2s -s "$work/post.lua" "$1" >/dev/null 2>&1 || true
		for conns in 1 $(($2 * 4)); do
			r=$(wrk -t1 -c$conns -d${secs}s --timeout 20s -s "$work/post.lua" "$1" 2>&1 | sed -n 's/^RESULT //p')
			set -- "$1" "$2" "$3" $r
			if [ "${4:-0}" = 0 ]; then # a slow peer: nothing to take percentiles of
				printf '%-40s %s\n' "$label, $2 $3, $conns c" "(no request finished within ${secs} s)"
			else
				printf '%-40s %8s %8s %8s %9s %7s\n' "$label, $2 $3, $conns c" "$6" "$7" "$8" "$9" "$5"
			fi
		done
	done
}

# the tenant, its person and the synthetic gallery, once
start 1
DV_API_KEY=$("$build/dejaviewd" -c "$work/c.yaml" admin tenant create bench 2>/dev/null)
export DV_API_KEY
person=$(curl -s -H "Authorization: Bearer $DV_API_KEY" -H 'Content-Type: application/json' -d '{"name":"bench"}' \
	"http://127.0.0.1:$port/v1/persons" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
enrol=$(curl -s -H "Authorization: Bearer $DV_API_KEY" --data-binary @"$work/one.jpg" "http://127.0.0.1:$port/v1/persons/$person/faces")
model=$(echo "$enrol" | sed -n 's/.*"embedder":"\([^"]*\)".*/\1/p')
fp=$(echo "$enrol" | sed -n 's/.*"fingerprint":"\([^"]*\)".*/\1/p')
tenant=$(psql "$db" -XAtc "SELECT id FROM dv_tenants WHERE name = 'bench'")
"$build/tests/bench/gallery_fill" "$db" "$tenant" "$gallery" "$model" "$fp"
stop
# the fill's aftermath (autovacuum of 100,000 new rows, the checkpoint of their
# WAL) done before the rows are measured: they measure a server in its steady state
psql "$db" -qXc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null 2>&1 || true
echo "POST /v1/recognize, gallery of $((gallery + 1)) faces, wrk on loopback, ${secs} s per row"
printf '%-40s %8s %8s %8s %9s %7s\n' "photo, workers, clients" "p50 ms" "p95 ms" "p99 ms" "req/s" "errors"
rss1=0
for workers in 1 2; do
	start "$workers"
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
	[ "$workers" = 1 ] && rss1=$rss
	[ "$workers" = 2 ] && rss2=$rss
	rows "http://127.0.0.1:$port/v1/recognize" "$workers" w
	if [ "$workers" = 1 ]; then # where a recognition's time goes, per photo: one worker, one client
		sh "$here/tests/bench/stages.sh" --header >"$work/stages"
		for p in one 2mp 12mp group; do
			photo "$p" || continue
			sh "$here/tests/bench/stages.sh" "http://127.0.0.1:$port/v1/recognize" "$DV_API_KEY" "$DV_BENCH_PHOTO" "$label" 21 \
				>>"$work/stages"
		done
	fi
	stop
done
echo "resident memory after start (gallery loaded): 1 worker $((rss1 / 1024)) MiB, 2 workers $((rss2 / 1024)) MiB: $(((rss2 - rss1) / 1024)) MiB per worker"
echo
echo "per stage, one worker, one client: the median of 21 replies' timings_ms (curl: the whole request)"
cat "$work/stages"

# the peer, in the same run: face-api 1.7.15 on tfjs-wasm behind node's http (tests/oracle/peer_server.js)
oracle="$build/oracle"
# BENCH_PEER=no: without the peer (comparing settings of our own)
if [ "${BENCH_PEER:-yes}" != no ] && command -v node >/dev/null 2>&1 && mkdir -p "$oracle" &&
	cp "$here/tests/oracle/package.json" "$here/tests/oracle/common.js" "$here/tests/oracle/peer_server.js" "$oracle/" &&
	{ [ -d "$oracle/node_modules/jpeg-js" ] || (cd "$oracle" && npm install --no-audit --no-fund --silent >/dev/null 2>&1); }; then
	echo "peer: face-api 1.7.15, tfjs-wasm one thread per process, node http + jpeg-js, same photos, same gallery size"
	printf '%-40s %8s %8s %8s %9s %7s\n' "photo, processes, clients" "p50 ms" "p95 ms" "p99 ms" "req/s" "errors"
	for workers in 1 2; do
		rm -f "$work/peerport"*
		(cd "$oracle" && exec node peer_server.js "$work/peerport" "$gallery" "$workers") 2>"$work/peer.log" &
		ppid=$!
		n=0; while ! ls "$work/peerport"* >/dev/null 2>&1 && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
		sleep 1
		pport=$(cat $(ls "$work/peerport"* | head -1))
		rows "http://127.0.0.1:$pport/recognize" "$workers" p
		kill "$ppid" 2>/dev/null; pkill -f "peer_server.js $work/peerport" 2>/dev/null || true
		wait "$ppid" 2>/dev/null || true
	done
else
	echo "(peer rows skipped: node or its packages are not available)"
fi
"$here/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
