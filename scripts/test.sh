#!/bin/sh
# test.sh — quick start: installs what is missing, builds, starts a private
# PostgreSQL for the tests, runs the whole suite (make check) and ends with
# one line "N passed, N failed". Extra arguments go to ./configure the first
# time (e.g. --enable-asan). Exit status is 0 only when nothing failed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/deps.sh --test || exit 1
scripts/build.sh "$@" || exit 1
models_failed=0
make -s models || { echo "test.sh: make models failed (see above); the model tests will be counted as failed"; models_failed=1; }
DV_PG_TESTDIR="$top/var/pg-test"
export DV_PG_TESTDIR
scripts/pg.sh start "$DV_PG_TESTDIR" >/dev/null || { echo "test.sh: cannot start PostgreSQL"; echo "0 passed, 1 failed"; exit 1; }
make -j"$(nproc)" check >var/check.log 2>&1
rc=$?
scripts/pg.sh stop "$DV_PG_TESTDIR" || true
grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR):' var/check.log | grep -v '^PASS' || true
# the figures the cluster test prints (make cluster-test): failover and convergence
[ -f tests/cluster/cluster.log ] && grep -E '^# (convergence|failover|load)' tests/cluster/cluster.log | sed 's/^# /cluster: /' || true
# Count TAP results over every test log.
pass=$(cat $(find tests -name '*.trs') | grep -c '^:test-result: PASS')
fail=$(cat $(find tests -name '*.trs') | grep -cE '^:test-result: (FAIL|ERROR|XPASS)')
skip=$(cat $(find tests -name '*.trs') | grep -c '^:test-result: SKIP')
fail=$((fail + models_failed))
[ "$rc" != 0 ] && [ "$fail" = 0 ] && { echo "test.sh: make check failed outside the tests, see var/check.log"; tail -20 var/check.log; fail=1; }
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
