#!/bin/sh
# End to end over the raw TCP listener: ping, recognize, 1,000 pipelined
# requests matched by id, and malformed input answered with an error frame
# or a clean close while other connections keep being served.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
write_conf "$T/c.yaml" "$DEFAULT_PLUGINS" "limits: {frame_bytes: 64KiB, body_timeout_ms: 700, queue: 1024, inflight_per_connection: 1000}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
FT="$DV_TOOLS/dv_frametool"
"$IMG" 80 60 10,10,20 >"$T/a.ppm"
printf 'hello' >"$T/hello"

out=$(DV_API_KEY= "$FT" "$TCP" frame 0x10 3 "$T/a.ppm")
has "$out" '"code":"unauthorized","message":"send an AUTH frame with an API key first"' "RECOGNIZE before AUTH is refused"
printf 'dvk_000000000000000000000000000000000000000000000000000' >"$T/badkey"
out=$(DV_API_KEY= "$FT" "$TCP" frame 0x02 4 "$T/badkey")
has "$out" 'frame type=0xff id=4' "a wrong key in AUTH gets an error frame"
has "$out" '"code":"unauthorized"' "coded unauthorized"
printf '%s' "$KEY" >"$T/key"
out=$(DV_API_KEY= "$FT" "$TCP" frame 0x02 5 "$T/key")
has "$out" 'frame type=0x82 id=5' "the tenant's key is accepted (AUTH_OK)"
has "$out" '"name": "test"' "with the tenant's record"
out=$("$FT" "$TCP" frame 0x01 42 "$T/hello")
is "$out" "frame type=0x81 id=42 len=5 body=hello" "PING is answered with PONG and the same id"
out=$("$FT" "$TCP" frame 0x10 7 "$T/a.ppm")
has "$out" 'frame type=0x90 id=7' "RECOGNIZE is answered with a RESULT of the same id"
has "$out" '"box":{"x":10,"y":10,"w":20,"h":20}' "with the face"
out=$("$FT" "$TCP" frame 0x11 8 "$T/hello")
has "$out" 'frame type=0xff id=8 len=' "a bad image is an ERROR frame"
has "$out" '"code":"unsupported_media_type"' "with the same code as HTTP"
out=$("$FT" -t $((PATIENCE * 1000)) "$TCP" pipeline 1000 0x10 "$T/a.ppm")
has "$out" "pipeline sent=1000 received=1000 matched=1000 duplicates=0 errors=0" "1,000 pipelined requests all come back, matched by id"

out=$("$FT" "$TCP" frame 0x42 9 "$T/hello")
has "$out" "frame type=0xff id=9" "an unknown type gets an error frame"
has "$out" '"code":"bad_frame","message":"unknown frame type 0x42"' "naming the type"
printf 'GET / HTTP/1.1\r\n\r\n' >"$T/http"
out=$("$FT" "$TCP" raw "$T/http")
has "$out" '"message":"bad magic: not a dejaview frame"' "bad magic gets an error frame"
has "$out" "closed" "and the connection is closed"
printf 'DVF1\001\020\000\000\000\000\000\001\177\377\377\377' >"$T/big"
out=$("$FT" "$TCP" raw "$T/big")
has "$out" '"code":"body_too_large","message":"frame payload of 2147483647 bytes is over the limit of 65536"' "an oversize length is refused before reading it"
has "$out" "closed" "and the connection is closed"
printf 'DVF1\007\020\000\000\000\000\000\001\000\000\000\000' >"$T/ver"
out=$("$FT" "$TCP" raw "$T/ver")
has "$out" "unsupported frame version" "an unknown version is refused"
out=$("$FT" "$TCP" partial "$T/a.ppm")
has "$out" '"code":"timeout","message":"incomplete frame: timed out waiting for the rest (limits.body_timeout_ms' "a truncated frame times out with an error frame"
ms=$(echo "$out" | sed -n 's/elapsed_ms=//p')
# a timer never fires early: the lower bound is the behaviour; how much later is this machine's business
check "not before its deadline of 700 ms (limits.body_timeout_ms), give or take the coarse clock (cut after ${ms} ms)" test "${ms:-0}" -ge 600
out=$("$FT" "$TCP" frame 0x01 1 "$T/hello")
is "$out" "frame type=0x81 id=1 len=5 body=hello" "other connections are still served"
http GET /metrics
has "$BODY" 'dv_tcp_frames_total{result="bad"}' "bad frames are counted"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
