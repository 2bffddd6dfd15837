#!/bin/sh
# Config golden-error tests: each tests/conf/NAME.yaml is checked with
# dejaviewd --check-config; its stderr (with the file's path shown as
# NAME.yaml) must equal NAME.expected, and the exit code must be 1 — or 0
# for files named valid*.yaml, whose stdout says the file is valid.
set -u
: "${top_srcdir:?run through make check}" "${DEJAVIEWD:?}"
dir="$top_srcdir/tests/conf"
n=0; fail=0
T=$(mktemp -d)
for f in "$dir"/*.yaml; do
	name=$(basename "$f")
	# plugins are found in the build tree
	sed "s|@PLUGIN_DIR@|$DV_PLUGIN_BUILD_DIR|g; s|@TEST_PLUGIN_DIR@|$DV_TEST_PLUGIN_DIR|g" "$f" >"$T/$name"
	(cd "$T" && "$DEJAVIEWD" --check-config -c "$name" >"$T/out" 2>"$T/err"); rc=$?
	sed -i "s|$DV_PLUGIN_BUILD_DIR|PLUGIN_DIR|g; s|$DV_TEST_PLUGIN_DIR|TEST_PLUGIN_DIR|g" "$T/err"
	n=$((n + 1))
	case $name in
	valid*)
		if [ $rc = 0 ] && grep -q "configuration is valid" "$T/out"; then echo "ok $n - $name is valid"
		else echo "not ok $n - $name is valid (exit $rc)"; sed 's/^/#   /' "$T/err"; fail=$((fail + 1)); fi ;;
	*)
		if [ $rc = 1 ] && diff -u "$dir/${name%.yaml}.expected" "$T/err" >"$T/diff"; then echo "ok $n - $name: golden errors, exit 1"
		else echo "not ok $n - $name: golden errors (exit $rc)"; sed 's/^/#   /' "$T/diff"; fail=$((fail + 1)); fi ;;
	esac
done
rm -rf "$T"
echo "1..$n"
[ $fail = 0 ]
