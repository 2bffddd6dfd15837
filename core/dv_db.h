/* dv_db.h — PostgreSQL: connections, migrations and the health monitor. */
#ifndef DV_DB_H
#define DV_DB_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct dv_migration {
	int version;
	const char *name;
	const char *sql;
};
/* Generated from core/sql/NNN_name.sql at build time (dv_migrations.c). */
extern const struct dv_migration dv_migrations[];
extern const int dv_n_migrations;

/* Connect with a bounded timeout. Returns NULL and fills err on failure. */
PGconn *dv_db_connect(const char *conninfo, char *err, size_t errlen);
/* Apply pending migrations in one transaction, serialised across processes
 * by an advisory lock. Returns the number applied (>= 0) or -1 (err). */
int dv_db_migrate(PGconn *c, char *err, size_t errlen);

/* A thread that keeps one connection, applies migrations when it first
 * reaches the database (if asked) and checks it every second. */
struct dv_db_monitor;
struct dv_db_monitor *dv_db_monitor_start(const char *conninfo, bool migrate);
void dv_db_monitor_stop(struct dv_db_monitor *m);
/* Whether the last check succeeded (and migrations, if asked, are done). */
bool dv_db_monitor_up(struct dv_db_monitor *m);
#endif
