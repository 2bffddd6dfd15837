/* check_store — dv_store's prepared statements against a real PostgreSQL
 * (tests/e2e/store_prepare.sh gives the database):
 *   check_store CONNINFO
 * A statement is prepared once per connection and then run by name; a new
 * connection prepares again; where the server no longer has the statement
 * (a pooler handing out another session: simulated by DEALLOCATE ALL on the
 * store's own connection) the statement still answers, unprepared, and the
 * store stops preparing; database_prepare false prepares nothing. Prints TAP. */
#include "dv_store.h"
#include "../tap.h"
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

static const char *SQL = "SELECT $1::int + 1";

/* the statement's answer for v, or -1 */
static int run(struct dv_store *st, int v)
{
	char a[16];
	snprintf(a, sizeof a, "%d", v);
	const char *vals[] = {a};
	int rc;
	PGresult *r = dv_store_q(st, &rc, SQL, 1, vals, NULL);
	int out = r && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return out;
}

/* how many statements the store's own session has prepared */
static int prepared_on_server(struct dv_store *st)
{
	PGresult *r = PQexec(st->c, "SELECT count(*) FROM pg_prepared_statements");
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	struct dv_store st;
	dv_store_init(&st, argv[1]);
	dv_store_set_prepare(&st, true);
	ok(run(&st, 1) == 2, "a statement answers (prepared)");
	ok(st.n_prep == 1 && prepared_on_server(&st) == 1, "it is prepared on the connection, once");
	ok(run(&st, 41) == 42 && run(&st, 2) == 3, "and answers again by its name, with other values");
	ok(st.n_prep == 1 && prepared_on_server(&st) == 1, "still one prepared statement");
	/* a new connection: the old one's statements are gone with it */
	PQfinish(st.c);
	st.c = NULL;
	ok(run(&st, 5) == 6, "after the connection is replaced, the statement answers");
	ok(st.n_prep == 1 && prepared_on_server(&st) == 1, "prepared again on the new connection");
	/* the session loses its statements under the store (a pooler) */
	PGresult *r = PQexec(st.c, "DEALLOCATE ALL");
	PQclear(r);
	ok(run(&st, 7) == 8, "where the server no longer has it, the statement still answers");
	ok(!st.prepare && st.n_prep == 0, "and the store runs statements unprepared from then on");
	ok(run(&st, 9) == 10 && prepared_on_server(&st) == 0, "unprepared: nothing is prepared on the server");
	dv_store_fini(&st);
	/* database_prepare: false */
	dv_store_init(&st, argv[1]);
	dv_store_set_prepare(&st, false);
	ok(run(&st, 10) == 11 && prepared_on_server(&st) == 0, "database_prepare false: answers, nothing prepared");
	dv_store_fini(&st);
	return tap_done();
}
