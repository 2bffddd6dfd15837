/* dv_gallery.c — the matcher kept in step with PostgreSQL (see dv_gallery.h). */
#include "dv_gallery.h"
#include "dv_hooklib.h"
#include "dv_keyuse.h"
#include <math.h>
#include "dv_db.h"
#include "dv_gen.h"
#include "dv_log.h"
#include "dv_u64map.h"
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dv_gallery {
	pthread_t tid;
	pthread_mutex_t mu;        /* guards everything below but the thread's connection */
	bool stop;
	char *conninfo;
	char *node;
	bool jobs_swept;
	struct dv_gen *serve;      /* the generation to serve (a reference) */
	struct dv_gen *loaded;     /* the one whose matcher is loaded (a reference) */
	struct dv_u64map held;     /* face -> tenant, in loaded's matcher */
	struct dv_u64map per_tenant; /* tenant -> faces held (the decision's N) */
	/* deleted faces, never added again by an announcement, a load or a worker
	 * that comes late: the races they guard last milliseconds, so the maps
	 * turn every DV_GONE_TURN s (the older one dropped) and stay bounded */
	struct dv_u64map gone, gone_old;
	atomic_llong n_notes;
	atomic_bool connected;
	struct dv_hooklib *hooks;  /* told of the tenants' hook changes (channel dv_hooks) */
	/* the per-tenant correction of the decision (match.tenant_correction):
	 * tenant -> the distance to take off the calibrated threshold (double
	 * bits), and the tenants whose gallery changed since it was computed */
	struct dv_u64map shift, dirty;
	struct dv_u64map corr_at;  /* tenant -> when its correction may next be computed (monotonic s, double bits) */
	struct dv_u64map people;   /* tenant -> its enrolled people (the cohort decision's size), recounted with the correction */
	struct dv_keyuse *keys;    /* given the publishable keys' origins (channel dv_keys) */
};

#define DV_GONE_TURN 600

/* Was this face deleted lately? (g->mu held) */
static bool dv_gal_gone(struct dv_gallery *g, uint64_t face)
{
	return dv_u64map_find(&g->gone, face) || dv_u64map_find(&g->gone_old, face);
}

/* Every DV_GONE_TURN s: the older map dropped, the newer one older. Never
 * during a load (the same thread), so a face deleted while one runs is still
 * known when it ends. */
static void dv_gal_gone_turn(struct dv_gallery *g, double *next_at)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (*next_at == 0)
		*next_at = now + DV_GONE_TURN;
	if (now < *next_at)
		return;
	*next_at = now + DV_GONE_TURN;
	pthread_mutex_lock(&g->mu);
	dv_u64map_free(&g->gone_old);
	g->gone_old = g->gone;
	memset(&g->gone, 0, sizeof g->gone);
	pthread_mutex_unlock(&g->mu);
}

/* held and per_tenant change together (g->mu held) */
static void dv_gal_count(struct dv_gallery *g, uint64_t tenant, int delta)
{
	dv_u64map_put(&g->dirty, tenant, 1);
	uint64_t *n = dv_u64map_find(&g->per_tenant, tenant);
	uint64_t v = (n ? *n : 0) + (uint64_t)(int64_t)delta;
	if (n && v == 0)
		dv_u64map_del(&g->per_tenant, tenant);
	else if (n)
		*n = v;
	else if (delta > 0)
		dv_u64map_put(&g->per_tenant, tenant, v);
}

static void dv_gal_hold(struct dv_gallery *g, uint64_t face, uint64_t tenant)
{
	if (dv_u64map_find(&g->held, face))
		return;
	if (dv_u64map_put(&g->held, face, tenant) == 0)
		dv_gal_count(g, tenant, 1);
}

static void dv_gal_drop(struct dv_gallery *g, uint64_t face)
{
	uint64_t *t = dv_u64map_find(&g->held, face);
	if (!t)
		return;
	dv_gal_count(g, *t, -1);
	dv_u64map_del(&g->held, face);
}

static const struct dv_plugin *dv_gal_matcher(struct dv_gen *g, void **inst)
{
	struct dv_instance *in = g ? g->shared[DV_ROLE_MATCHER] : NULL;
	if (!in || !g->has_embedder)
		return NULL;
	*inst = in->inst;
	return in->mod->desc;
}

