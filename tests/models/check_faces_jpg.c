/* check_faces_jpg — the full pipeline on faces.jpg (detect, landmarks, align,
 * embed) through the daemon's loader and pipeline engine, compared with
 * a reference per face: the box order is face-api.js's (distance of the
 * top-left corner to the origin).
 *   check_faces_jpg CONFIG faces.jpg REFERENCE.json MAX_DISTANCE [MAX_PX [MAX_LANDMARK_PX]]
 * REFERENCE.json: faces[] with identity and face_descriptor_128, and where
 * present a box (box [x,y,w,h], or tiny_face_detector_box {x,y,width,height})
 * and face_landmark_68 [[x,y]...], each coordinate compared within MAX_PX
 * pixels. Prints TAP and each face's descriptor distance. */
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
#include <string.h>


int main(int argc, char **argv)
{
	if (argc < 5 || argc > 7)
		return 2;
	double maxpx = argc >= 6 ? atof(argv[5]) : 0, maxlm = argc == 7 ? atof(argv[6]) : maxpx;
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
	j->req.body = (uint8_t *)jpg;
	j->req.body_len = n;
	j->req.keep_embeddings = true;
	dv_pipeline_run(j, &ctx);
	is_int(j->res.err, 0, "the pipeline runs");
	is_int(j->res.n_embeddings, 6, "six faces are embedded");
	char *rt = test_slurp(argv[3], &n);
	struct dv_jv *ref = dv_jsonp_parse(rt, n, err, sizeof err);
	const struct dv_jv *rf = dv_jv_get(ref, "faces");
	/* order ours like face-api.js: by distance of the top-left corner to 0,0 */
	int order[64];
	for (int i = 0; i < j->res.n_embeddings; i++)
		order[i] = i;
	for (int a = 0; a < j->res.n_embeddings; a++)
		for (int b = a + 1; b < j->res.n_embeddings; b++) {
			float *fa = j->res.face_boxes + 5 * order[a], *fb = j->res.face_boxes + 5 * order[b];
			if (hypot(fb[0], fb[1]) < hypot(fa[0], fa[1])) {
				int t = order[a];
				order[a] = order[b];
				order[b] = t;
			}
		}
	for (int i = 0; i < j->res.n_embeddings && rf && i < rf->n; i++) {
		const struct dv_jv *d = dv_jv_get(rf->items[i], "face_descriptor_128");
		const float *v = j->res.embeddings + (size_t)order[i] * j->res.embedding_dim;
		double s = 0;
		for (int k = 0; k < 128 && d && k < d->n; k++)
			s += (v[k] - d->items[k]->num) * (v[k] - d->items[k]->num);
		const char *who = dv_jv_get(rf->items[i], "identity")->str;
		ok(sqrt(s) < maxd, "face %d (%s): descriptor %.3g from the reference's (limit %g)", i, who, sqrt(s), maxd);
		const struct dv_jv *rb = dv_jv_get(rf->items[i], "box");
		const float *fb = j->res.face_boxes + 5 * order[i];
		const struct dv_jv *tb = dv_jv_get(rf->items[i], "tiny_face_detector_box");
		if ((rb && rb->n == 4) || (tb && tb->type == DV_JOBJ)) {
			static const char *const keys[] = {"x", "y", "width", "height"};
			double worst = 0;
			for (int k = 0; k < 4; k++) {
				const struct dv_jv *rv = rb && rb->n == 4 ? rb->items[k] : dv_jv_get(tb, keys[k]);
				worst = fmax(worst, rv ? fabs(fb[k] - rv->num) : INFINITY);
			}
			ok(worst < maxpx, "face %d: box within %.3g px of the reference's (limit %g)", i, worst, maxpx);
		}
		const struct dv_jv *rl = dv_jv_get(rf->items[i], "face_landmark_68");
		if (rl && rl->n == 68) {
			/* the reply's landmarks of this face: the pipeline's JSON, face order as detected */
			double worst = -1;
			struct dv_jv *reply = dv_jsonp_parse(j->res.reply.data, j->res.reply.len, err, sizeof err);
			const struct dv_jv *faces = dv_jv_get(reply, "faces");
			const struct dv_jv *lm = faces && order[i] < faces->n ? dv_jv_get(faces->items[order[i]], "landmarks") : NULL;
			if (lm && lm->n == 68) {
				worst = 0;
				for (int k = 0; k < 68; k++)
					for (int xy = 0; xy < 2; xy++)
						worst = fmax(worst, fabs(lm->items[k]->items[xy]->num - rl->items[k]->items[xy]->num));
			}
			ok(worst >= 0 && worst < maxlm, "face %d: 68 landmarks within %.3g px of the reference's (limit %g)", i, worst,
			    maxlm);
			dv_jv_free(reply);
		}
	}
	/* diagnostic: the same stages from each of the reference's boxes */
	static const char *const kinds[] = {"tiny_face_detector_box", "ssd_mobilenetv1_box", "mtcnn_box"};
	for (int kb = 0; kb < 3 && rf && rf->n > 0 && dv_jv_get(rf->items[0], kinds[kb]); kb++) {
		printf("# from the reference's %s:", kinds[kb]);
		for (int i = 0; i < rf->n; i++) {
			const struct dv_jv *b = dv_jv_get(rf->items[i], kinds[kb]);
			const struct dv_jv *d = dv_jv_get(rf->items[i], "face_descriptor_128");
			if (!b || !d)
				continue;
			struct dv_job *k = dv_job_new(DV_OP_RECOGNIZE, g);
			k->req.body = (uint8_t *)test_slurp(argv[2], &k->req.body_len);
			k->req.keep_embeddings = true;
			k->req.has_box = true;
			k->req.box[0] = (float)dv_jv_get(b, "x")->num;
			k->req.box[1] = (float)dv_jv_get(b, "y")->num;
			k->req.box[2] = (float)dv_jv_get(b, "width")->num;
			k->req.box[3] = (float)dv_jv_get(b, "height")->num;
			dv_pipeline_run(k, &ctx);
			double s = 0;
			for (int q = 0; q < 128 && k->res.n_embeddings == 1 && q < d->n; q++) {
				double dq = k->res.embeddings[q] - d->items[q]->num;
				s += dq * dq;
			}
			printf(" %.4f", k->res.n_embeddings == 1 ? sqrt(s) : -1.0);
			dv_job_free(k);
		}
		printf("\n");
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
