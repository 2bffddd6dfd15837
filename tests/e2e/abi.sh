#!/bin/sh
# The plugin ABI keeps its promise: a matcher built against ABI 3.0
# (tests/plugins/old_minor.c, whose descriptor is followed by 0xff bytes)
# serves a dejaviewd of ABI 3.3 end to end — enrolment, recognition, the
# gallery loaded again after a restart — and /metrics, which asks matchers of
# 3.1 for their memory, leaves the question out for it instead of calling
# what lies past its descriptor. match_flat (3.3) answers it.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
conf() { write_conf "$T/c.yaml" "plugins:
  detector:   { so: detect_example }
  landmarker: { so: landmarks_example }
  embedder:   { so: embed_example }
  matcher:    { so: $1 }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]"; }
conf "$DV_TEST_PLUGIN_DIR/old_minor.so"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts with a plugin of ABI 3.0"; done_testing; }
ok 0 "dejaviewd starts with a plugin of ABI 3.0"
wait_ready
"$IMG" 120 90 20,20,40,250,250,120 >"$T/a1.ppm"
"$IMG" 140 100 50,30,44,250,250,120 >"$T/a2.ppm"
http POST /v1/persons -H 'Content-Type: application/json' -d '{"name":"Ada"}'
P=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$P/faces" --data-binary @"$T/a1.ppm"
is "$CODE" 201 "a face is enrolled through it"
http POST /v1/recognize --data-binary @"$T/a2.ppm"
has "$BODY" '"name": "Ada"' "and recognised through it"
metrics=$(curl -s "$OPS_URL/metrics")
has "$metrics" 'dv_gallery_faces 1' "/metrics is served"
case $metrics in *dv_gallery_memory_bytes*) ok 1 "without a memory figure it cannot give" ;; *) ok 0 "without a memory figure it cannot give" ;; esac
dv_stop
dv_start "$T/c.yaml" || { ok 1 "dejaviewd restarts"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$T/a2.ppm"
has "$BODY" '"name": "Ada"' "after a restart its gallery is loaded again"
dv_stop
is "$DV_RC" 0 "clean exit"
conf match_flat
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts with match_flat"; done_testing; }
wait_ready
bytes=$(metric dv_gallery_memory_bytes)
check "match_flat (ABI 3.3) states its memory (${bytes:-none} bytes)" test "${bytes:-0}" -gt 0
dv_stop
done_testing
