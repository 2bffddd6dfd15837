#!/bin/sh
# dv_store's prepared statements (database_prepare) against the test PostgreSQL:
# tests/e2e/check_store.c.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
"$top_builddir/tests/e2e/check_store" "$DV_DB"