static uint64_t dv_be64(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | (uint8_t)p[i];
	return v;
}

/* Load every face of gen's stamp into its matcher; faces held before and
 * not found now are removed. Runs on the gallery thread; 0 or -1. */
static int dv_gal_load(struct dv_gallery *g, PGconn *c, struct dv_gen *gen, char *err, size_t errlen)
{
	void *mi = NULL;
	const struct dv_plugin *mp = dv_gal_matcher(gen, &mi);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char dim[16];
	snprintf(dim, sizeof dim, "%d", gen->einfo.dim);
	const char *v[] = {gen->einfo.model, gen->einfo.fingerprint, dim};
	PGresult *r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	if (!ok)
		return -1;
	r = PQexecParams(c,
	    "DECLARE dv_load NO SCROLL CURSOR FOR SELECT id, tenant_id, embedding FROM dv_faces "
	    "WHERE model = $1 AND fingerprint = $2 AND dim = $3::int",
	    3, NULL, v, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	struct dv_u64map seen = {0};
	long long n = 0;
	bool same_gen = g->loaded == gen;
	while (ok) {
		r = PQexecParams(c, "FETCH 20000 FROM dv_load", 0, NULL, NULL, NULL, NULL, 1);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			ok = 0;
			PQclear(r);
			break;
		}
		int rows = PQntuples(r);
		pthread_mutex_lock(&g->mu);
		for (int i = 0; i < rows; i++) {
			uint64_t id = dv_be64(PQgetvalue(r, i, 0)), tenant = dv_be64(PQgetvalue(r, i, 1));
			if (PQgetlength(r, i, 2) != (int)(sizeof(float) * (size_t)gen->einfo.dim) || dv_gal_gone(g, id))
				continue;
			float vec[4096];
			memcpy(vec, PQgetvalue(r, i, 2), sizeof(float) * (size_t)gen->einfo.dim);
			if (mp->matcher_add(mi, tenant, id, vec, gen->einfo.dim) == 0) {
				dv_u64map_put(&seen, id, tenant);
				n++;
			}
		}
		pthread_mutex_unlock(&g->mu);
		PQclear(r);
		if (rows == 0)
			break;
	}
	/* every tenant's people, of the same snapshot (the cohort decision's size
	 * from the start; recounted after each change, dv_gal_corrections) */
	struct dv_u64map people = {0};
	if (ok && gen->calib && gen->conf->match_cohort && gen->calib->coh_np) {
		r = PQexecParams(c,
		    "SELECT tenant_id, count(DISTINCT person_id) FROM dv_faces WHERE model = $1 AND fingerprint = $2 "
		    "AND dim = $3::int GROUP BY tenant_id",
		    3, NULL, v, NULL, NULL, 0);
		for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
			unsigned long long t = strtoull(PQgetvalue(r, i, 0), NULL, 10), k = strtoull(PQgetvalue(r, i, 1), NULL, 10);
			if (t && k)
				dv_u64map_put(&people, t, k);
		}
		PQclear(r);
	}
	/* faces of another embedder (enrolled before a model swap, or before the
	 * embedder's int8 precision): never compared with this one's, so say how
	 * to bring them back rather than let their people go unrecognised in
	 * silence (dv_faces_stamp answers it: an index-only scan once vacuumed) */
	if (ok) {
		r = PQexecParams(c,
		    "SELECT model, fingerprint, count(*) FROM dv_faces WHERE (model, fingerprint) <> ($1, $2) "
		    "GROUP BY model, fingerprint ORDER BY 3 DESC",
		    2, NULL, v, NULL, NULL, 0);
		for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
			dv_warn("gallery: %s faces are stamped with another embedder (%s %s) and are not matched with %s %s: "
			        "`dejaviewd admin reembed` re-embeds them from their chips (or configure the embedder that made them)",
			    PQgetvalue(r, i, 2), PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), gen->einfo.model, gen->einfo.fingerprint);
		PQclear(r);
	}
	r = PQexec(c, ok ? "COMMIT" : "ROLLBACK");
	PQclear(r);
	if (!ok) {
		dv_u64map_free(&seen);
		dv_u64map_free(&people);
		return -1;
	}
	/* every face is in: a matcher holding an index of its own from before
	 * (persisted across a restart) drops what was not added since (its disk
	 * writes outside the gallery's lock) */
	if (mp->matcher_loaded && mp->matcher_loaded(mi) != 0)
		dv_warn("gallery: the matcher could not reconcile its own index with the database (see its log)");
	pthread_mutex_lock(&g->mu);
	long long dropped = 0;
	if (same_gen) {
		/* a reload after a lost connection: drop what was deleted meanwhile */
		for (size_t i = 0; i < g->held.cap; i++)
			if (g->held.keys[i]) {
				uint64_t id = g->held.keys[i] == 0xfffffffffffffffeULL ? 0 : g->held.keys[i];
				if (!dv_u64map_find(&seen, id)) {
					mp->matcher_remove(mi, g->held.vals[i], id);
					dropped++;
				}
			}
	}
	dv_u64map_free(&g->held);
	g->held = seen;
	dv_u64map_free(&g->people);
	g->people = people;
	dv_u64map_free(&g->per_tenant);
	for (size_t i = 0; i < g->held.cap; i++)
		if (g->held.keys[i])
			dv_gal_count(g, g->held.vals[i], 1);
	if (g->loaded != gen) {
		struct dv_gen *old = g->loaded;
		g->loaded = dv_gen_ref(gen);
		dv_gen_unref(old);
	}
	pthread_mutex_unlock(&g->mu);
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dv_info("gallery loaded gen=%lu faces=%lld dropped=%lld ms=%.0f model=%s", gen->id, n, dropped,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, gen->einfo.model);
	return 0;
}

