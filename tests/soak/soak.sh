#!/bin/sh
# make soak — mixed traffic for SOAK_MINUTES (default 30): recognize, detect,
# verify, enrol, erase, list and async jobs from 4 clients (tests/tools/
# dv_soak), the shipped front-desk and loyalty hooks edited every 2 minutes
# (hooks.watch) and a SIGHUP reload every minute. Passes when resident memory
# is flat after the warm-up (a fifth of the run, at least a minute): read
# every 5 s, the median of the last quarter of the run is within 5% of the
# median of the first quarter after the warm-up (medians, so that the
# moments when two configuration generations overlap, or Lua's collector has
# not yet run, do not count as growth; a leak grows whatever the window); no
# answer was a 5xx other than 503
# with Retry-After; and every acknowledged enrolment and erasure is as
# acknowledged in PostgreSQL at the end. Prints a table a minute a row.
# Runs the real networks when `make models` has run and ../shared/testdata
# has photos, else the example plugins.
#
#   soak.sh SRCDIR BUILDDIR MINUTES
set -u
src=$1; build=$2; minutes=${3:-30}
T=$(mktemp -d "${TMPDIR:-/tmp}/dv-soak.XXXXXX"); chmod 755 "$T"
PG="$src/scripts/pg.sh"; PGD="$T/pg"
DVPID=
finish() {
	[ -n "$DVPID" ] && kill -TERM "$DVPID" 2>/dev/null && wait "$DVPID" 2>/dev/null
	"$PG" stop "$PGD" >/dev/null 2>&1
	[ "${SOAK_KEEP:-0}" = 1 ] && echo "soak: files kept in $T" || rm -rf "$T"
}
trap finish EXIT
conn=$("$PG" start "$PGD") || { echo "soak: cannot start PostgreSQL"; exit 1; }
host=$(echo "$conn" | sed 's/.*host=\([^ ]*\).*/\1/')
photos=$(ls "$src/../shared/testdata/faceapi_bbt/"*/*.png "$src/../shared/testdata/faceapi_bbt/"*/*.jpg 2>/dev/null | head -24)
mkdir -p "$T/h" "$T/img"
cp "$src/scripts/frontdesk.lua" "$src/scripts/loyalty.lua" "$T/h/"
if [ -f "$build/models/face_recognition.weights" ] && [ -n "$photos" ]; then
	mode="real networks (conf/dejaview.yaml), $(echo "$photos" | wc -l) photos of ../shared/testdata"
	sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' -e '/^hooks:/,$d' \
		"$src/conf/dejaview.yaml" >"$T/base.yaml"
	echo "model_dir: \"$build/models\"" >>"$T/base.yaml"
	imgs=$photos
else
	mode="example plugins (no models or photos)"
	cat >"$T/base.yaml" <<EOF2
plugins:
  detector:   { so: detect_example }
  landmarker: { so: landmarks_example }
  embedder:   { so: embed_example }
  matcher:    { so: match_flat }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]
  detect:    [decode, detect, landmarks]
EOF2
	i=0
	while [ $i -lt 24 ]; do
		i=$((i + 1))
		"$build/tests/tools/dv_testimg" 160 120 30,30,50,$((60 + i * 7)),$((250 - i * 5)),$((90 + i * 6)) >"$T/img/$i.ppm"
	done
	imgs=$(ls "$T/img/"*.ppm)
fi
{
	echo "listen: {http: \"127.0.0.1:0\", tcp: \"\", ops: \"127.0.0.1:0\"}"
	echo "plugin_dir: \"$build/plugins/.libs\""
	echo "database: \"host=$host port=5432 user=postgres dbname=dejaview\""
	echo "hooks: {scripts: [h/frontdesk.lua, h/loyalty.lua], watch: true}"
	cat "$T/base.yaml"
} >"$T/c.yaml"
# SOAK_PRELOAD=/path/lib.so runs the server with another allocator preloaded
# (to compare allocators; the shipped build links what configure found)
env ${SOAK_PRELOAD:+LD_PRELOAD="$SOAK_PRELOAD"} "$build/dejaviewd" -c "$T/c.yaml" --ports-file "$T/ports" \
	2>"$T/dejaviewd.log" &
DVPID=$!
n=0
until [ -s "$T/ports" ]; do
	n=$((n + 1)); [ $n -gt 3000 ] || ! kill -0 $DVPID 2>/dev/null && { echo "soak: dejaviewd did not start"; tail "$T/dejaviewd.log"; exit 1; }
	sleep 0.1
