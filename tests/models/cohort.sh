#!/bin/sh
# The cohort decision (issue 14, match.cohort): a tenant of 50 people or more
# is decided by the cohort score — the nearest person's distance minus 0.75 x
# the mean distance of the next 5 people — against the score the calibration
# table's cohort rows give for that many people. With the real networks, the
# shipped table and 60 cfp people enrolled: the reply says so (people, score
# threshold) and gives each face its score, which is what the candidates'
# distances make of it; a returning visitor is named, strangers are not; the
# operating point says the same; a request's threshold, or match.cohort:
# false, decides by the distance. Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
D="$top_srcdir/../shared/testdata"
CAL="$top_srcdir/models/face_recognition.calibration.tsv"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -d "$D/cfp" ] || skip_all "../shared/testdata/cfp is absent"
grep -q '^cohort	' "$CAL" 2>/dev/null || skip_all "models/face_recognition.calibration.tsv has no cohort rows"
pg_up
sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' -e '/^hooks:/,$d' \
	"$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "$(cat "$T/base.yaml")"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
N=0
set -- $(ls -d "$D"/cfp/*/ | head -80)
while [ "$N" -lt 60 ] && [ $# -gt 6 ]; do
	dir=$1
	shift
	http POST /v1/persons -H "$J" -d "{\"name\":\"$(basename "$dir")\"}"
	pid=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
	http POST "/v1/persons/$pid/faces?force=true" --data-binary @"$(ls "$dir"/* | head -1)"
	[ "$CODE" = 201 ] || { http DELETE "/v1/persons/$pid"; continue; } # no usable face: not one of the people
	N=$((N + 1))
	[ "$N" = 1 ] && { WHO=$(basename "$dir"); VISIT=$(ls "$dir"/* | sed -n 2p); }
done
is "$N" 60 "sixty people enrolled, one photo each"
STRANGERS=$(echo "$@" | tr ' ' '\n' | tail -6) # never enrolled
# the people are counted in the background after the gallery changes
cohort_on() {
	http POST /v1/recognize --data-binary @"$VISIT"
	case $BODY in *'"cohort":{"people":60,'*) true ;; *) false ;; esac
}
eventually cohort_on
ok $? "sixty people: the decision is the cohort score's (\"cohort\":{\"people\":60,...})"
has "$BODY" '"decision":"known"' "a returning visitor (another photo of the first person): known"
has "$BODY" "\"name\": \"$WHO\"" "... by their name"
has "$BODY" '"cohort_score":' "the face says its score"
has "$BODY" '"next_people":5,"weight":0.75' "and the reply, the score's make-up"
# the score is what the candidates make of it: all 24 candidates shown
http POST "/v1/recognize?top_k=24" --data-binary @"$VISIT"
printf '%s' "$BODY" >"$T/reply.json"
/usr/bin/python3 - "$T/reply.json" >"$T/score.txt" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["faces"][0]
c = f["candidates"]
first = c[0]["person"]["id"]
seen, nxt = {first}, []
for x in c[1:]:
    p = x["person"]["id"]
    if p in seen:
        continue
    seen.add(p)
    nxt.append(x["distance"])
nxt = (nxt + [c[-1]["distance"]] * 5)[:5]
want = c[0]["distance"] - 0.75 * sum(nxt) / 5
dec = r["decision"]
print("%.6f %.6f %d %s %.6f %s" % (f["cohort_score"], want, len(c), f["decision"], dec["cohort"]["score_threshold"],
      c[0].get("false_match_probability")))
EOF
read got want ncand dec thr fmp <"$T/score.txt"
is "$ncand" 24 "24 candidates shown"
check "the face's score is the nearest distance - 0.75 x the mean of the next 5 people's ($got = $want)" \
	awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4) }'
check "named: its score is within the score threshold ($got <= $thr)" awk -v a="$got" -v b="$thr" 'BEGIN { exit !(a <= b) }'
check "the match's false-match probability comes from the score, under the target ($fmp)" \
	awk -v p="$fmp" 'BEGIN { exit !(p > 0 && p <= 0.01) }'
named=0
for dir in $STRANGERS; do
	http POST /v1/recognize --data-binary @"$(ls "$dir"/* | head -1)"
	case $BODY in *'"decision":"known"'*) named=$((named + 1)) ;; esac
done
is "$named" 0 "six strangers: none given a name"
http GET /v1/tenant/operating_point
has "$BODY" '"people":60,' "the operating point counts the people"
has "$BODY" '"decided_by":"cohort_score"}' "and says the cohort score decides"
sn=$(printf '%s' "$BODY" | sed -n 's/.*"expected":{"score_threshold":[-0-9.e]*,"strangers_named":\([0-9.e-]*\).*/\1/p')
check "expected strangers named: the target ($sn)" awk -v e="$sn" 'BEGIN { exit !(e > 0.0095 && e < 0.0105) }'
has "$BODY" '{"gallery_faces":10,"threshold":' "a gallery of ten is still decided by the distance ..."
has "$BODY" '"gallery_faces":100,"threshold":' "... and of a hundred by the score"
# a request's threshold is the distance's
http POST '/v1/recognize?threshold=0.5' --data-binary @"$VISIT"
has "$BODY" '"decision":{"method":"request"' "a request's threshold: method request"
case $BODY in *'"cohort'*) false ;; *) true ;; esac
ok $? "... and no cohort score"
dv_stop
# match.cohort: false
write_conf "$T/n.yaml" "model_dir: \"$top_builddir/models\"" \
	"$(sed 's/^  cohort: true/  cohort: false/' "$T/base.yaml")"
dv_start "$T/n.yaml" || { ok 1 "dejaviewd starts with match.cohort false"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$VISIT"
has "$BODY" '"decision":{"method":"fpir"' "match.cohort false: decided by false-alarm rate ..."
case $BODY in *'"cohort'*) false ;; *) true ;; esac
ok $? "... of the distance, no cohort score"
dv_stop
# a restart: the people are counted as the gallery loads, before the server is ready
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts again"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$VISIT"
has "$BODY" '"cohort":{"people":60,' "restarted: the first recognition is the cohort score's, the 60 people counted at load"
done_testing
