/* dv_main.c — dejaviewd's entry point: command-line modes (serve,
 * --check-config, --migrate, --help-config), run on the main thread, which
 * becomes the event-loop thread when serving; --migrate and `admin` live in
 * dv_admin.c. */
#include "config.h"
#include "dv_admin.h"
#include "dv_alloc.h"
#include "dv_gen.h"
#include "dv_log.h"
#include "dv_server.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#ifndef DV_SYSCONF_FILE
#define DV_SYSCONF_FILE "/usr/local/etc/dejaview/dejaview.yaml"
#endif

static void dv_usage(FILE *f)
{
	fprintf(f,
	    "usage: dejaviewd [-c FILE] [--check-config | --migrate | --help-config | --help-stages]\n"
	    "       dejaviewd [-c FILE] admin COMMAND   (dejaviewd admin help)\n"
	    "\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "  -t, --check-config  parse the configuration, load and try every plugin, report\n"
	    "                      every error as file:line:column, and exit (0 = valid)\n"
	    "      --migrate       apply pending database migrations and exit\n"
	    "      --ports-file F  after binding, write the HTTP and TCP ports to F\n"
	    "      --help-config   print every configuration key with its default\n"
	    "      --help-stages   print the pipeline stages, in order, with what each does\n"
	    "  -V, --version       print the version\n"
	    "\n"
	    "signals: SIGHUP reloads the configuration (kept only if valid);\n"
	    "         SIGTERM stops accepting, answers in-flight requests, then exits.\n",
	    DV_SYSCONF_FILE);
}

static int dv_check_config(const char *path)
{
	struct dv_conf_errs errs = {0};
	struct dv_conf *c = dv_conf_load(path, &errs);
	int rc = 0;
	if (c && errs.n == 0) {
		struct dv_gen *g = NULL;
		/* quiet plugin logs unless they fail */
		int lvl = dv_log_get_level();
		dv_log_set_level(DV_LOG_LVL_WARN);
		if (dv_gen_build(c, 0, &g, &errs) == 0)
			dv_gen_unref(g);
		dv_log_set_level(lvl);
	} else {
		dv_conf_free(c);
	}
	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (errs.n) {
		fprintf(stderr, "%s: %d error%s\n", path, errs.n, errs.n == 1 ? "" : "s");
		rc = 1;
	} else {
		printf("%s: configuration is valid\n", path);
	}
	dv_conf_errs_fini(&errs);
	return rc;
}

int main(int argc, char **argv)
{
#ifdef HAVE_JEMALLOC
	/* linked with jemalloc (configure): it is the allocator; tune and trim it */
	dv_alloc_use_mallctl(mallctl);
#endif
	enum { OPT_MIGRATE = 256, OPT_PORTS, OPT_HELPCONF, OPT_HELPSTAGES };
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 't'},
	    {"migrate", no_argument, NULL, OPT_MIGRATE},
	    {"ports-file", required_argument, NULL, OPT_PORTS},
	    {"help-config", no_argument, NULL, OPT_HELPCONF},
	    {"help-stages", no_argument, NULL, OPT_HELPSTAGES},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	dv_log_init();
	/* one core per worker: oneDNN (OpenMP) and OpenBLAS must not spread a
	 * worker's call over the cores the other workers use (a user's setting wins) */
	setenv("OMP_NUM_THREADS", "1", 0);
	setenv("OPENBLAS_NUM_THREADS", "1", 0);
	const char *conf = DV_SYSCONF_FILE, *ports = NULL;
	int mode = 0, o;
	/* "+": stop at the first non-option (admin subcommands take their own) */
	while ((o = getopt_long(argc, argv, "+c:tVh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 't': mode = 't'; break;
		case OPT_MIGRATE: mode = 'm'; break;
		case OPT_PORTS: ports = optarg; break;
		case OPT_HELPCONF: dv_conf_print_reference(); return 0;
		case OPT_HELPSTAGES: dv_conf_print_stages(); return 0;
		case 'V': printf("dejaviewd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, DV_PLUGIN_ABI_MAJOR, DV_PLUGIN_ABI_MINOR); return 0;
		case 'h': dv_usage(stdout); return 0;
		default: dv_usage(stderr); return 2;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "admin"))
		return dv_admin_main(conf, argc - optind - 1, argv + optind + 1);
	if (optind != argc) {
		dv_usage(stderr);
		return 2;
	}
	if (mode == 't')
		return dv_check_config(conf);
	if (mode == 'm')
		return dv_admin_migrate(conf);
	return dv_server_run(conf, ports);
}