/* Apply one announcement "a|d TENANT FACE" to the loaded generation. */
static void dv_gal_note(struct dv_gallery *g, PGconn *c, const char *payload)
{
	char op;
	uint64_t tenant, id;
	if (sscanf(payload, "%c %" SCNu64 " %" SCNu64, &op, &tenant, &id) != 3)
		return;
	atomic_fetch_add(&g->n_notes, 1);
	struct dv_gen *gen = g->loaded;
	void *mi = NULL;
	const struct dv_plugin *mp = dv_gal_matcher(gen, &mi);
	if (!mp)
		return;
	if (op == 'd') {
		pthread_mutex_lock(&g->mu);
		dv_u64map_put(&g->gone, id, tenant);
		dv_gal_drop(g, id);
		mp->matcher_remove(mi, tenant, id);
		pthread_mutex_unlock(&g->mu);
		return;
	}
	/* an add: the row itself (it may be gone already, or of another model) */
	char ids[24], dim[16];
	snprintf(ids, sizeof ids, "%" PRIu64, id);
	snprintf(dim, sizeof dim, "%d", gen->einfo.dim);
	const char *v[] = {ids, gen->einfo.model, gen->einfo.fingerprint, dim};
	PGresult *r = PQexecParams(c,
	    "SELECT embedding FROM dv_faces WHERE id = $1 AND model = $2 AND fingerprint = $3 AND dim = $4::int", 4, NULL, v,
	    NULL, NULL, 1);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    PQgetlength(r, 0, 0) == (int)(sizeof(float) * (size_t)gen->einfo.dim)) {
		float vec[4096];
		memcpy(vec, PQgetvalue(r, 0, 0), sizeof(float) * (size_t)gen->einfo.dim);
		pthread_mutex_lock(&g->mu);
		if (!dv_gal_gone(g, id) && mp->matcher_add(mi, tenant, id, vec, gen->einfo.dim) == 0)
			dv_gal_hold(g, id, tenant);
		pthread_mutex_unlock(&g->mu);
	} else if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		/* gone, or re-embedded with another model: not in this gallery */
		pthread_mutex_lock(&g->mu);
		if (dv_u64map_find(&g->held, id)) {
			dv_gal_drop(g, id);
			mp->matcher_remove(mi, tenant, id);
		}
		pthread_mutex_unlock(&g->mu);
	}
	PQclear(r);
}

/* The origins of every publishable key, for CORS preflights (before the
 * schema has them, none). */
