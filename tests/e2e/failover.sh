#!/bin/sh
# Database failover (issue 13, part 6): a primary and a synchronous streaming
# standby (two private clusters, the standby made with pg_basebackup);
# dejaviewd's conninfo names both hosts with target_session_attrs=read-write.
# Enrolments run concurrently; after the 30th acknowledgement the primary is
# killed with SIGKILL. Until the standby is promoted the server answers 503
# database_unavailable (and /readyz 503); once it is, the server reconnects by
# itself, and every enrolment it acknowledged is on the new primary (the
# commit waited for the standby). Then it serves and enrols as before.
. "$top_srcdir/tests/e2e/lib.sh"
need psql
PG="$top_srcdir/scripts/pg.sh"
P1="$T/primary" P2="$T/standby"
"$PG" start "$P1" >/dev/null || skip_all "cannot start PostgreSQL"
stop_all() { "$PG" stop "$P1" >/dev/null 2>&1; "$PG" stop "$P2" >/dev/null 2>&1; }
trap 'cleanup; stop_all' EXIT
H1=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<EOF
$("$PG" conninfo "$P1")
EOF
)
PG_HOST=$H1
DV_DB_NAME=dvt_failover
psql_admin -qc "CREATE DATABASE $DV_DB_NAME" >/dev/null
"$PG" standby "$P2" "$P1" sync >/dev/null || { ok 1 "a synchronous standby streams"; done_testing; }
ok 0 "a synchronous standby streams"
H2=$("$PG" conninfo "$P2" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
DV_DB="host=$H1,$H2 port=5432,5432 user=postgres dbname=$DV_DB_NAME target_session_attrs=read-write"
write_conf "$T/c.yaml" "workers: 2" "limits: {queue: 256}" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
check "ready on the primary" wait_ready
METRICS_URL=$OPS_URL
J='Content-Type: application/json'
N=120
i=0
while [ $i -lt $N ]; do
	i=$((i + 1))
	"$IMG" 100 80 20,20,40,$((60 + i % 190)),$((250 - (i * 7) % 120)),$((90 + (i * 13) % 160)) >"$T/f$i.ppm"
	http POST /v1/persons -H "$J" -d "{\"name\":\"P$i\"}"
	printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1 >"$T/pid$i"
done
is "$(psql -h "$H2" -p 5432 -U postgres -d "$DV_DB_NAME" -XAtc 'SELECT count(*) FROM dv_persons')" $N \
	"$N persons, on the standby too"
# enrolments, four at a time, each retried by nobody: an error is an error
enrol() {
	j=$1
	while [ "$j" -le $N ]; do
		curl -s -m "$PATIENCE" -o "$T/r$j" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary @"$T/f$j.ppm" \
			"$URL/v1/persons/$(cat "$T/pid$j")/faces" >"$T/c$j" 2>/dev/null
		j=$((j + 4))
	done
}
EP=
for s in 1 2 3 4; do enrol $s & EP="$EP $!"; done
acks() { grep -lx 201 "$T"/c[0-9]* 2>/dev/null | wc -l; }
acks_ge() { [ "$(acks)" -ge "$1" ]; }
check "the 30th enrolment is acknowledged" eventually acks_ge 30
"$PG" kill "$P1"
echo "# primary killed after $(acks) acknowledgements"
down() { http POST /v1/recognize --data-binary @"$T/f1.ppm"; [ "$CODE" = 503 ]; }
check "while no primary is up: 503" eventually down
has "$BODY" '"code":"database_unavailable"' "database_unavailable"
has "$HDRS" "Retry-After: 1" "with Retry-After"
not_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$OPS_URL/readyz")" = 503 ]; }
check "/readyz says not ready" eventually not_ready
"$PG" promote "$P2"
ok $? "the standby is promoted"
check "dejaviewd reconnects by itself to the new primary" wait_ready
wait $EP
acked=0; missing=0; other=0
i=0
while [ $i -lt $N ]; do
	i=$((i + 1))
	c=$(cat "$T/c$i" 2>/dev/null)
	case $c in
	201)
		acked=$((acked + 1))
		f=$(sed -n 's/.*"face_id":\([0-9]*\).*/\1/p' "$T/r$i")
		[ "$(psql -h "$H2" -p 5432 -U postgres -d "$DV_DB_NAME" -XAtc "SELECT count(*) FROM dv_faces WHERE id = ${f:-0}")" = 1 ] ||
			{ missing=$((missing + 1)); echo "# acknowledged face $f (request $i) is missing"; }
		;;
	503) ;;
	*) other=$((other + 1)); echo "# request $i: $c $(head -c 200 "$T/r$i" 2>/dev/null)" ;;
	esac
done
echo "# enrolments: $acked acknowledged, $((N - acked - other)) answered 503, $other otherwise"
check "some were acknowledged before the kill ($acked)" test "$acked" -ge 30
is "$missing" 0 "every acknowledged enrolment is on the new primary"
is "$other" 0 "the others were answered 503 (no hang, no other error)"
i=1
while [ $i -le $N ] && [ "$(cat "$T/c$i")" != 201 ]; do i=$((i + 1)); done
http POST /v1/recognize --data-binary @"$T/f$i.ppm"
has "$BODY" "\"name\": \"P$i\"" "an acknowledged person is recognised after the failover"
http POST /v1/persons -H "$J" -d '{"name":"After"}'
is "$CODE" 201 "and writes go to the new primary"
check "the daemon never restarted" kill -0 "$DV_PID"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
