#!/bin/sh
# End to end: dejaviewd against a real PostgreSQL answers /healthz, /readyz
# (200 only with the database and every plugin up) and /metrics.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
write_conf "$T/c.yaml" "$DEFAULT_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
ok 0 "dejaviewd starts on ephemeral ports (http $HTTP, tcp $TCP)"

http GET /healthz
is "$CODE" 200 "/healthz answers 200"
is "$BODY" '{"status":"ok"}' "/healthz body"
check "/readyz becomes 200 once the database is reached" wait_ready
http GET /readyz
has "$BODY" '"ready":true' "/readyz says ready"
has "$BODY" '"database":"up"' "/readyz reports the database"
has "$BODY" "\"workers_ready\":$(nproc)" "/readyz reports the workers (by default one per CPU: $(nproc))"
has "$BODY" '"detector":"detect_example"' "/readyz names the plugins"
has "$HDRS" 'Content-Type: application/json' "JSON content type"
has "$HDRS" 'X-Request-Id: ' "request id header"
is "$(psql_db -c 'SELECT max(version) FROM dv_schema_migrations')" "$(ls "$top_srcdir"/core/sql/*.sql | wc -l)" "migrations were applied at start"
is "$(psql_db -c "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('dv_tenants','dv_api_keys','dv_persons','dv_faces','dv_events','dv_hook_state')")" 6 "the schema has its tables"

http POST /healthz
is "$CODE" 405 "POST /healthz is 405"
has "$HDRS" "Allow: GET, HEAD" "405 says what is allowed"
has "$BODY" '"code":"method_not_allowed"' "405 has a JSON error"

http GET /metrics
is "$CODE" 200 "/metrics answers 200"
has "$HDRS" "text/plain; version=0.0.4" "Prometheus content type"
has "$BODY" 'dv_requests_total{route="/healthz",status="200"} 1' "requests by route and status"
has "$BODY" 'dv_requests_total{route="/healthz",status="405"} 1' "errors are counted by status"
has "$BODY" 'dv_queue_depth 0' "queue depth gauge"
has "$BODY" 'dv_stage_duration_seconds_bucket{stage="detect",le="0.001"}' "per-stage latency histograms"
has "$BODY" 'dv_database_up 1' "database gauge"
has "$BODY" 'dv_ready 1' "ready gauge"
dv_stop
is "$DV_RC" 0 "SIGTERM exits cleanly"

# Without a database the daemon serves but is never ready.
write_conf "$T/nodb.yaml" "$DEFAULT_PLUGINS"
sed -i 's/^database: .*/database: ""/' "$T/nodb.yaml"
dv_start "$T/nodb.yaml"
http GET /readyz
is "$CODE" 503 "/readyz is 503 without a database"
has "$BODY" '"reason":"no database is configured"' "and says why"
http GET /healthz
is "$CODE" 200 "/healthz is still 200 (the process is alive)"
dv_stop

# A database that cannot be reached: not ready, and the daemon keeps serving.
write_conf "$T/baddb.yaml" "$DEFAULT_PLUGINS"
sed -i "s|^database: .*|database: \"host=$T port=1 user=nobody dbname=none\"|" "$T/baddb.yaml"
dv_start "$T/baddb.yaml"
http GET /readyz
is "$CODE" 503 "/readyz is 503 when the database is unreachable"
has "$BODY" '"database":"down"' "and reports it down"
dv_stop
done_testing