static void dv_gal_origins(struct dv_gallery *g, PGconn *c)
{
	if (!g->keys)
		return;
	PGresult *r = PQexec(c, "SELECT string_agg(DISTINCT o, E'\\n') FROM dv_api_keys, unnest(origins) AS o "
	                        "WHERE revoked_at IS NULL AND publishable");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		dv_keyuse_set_origins(g->keys, PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* The tenant's own impostors, against the calibration: each enrolled
 * person's distance to the nearest face of another person (leave one out:
 * what a stranger like them would meet), their median against the median
 * the calibration predicts for a gallery of that many people. A gallery of
 * one camera, one light, one kind of face (a grayscale school register, a
 * night-shift entrance) has its people closer together than the calibration
 * data: the decision's threshold is lowered by gain x the difference, never
 * raised. Galleries over max_faces are left to the calibration (there, the
 * shift measured on the dev data is nil). Returns the shift (0 when none). */
static double dv_gal_correction(PGconn *c, const struct dv_gen *gen, uint64_t tenant)
{
	const struct dv_conf *conf = gen->conf;
	if (!gen->calib || !conf->match_tenant_correction)
		return 0;
	char t[24], dim[16], lim[24];
	snprintf(t, sizeof t, "%" PRIu64, tenant);
	snprintf(dim, sizeof dim, "%d", gen->einfo.dim);
	snprintf(lim, sizeof lim, "%lld", conf->match_correction_max_faces + 1);
	const char *v[] = {t, gen->einfo.model, gen->einfo.fingerprint, dim, lim};
	PGresult *r = PQexecParams(c,
	    "SELECT person_id, embedding FROM dv_faces WHERE tenant_id = $1 AND model = $2 AND fingerprint = $3 "
	    "AND dim = $4::int ORDER BY id LIMIT $5::int",
	    5, NULL, v, NULL, NULL, 1);
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
	int d = gen->einfo.dim;
	double shift = 0;
	if (n >= 3 && n <= conf->match_correction_max_faces) {
		float *x = malloc(sizeof *x * (size_t)n * (size_t)d);
		uint64_t *pid = malloc(sizeof *pid * (size_t)n);
		double *nn = malloc(sizeof *nn * (size_t)n);
		int ok = x && pid && nn;
		for (int i = 0; ok && i < n; i++) {
			pid[i] = dv_be64(PQgetvalue(r, i, 0));
			if (PQgetlength(r, i, 1) != (int)(sizeof(float) * (size_t)d))
				ok = 0;
			else
				memcpy(x + (size_t)i * d, PQgetvalue(r, i, 1), sizeof(float) * (size_t)d);
		}
		/* per face its nearest other person's face (at most 400 faces looked from,
		 * spread over the gallery: the work stays under 400 x n distances); per
		 * person the nearest of its faces looked from */
		int step = n > 400 ? (n + 399) / 400 : 1;
		for (int i = 0; ok && i < n; i++) {
			double best = INFINITY;
			if (i % step) {
				nn[i] = INFINITY; /* not looked from */
				continue;
			}
			for (int j = 0; j < n; j++) {
				if (pid[j] == pid[i])
					continue;
				double s = 0;
				for (int k = 0; k < d; k++) {
					double e = (double)x[(size_t)i * d + k] - x[(size_t)j * d + k];
					s += e * e;
				}
				if (s < best)
					best = s;
			}
			nn[i] = sqrt(best);
		}
		int persons = 0;
		for (int i = 0; ok && i < n; i++) {
			int first = 1;
			for (int j = 0; j < i && first; j++)
				first = pid[j] != pid[i];
			if (!first)
				continue;
			double m = nn[i];
			for (int j = i + 1; j < n; j++)
				if (pid[j] == pid[i] && nn[j] < m)
					m = nn[j];
			if (isfinite(m))
				nn[persons++] = m; /* i >= persons: nn[i] is read before it could be overwritten */
		}
		/* the prediction is for the whole gallery's people */
		int people = 0;
		for (int i = 0; ok && i < n; i++) {
			int first = 1;
			for (int j = 0; j < i && first; j++)
				first = pid[j] != pid[i];
			people += first;
		}
		if (ok && persons >= 3 && people >= 3) {
			/* the median of the persons' nearest impostors */
			for (int i = 1; i < persons; i++)
				for (int j = i; j > 0 && nn[j] < nn[j - 1]; j--) {
					double s = nn[j];
					nn[j] = nn[j - 1];
					nn[j - 1] = s;
				}
			double obs = persons % 2 ? nn[persons / 2] : 0.5 * (nn[persons / 2 - 1] + nn[persons / 2]);
			double pred = dv_calib_threshold(gen->calib, 1, 1 - pow(0.5, 1.0 / (people - 1)));
			if (pred > obs)
				shift = conf->match_correction_gain * (pred - obs);
			dv_debug("tenant correction tenant=%" PRIu64 " persons=%d faces=%d observed=%.4f predicted=%.4f shift=%.4f",
			    tenant, persons, n, obs, pred, shift);
		}
		free(x);
		free(pid);
		free(nn);
	}
	PQclear(r);
	return shift;
}

/* Recognitions' faces kept past events.face_ttl are deleted, every 10 s (each
 * node does it; a second delete finds nothing). */
static void dv_gal_expire_faces(PGconn *c, double *next_at)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (now < *next_at)
		return;
	*next_at = now + 10;
	PGresult *r = PQexec(c, "DELETE FROM dv_event_faces WHERE expires_at <= now()");
	if (PQresultStatus(r) == PGRES_COMMAND_OK && atoi(PQcmdTuples(r)) > 0)
		dv_debug("expired recognition faces deleted count=%s", PQcmdTuples(r));
	PQclear(r);
}

