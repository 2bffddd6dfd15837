#!/bin/sh
# End to end under load: 10,000 requests from 500 concurrent connections to
# a pipeline of the example plugins with a queue of 16 get only 200s and
# 503s, no hang and no crash, and the daemon's memory returns to its
# baseline afterwards.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
write_conf "$T/c.yaml" "workers: 2" "limits: {queue: 16, connections: 1024, connections_per_address: 1024}" "$DEFAULT_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
"$IMG" 320 240 20,20,60 120,40,50,250,200,200 220,100,60,200,250,200 >"$T/a.ppm"
LOAD="$DV_TOOLS/dv_load"

# warm up, then take the baseline once the idle trim has run (a second after
# the last job: the test waits for the daemon to say so, not for a time)
"$LOAD" -p "$HTTP" -c 500 -n 2000 -u /v1/recognize -f "$T/a.ppm" -t "$PATIENCE" -j >"$T/warm.json"
wait_metric dv_memory_trimmed_idle 1
base=$(rss_kb "$DV_PID")
"$LOAD" -p "$HTTP" -c 500 -n 10000 -u /v1/recognize -f "$T/a.ppm" -t "$PATIENCE" -j >"$T/run.json"
rc=$?
run=$(cat "$T/run.json")
echo "# load: $run"
is "$rc" 0 "the load run completes without errors or timeouts"
has "$run" '"requests":10000,' "all 10,000 requests were answered"
has "$run" '"other":0,"errors":0,"timed_out":0' "only 200s and 503s, no errors, no hang"
s200=$(echo "$run" | sed 's/.*"s200":\([0-9]*\).*/\1/')
check "most requests were served ($s200 x 200)" test "$s200" -gt 0
check "the daemon is alive" kill -0 "$DV_PID"
http GET /healthz
is "$CODE" 200 "and serving"
check "freed memory is returned once idle" wait_metric dv_memory_trimmed_idle 1
after=$(rss_kb "$DV_PID")
echo "# rss: baseline ${base} kB, after ${after} kB"
# within 10% + 2 MiB of the baseline (allocator noise), far below the peak
limit=$((base + base / 10 + 2048))
check "memory returns to its baseline (${after} kB <= ${limit} kB)" test "$after" -le "$limit"
http GET /metrics
has "$BODY" 'dv_jobs_inflight 0' "nothing left in flight"
has "$BODY" 'dv_queue_depth 0' "queue empty"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
