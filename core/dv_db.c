/* dv_db.c — PostgreSQL access shared by every thread that owns a connection:
 * bounded-time connects, numbered migrations (core/sql, compiled in), and
 * the monitor thread behind /readyz and dv_database_up. */
#include "dv_db.h"
#include "dv_log.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void dv_db_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs ("already exists, skipping") are not news */
}

PGconn *dv_db_connect(const char *conninfo, char *err, size_t errlen)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {conninfo, "3", "dejaviewd", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		/* libpq messages end with a newline */
		size_t n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = 0;
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, dv_db_quiet, NULL);
	return c;
}

static int dv_db_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

int dv_db_migrate(PGconn *c, char *err, size_t errlen)
{
	int applied = 0;
	if (dv_db_exec(c, "BEGIN", err, errlen) != 0)
		return -1;
	/* 0x64766965 = "dvie": one migrator at a time across processes */
	if (dv_db_exec(c, "SELECT pg_advisory_xact_lock(1685481829)", err, errlen) != 0 ||
	    dv_db_exec(c,
	        "CREATE TABLE IF NOT EXISTS dv_schema_migrations ("
	        " version integer PRIMARY KEY, name text NOT NULL,"
	        " applied_at timestamptz NOT NULL DEFAULT now())",
	        err, errlen) != 0)
		goto fail;
	for (int i = 0; i < dv_n_migrations; i++) {
		const struct dv_migration *m = &dv_migrations[i];
		char q[128];
		snprintf(q, sizeof q, "SELECT 1 FROM dv_schema_migrations WHERE version = %d", m->version);
		PGresult *r = PQexec(c, q);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			snprintf(err, errlen, "%s", PQresultErrorMessage(r));
			PQclear(r);
			goto fail;
		}
		int have = PQntuples(r);
		PQclear(r);
		if (have)
			continue;
		char e2[512];
		if (dv_db_exec(c, m->sql, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "migration %03d_%s failed: %s", m->version, m->name, e2);
			goto fail;
		}
		char ver[16];
		snprintf(ver, sizeof ver, "%d", m->version);
		const char *pv[] = {ver, m->name};
		r = PQexecParams(c, "INSERT INTO dv_schema_migrations (version, name) VALUES ($1::int, $2)", 2, NULL, pv,
		    NULL, NULL, 0);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		if (!ok)
			goto fail;
		dv_info("applied database migration version=%d name=%s", m->version, m->name);
		applied++;
	}
	if (dv_db_exec(c, "COMMIT", err, errlen) != 0)
		goto fail;
	return applied;
fail:;
	char e3[64];
	dv_db_exec(c, "ROLLBACK", e3, sizeof e3);
	return -1;
}

struct dv_db_monitor {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	char *conninfo;
	bool migrate, migrated;
	atomic_bool up;
};

static void *dv_db_monitor_main(void *arg)
{
	struct dv_db_monitor *m = arg;
	PGconn *c = NULL;
	bool was_up = false, logged_down = false;
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		pthread_mutex_unlock(&m->mu);
		char err[512] = "";
		if (c && PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			c = NULL;
		}
		if (!c)
			c = dv_db_connect(m->conninfo, err, sizeof err);
		bool ok = false;
		if (c && m->migrate && !m->migrated) {
			int n = dv_db_migrate(c, err, sizeof err);
			if (n >= 0) {
				m->migrated = true;
				dv_info("database schema is up to date applied=%d", n);
			} else {
				dv_err("database migration failed reason=\"%s\"", err);
			}
		}
		if (c && (!m->migrate || m->migrated)) {
			PGresult *r = PQexec(c, "SELECT 1");
			ok = PQresultStatus(r) == PGRES_TUPLES_OK;
			if (!ok)
				snprintf(err, sizeof err, "%s", PQresultErrorMessage(r));
			PQclear(r);
		}
		atomic_store(&m->up, ok);
		if (ok && !was_up)
			dv_info("database is up");
		if (!ok && (was_up || !logged_down)) {
			dv_warn("database is unavailable reason=\"%s\"", err[0] ? err : "not migrated");
			logged_down = true;
		}
		was_up = ok;
		pthread_mutex_lock(&m->mu);
		if (m->stop)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	pthread_mutex_unlock(&m->mu);
	if (c)
		PQfinish(c);
	return NULL;
}

struct dv_db_monitor *dv_db_monitor_start(const char *conninfo, bool migrate)
{
	struct dv_db_monitor *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->conninfo = strdup(conninfo);
	m->migrate = migrate;
	atomic_init(&m->up, false);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	if (!m->conninfo || pthread_create(&m->tid, NULL, dv_db_monitor_main, m) != 0) {
		free(m->conninfo);
		free(m);
		return NULL;
	}
	return m;
}

void dv_db_monitor_stop(struct dv_db_monitor *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->tid, NULL);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m->conninfo);
	free(m);
}

bool dv_db_monitor_up(struct dv_db_monitor *m) { return m && atomic_load(&m->up); }