/* How many people a tenant has enrolled with faces of the embedder (-1: the
 * database did not say). */
static long long dv_gal_people(PGconn *c, const struct dv_gen *gen, uint64_t tenant)
{
	if (!gen->calib || !gen->conf->match_cohort || !gen->calib->coh_np)
		return -1;
	char t[24], dim[16];
	snprintf(t, sizeof t, "%" PRIu64, tenant);
	snprintf(dim, sizeof dim, "%d", gen->einfo.dim);
	const char *v[] = {t, gen->einfo.model, gen->einfo.fingerprint, dim};
	PGresult *r = PQexecParams(c,
	    "SELECT count(DISTINCT person_id) FROM dv_faces WHERE tenant_id = $1 AND model = $2 AND fingerprint = $3 "
	    "AND dim = $4::int",
	    4, NULL, v, NULL, NULL, 0);
	long long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

/* One tenant whose gallery changed: its correction again. At most one a call,
 * none within a second of the last, and a tenant's at most every 30 s (a
 * burst of enrolments is one computation; the thread stays free for the
 * announcements it relays). */
static void dv_gal_corrections(struct dv_gallery *g, PGconn *c, const struct dv_gen *gen, double *next_at)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (now < *next_at || !gen)
		return;
	uint64_t tenant = 0;
	pthread_mutex_lock(&g->mu);
	for (size_t i = 0; i < g->dirty.cap && !tenant; i++) {
		if (!g->dirty.keys || !g->dirty.keys[i] || g->dirty.keys[i] == 0xfffffffffffffffeULL)
			continue;
		uint64_t *at = dv_u64map_find(&g->corr_at, g->dirty.keys[i]);
		double t = 0;
		if (at)
			memcpy(&t, at, sizeof t);
		if (t <= now)
			tenant = g->dirty.keys[i];
	}
	if (tenant) {
		dv_u64map_del(&g->dirty, tenant);
		double t = now + 30;
		uint64_t bits;
		memcpy(&bits, &t, sizeof bits);
		dv_u64map_put(&g->corr_at, tenant, bits);
	}
	pthread_mutex_unlock(&g->mu);
	if (!tenant)
		return;
	double s = dv_gal_correction(c, gen, tenant);
	long long people = dv_gal_people(c, gen, tenant);
	uint64_t bits;
	memcpy(&bits, &s, sizeof bits);
	pthread_mutex_lock(&g->mu);
	if (s > 0)
		dv_u64map_put(&g->shift, tenant, bits);
	else
		dv_u64map_del(&g->shift, tenant);
	if (people > 0)
		dv_u64map_put(&g->people, tenant, (uint64_t)people);
	else if (people == 0)
		dv_u64map_del(&g->people, tenant);
	pthread_mutex_unlock(&g->mu);
	*next_at = now + 1.0;
}

double dv_gallery_tenant_shift(struct dv_gallery *g, uint64_t tenant)
{
	if (!g)
		return 0;
	pthread_mutex_lock(&g->mu);
	uint64_t *b = dv_u64map_find(&g->shift, tenant);
	double s = 0;
	if (b)
		memcpy(&s, b, sizeof s);
	pthread_mutex_unlock(&g->mu);
	return s;
}

