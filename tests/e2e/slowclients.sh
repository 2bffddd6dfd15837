#!/bin/sh
# One client cannot starve the others (issue 13, part 2).
# 1. 1,500 connections from 127.0.0.2 that each send half a request header
#    and stop: the address holds limits.connections_per_address (64 here) of
#    them, the rest are refused at once with 429 too_many_connections; the
#    held ones would only be cut an hour from now (header_timeout_ms), yet a
#    client on 127.0.0.1 gets every recognition answered, and /healthz on the
#    API listener and on the operator listener. The same for 100 idle TCP
#    connections from 127.0.0.3, and a frame from 127.0.0.1 is still served.
# 2. Deadlines: a request whose headers stop coming gets 408 request_timeout
#    (JSON) after limits.header_timeout_ms, not the idle timeout; a body sent
#    slower than limits.body_min_rate gets 408 after its grace; the same body
#    sent fast is served.
# Times are printed; the checks are what happens, and lower bounds (a
# deadline never fires early), never how fast this machine answers.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
STALL="$DV_TOOLS/dv_stall"
write_conf "$T/c.yaml" "workers: 2" "limits: {connections_per_address: 64, header_timeout_ms: 3600000, idle_timeout_ms: 3600000}" \
	"$DEFAULT_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
METRICS_URL=$OPS_URL
"$IMG" 100 80 20,20,40 >"$T/a.ppm"
printf 'POST /v1/recognize HTTP/1.1\r\nHost: dejaview\r\nContent-Ty' >"$T/half"

# --- 1. stalled connections from one address
"$STALL" -b 127.0.0.3 -r "$T/tcp_refusal" "$TCP" hold 100 /dev/null >"$T/tcp_hold.out" &
TH=$!
check "100 idle TCP connections from 127.0.0.3 are made" eventually grep -q '^connected' "$T/tcp_hold.out"
check "64 of them are held" wait_metric 'dv_connections{listener="tcp"}' 64
check "the other 36 are refused" wait_metric 'dv_connections_refused_total{reason="per_address"}' 36
"$STALL" -b 127.0.0.2 -r "$T/http_refusal" "$HTTP" hold 1500 "$T/half" >"$T/hold.out" &
SH=$!
check "1,500 stalled HTTP connections from 127.0.0.2 are made" eventually grep -q '^connected' "$T/hold.out"
check "64 of them are held" wait_metric 'dv_connections{listener="http"}' 64
check "the other 1,436 are refused at once" wait_metric 'dv_connections_refused_total{reason="per_address"}' 1472
served=0; times=
for i in $(seq 1 20); do
	t0=$(date +%s%3N)
	code=$(curl -s -m "$PATIENCE" -o "$T/r" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary @"$T/a.ppm" "$URL/v1/recognize")
	times="$times $(( $(date +%s%3N) - t0 ))"
	[ "$code" = 200 ] && grep -q '"face_count":1' "$T/r" && served=$((served + 1))
done
is "$served" 20 "meanwhile every recognition from 127.0.0.1 is answered"
echo "# recognitions from 127.0.0.1 during the stall (ms):$times"
t0=$(date +%s%3N)
code=$(curl -s -m "$PATIENCE" -o /dev/null -w '%{http_code}' "$URL/healthz")
t1=$(date +%s%3N)
code_ops=$(curl -s -m "$PATIENCE" -o /dev/null -w '%{http_code}' "$OPS_URL/healthz")
t2=$(date +%s%3N)
is "$code" 200 "/healthz on the API listener is answered"
is "$code_ops" 200 "/healthz on the operator listener is answered"
echo "# /healthz during the stall: API listener $((t1 - t0)) ms, operator listener $((t2 - t1)) ms"
printf 'hello' >"$T/hello"
is "$("$DV_TOOLS/dv_frametool" -t $((PATIENCE * 1000)) "$TCP" frame 0x01 7 "$T/hello")" "frame type=0x81 id=7 len=5 body=hello" \
	"a TCP frame from 127.0.0.1 is answered"
kill -TERM "$SH" "$TH"
wait "$SH" "$TH"
has "$(cat "$T/hold.out")" "held=64 refused=1436" "the stalling client: 64 held, 1,436 refused"
has "$(cat "$T/tcp_hold.out")" "held=64 refused=36" "the idle TCP client: 64 held, 36 refused"
has "$(cat "$T/http_refusal" 2>/dev/null)" '{"error":{"code":"too_many_connections"' "a refused HTTP connection is told why, in JSON (when the reply beat the reset)"
has "$(cat "$T/http_refusal" 2>/dev/null)" 'HTTP/1.1 429 ' "with 429"
has "$(tr -d '\000' <"$T/tcp_refusal" 2>/dev/null)" '"code":"too_many_connections"' "a refused TCP connection gets an error frame"
check "their slots are free again" wait_metric 'dv_connections{listener="http"}' 0
dv_stop

# --- 2. deadlines for a request's head and body
write_conf "$T/d.yaml" "workers: 1" "limits: {header_timeout_ms: 600, body_timeout_ms: 600, body_min_rate: 1KiB}" "$DEFAULT_PLUGINS"
dv_start "$T/d.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
METRICS_URL=$OPS_URL
out=$("$STALL" -t $((PATIENCE * 1000)) "$HTTP" send "$T/half" 0)
has "$out" "HTTP/1.1 408 Request Timeout" "headers that stop coming: 408"
has "$out" '{"error":{"code":"request_timeout","message":"the request line and headers did not arrive within 600 ms (limits.header_timeout_ms)"}}' \
	"as JSON, naming the limit"
ms=$(printf '%s' "$out" | sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p')
check "not before the deadline, give or take the coarse clock (after ${ms} ms)" test "${ms:-0}" -ge 500
"$IMG" 100 100 20,20,40 >"$T/b.ppm"
head_of() { printf 'POST /v1/detect HTTP/1.1\r\nHost: dejaview\r\nAuthorization: Bearer %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' "$KEY" "$(wc -c <"$1")"; }
{ head_of "$T/b.ppm"; cat "$T/b.ppm"; } >"$T/req"
# 30,000 bytes at 300 bytes/s: behind 600 ms + size / 1 KiB/s after ~0.85 s
out=$("$STALL" -t $((PATIENCE * 1000)) "$HTTP" send "$T/req" 300)
has "$out" "HTTP/1.1 408 Request Timeout" "a body slower than limits.body_min_rate: 408"
has "$out" '"code":"request_timeout","message":"the request body did not arrive in time' "naming the body's limits"
total=$(printf '%s' "$out" | sed -n 's/.*total_ms=\([0-9]*\).*/\1/p')
check "not before its grace of 600 ms (cut after ${total} ms)" test "${total:-0}" -ge 500
out=$("$STALL" -t $((PATIENCE * 1000)) "$HTTP" send "$T/req" 0)
has "$out" "HTTP/1.1 200 OK" "the same request sent at once is served"
has "$out" '"face_count":1' "with its result"
check "the head's timeout is counted" metric_is 'dv_timeouts_total{listener="http",phase="header"}' 1
check "and the body's" metric_is 'dv_timeouts_total{listener="http",phase="body"}' 1
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
