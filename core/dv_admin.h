/* dv_admin.h — `dejaviewd admin ...` commands (main thread). */
#ifndef DV_ADMIN_H
#define DV_ADMIN_H
int dv_admin_main(const char *conf_path, int argc, char **argv);
/* `dejaviewd --migrate`: apply pending migrations to the configured database. */
int dv_admin_migrate(const char *conf_path);
#endif
