#!/bin/sh
# The approximate matcher in the service (issue 19): dejaviewd with
# match_hnsw (exact_below 4, so that the tenant's gallery is an HNSW graph
# after four enrolments): people are recognised through the graph, a person
# erased through the API is no longer found (and the count drops), the others
# still are, and a restart builds the graph again from PostgreSQL. With
# persist_dir the graph is written there (privately), read back at the next
# start instead of built, and a person erased while the server was down is
# erased from it when the host's gallery load ends (matcher_loaded).
# tests/unit/test_match_hnsw.c inspects the index and its file themselves.
. "$top_srcdir/tests/e2e/lib.sh"
[ -f "$DV_PLUGIN_BUILD_DIR/match_hnsw.so" ] || skip_all "match_hnsw is not built (apt-get install libhnswlib-dev, then configure)"
pg_up
PLUG=$(printf '%s\n' "$SERVICE_PLUGINS" | sed 's/matcher:    { so: match_flat }/matcher:    { so: match_hnsw, exact_below: 4 }/')
write_conf "$T/c.yaml" "$PLUG"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts with match_hnsw"; done_testing; }
wait_ready
check "the log names match_hnsw" log_has "match_hnsw exact_below=4"
J='Content-Type: application/json'
i=0
for who in Ann Ben Cat Dan Eve Fay; do
	i=$((i + 1))
	"$IMG" 120 90 20,20,40,$((40 * i)),$((250 - 30 * i)),$((60 + 25 * i)) >"$T/$who.ppm"
	http POST /v1/persons -H "$J" -d "{\"name\":\"$who\"}"
	printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1 >"$T/$who.id"
	http POST "/v1/persons/$(cat "$T/$who.id")/faces" --data-binary @"$T/$who.ppm"
	[ "$CODE" = 201 ] || echo "# $who: $CODE $BODY"
done
check "the tenant's graph is built (in the background)" wait_log "match_hnsw graph built tenant="
named() { http POST /v1/recognize --data-binary @"$T/$1.ppm"; case $BODY in *"\"name\": \"$1\""*) return 0 ;; esac; return 1; }
check "Ann is recognised (six faces: through the graph)" eventually named Ann
for who in Ben Cat Dan Eve Fay; do check "$who too" named "$who"; done
count() { curl -s "$OPS_URL/metrics" | awk '$1 ~ /^dv_gallery_faces/ { s += $2 } END { print s + 0 }'; }
is "$(count)" 6 "the gallery holds six faces"
http DELETE "/v1/persons/$(cat "$T/Cat.id")"
is "$CODE" 200 "Cat is erased through the API"
gone() { http POST /v1/recognize --data-binary @"$T/Cat.ppm"; case $BODY in *'"name": "Cat"'*) return 1 ;; esac; return 0; }
check "Cat is no longer found" eventually gone
is "$(count)" 5 "the gallery holds five"
for who in Ann Ben Dan Eve Fay; do check "$who is still recognised" named "$who"; done
dv_stop
is "$DV_RC" 0 "clean exit"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd restarts"; done_testing; }
wait_ready
check "after a restart the graph is built again from PostgreSQL" eventually sh -c "grep -c 'match_hnsw graph built tenant=' '$T/dejaviewd.log' | grep -q '^[2-9]'"
check "Fay is recognised" eventually named Fay
check "and Cat is not" gone
dv_stop

# persist_dir: kept across restarts
PLUG=$(printf '%s\n' "$SERVICE_PLUGINS" | sed "s|matcher:    { so: match_flat }|matcher:    { so: match_hnsw, exact_below: 4, rebuild_fraction: 0.5, persist_dir: \"$T/hnsw\" }|")
write_conf "$T/p.yaml" "$PLUG"
dv_start "$T/p.yaml" || { ok 1 "dejaviewd starts with persist_dir"; done_testing; }
wait_ready
check "with persist_dir the built graph is written there" wait_log "match_hnsw graph written tenant="
is "$(stat -c %a "$T/hnsw")" 700 "persist_dir is private (0700)"
is "$(stat -c %a "$T"/hnsw/tenant-*.hnsw | sort -u)" 600 "and so is the index file (0600)"
dv_stop
is "$DV_RC" 0 "clean exit"
psql_db -c "DELETE FROM dv_persons WHERE id = $(cat "$T/Dan.id")" >/dev/null
is "$(psql_db -c "SELECT count(*) FROM dv_faces")" 4 "Dan is erased in the database while the server is down"
built=$(grep -c 'match_hnsw graph built tenant=' "$T/dejaviewd.log")
dv_start "$T/p.yaml" || { ok 1 "dejaviewd restarts with persist_dir"; done_testing; }
wait_ready
check "the restart reads the graph from persist_dir" log_has "match_hnsw graph read tenant="
check "the face erased while it was down is erased from the graph (and its file)" \
	log_has "reconciled with the database: faces=4 erased_while_down=1 changed=0 added_since=0"
dan_gone() { http POST /v1/recognize --data-binary @"$T/Dan.ppm"; case $BODY in *'"name": "Dan"'*) return 1 ;; esac; return 0; }
check "Dan is not recognised" dan_gone
for who in Ann Ben Eve Fay; do check "$who is recognised" named "$who"; done
sleep 1
is "$(grep -c 'match_hnsw graph built tenant=' "$T/dejaviewd.log")" "$built" "the graph was not built again (one erased of five is under rebuild_fraction 0.5)"
done_testing