static void *dv_gal_main(void *arg)
{
	struct dv_gallery *g = arg;
	PGconn *c = NULL;
	bool need_full = true, logged = false;
	double corr_next = 0, expire_next = 0, gone_next = 0;
	char lerr[512];
	for (;;) {
		pthread_mutex_lock(&g->mu);
		bool stop = g->stop;
		struct dv_gen *want = dv_gen_ref(g->serve);
		pthread_mutex_unlock(&g->mu);
		if (stop) {
			dv_gen_unref(want);
			break;
		}
		if (c && PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			c = NULL;
			atomic_store(&g->connected, false);
		}
		if (!c) {
			char err[256];
			c = dv_db_connect(g->conninfo, err, sizeof err);
			if (c) {
				PGresult *r = PQexec(c, "LISTEN dv_gallery; LISTEN dv_hooks; LISTEN dv_keys");
				if (PQresultStatus(r) != PGRES_COMMAND_OK) {
					PQfinish(c);
					c = NULL;
				}
				PQclear(r);
			}
			if (!c) {
				if (!logged)
					dv_warn("gallery sync cannot reach the database, retrying reason=\"%s\"", err);
				logged = true;
				dv_gen_unref(want);
				struct timespec ts = {0, 300 * 1000 * 1000};
				nanosleep(&ts, NULL);
				continue;
			}
			logged = false;
			need_full = true;
			/* hook and key changes may have been missed while disconnected */
			if (g->hooks)
				dv_hooklib_forget_all(g->hooks);
			dv_gal_origins(g, c);
			atomic_store(&g->connected, true);
			if (!g->jobs_swept) {
				const char *v[] = {g->node};
				PGresult *r = PQexecParams(c,
				    "UPDATE dv_jobs SET status = 'failed', finished_at = now(), error = '{\"code\":\"interrupted\","
				    "\"message\":\"the server restarted before the job finished; submit it again\"}' "
				    "WHERE node = $1 AND status IN ('queued', 'running')",
				    1, NULL, v, NULL, NULL, 0);
				/* before migrations the table may not exist yet: try again next time */
				g->jobs_swept = PQresultStatus(r) == PGRES_COMMAND_OK;
				if (g->jobs_swept && atoi(PQcmdTuples(r)) > 0)
					dv_warn("async jobs interrupted by the last stop marked failed count=%s", PQcmdTuples(r));
				PQclear(r);
			}
		}
		if (want && (need_full || want != g->loaded)) {
			void *mi = NULL;
			if (!dv_gal_matcher(want, &mi)) {
				atomic_store(&want->gallery_ready, 1);
			} else if (dv_gal_load(g, c, want, lerr, sizeof lerr) == 0) {
				need_full = false;
				dv_gal_origins(g, c); /* the schema is there now */
				atomic_store(&want->gallery_ready, 1);
			} else {
				size_t el = strlen(lerr);
				while (el && (lerr[el - 1] == '\n' || lerr[el - 1] == ' '))
					lerr[--el] = 0;
				if (strstr(lerr, "does not exist"))
					dv_debug("gallery waits for the database schema reason=\"%s\"", lerr);
				else
					dv_warn("gallery load failed, retrying reason=\"%s\"", lerr[0] ? lerr : PQerrorMessage(c));
				PQfinish(c);
				c = NULL;
				dv_gen_unref(want);
				struct timespec ts = {0, 300 * 1000 * 1000};
				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (want && want == g->loaded) {
			dv_gal_corrections(g, c, want, &corr_next);
			dv_gal_expire_faces(c, &expire_next);
		}
		dv_gal_gone_turn(g, &gone_next);
		dv_gen_unref(want);
		struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
		if (poll(&pfd, 1, 200) > 0) {
			if (!PQconsumeInput(c))
				continue; /* the connection is gone: reconnect and reload */
			PGnotify *nt;
			while ((nt = PQnotifies(c)) != NULL) {
				if (!strcmp(nt->relname, "dv_keys")) {
					dv_gal_origins(g, c);
				} else if (!strcmp(nt->relname, "dv_hooks")) {
					/* "TENANT SEQ": a change to the tenant's hooks was committed */
					unsigned long long t = 0;
					long long seq = 0;
					if (g->hooks && sscanf(nt->extra, "%llu %lld", &t, &seq) == 2)
						dv_hooklib_changed(g->hooks, t, seq, true);
				} else if (g->loaded) {
					dv_gal_note(g, c, nt->extra);
				}
				PQfreemem(nt);
			}
		}
	}
	if (c)
		PQfinish(c);
	return NULL;
}

struct dv_gallery *dv_gallery_start(const char *conninfo, const char *node, struct dv_hooklib *hooks,
    struct dv_keyuse *keys)
{
	struct dv_gallery *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->hooks = hooks;
	g->keys = keys;
	pthread_mutex_init(&g->mu, NULL);
	g->conninfo = strdup(conninfo);
	g->node = strdup(node);
	if (!g->conninfo || pthread_create(&g->tid, NULL, dv_gal_main, g) != 0) {
		free(g->conninfo);
		free(g);
		return NULL;
	}
	return g;
}

void dv_gallery_stop(struct dv_gallery *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->tid, NULL);
	dv_gen_unref(g->serve);
	dv_gen_unref(g->loaded);
	dv_u64map_free(&g->held);
	dv_u64map_free(&g->per_tenant);
	dv_u64map_free(&g->gone);
	dv_u64map_free(&g->gone_old);
	dv_u64map_free(&g->shift);
	dv_u64map_free(&g->people);
	dv_u64map_free(&g->dirty);
	dv_u64map_free(&g->corr_at);
	pthread_mutex_destroy(&g->mu);
	free(g->conninfo);
	free(g->node);
	free(g);
}

void dv_gallery_serve(struct dv_gallery *g, struct dv_gen *gen)
{
	if (!g) {
		atomic_store(&gen->gallery_ready, 1);
		return;
	}
	pthread_mutex_lock(&g->mu);
	struct dv_gen *old = g->serve;
	g->serve = dv_gen_ref(gen);
	pthread_mutex_unlock(&g->mu);
	dv_gen_unref(old);
}

void dv_gallery_added(struct dv_gallery *g, struct dv_gen *gen, uint64_t tenant, uint64_t face, const float *vec,
    int dim)
{
	void *mi = NULL;
	const struct dv_plugin *mp = dv_gal_matcher(gen, &mi);
	if (!mp)
		return;
	if (g)
		pthread_mutex_lock(&g->mu);
	if (!g || !dv_gal_gone(g, face)) {
		mp->matcher_add(mi, tenant, face, vec, dim);
		if (g && gen == g->loaded)
			dv_gal_hold(g, face, tenant);
	}
	if (g)
		pthread_mutex_unlock(&g->mu);
}

void dv_gallery_removed(struct dv_gallery *g, struct dv_gen *gen, uint64_t tenant, const uint64_t *faces, int n)
{
	void *mi = NULL;
	const struct dv_plugin *mp = dv_gal_matcher(gen, &mi);
	if (g)
		pthread_mutex_lock(&g->mu);
	for (int i = 0; i < n; i++) {
		if (g) {
			dv_u64map_put(&g->gone, faces[i], tenant);
			dv_gal_drop(g, faces[i]);
		}
		if (mp)
			mp->matcher_remove(mi, tenant, faces[i]);
	}
	if (g)
		pthread_mutex_unlock(&g->mu);
}

void dv_gallery_stats(struct dv_gallery *g, long long *faces, long long *notes, bool *connected)
{
	*faces = *notes = 0;
	*connected = false;
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	*faces = (long long)g->held.n;
	pthread_mutex_unlock(&g->mu);
	*notes = atomic_load(&g->n_notes);
	*connected = atomic_load(&g->connected);
}

long long dv_gallery_tenant_people(struct dv_gallery *g, uint64_t tenant)
{
	if (!g)
		return 0;
	pthread_mutex_lock(&g->mu);
	uint64_t *p = dv_u64map_find(&g->people, tenant), *f = dv_u64map_find(&g->per_tenant, tenant);
	/* never more than the faces held now (people deleted since the count) */
	long long v = p ? (long long)*p : 0, faces = f ? (long long)*f : 0;
	pthread_mutex_unlock(&g->mu);
	return v < faces ? v : faces;
}

long long dv_gallery_tenant_faces(struct dv_gallery *g, uint64_t tenant)
{
	if (!g)
		return 0;
	pthread_mutex_lock(&g->mu);
	uint64_t *n = dv_u64map_find(&g->per_tenant, tenant);
	long long v = n ? (long long)*n : 0;
	pthread_mutex_unlock(&g->mu);
	return v;
}
