#!/bin/sh
# End to end: SIGTERM stops accepting, answers every in-flight request, then
# exits 0. The detector's gate holds one request in the worker and one in the
# queue when the signal comes, whatever this machine's speed.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
GATE="$T/gate"
write_conf "$T/c.yaml" "workers: 1" "plugins:
  detector: { so: detect_example, gate: \"$GATE\" }
pipelines:
  detect: [decode, detect]"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
"$IMG" 60 40 5,5,20 >"$T/a.ppm"
touch "$GATE"
curl -s -H "Authorization: Bearer $KEY" -o "$T/b1" -w '%{http_code}' --data-binary @"$T/a.ppm" "$URL/v1/detect" >"$T/c1" &
c1=$!
curl -s -H "Authorization: Bearer $KEY" -o "$T/b2" -w '%{http_code}' --data-binary @"$T/a.ppm" "$URL/v1/detect" >"$T/c2" &
c2=$!
# one held in the worker, one waiting in the queue
check "two requests in flight" wait_metric dv_jobs_inflight 2
check "one of them queued" wait_metric dv_queue_depth 1
kill -TERM "$DV_PID"
check "the drain begins" wait_log "termination signal: draining"
code=$(curl -s -o /dev/null -m "$PATIENCE" -w '%{http_code}' "$URL/healthz")
check "no new connection is accepted while draining (got $code)" test "$code" = 000 -o "$code" = 503
rm -f "$GATE"
wait $c1 $c2
is "$(cat "$T/c1")" 200 "the running request is answered"
is "$(cat "$T/c2")" 200 "the queued request is answered"
has "$(cat "$T/b2")" '"face_count":1' "with its result"
wait "$DV_PID"
is "$?" 0 "dejaviewd exits 0 after draining"
DV_PID=
check "the drain is logged" grep -q "all in-flight jobs answered, exiting once replies are written" "$T/dejaviewd.log"
done_testing
