# lib.sh — shared by the end-to-end tests: TAP output, a private PostgreSQL
# (one cluster for the whole run, a fresh database per test), a generated
# config, and dejaviewd started on ephemeral loopback ports.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}" "${DEJAVIEWD:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/dv-e2e.XXXXXX")
chmod 755 "$T"
tap_n=0
tap_fail=0
DV_PID=
DV_DB=
ok() { # ok CONDITION-EXIT-STATUS NAME
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; tap_fail=$((tap_fail + 1)); fi
}
check() { # check NAME COMMAND...: ok if the command succeeds
	name=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok 0 "$name"; else ok 1 "$name"; sed 's/^/#   /' "$T/check.out" | head -20; fi
}
is() { # is GOT WANT NAME
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got:  $1"; echo "#   want: $2"; fi
}
has() { # has HAYSTACK NEEDLE NAME
	case $1 in *"$2"*) ok 0 "$3" ;; *) ok 1 "$3"; echo "#   $(printf '%s' "$1" | head -c 600)"; echo "#   does not contain: $2" ;; esac
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
skip() { # skip N REASON: N tests skipped
	i=0
	while [ $i -lt "$1" ]; do tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $2"; i=$((i + 1)); done
}
done_testing() { echo "1..$tap_n"; exit $((tap_fail > 0)); }

