/* dv_admin.c — `dejaviewd admin ...`: operator commands run against the
 * configured database, without a running server. */
#include "dv_admin.h"
#include "dv_db.h"
#include "dv_err.h"
#include "dv_form.h"
#include "dv_gen.h"
#include "dv_image.h"
#include "dv_keys.h"
#include "dv_log.h"
#include "dv_pipeline.h"
#include "dv_store.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dv_admin_usage(FILE *f)
{
	fprintf(f,
	    "usage: dejaviewd [-c FILE] admin COMMAND\n"
	    "\n"
	    "  key                      print a new admin key and the admin.key_sha256 line for the config\n"
	    "  tenant create NAME       create a tenant; prints its first API key (shown once) on stdout\n"
	    "  tenant list              every tenant with its counts (JSON)\n"
	    "  tenant key TENANT_ID     a new API key for a tenant\n"
	    "  reembed                  re-embed every stored face whose model differs from the configured\n"
	    "                           embedder, from its stored chip (after a model swap)\n"
	    "  shard-map SHARD          a line \"PREFIX SHARD\" for every key of this database (the keys' public\n"
	    "                           prefixes, no secret): HAProxy's tenant -> shard map (deploy/haproxy-shards.cfg)\n");
}

static struct dv_conf *dv_admin_conf(const char *path)
{
	struct dv_conf_errs errs = {0};
	struct dv_conf *c = dv_conf_load(path, &errs);
	if (!c || errs.n) {
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		dv_conf_errs_fini(&errs);
		dv_conf_free(c);
		return NULL;
	}
	if (!c->database[0]) {
		fprintf(stderr, "%s: no 'database' is configured\n", path);
		dv_conf_free(c);
		return NULL;
	}
	return c;
}

/* Connects to the database and applies pending migrations; returns how
 * many were applied, or -1 after saying why on stderr. */
static int dv_admin_migrate_db(const char *database)
{
	char err[1024];
	PGconn *db = dv_db_connect(database, err, sizeof err);
	if (!db) {
		fprintf(stderr, "cannot connect to the database: %s\n", err);
		return -1;
	}
	int lvl = dv_log_get_level();
	dv_log_set_level(DV_LOG_LVL_WARN); /* the caller's summary says it all */
	int n = dv_db_migrate(db, err, sizeof err);
	dv_log_set_level(lvl);
	PQfinish(db);
	if (n < 0)
		fprintf(stderr, "migration failed: %s\n", err);
	return n;
}

int dv_admin_migrate(const char *conf_path)
{
	struct dv_conf *c = dv_admin_conf(conf_path);
	if (!c)
		return 1;
	int n = dv_admin_migrate_db(c->database);
	dv_conf_free(c);
	if (n < 0)
		return 1;
	printf("applied %d migration%s; schema at version %d\n", n, n == 1 ? "" : "s",
	    dv_migrations[dv_n_migrations - 1].version);
	return 0;
}

/* A store on a migrated database. */
static int dv_admin_store(const struct dv_conf *c, struct dv_store *st)
{
	if (dv_admin_migrate_db(c->database) < 0)
		return -1;
	dv_store_init(st, c->database);
	return 0;
}

static int dv_admin_fail(struct dv_store *st, int rc)
{
	fprintf(stderr, "%s: %s\n", dv_err_code(rc), st->err[0] ? st->err : dv_err_message(rc));
	return 1;
}

static int dv_admin_reembed(const struct dv_conf *conf, struct dv_store *st)
{
	struct dv_conf_errs errs = {0};
	struct dv_gen *g = NULL;
	/* dv_gen_build takes ownership: give it its own copy of the config */
	struct dv_conf *c2 = dv_conf_load(conf->path, &errs);
	if (!c2 || errs.n || dv_gen_build(c2, 0, &g, &errs) != 0 || !g->mods[DV_ROLE_EMBEDDER]) {
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		if (!errs.n)
			fprintf(stderr, "no embedder is configured\n");
		dv_conf_errs_fini(&errs);
		dv_gen_unref(g);
		return 1;
	}
	struct dv_instance *in = NULL;
	char err[768];
	if (dv_instance_new(g->mods[DV_ROLE_EMBEDDER], &in, err, sizeof err) != 0) {
		fprintf(stderr, "embedder: %s\n", err);
		dv_gen_unref(g);
		return 1;
	}
	const struct dv_embedder_info *ei = &g->einfo;
	const char *v[] = {ei->model, ei->fingerprint};
	int rc;
	PGresult *r = dv_store_q(st, &rc,
	    "SELECT id, chip IS NOT NULL, encode(chip, 'base64') FROM dv_faces WHERE NOT (model = $1 AND fingerprint = $2) ORDER BY id",
	    2, v, NULL);
	if (!r) {
		dv_instance_free(in);
		dv_gen_unref(g);
		return dv_admin_fail(st, rc);
	}
	int n = PQntuples(r), done = 0, skipped = 0, failed = 0;
	float *vec = malloc(sizeof *vec * (size_t)ei->dim);
	for (int i = 0; i < n && vec; i++) {
		const char *id = PQgetvalue(r, i, 0);
		if (strcmp(PQgetvalue(r, i, 1), "t")) {
			skipped++;
			continue;
		}
		const char *b64 = PQgetvalue(r, i, 2);
		size_t jl = 0;
		uint8_t *jpg = dv_base64_decode(b64, strlen(b64), &jl);
		struct dv_img im = {0};
		char derr[256];
		if (!jpg || dv_image_decode(jpg, jl, 1 << 24, &im, derr, sizeof derr) != 0 || im.width != ei->chip_width ||
		    im.height != ei->chip_height) {
			free(jpg);
			dv_img_fini(&im);
			skipped++;
			continue;
		}
		free(jpg);
		struct dv_image chip = {.pixels = im.pixels, .width = im.width, .height = im.height, .stride = im.width * 3, .channels = 3};
		/* as enrolment embeds: with the mirror image (embed.flip) and enrol.jitter copies */
		if (dv_embed_chips(in, &chip, im.pixels, 1, ei, g->conf->embed_flip, (int)g->conf->enrol_jitter, vec) != 0) {
			dv_img_fini(&im);
			failed++;
			continue;
		}
		dv_img_fini(&im);
		char dim[16];
		snprintf(dim, sizeof dim, "%d", ei->dim);
		const char *u[] = {id, (const char *)vec, dim, ei->model, ei->fingerprint};
		const int bin[] = {0, (int)(sizeof(float) * (size_t)ei->dim), 0, 0, 0};
		PGresult *w = dv_store_q(st, &rc,
		    "UPDATE dv_faces SET embedding = $2, dim = $3::int, model = $4, fingerprint = $5 WHERE id = $1", 5, u, bin);
		PQclear(w);
		if (rc)
			failed++;
		else
			done++;
	}
	PQclear(r);
	free(vec);
	printf("re-embedded %d face%s with %s (%s); %d without a usable chip skipped; %d failed\n", done, done == 1 ? "" : "s",
	    ei->model, ei->fingerprint, skipped, failed);
	dv_instance_free(in);
	dv_gen_unref(g);
	return failed ? 1 : 0;
}

