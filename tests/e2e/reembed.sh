#!/bin/sh
# A model swap: faces enrolled with one embedder are re-embedded from their
# stored chips with `dejaviewd admin reembed` after the config names
# another, and are recognised with it; until then the new embedder's gallery
# does not hold them (vectors of different models are never compared), and
# the log says how many faces another embedder made and what brings them back.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
conf() { # conf FILE GRID
	write_conf "$1" "plugins:
  detector:   { so: detect_example }
  landmarker: { so: landmarks_example }
  embedder:   { so: embed_example, grid: $2 }
  matcher:    { so: match_flat }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]"
}
conf "$T/c2.yaml" 2
conf "$T/c3.yaml" 3
dv_start "$T/c2.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
"$IMG" 120 90 20,20,40,250,250,120 >"$T/a1.ppm"
"$IMG" 140 100 50,30,44,250,250,120 >"$T/a2.ppm"
http POST /v1/persons -H 'Content-Type: application/json' -d '{"name":"Alice"}'
P=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$P/faces" --data-binary @"$T/a1.ppm"
has "$BODY" '"fingerprint":"example-1-grid2"' "enrolled with the grid-2 embedder"
dv_stop
# the swap: same data, another embedder
dv_start "$T/c3.yaml" || { ok 1 "dejaviewd starts with the new embedder"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$T/a2.ppm"
has "$BODY" '"unknown":true' "before re-embedding: unknown (the old vectors are not compared)"
check "the log says how many faces another embedder made, and what brings them back" \
	grep -q "gallery: 1 faces are stamped with another embedder (example_color_grid example-1-grid2) and are not matched with example_color_grid example-1-grid3: .dejaviewd admin reembed. re-embeds them" "$T/dejaviewd.log"
dv_stop
out=$("$DEJAVIEWD" -c "$T/c3.yaml" admin reembed 2>&1)
has "$out" "re-embedded 1 face with example_color_grid (example-1-grid3)" "admin reembed re-embeds from the stored chip"
is "$(psql_db -c "SELECT fingerprint || ' ' || dim FROM dv_faces")" "example-1-grid3 27" "the face is stamped with the new model"
out=$("$DEJAVIEWD" -c "$T/c3.yaml" admin reembed 2>&1)
has "$out" "re-embedded 0 faces" "a second run has nothing to do"
mv "$T/dejaviewd.log" "$T/dejaviewd.before.log"
dv_start "$T/c3.yaml" || { ok 1 "dejaviewd restarts"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$T/a2.ppm"
has "$BODY" '"name": "Alice"' "after re-embedding: recognised with the new model"
check "and the log no longer warns" sh -c "! grep -q 'stamped with another embedder' '$T/dejaviewd.log'"
dv_stop
done_testing
