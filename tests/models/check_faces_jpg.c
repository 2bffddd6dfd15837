/* check_faces_jpg — the full pipeline on faces.jpg (detect, landmarks, align,
 * embed) through the daemon's loader and pipeline engine, compared with
 * face-api.js's reference per face: the box order is face-api.js's (distance
 * of the top-left corner to the origin).
 *   check_faces_jpg CONFIG faces.jpg faces_jpg_reference.json MAX_DISTANCE
 * Prints TAP and each face's descriptor distance. */
#include "../util.h"
#include "../tap.h"
#include "dv_conf.h"
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_jsonp.h"
#include "dv_log.h"
#include "dv_pipeline.h"
#include <math.h>
#include <stdlib.h>


int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	dv_log_set_level(DV_LOG_LVL_WARN);
	double maxd = atof(argv[4]);
	struct dv_conf_errs e = {0};
	struct dv_conf *c = dv_conf_load(argv[1], &e);
	struct dv_gen *g = NULL;
	if (!ok(c && e.n == 0 && dv_gen_build(c, 1, &g, &e) == 0, "the configured plugins load")) {
		for (int i = 0; i < e.n; i++)
			printf("#   %s\n", e.msg[i]);
		return tap_done();
	}
	struct dv_pipeline_ctx ctx = {.conf = g->conf};
	char err[512];
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (g->shared[r])
			ctx.inst[r] = g->shared[r];
		else if (g->mods[r])
			dv_instance_new(g->mods[r], &ctx.inst[r], err, sizeof err);
	size_t n;
	char *jpg = test_slurp(argv[2], &n);
	struct dv_job *j = dv_job_new(DV_OP_RECOGNIZE, g);
	j->body = (uint8_t *)jpg;
	j->body_len = n;
	j->keep_embeddings = true;
	dv_pipeline_run(j, &ctx);
	is_int(j->err, 0, "the pipeline runs");
	is_int(j->n_embeddings, 6, "six faces are embedded");
	char *rt = test_slurp(argv[3], &n);
	struct dv_jv *ref = dv_jsonp_parse(rt, n, err, sizeof err);
	const struct dv_jv *rf = dv_jv_get(ref, "faces");
	/* order ours like face-api.js: by distance of the top-left corner to 0,0 */
	int order[64];
	for (int i = 0; i < j->n_embeddings; i++)
		order[i] = i;
	for (int a = 0; a < j->n_embeddings; a++)
		for (int b = a + 1; b < j->n_embeddings; b++) {
			float *fa = j->face_boxes + 5 * order[a], *fb = j->face_boxes + 5 * order[b];
			if (hypot(fb[0], fb[1]) < hypot(fa[0], fa[1])) {
				int t = order[a];
				order[a] = order[b];
				order[b] = t;
			}
		}
	for (int i = 0; i < j->n_embeddings && rf && i < rf->n; i++) {
		const struct dv_jv *d = dv_jv_get(rf->items[i], "face_descriptor_128");
		const float *v = j->embeddings + (size_t)order[i] * j->embedding_dim;
		double s = 0;
		for (int k = 0; k < 128 && d && k < d->n; k++)
			s += (v[k] - d->items[k]->num) * (v[k] - d->items[k]->num);
		const char *who = dv_jv_get(rf->items[i], "identity")->str;
		ok(sqrt(s) < maxd, "face %d (%s): descriptor %.4f from face-api.js's (limit %.2f)", i, who, sqrt(s), maxd);
	}
	dv_jv_free(ref);
	free(rt);
	dv_job_free(j);
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (!g->shared[r])
			dv_instance_free(ctx.inst[r]);
	dv_gen_unref(g);
	dv_conf_errs_fini(&e);
	return tap_done();
}
