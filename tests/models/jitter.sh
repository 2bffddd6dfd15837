#!/bin/sh
# Jittered enrolment (issue 14, enrol.jitter): with the real networks, an
# enrolled face's descriptor averages jittered copies of its chip (as dlib
# does), so it is no longer the recognition's own descriptor of the same photo
# but stays close to it; the same photo enrolled again gives the same
# descriptor (the copies are reproducible); with enrol.jitter 0 the enrolled
# descriptor is the recognition's. `dejaviewd admin reembed` embeds as
# enrolment does. Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
D="$top_srcdir/../shared/testdata"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -d "$D/cfp" ] || skip_all "../shared/testdata/cfp is absent"
pg_up
sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' -e '/^hooks:/,$d' \
	"$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
P=$(ls "$D"/cfp/*/* | head -1)
J='Content-Type: application/json'
dist() { printf '%s' "$BODY" | grep -o '"distance":[0-9.e-]*' | head -1 | cut -d: -f2; }
enrol_and_recognise() { # NAME: enrol P as NAME, recognise P; sets ENROL, DIST
	http POST /v1/persons -H "$J" -d "{\"name\":\"$1\"}"
	pid=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
	http POST "/v1/persons/$pid/faces" --data-binary @"$P"
	ENROL=$BODY
	http POST /v1/recognize --data-binary @"$P"
	has "$BODY" "\"name\": \"$1\"" "$1 recognised from the photo enrolled"
	DIST=$(dist)
}
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "$(cat "$T/base.yaml")"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
enrol_and_recognise Ada
has "$ENROL" '"jitter":32' "enrolment says its descriptor averages 32 jittered copies (the default)"
d32=$DIST
check "the jittered descriptor is not the recognition's own ($d32 > 0.005)" awk -v d="$d32" 'BEGIN { exit !(d > 0.005) }'
check "... but close to it ($d32 < 0.15)" awk -v d="$d32" 'BEGIN { exit !(d < 0.15) }'
KEY=$(new_tenant second "$T/c.yaml")
enrol_and_recognise Bea
is "$DIST" "$d32" "the same photo enrolled again: the same descriptor (the copies are reproducible)"
# admin reembed embeds as enrolment does: a face re-embedded is the face enrolled
vec() { psql_db -c "SELECT encode(embedding, 'hex') FROM dv_faces ORDER BY id LIMIT 1"; }
l2() { /usr/bin/python3 -c 'import struct, sys, math
a, b = (struct.unpack("<%df" % (len(h) // 8), bytes.fromhex(h)) for h in sys.argv[1:3])
print("%.5f" % math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b))))' "$1" "$2"; }
before=$(vec)
psql_db -qc "UPDATE dv_faces SET model = 'old'" >/dev/null
dv_stop
"$DEJAVIEWD" -c "$T/c.yaml" admin reembed >"$T/reembed.out" 2>&1
has "$(cat "$T/reembed.out")" "re-embedded 2 faces" "admin reembed re-embeds both faces from their chips"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts again"; done_testing; }
wait_ready
moved=$(l2 "$before" "$(vec)")
check "... with the mirror image and the jittered copies, as enrolment (the vector moved $moved, the chip kept as a JPEG; the chip alone, as before: 0.09)" \
	awk -v d="$moved" 'BEGIN { exit !(d < 0.03) }'
dv_stop
write_conf "$T/c0.yaml" "model_dir: \"$top_builddir/models\"" "$(sed 's/^  jitter: 32/  jitter: 0/' "$T/base.yaml")"
KEY=$(new_tenant third "$T/c0.yaml")
dv_start "$T/c0.yaml" || { ok 1 "dejaviewd starts with enrol.jitter 0"; done_testing; }
wait_ready
enrol_and_recognise Cy
has "$ENROL" '"jitter":0' "enrol.jitter 0: none"
check "... the enrolled descriptor is the recognition's ($DIST < 0.001)" awk -v d="$DIST" 'BEGIN { exit !(d < 0.001) }'
done_testing