# Waiting. A test waits for what must happen (a ports file, a reload, a
# count in /metrics, an acknowledgement) by polling for it; PATIENCE seconds
# only guards against a hang and says nothing about speed. No check in the
# suite asserts how fast this machine is (benchmarks print figures).
PATIENCE=${DV_TEST_PATIENCE:-180}
eventually() { # eventually COMMAND...: 0 once it succeeds, 1 if it never does within PATIENCE
	_ev_end=$(( $(date +%s) + PATIENCE ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_ev_end" ] || return 1
		sleep 0.05
	done
}
# metric 'NAME{labels}': its value in the daemon's /metrics (empty if absent), read
# on the operator listener, which a test's own clients cannot crowd out
metric() { curl -s -m "$PATIENCE" "${METRICS_URL:-${OPS_URL:-$URL}}/metrics" | awk -v n="$1" '$1 == n {print $2; exit}'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_ge() { _m=$(metric "$1"); [ -n "$_m" ] && [ "${_m%.*}" -ge "$2" ]; }
# wait_metric 'NAME' VALUE: until /metrics shows exactly VALUE
wait_metric() { eventually metric_is "$1" "$2"; }
log_has() { grep -q -- "$1" "$T/dejaviewd.log"; }
# wait_log TEXT: until the daemon's log holds TEXT
wait_log() { eventually log_has "$1"; }

need() { for t in "$@"; do command -v "$t" >/dev/null 2>&1 || skip_all "$t is not installed"; done; }
need curl

# A PostgreSQL for the test: the shared cluster scripts/test.sh started
# (DV_PG_TESTDIR), or one of the test's own, stopped at the end. Either way
# the test gets a database of its own.
PG_OWN=
pg_up() {
	if [ -z "${DV_PG_TESTDIR:-}" ]; then
		PG_OWN="$T/pg"
		DV_PG_TESTDIR=$PG_OWN
	fi
	base=$("$top_srcdir/scripts/pg.sh" start "$DV_PG_TESTDIR") || skip_all "cannot start PostgreSQL (see scripts/pg.sh)"
	PG_HOST=$(echo "$base" | sed 's/.*host=\([^ ]*\).*/\1/')
	DV_DB_NAME="dvt_$(basename "$0" .sh)_$$"
	psql_admin -qc "CREATE DATABASE $DV_DB_NAME" >/dev/null || skip_all "cannot create a test database"
	DV_DB="host=$PG_HOST port=5432 user=postgres dbname=$DV_DB_NAME"
}
psql_admin() { psql -h "$PG_HOST" -p 5432 -U postgres -d postgres -X "$@"; }
psql_db() { psql -h "$PG_HOST" -p 5432 -U postgres -d "$DV_DB_NAME" -X -qAt "$@"; }

# write_conf FILE [extra YAML lines...]: example plugins, ephemeral ports.
write_conf() {
	f=$1; shift
	{
		echo "listen: {http: \"127.0.0.1:0\", tcp: \"127.0.0.1:0\", ops: \"127.0.0.1:0\"}"
		echo "plugin_dir: \"$DV_PLUGIN_BUILD_DIR\""
		echo "database: \"${DV_DB}\""
		# the example plugins' faces are flat squares, with no detail for the
		# quality bars to judge: off, unless a test sets QUALITY_LINE itself
		[ -n "${QUALITY_LINE-x}" ] && echo "${QUALITY_LINE:-quality: {min_enrol: 0, min_recognize: 0}}"
		for line in "$@"; do echo "$line"; done
	} >"$f"
}
DEFAULT_PLUGINS='plugins:
  detector:   { so: detect_example }
  landmarker: { so: landmarks_example }
  embedder:   { so: embed_example }
  matcher:    { so: match_example }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]
  detect:    [decode, detect, landmarks]'

# The example plugins with the real matcher (the recognition service's tests)
SERVICE_PLUGINS='plugins:
  detector:   { so: detect_example }
  landmarker: { so: landmarks_example }
  embedder:   { so: embed_example }
  matcher:    { so: match_flat }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]
  detect:    [decode, detect, landmarks]'

# dv_start CONF: start dejaviewd, wait until its ports are known.
dv_start() {
	rm -f "$T/ports"
	"$DEJAVIEWD" -c "$1" --ports-file "$T/ports" 2>>"$T/dejaviewd.log" &
	DV_PID=$!
	_end=$(( $(date +%s) + PATIENCE ))
	while [ ! -s "$T/ports" ]; do
		if [ "$(date +%s)" -ge "$_end" ] || ! kill -0 "$DV_PID" 2>/dev/null; then
			echo "# dejaviewd did not start:"; sed 's/^/#   /' "$T/dejaviewd.log" | tail -20
			return 1
		fi
		sleep 0.05
	done
	HTTP=$(sed -n 's/^http=//p' "$T/ports")
	TCP=$(sed -n 's/^tcp=//p' "$T/ports")
	OPS=$(sed -n 's/^ops=//p' "$T/ports")
	URL="http://127.0.0.1:$HTTP"
	OPS_URL="http://127.0.0.1:$OPS"
	# a tenant for the test: its key goes with every http call (KEY= to send none)
	if [ -n "$DV_DB" ] && [ -z "${KEY:-}" ] && [ -z "${NO_TENANT:-}" ]; then
		KEY=$(new_tenant test "$1") || { echo "# cannot create a tenant"; return 1; }
	fi
	DV_API_KEY=${KEY:-}; export DV_API_KEY  # for dv_load and dv_frametool
}
# new_tenant NAME CONF: a tenant through the admin command; prints its API key
new_tenant() { "$DEJAVIEWD" -c "$2" admin tenant create "$1" 2>/dev/null; }
dv_stop() {
	[ -n "$DV_PID" ] || return 0
	kill -TERM "$DV_PID" 2>/dev/null
	wait "$DV_PID" 2>/dev/null
	DV_RC=$?
	DV_PID=
}
# wait_ready: until /readyz answers 200 (within PATIENCE)
is_ready() { [ "$(curl -s -m "$PATIENCE" -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ]; }
wait_ready() { eventually is_ready; }
# http METHOD PATH [curl args...]: sets CODE, BODY and HDRS
http() {
	m=$1; p=$2; shift 2
	if [ -n "${KEY:-}" ]; then set -- -H "Authorization: Bearer $KEY" "$@"; fi
	CODE=$(curl -s -X "$m" -D "$T/hdrs" -o "$T/body" -w '%{http_code}' "$@" "$URL$p")
	BODY=$(cat "$T/body")
	HDRS=$(cat "$T/hdrs")
}
# free_ports N: a port P with P..P+N-1 free, for what must be told its port
# (HAProxy's configuration); below the kernel's ephemeral ports (32768-), so
# that no connection of a test running beside takes one before it is bound
free_ports() {
	for _try in 1 2 3 4 5 6 7 8 9 10; do
		_b=$((20000 + ($$ * 37 + _try * 1031) % (12700 - $1)))
		_used=$(ss -Htln 2>/dev/null | awk -v b="$_b" -v n="$1" '{ k = split($4, a, ":"); p = a[k] + 0; if (p >= b && p < b + n) c++ } END { print c + 0 }')
		[ "$_used" = 0 ] && { echo "$_b"; return 0; }
	done
	return 1
}
# real_photos: for the tests of the real networks on photos: the models and
# ../shared/testdata's one-face photo P and six-face photo G (skipped when
# absent), a database, dv_tojpeg as TOJPEG, and $T/base.yaml, the shipped
# configuration without what write_conf sets and without its hooks and workers
real_photos() {
	D="$top_srcdir/../shared/testdata"
	P="$D/facenet_pytorch/Shea_Whigham/1.jpg"
	G="$D/reference/faceapi/images/faces.jpg"
	[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
	[ -f "$P" ] && [ -f "$G" ] || skip_all "../shared/testdata (facenet_pytorch, reference/faceapi) is absent"
	pg_up
	TOJPEG="$top_builddir/tests/tools/dv_tojpeg"
	# without detect.min_face: a test that wants it says so
	sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' -e '/^hooks:/,$d' \
		-e '/^workers:/d' -e '/^detect:/,/^  min_face:/d' "$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
}
# boxes JSON: each face's box, "X Y W H" a line (the real detector's replies)
boxes() { printf '%s' "$1" | grep -o '"box":{"x":[-0-9.e]*,"y":[-0-9.e]*,"w":[-0-9.e]*,"h":[-0-9.e]*}' | sed 's/[^-0-9.e,]//g; s/,/ /g'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

cleanup() {
	if [ -n "$DV_PID" ]; then kill -KILL "$DV_PID" 2>/dev/null; wait "$DV_PID" 2>/dev/null; fi
	[ -n "$DV_DB" ] && psql_admin -qc "DROP DATABASE IF EXISTS $DV_DB_NAME WITH (FORCE)" >/dev/null 2>&1
	[ -n "$PG_OWN" ] && "$top_srcdir/scripts/pg.sh" stop "$PG_OWN"
	if [ "$tap_fail" != 0 ] && [ -f "$T/dejaviewd.log" ]; then
		echo "# dejaviewd log (last lines):"; tail -30 "$T/dejaviewd.log" | sed 's/^/#   /'
	fi
	rm -rf "$T"
}
trap cleanup EXIT
IMG="$DV_TOOLS/dv_testimg"
