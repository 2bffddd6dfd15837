#!/bin/sh
# End to end: SIGHUP builds a new configuration generation and swaps it in
# only when valid; a bad reload keeps the old one serving and logs why.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
conf() { write_conf "$T/c.yaml" "limits: {faces: $1}" "$DEFAULT_PLUGINS"; }
conf 1
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
"$IMG" 100 40 2,2,10 20,2,10 40,2,10 >"$T/three.ppm"
http POST /v1/detect --data-binary @"$T/three.ppm"
has "$BODY" '"face_count":1,"faces_truncated":true' "generation 1: one face kept"

conf 5
kill -HUP "$DV_PID"
check "the reload takes effect" wait_metric 'dv_config_reloads_total{result="ok"}' 1
http POST /v1/detect --data-binary @"$T/three.ppm"
has "$BODY" '"face_count":3' "after SIGHUP the new limit applies"
case $BODY in *truncated*) ok 1 "no truncation under generation 2" ;; *) ok 0 "no truncation under generation 2" ;; esac
http GET /metrics
has "$BODY" 'dv_config_generation 2' "generation 2 is in use"

# a typo: refused, old generation kept
write_conf "$T/c.yaml" "limits: {faces: 1, quue: 3}" "$DEFAULT_PLUGINS"
kill -HUP "$DV_PID"
check "the reload is refused" wait_metric 'dv_config_reloads_total{result="failed"}' 1
http POST /v1/detect --data-binary @"$T/three.ppm"
case $BODY in *truncated*) ok 1 "a bad reload keeps the old generation" ;; *) ok 0 "a bad reload keeps the old generation" ;; esac
check "the refusal is logged with file:line:column and the key" grep -q "reload refused: $T/c.yaml:5:20: unknown key 'limits.quue' (did you mean 'queue'?)" "$T/dejaviewd.log"
# a plugin that cannot load: refused too
write_conf "$T/c.yaml" "limits: {faces: 1}" 'plugins:
  detector: { so: no_such_plugin }'
kill -HUP "$DV_PID"
check "that reload is refused too" wait_metric 'dv_config_reloads_total{result="failed"}' 2
check "a plugin that does not load refuses the reload" grep -q "plugins.detector: cannot load .*no_such_plugin.so" "$T/dejaviewd.log"
http GET /metrics
has "$BODY" 'dv_config_reloads_total{result="ok"} 1' "one good reload"
has "$BODY" 'dv_config_reloads_total{result="failed"} 2' "two refused reloads"
has "$BODY" 'dv_config_generation 2' "still generation 2"
http POST /v1/detect --data-binary @"$T/three.ppm"
is "$CODE" 200 "and still serving"

# reload under load: no request fails. Each reload is sent once the previous
# one took effect and while the load is still running (it runs until told to stop).
conf 2
"$DV_TOOLS/dv_load" -p "$HTTP" -c 8 -n 0 -u /v1/detect -f "$T/three.ppm" -t "$PATIENCE" -j >"$T/load.json" &
lp=$!
for i in 1 2 3 4 5; do
	conf $((i % 2 + 1)); kill -HUP "$DV_PID"
	wait_metric 'dv_config_reloads_total{result="ok"}' $((i + 1)) || echo "# reload $i did not take effect"
done
kill -TERM $lp
wait $lp
load=$(cat "$T/load.json")
echo "# load during the reloads: $load"
has "$load" '"s503":0,"other":0,"errors":0,"timed_out":0' "requests during 5 reloads: all 200"
check "the load ran across all five reloads" metric_is 'dv_config_reloads_total{result="ok"}' 6
dv_stop
done_testing