done
HTTP=$(sed -n 's/^http=//p' "$T/ports"); OPS=$(sed -n 's/^ops=//p' "$T/ports")
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPS/readyz")" = 200 ]; do sleep 0.2; done
KEY=$("$build/dejaviewd" -c "$T/c.yaml" admin tenant create soak 2>/dev/null)
metric() { curl -s "http://127.0.0.1:$OPS/metrics" | awk -v n="$1" '$1 == n {print $2; exit}'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$DVPID/status"; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "make soak: $(date -u +%Y-%m-%dT%H:%MZ), $minutes minutes, $mode, 4 clients; $cpu, $(nproc) CPUs"
secs=$((minutes * 60))
# shellcheck disable=SC2086
"$build/tests/tools/dv_soak" -p "$HTTP" -k "$KEY" -s "$secs" -c 4 -d "$T" $imgs >"$T/soak.out" 2>&1 &
SP=$!
warm=$((minutes / 5)); [ $warm -lt 1 ] && warm=1
printf '%6s %10s %8s %7s %7s %7s %9s %8s %8s\n' minute requests ok 4xx 503 bad rss_MiB reloads gallery
start=$(date +%s); minute=0; top=0; edits=0
: >"$T/rss"
while kill -0 $SP 2>/dev/null; do
	sleep 5
	el=$(( $(date +%s) - start ))
	r=$(rss)
	[ "$r" -gt "$top" ] && top=$r
	[ "$el" -ge $((warm * 60)) ] && [ "$el" -lt "$secs" ] && echo "$el $r" >>"$T/rss"
	if [ $((el / 60)) -gt $minute ] && [ "$el" -lt "$secs" ]; then
		minute=$((el / 60))
		kill -HUP $DVPID
		if [ $((minute % 2)) = 0 ]; then
			edits=$((edits + 1))
			sed -i "s/(s.welcome or \"[^\"]*\")/(s.welcome or \"Welcome $edits\")/" "$T/h/frontdesk.lua"
		fi
		line=$(grep '^t=' "$T/soak.out" | tail -1)
		get() { echo "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
		printf '%6s %10s %8s %7s %7s %7s %9s %8s %8s\n' "$minute" "$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')" \
			"$(get ok)" "$(get 4xx)" "$(get 503)" "$(( $(get bad5xx) + $(get transport) ))" "$((r / 1024))" \
			"$(metric 'dv_config_reloads_total{result="ok"}')" "$(metric dv_gallery_faces)"
	fi
done
wait $SP; soak_rc=$?
summary=$(tail -1 "$T/soak.out")
echo "clients: $summary"
fail=0
# medians of the first and the last quarter of the samples after the warm-up
median() { sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : 0}'; }
ns=$(wc -l <"$T/rss"); q=$((ns / 4)); [ $q -lt 1 ] && q=1
base=$(head -n $q "$T/rss" | awk '{print $2}' | median)
last=$(tail -n $q "$T/rss" | awk '{print $2}' | median)
growth=$(awk -v b="${base:-0}" -v p="${last:-0}" 'BEGIN { if (b > 0) printf "%.1f", (p - b) * 100 / b; else print "n/a" }')
echo "resident memory after the ${warm}-minute warm-up (medians of $q samples 5 s apart): $((${base:-0} / 1024)) MiB first, $((${last:-0} / 1024)) MiB last ($growth%); highest sample $((top / 1024)) MiB"
awk -v g="$growth" 'BEGIN { exit !(g != "n/a" && g + 0 <= 5) }' || { echo "FAIL: memory grew more than 5% after the warm-up"; fail=1; }
[ "${SOAK_KEEP:-0}" = 1 ] && cp "$T/rss" "$build/var/soak-rss.txt" 2>/dev/null
[ "$soak_rc" = 0 ] || { echo "FAIL: an answer was a 5xx other than 503 with Retry-After, or the transport failed"; fail=1; }
fails=$(grep -ci "reload refused\|configuration reload failed" "$T/dejaviewd.log")
[ "$fails" = 0 ] || { echo "FAIL: $fails reloads were refused"; fail=1; }
echo "reloads: $(metric 'dv_config_reloads_total{result="ok"}') by SIGHUP and $edits hook edits, none refused"
# acknowledged = committed
q() { psql -h "$host" -p 5432 -U postgres -d dejaview -XAtc "$1"; }
awk '$1 == "D" {print $2}' "$T/acks" | sort -u >"$T/deleted"
awk '$1 == "E" {print $2, $3}' "$T/acks" | sort -k1,1 >"$T/enrolled"
kept=$(join -v 1 "$T/enrolled" "$T/deleted" | awk '{print $2}' | paste -sd, -)
ne=$(wc -l <"$T/enrolled"); nd=$(wc -l <"$T/deleted")
missing=0; [ -n "$kept" ] && missing=$(( $(echo "$kept" | tr ',' '\n' | wc -l) - $(q "SELECT count(*) FROM dv_faces WHERE id IN ($kept)") ))
dels=$(paste -sd, "$T/deleted")
left=0; [ -n "$dels" ] && left=$(q "SELECT count(*) FROM dv_persons WHERE id IN ($dels)")
echo "acknowledged: $ne enrolments, $nd erasures; missing enrolments: $missing; erased persons still there: $left"
[ "$missing" = 0 ] && [ "$left" = 0 ] || { echo "FAIL: an acknowledged write is not as acknowledged"; fail=1; }
kill -TERM $DVPID; wait $DVPID; rc=$?; DVPID=
[ $rc = 0 ] || { echo "FAIL: dejaviewd exited $rc"; fail=1; }
[ $fail = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $fail
