#!/bin/sh
# The recognition service end to end with the real networks, the exact
# matcher and PostgreSQL: the people of ../shared/testdata/faceapi_bbt are
# enrolled with one photo each, all their other photos are recognised (the
# top-1 rate is printed and must be at least 95%), and the photos of people
# of other sets (face_recognition, opencv4nodejs_twd, dlib_johns) come back
# unknown. Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
D="$top_srcdir/../shared/testdata"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -d "$D/faceapi_bbt" ] || skip_all "../shared/testdata/faceapi_bbt is absent"
pg_up
sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' -e "s|\.\./scripts/|$top_srcdir/scripts/|g" "$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "$(cat "$T/base.yaml")"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts with the real networks"; done_testing; }
wait_ready || echo "# not ready"
J='Content-Type: application/json'
enrolled=0; tried=0; top1=0; wrong=0; unk=0
for dir in "$D"/faceapi_bbt/*/; do
	who=$(basename "$dir")
	http POST /v1/persons -H "$J" -d "{\"name\":\"$who\"}"
	pid=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
	first=
	for f in $(ls "$dir" | sort); do
		http POST "/v1/persons/$pid/faces" --data-binary @"$dir$f"
		if [ "$CODE" = 201 ]; then first=$f; enrolled=$((enrolled + 1)); break; fi
		echo "# $who/$f not enrolled: $BODY"
	done
	echo "$who $first" >>"$T/enrolled"
done
check "every person of faceapi_bbt enrolled with one photo ($enrolled)" test "$enrolled" = "$(ls -d "$D"/faceapi_bbt/*/ | wc -l)"
while read -r who first; do
	for f in $(ls "$D/faceapi_bbt/$who" | sort); do
		[ "$f" = "$first" ] && continue
		tried=$((tried + 1))
		http POST /v1/recognize --data-binary @"$D/faceapi_bbt/$who/$f"
		# the largest face's match is the first face's here (one face per photo)
		name=$(printf '%s' "$BODY" | grep -o '"match":{"face_id":[0-9]*,"person":{"id": [0-9]*, "name": "[^"]*"' | head -1 | sed 's/.*"name": "//; s/"$//')
		if [ "$name" = "$who" ]; then top1=$((top1 + 1)); else wrong=$((wrong + 1)); echo "# $who/$f -> '${name:-unknown}'"; fi
	done
done <"$T/enrolled"
rate=$((top1 * 1000 / (tried > 0 ? tried : 1)))
echo "# faceapi_bbt: top-1 $top1 of $tried = $((rate / 10)).$((rate % 10))%"
check "top-1 rate $top1/$tried >= 95%" test "$((top1 * 100))" -ge "$((tried * 95))"
others=0; false_match=0
for set in face_recognition opencv4nodejs_twd dlib_johns; do
	[ -d "$D/$set" ] || continue
	for f in "$D/$set"/*/*; do
		others=$((others + 1))
		http POST /v1/recognize --data-binary @"$f"
		case $BODY in *'"match":{"face_id"'*) false_match=$((false_match + 1)); echo "# $(basename "$(dirname "$f")")/$(basename "$f") matched someone" ;; esac
	done
done
echo "# other sets: $others photos, $false_match matched an enrolled person"
is "$false_match" 0 "photos of people of other sets ($others) all come back unknown"
dv_stop
done_testing
