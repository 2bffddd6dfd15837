#!/bin/sh
# face_threads (issue 18): a worker splits a request's landmark and embedding
# passes over itself and face_threads - 1 helper threads ("dv-face"), each
# with its own landmarker and embedder. With the real networks the six-face
# photo gets the same landmarks and distances as on one thread, an enrolment
# (the mirror image and 32 jittered copies) the same descriptor; the helper
# really runs (its CPU time grows); a reload to face_threads 1 ends the
# helpers. Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
real_photos
J='Content-Type: application/json'
vec() { psql_db -c "SELECT encode(embedding, 'hex') FROM dv_faces WHERE person_id = $1 ORDER BY id LIMIT 1"; }
faces() { # the reply's faces, one a line: the match's distance and the landmarks
	printf '%s' "$1" | /usr/bin/python3 -c 'import json, sys
for f in json.load(sys.stdin)["faces"]:
    print((f["match"] or {}).get("distance"), " ".join("%g,%g" % tuple(p) for p in f["landmarks"]))'
}
enrol() { # enrol NAME: a person with P's face; sets PID
	http POST /v1/persons -H "$J" -d "{\"name\":\"$1\"}"
	PID=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
	http POST "/v1/persons/$PID/faces" --data-binary @"$P"
	is "$CODE" 201 "$1's face enrolled"
}
helpers() { grep -lx dv-face /proc/"$DV_PID"/task/*/comm 2>/dev/null | wc -l; }
helper_ticks() { # user + system clock ticks of the helper threads
	for c in $(grep -lx dv-face /proc/"$DV_PID"/task/*/comm 2>/dev/null); do
		sed 's/.*) //' "${c%/comm}/stat" | awk '{print $12 + $13}'
	done | awk '{s += $1} END {print s + 0}'
}
for ft in 1 2; do
	# ?threshold=2: every face matched to Ada, with its distance
	write_conf "$T/ft$ft.yaml" "model_dir: \"$top_builddir/models\"" "workers: 1" "face_threads: $ft" \
		"$(sed -e '/^match:/a\  threshold_max: 4' -e '/^face_threads:/d' "$T/base.yaml")"
done
dv_start "$T/ft1.yaml" || { ok 1 "dejaviewd starts (face_threads 1)"; done_testing; }
wait_ready
is "$(helpers)" 0 "face_threads 1: no helper thread"
enrol Ada
ada=$PID
http POST "/v1/recognize?threshold=2" --data-binary @"$G"
faces "$BODY" >"$T/one"
is "$(wc -l <"$T/one")" 6 "six faces on one thread"
dv_stop

dv_start "$T/ft2.yaml" || { ok 1 "dejaviewd starts (face_threads 2)"; done_testing; }
wait_ready
is "$(helpers)" 1 "face_threads 2 with one worker: one helper thread, dv-face"
t0=$(helper_ticks)
for i in 1 2 3 4 5 6 7 8; do
	http POST "/v1/recognize?threshold=2" --data-binary @"$G"
done
faces "$BODY" >"$T/two"
t1=$(helper_ticks)
if [ "$(nproc)" -ge 2 ]; then
	check "the helper ran the six-face requests' passes (its CPU time $t0 -> $t1 ticks)" test "$t1" -gt "$t0"
else
	skip 1 "one CPU: a split waits for an idle core, and there is none"
fi
is "$(wc -l <"$T/two")" 6 "six faces on two threads"
# the same faces: distances to Ada within 0.001, landmarks within 0.05 px
/usr/bin/python3 - "$T/one" "$T/two" >"$T/cmp" <<'PY'
import sys
a, b = (open(p).read().split("\n") for p in sys.argv[1:3])
dd = dl = 0.0 if len([x for x in a if x]) == len([y for y in b if y]) == 6 else 99.0
for x, y in zip(a, b):
    if not x and not y:
        continue
    x, y = x.split(" ", 1), y.split(" ", 1)
    dd = max(dd, abs(float(x[0]) - float(y[0])))
    px = [float(v) for p in x[1].split() for v in p.split(",")]
    py = [float(v) for p in y[1].split() for v in p.split(",")]
    dl = max([dl] + [abs(u - v) for u, v in zip(px, py)] + [0 if len(px) == len(py) == 136 else 99])
print("%.6f %.4f" % (dd, dl))
PY
read dd dl <"$T/cmp"
check "each face's distance as on one thread (largest difference $dd)" awk -v d="$dd" 'BEGIN { exit !(d <= 0.001) }'
check "each face's 68 landmarks as on one thread (largest difference $dl px)" awk -v d="$dl" 'BEGIN { exit !(d <= 0.05) }'
enrol Bea
l2=$(/usr/bin/python3 -c 'import struct, sys, math
a, b = (struct.unpack("<%df" % (len(h) // 8), bytes.fromhex(h)) for h in sys.argv[1:3])
print("%.6f" % math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b))))' "$(vec "$ada")" "$(vec "$PID")")
check "an enrolment's 34 passes split over two threads: the descriptor of one thread (apart by $l2)" \
	awk -v d="$l2" 'BEGIN { exit !(d <= 0.001) }'
# a reload to face_threads 1 ends the helper (the worker switches on its next job)
cp "$T/ft1.yaml" "$T/ft2.yaml"
kill -HUP "$DV_PID"
gone() { http POST /v1/recognize --data-binary @"$P"; [ "$(helpers)" = 0 ]; }
eventually gone
ok $? "a reload to face_threads 1: the helper thread ends"
is "$CODE" 200 "... and the worker serves on its own"
dv_stop
done_testing