int dv_admin_main(const char *conf_path, int argc, char **argv)
{
	if (argc < 1) {
		dv_admin_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[0], "key") && argc == 1) {
		char key[DV_KEY_LEN + 1], hex[65];
		if (dv_key_new(key) != 0) {
			fprintf(stderr, "no randomness available\n");
			return 1;
		}
		dv_key_hash_hex(key, hex);
		printf("%s\n", key);
		fprintf(stderr, "keep the key above secret; put this in the configuration:\nadmin:\n  key_sha256: \"%s\"\n", hex);
		return 0;
	}
	struct dv_conf *c = dv_admin_conf(conf_path);
	if (!c)
		return 1;
	struct dv_store st;
	if (dv_admin_store(c, &st) != 0) {
		dv_conf_free(c);
		return 1;
	}
	int rc = 2;
	struct dv_buf out;
	dv_buf_init(&out);
	if (!strcmp(argv[0], "tenant") && argc == 3 && !strcmp(argv[1], "create")) {
		int r = dv_store_tenant_create(&st, argv[2], NULL, &out);
		if (r) {
			rc = dv_admin_fail(&st, r);
		} else {
			/* the key alone on stdout, for scripts; the rest on stderr */
			const char *k = strstr(out.data, "\"api_key\":\"");
			printf("%.*s\n", DV_KEY_LEN, k ? k + 11 : "");
			fprintf(stderr, "%s\n", out.data);
			rc = 0;
		}
	} else if (!strcmp(argv[0], "tenant") && argc == 2 && !strcmp(argv[1], "list")) {
		int r = dv_store_tenant_list(&st, &out);
		rc = r ? dv_admin_fail(&st, r) : (printf("%s\n", out.data), 0);
	} else if (!strcmp(argv[0], "tenant") && argc == 3 && !strcmp(argv[1], "key")) {
		uint64_t t = strtoull(argv[2], NULL, 10);
		int r = t ? dv_store_key_create(&st, t, "admin", NULL, &out) : DV_EBADREQUEST;
		if (r) {
			rc = r == DV_ENOTFOUND ? (fprintf(stderr, "no such tenant: %s\n", argv[2]), 1) : dv_admin_fail(&st, r);
		} else {
			const char *k = strstr(out.data, "\"api_key\":\"");
			printf("%.*s\n", DV_KEY_LEN, k ? k + 11 : "");
			rc = 0;
		}
	} else if (!strcmp(argv[0], "reembed") && argc == 1) {
		rc = dv_admin_reembed(c, &st);
	} else if (!strcmp(argv[0], "shard-map") && argc == 2 && argv[1][0] && !strpbrk(argv[1], " \t\r\n")) {
		/* every key's public prefix, revoked ones too (they must still reach
		 * the shard that refuses them), in a stable order */
		int r;
		PGresult *res = dv_store_q(&st, &r, "SELECT prefix FROM dv_api_keys ORDER BY prefix", 0, NULL, NULL);
		if (!res) {
			rc = dv_admin_fail(&st, r);
		} else {
			for (int i = 0; i < PQntuples(res); i++)
				printf("%s %s\n", PQgetvalue(res, i, 0), argv[1]);
			PQclear(res);
			rc = 0;
		}
	} else {
		dv_admin_usage(stderr);
	}
	dv_buf_fini(&out);
	dv_store_fini(&st);
	dv_conf_free(c);
	return rc;
}
