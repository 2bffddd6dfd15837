/* ev_pipe.c — the evaluation tools' pipeline: see ev_pipe.h. */
#include "ev_pipe.h"
#include "dv_conf.h"
#include "dv_image.h"
#include "dv_log.h"
#include "../testphoto.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *ev_slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long l = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(l > 0 ? (size_t)l : 1);
	if (!b || fread(b, 1, (size_t)l, f) != (size_t)l) {
		free(b);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*n = (size_t)l;
	return b;
}

int ev_pipe_open(struct ev_pipe *p, const char *conf_path)
{
	memset(p, 0, sizeof *p);
	setenv("OMP_NUM_THREADS", "1", 1);
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	dv_log_set_level(DV_LOG_LVL_WARN);
	struct dv_conf_errs e = {0};
	struct dv_conf *c = dv_conf_load(conf_path, &e);
	if (!c || e.n || dv_gen_build(c, 1, &p->g, &e) != 0) {
		for (int i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		dv_conf_errs_fini(&e);
		return -1;
	}
	p->ctx.conf = p->g->conf;
	char err[768];
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (p->g->shared[r])
			p->ctx.inst[r] = p->g->shared[r];
		else if (p->g->mods[r] && dv_instance_new(p->g->mods[r], &p->ctx.inst[r], err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	if (p->g->has_embedder) {
		p->dim = p->g->einfo.dim;
		snprintf(p->model, sizeof p->model, "%s", p->g->einfo.model);
		snprintf(p->fingerprint, sizeof p->fingerprint, "%s", p->g->einfo.fingerprint);
	}
	return 0;
}

void ev_pipe_close(struct ev_pipe *p)
{
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (p->ctx.inst[r] && p->ctx.inst[r] != p->g->shared[r])
			dv_instance_free(p->ctx.inst[r]);
	dv_gen_unref(p->g);
	memset(p, 0, sizeof *p);
}

struct dv_job *ev_pipe_run(struct ev_pipe *p, int op, const uint8_t *b, size_t n, const float *box)
{
	struct dv_job *j = dv_job_new(op, p->g);
	j->req.body = malloc(n ? n : 1);
	memcpy(j->req.body, b, n);
	j->req.body_len = n;
	j->req.keep_embeddings = true;
	j->req.jitter = p->jitter;
	if (box) {
		j->req.has_box = true;
		memcpy(j->req.box, box, sizeof j->req.box);
	}
	dv_pipeline_run(j, &p->ctx);
	return j;
}

static int ev_image_size(const struct dv_job *j, int *w, int *h)
{
	const char *wp = strstr(j->res.reply.data ? j->res.reply.data : "", "\"image\":{\"width\":");
	return wp && sscanf(wp, "\"image\":{\"width\":%d,\"height\":%d", w, h) == 2 && *w > 0 && *h > 0 ? 0 : -1;
}

void ev_pipe_embed_file(struct ev_pipe *p, const char *path, struct ev_face *out)
{
	memset(out, 0, sizeof *out);
	size_t n;
	uint8_t *b = ev_slurp(path, &n);
	if (!b) {
		out->error = 1;
		snprintf(out->why, sizeof out->why, "cannot read the file");
		return;
	}
	float place[4] = {0, 0, 0, 0}; /* where the photo is in its frame */
	if (p->frame_side > 0) {
		struct dv_img im;
		char err[256];
		uint8_t *jpg = NULL, *rgb = NULL;
		size_t jl = 0;
		unsigned seed = 1;
		int ox, oy;
		if (dv_image_decode(b, n, 1LL << 28, &im, err, sizeof err) == 0) {
			double s = (double)p->frame_side / im.height;
			if (im.width * s > p->frame_w)
				s = (double)p->frame_w / im.width;
			rgb = test_photo_place(&im, p->frame_w, p->frame_h, s, 0, &seed, &ox, &oy);
			place[0] = (float)ox;
			place[1] = (float)oy;
			place[2] = (float)(int)(im.width * s);
			place[3] = (float)(int)(im.height * s);
			dv_img_fini(&im);
		}
		if (!rgb || dv_image_encode_jpeg(rgb, p->frame_w, p->frame_h, 90, &jpg, &jl) != 0) {
			free(rgb);
			free(b);
			out->error = 1;
			snprintf(out->why, sizeof out->why, "cannot be framed");
			return;
		}
		free(rgb);
		free(b);
		b = jpg;
		n = jl;
	}
	struct dv_job *j = ev_pipe_run(p, DV_OP_RECOGNIZE, b, n, NULL);
	if (!j->res.err && j->res.n_embeddings == 0 && ev_image_size(j, &out->w, &out->h) == 0) {
		/* nothing detected: a tight crop; the whole image is the face (in
		 * a frame, the photo's place in it) */
		float box[4] = {0, 0, (float)out->w, (float)out->h};
		if (p->frame_side > 0)
			memcpy(box, place, sizeof box);
		dv_job_free(j);
		j = ev_pipe_run(p, DV_OP_RECOGNIZE, b, n, box);
		out->fallback = 1;
	}
	if (!j->res.err && j->res.reply.data && strstr(j->res.reply.data, "\"pass\":\"whole_image\"")) {
		/* the daemon's own whole-image fallback (detect.whole_image_max_side) */
		out->fallback = 1;
		ev_image_size(j, &out->w, &out->h);
	}
	if (!j->res.err && j->res.n_embeddings > 0 && j->res.embeddings) {
		int best = 0;
		for (int i = 1; i < j->res.n_embeddings; i++)
			if (j->res.face_boxes[5 * i + 2] * j->res.face_boxes[5 * i + 3] >
			    j->res.face_boxes[5 * best + 2] * j->res.face_boxes[5 * best + 3])
				best = i;
		p->dim = j->res.embedding_dim;
		out->emb = malloc(sizeof *out->emb * (size_t)p->dim);
		memcpy(out->emb, j->res.embeddings + (size_t)best * p->dim, sizeof *out->emb * (size_t)p->dim);
		memcpy(out->box, j->res.face_boxes + 5 * best, sizeof out->box);
		const struct dv_job_res *r = &j->res;
		const uint8_t *chip = r->chips && r->aligned && (r->aligned[best] == 'd' || r->aligned[best] == 'b')
		                          ? j->res.chips + (size_t)best * j->res.chip_w * j->res.chip_h * 3
		                          : NULL;
		if (j->res.faces)
			dv_quality_assess(&j->res.faces[best], chip, j->res.chip_w, j->res.chip_h, &out->q);
		if (!out->w)
			ev_image_size(j, &out->w, &out->h);
	} else if (j->res.err) {
		out->error = 1;
		snprintf(out->why, sizeof out->why, "%s", j->res.errmsg);
	}
	dv_job_free(j);
	free(b);
}
