#!/bin/sh
# Tenants on two PostgreSQL primaries (issue 19, docs/scaling.md): shard A and
# shard B each have a primary and a node; HAProxy (deploy/haproxy-shards.cfg)
# sends each request to its tenant's shard by a map of the keys' public
# prefixes that each shard writes (dejaviewd admin shard-map). A tenant's persons, faces and events are written to its
# shard's database only, it is recognised through the one address, and the
# other shard's node does not know its key.
. "$top_srcdir/tests/e2e/lib.sh"
need haproxy psql
PG="$top_srcdir/scripts/pg.sh"
PA="$T/pga" PB="$T/pgb"
"$PG" start "$PA" >/dev/null && "$PG" start "$PB" >/dev/null || skip_all "cannot start PostgreSQL"
HA=$("$PG" conninfo "$PA" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
HB=$("$PG" conninfo "$PB" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
HAP=
stop_all() {
	[ -n "$HAP" ] && kill "$HAP" 2>/dev/null
	[ -n "${PID_B:-}" ] && kill -TERM "$PID_B" 2>/dev/null && wait "$PID_B" 2>/dev/null
	"$PG" stop "$PA" >/dev/null 2>&1; "$PG" stop "$PB" >/dev/null 2>&1
}
trap 'stop_all; DV_DB= cleanup' EXIT
J='Content-Type: application/json'
# shard A's node
DV_DB="host=$HA port=5432 user=postgres dbname=dejaview"
write_conf "$T/a.yaml" "$SERVICE_PLUGINS" "node: a1"
dv_start "$T/a.yaml" || { ok 1 "shard A's node starts"; done_testing; }
wait_ready
HTTP_A=$HTTP OPS_A=$OPS KEY_A=$KEY URL_A=$URL
# shard B's node (its own tenant, made on its own database)
DV_DB="host=$HB port=5432 user=postgres dbname=dejaview"
write_conf "$T/b.yaml" "$SERVICE_PLUGINS" "node: b1"
mv "$T/dejaviewd.log" "$T/a.log"
PID_A=$DV_PID
DV_PID=
KEY=x
dv_start "$T/b.yaml" || { ok 1 "shard B's node starts"; done_testing; }
wait_ready
PID_B=$DV_PID HTTP_B=$HTTP OPS_B=$OPS URL_B=$URL
KEY_B=$(new_tenant shop_b "$T/b.yaml")
DV_PID=$PID_A
check "each shard has its tenant" test -n "$KEY_A" -a -n "$KEY_B"
# the tenant -> shard map: each shard's keys' public prefixes, from its own database
"$DEJAVIEWD" -c "$T/b.yaml" admin shard-map shard_b >"$T/tenants.map"
is "$(cat "$T/tenants.map")" "$(printf '%s' "$KEY_B" | cut -c5-16) shard_b" "admin shard-map: shard B's key prefix -> shard_b"
check "the map holds no secret" sh -c "! grep -q '$(printf '%s' "$KEY_B" | cut -c17-)' '$T/tenants.map'"
LB=$(free_ports 1) || skip_all "no free port"
lb_start() { # [-sf OLD_PID]: start HAProxy (or reload it: the old one hands over and leaves)
	DV_LB_BIND="127.0.0.1:$LB" DV_TENANT_MAP="$T/tenants.map" DV_SHARD_A_HTTP="127.0.0.1:$HTTP_A" DV_SHARD_A_OPS=$OPS_A \
		DV_SHARD_B_HTTP="127.0.0.1:$HTTP_B" DV_SHARD_B_OPS=$OPS_B \
		haproxy -f "$top_srcdir/deploy/haproxy-shards.cfg" -D -p "$T/haproxy.pid" "$@" >>"$T/haproxy.log" 2>&1
	HAP=$(cat "$T/haproxy.pid" 2>/dev/null)
}
lb_start
check "HAProxy starts with deploy/haproxy-shards.cfg" test -n "$HAP"
URL="http://127.0.0.1:$LB"
lb_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_A" "$URL/v1/persons")" = 200 ]; }
check "the balancer answers" eventually lb_up
as() { KEY=$1; shift; http "$@"; }
"$IMG" 120 90 20,20,40,250,250,120 >"$T/ana.ppm"
"$IMG" 120 90 30,30,50,40,90,220 >"$T/bo.ppm"
as "$KEY_A" POST /v1/persons -H "$J" -d '{"name":"Ana"}'
is "$CODE" 201 "shop A's person through the balancer"
ana=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
as "$KEY_A" POST "/v1/persons/$ana/faces" --data-binary @"$T/ana.ppm"
is "$CODE" 201 "and her face"
as "$KEY_B" POST /v1/persons -H "$J" -d '{"name":"Bo"}'
is "$CODE" 201 "shop B's person through the balancer"
bo=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
as "$KEY_B" POST "/v1/persons/$bo/faces" --data-binary @"$T/bo.ppm"
is "$CODE" 201 "and his face"
qa() { psql -h "$HA" -U postgres -d dejaview -XAtc "$1"; }
qb() { psql -h "$HB" -U postgres -d dejaview -XAtc "$1"; }
is "$(qa "SELECT string_agg(name, ',') FROM dv_persons")" "Ana" "shard A's database holds Ana only"
is "$(qb "SELECT string_agg(name, ',') FROM dv_persons")" "Bo" "shard B's database holds Bo only"
is "$(qa "SELECT count(*) FROM dv_faces"):$(qb "SELECT count(*) FROM dv_faces")" "1:1" "one face in each"
as "$KEY_A" POST /v1/recognize --data-binary @"$T/ana.ppm"
has "$BODY" '"name": "Ana"' "shop A recognises Ana through the balancer"
as "$KEY_B" POST /v1/recognize --data-binary @"$T/bo.ppm"
has "$BODY" '"name": "Bo"' "shop B recognises Bo through the balancer"
as "$KEY_B" POST /v1/recognize --data-binary @"$T/ana.ppm"
has "$BODY" '"unknown":true' "and Ana is a stranger to shop B"
is "$(qa "SELECT string_agg(DISTINCT t.name, ',') FROM dv_events e JOIN dv_tenants t ON t.id = e.tenant_id")" "test" \
	"shard A's events are shop A's"
is "$(qb "SELECT string_agg(DISTINCT t.name, ',') FROM dv_events e JOIN dv_tenants t ON t.id = e.tenant_id")" "shop_b" \
	"shard B's events are shop B's"
KEY=$KEY_B; CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_B" "$URL_A/v1/persons")
is "$CODE" 401 "shard A's node does not know shop B's key"
# a new shop on shard B: not in the map yet, then its line written and HAProxy reloaded
KEY_C=$("$DEJAVIEWD" -c "$T/b.yaml" admin tenant create shop_c 2>/dev/null)
as "$KEY_C" GET /v1/persons
is "$CODE" 401 "a new shop on shard B, before the map has its line: sent to shard A, which refuses it"
"$DEJAVIEWD" -c "$T/b.yaml" admin shard-map shard_b >"$T/tenants.map"
is "$(wc -l <"$T/tenants.map" | tr -d ' ')" 2 "admin shard-map writes both of shard B's keys"
lb_start -sf "$HAP"
c_routed() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_C" "$URL/v1/persons")" = 200 ]; }
check "after the map is written again and HAProxy reloaded, the new shop reaches shard B" eventually c_routed
as "$KEY_A" POST /v1/recognize --data-binary @"$T/ana.ppm"
has "$BODY" '"name": "Ana"' "shop A is still served by shard A"
DV_DB= # the shards' databases go with their clusters (stop_all), not one by one
done_testing
