#!/bin/sh
# End to end with a PostgreSQL of its own: --migrate applies the numbered
# migrations once; readiness follows the database down and back up without a
# restart of dejaviewd.
. "$top_srcdir/tests/e2e/lib.sh"
need psql
PGD="$T/pg"
conn=$("$top_srcdir/scripts/pg.sh" start "$PGD") || skip_all "cannot start PostgreSQL"
PG_HOST=$(echo "$conn" | sed 's/.*host=\([^ ]*\).*/\1/')
DV_DB_NAME=dejaview
DV_DB="$conn"
stop_pg() { "$top_srcdir/scripts/pg.sh" stop "$PGD"; }
trap 'cleanup; stop_pg' EXIT
write_conf "$T/c.yaml" "migrate_on_start: false" "$DEFAULT_PLUGINS"

NMIG=$(ls "$top_srcdir"/core/sql/*.sql | wc -l)
out=$("$DEJAVIEWD" --migrate -c "$T/c.yaml" 2>"$T/migrate.err")
is "$out" "applied $NMIG migrations; schema at version $NMIG" "--migrate applies the pending migrations"
out=$("$DEJAVIEWD" --migrate -c "$T/c.yaml" 2>"$T/migrate.err")
is "$out" "applied 0 migrations; schema at version $NMIG" "a second --migrate has nothing to do"
is "$(psql_db -c 'SELECT string_agg(version || name, $$ $$ ORDER BY version) FROM dv_schema_migrations')" "1schema 2service 3decisions 4hooks 5keys 6outcomes 7event_faces" "the migrations are recorded"

write_conf "$T/bad.yaml" "$DEFAULT_PLUGINS"
sed -i "s|^database: .*|database: \"host=$T/none port=5432 user=x dbname=y\"|" "$T/bad.yaml"
"$DEJAVIEWD" --migrate -c "$T/bad.yaml" >"$T/o" 2>&1
is "$?" 1 "--migrate fails without a database"
check "and says why" grep -q "cannot connect to the database" "$T/o"

dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
check "ready with the database up" wait_ready
stop_pg
not_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 503 ]; }
check "/readyz turns 503 when PostgreSQL stops" eventually not_ready
http GET /readyz
has "$BODY" '"database":"down"' "naming the database"
http GET /healthz
is "$CODE" 200 "the daemon keeps serving"
"$top_srcdir/scripts/pg.sh" start "$PGD" >/dev/null
check "ready again once PostgreSQL is back, without a restart" wait_ready
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
