#!/bin/sh
# docs/config.md is generated from the daemon's own tables (--help-config,
# --help-stages): a key added, removed or changed without `make config-doc`
# fails here, so the page a user reads is the code that runs.
set -u
: "${top_srcdir:?run through make check}" "${DEJAVIEWD:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0; fail=0
sh "$top_srcdir/scripts/config_doc.sh" "$DEJAVIEWD" >"$T/config.md"; rc=$?
n=$((n + 1))
if [ $rc = 0 ] && diff -u "$top_srcdir/docs/config.md" "$T/config.md" >"$T/diff"; then
	echo "ok $n - docs/config.md is what dejaviewd --help-config and --help-stages say (make config-doc)"
else
	echo "not ok $n - docs/config.md is out of date: run make config-doc"; head -40 "$T/diff" | sed 's/^/#   /'; fail=1
fi
n=$((n + 1))
keys=$("$DEJAVIEWD" --help-config | tail -n +2 | wc -l)
if [ "$keys" -ge 50 ] && grep -q '^limits.body_bytes ' "$T/config.md"; then echo "ok $n - it lists every key ($keys)"
else echo "not ok $n - it lists every key ($keys)"; fail=1; fi
echo "1..$n"
exit $fail
