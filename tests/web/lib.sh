# tests/web/lib.sh — what the browser tests share, after tests/e2e/lib.sh:
#   web_setup NAME FILE...  skips without chromium, node and npm, `make models`
#                           or ../shared/testdata; copies the test's FILEs
#                           (from tests/web) beside tests/web/package.json in
#                           a folder of its own ($WORK; tests may run at once),
#                           installs playwright-core there the first time;
#   web_conf OUT [YAML...]  the shipped configuration with the real networks
#                           and this tree's web page, plus YAML lines.
web_setup() {
	_name=$1; shift
	[ -x /usr/bin/chromium ] || skip_all "chromium is not installed (apt-get install chromium)"
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip_all "node and npm are needed"
	[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
	[ -d "$top_srcdir/../shared/testdata/faceapi_bbt" ] || skip_all "../shared/testdata is absent"
	WORK="$top_builddir/tests/web/$_name"
	SHOTS="$top_builddir/tests/web/screenshots"
	mkdir -p "$WORK" "$SHOTS"
	cp "$top_srcdir/tests/web/package.json" "$WORK/"
	for _f in "$@"; do cp "$top_srcdir/tests/web/$_f" "$WORK/"; done
	if [ ! -d "$WORK/node_modules/playwright-core" ]; then
		(cd "$WORK" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
			skip_all "npm install playwright-core failed (offline?)"
	fi
}
web_conf() {
	_out=$1; shift
	sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' \
		-e "s|\.\./scripts/|$top_srcdir/scripts/|g" "$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
	write_conf "$_out" "model_dir: \"$top_builddir/models\"" "web: {dir: \"$top_srcdir/web\"}" "$@" "$(cat "$T/base.yaml")"
}
