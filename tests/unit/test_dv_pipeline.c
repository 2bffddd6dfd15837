/* Unit tests for core/dv_pipeline.c, run in-process with the example
 * plugins: stages in order, per-stage timings, the faces limit, matching
 * and every error routed into the job. */
#include "../tap.h"
#include "../testimg.h"
#include "dv_err.h"
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_par.h"
#include "dv_pipeline.h"
#include <stdlib.h>

static struct dv_gen *gen;
static struct dv_pipeline_ctx ctx;

static struct dv_job *run(int op, const uint8_t *img, size_t len, int top_k)
{
	struct dv_job *j = dv_job_new(op, gen);
	j->req.body = malloc(len ? len : 1);
	memcpy(j->req.body, img, len);
	j->req.body_len = len;
	j->req.top_k = top_k;
	dv_pipeline_run(j, &ctx);
	return j;
}

int main(void)
{
	const char *dir = getenv("DV_PLUGIN_BUILD_DIR");
	if (!dir) {
		printf("1..0 # SKIP DV_PLUGIN_BUILD_DIR is not set (run through make check)\n");
		return 0;
	}
	char text[2048];
	snprintf(text, sizeof text,
	    "plugin_dir: %s\nlimits: {faces: 3}\nquality: {min_enrol: 0, min_recognize: 0}\n"
	    "plugins:\n  detector: {so: detect_example}\n  landmarker: {so: landmarks_example}\n"
	    "  embedder: {so: embed_example, chip: 16, grid: 2}\n  matcher: {so: match_example}\n"
	    "pipelines:\n  detect: [decode, detect, landmarks]\n  recognize: [decode, detect, align, embed, match]\n",
	    dir);
	struct dv_conf_errs e = {0};
	struct dv_conf *c = dv_conf_parse("pl.yaml", text, strlen(text), &e);
	ok(e.n == 0 && dv_gen_build(c, 1, &gen, &e) == 0, "generation with the example plugins builds");
	for (int i = 0; i < e.n; i++)
		printf("#  %s\n", e.msg[i]);
	if (!gen)
		return tap_done();
	ctx.conf = gen->conf;
	char err[256];
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (gen->shared[r])
			ctx.inst[r] = gen->shared[r];
		else
			dv_instance_new(gen->mods[r], &ctx.inst[r], err, sizeof err);

	struct testsq sq[] = {{10, 10, 20, 250, 250, 250}, {60, 15, 16, 220, 120, 120}};
	size_t len;
	uint8_t *img = testimg_ppm(100, 50, sq, 2, &len);
	struct dv_job *j = run(DV_OP_DETECT, img, len, 0);
	is_int(j->res.err, 0, "detect runs");
	contains(j->res.reply.data, "\"box\":{\"x\":10,\"y\":10,\"w\":20,\"h\":20}", "first face box");
	contains(j->res.reply.data, "\"box\":{\"x\":60,\"y\":15,\"w\":16,\"h\":16}", "second face box");
	contains(j->res.reply.data, "\"landmarks\":[[16,17]", "landmarks from the landmarker");
	contains(j->res.reply.data, "\"face_count\":2,\"image\"", "face count, not truncated");
	const bool *ran = j->res.stage_ran;
	ok(ran[DV_STAGE_DECODE] && ran[DV_STAGE_DETECT] && ran[DV_STAGE_LANDMARKS] &&
	       !j->res.stage_ran[DV_STAGE_EMBED], "only the configured stages ran");
	contains(j->res.reply.data, "\"timings_ms\":{\"queue\":", "timings in the reply");
	dv_job_free(j);

	/* recognize against an empty gallery: unknown */
	j = run(DV_OP_RECOGNIZE, img, len, 0);
	is_int(j->res.err, 0, "recognize runs");
	contains(j->res.reply.data,
	    "\"match\":null,\"unknown\":true,\"uncertain\":false,\"decision\":\"unknown\",\"candidates\":[]",
	    "empty gallery: unknown");
	contains(j->res.reply.data, "\"embedder\":\"example_color_grid\"", "model stamp in the reply");
	dv_job_free(j);

	/* enrol the white square's colour, then recognise */
	struct dv_instance *mi = ctx.inst[DV_ROLE_MATCHER];
	float white[12], red[12];
	for (int i = 0; i < 12; i++) {
		white[i] = 250 / 255.0f;
		red[i] = (i % 3 == 0 ? 220 : 120) / 255.0f;
	}
	mi->mod->desc->matcher_add(mi->inst, 0, 7, white, 12);
	mi->mod->desc->matcher_add(mi->inst, 0, 8, red, 12);
	mi->mod->desc->matcher_add(mi->inst, 5, 9, white, 12); /* another tenant */
	j = run(DV_OP_RECOGNIZE, img, len, 2);
	is_int(j->res.err, 0, "recognize with a gallery");
	contains(j->res.reply.data, "\"match\":{\"face_id\":7,\"distance\":0,\"similarity\"",
	    "white face matches id 7 at 0");
	contains(j->res.reply.data, "\"match\":{\"face_id\":8,\"distance\":0", "red face matches id 8");
	ok(!strstr(j->res.reply.data, "\"face_id\":9"), "another tenant's gallery is never searched");
	dv_job_free(j);

	/* face_threads 2: the two faces' landmarks and embeddings split over a
	 * helper with instances of its own; the same reply */
	j = run(DV_OP_RECOGNIZE, img, len, 2);
	char *single = strdup(j->res.reply.data);
	dv_job_free(j);
	struct dv_instance *help[1][DV_ROLE_COUNT] = {{NULL}};
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if ((r == DV_ROLE_LANDMARKER || r == DV_ROLE_EMBEDDER) && !gen->shared[r])
			dv_instance_new(gen->mods[r], &help[0][r], err, sizeof err);
	ok(help[0][DV_ROLE_EMBEDDER] != NULL, "a helper's own embedder instance");
	ctx.par = dv_par_new(1, NULL);
	ctx.hinst = help;
	j = run(DV_OP_RECOGNIZE, img, len, 2);
	is_int(j->res.err, 0, "recognize with face threads");
	char *a = strstr(single, "\"faces\""), *b = strstr(j->res.reply.data, "\"faces\"");
	char *ta = a ? strstr(a, "\"timings_ms\"") : NULL, *tb = b ? strstr(b, "\"timings_ms\"") : NULL;
	ok(a && b && ta && tb && ta - a == tb - b && !memcmp(a, b, (size_t)(ta - a)),
	    "... the same faces, matches and landmarks as on one thread");
	contains(j->res.reply.data, "\"match\":{\"face_id\":8,\"distance\":0", "... the second face (the helper's) matches id 8");
	dv_job_free(j);
	free(single);
	/* a helper's failure is the request's, with the helper's reason */
	char text2[2048];
	snprintf(text2, sizeof text2, "%.*sgrid: 2, fail: true%s", (int)(strstr(text, "grid: 2") - text), text,
	    strstr(text, "grid: 2") + strlen("grid: 2"));
	struct dv_conf_errs e2 = {0};
	struct dv_gen *gen2 = NULL;
	struct dv_conf *c2 = dv_conf_parse("fail.yaml", text2, strlen(text2), &e2);
	struct dv_instance *bad = NULL;
	if (c2 && e2.n == 0 && dv_gen_build(c2, 1, &gen2, &e2) == 0)
		dv_instance_new(gen2->mods[DV_ROLE_EMBEDDER], &bad, err, sizeof err);
	ok(bad != NULL, "an embedder that fails");
	for (int i = 0; i < e2.n; i++)
		printf("#  %s\n", e2.msg[i]);
	struct dv_instance *mine = help[0][DV_ROLE_EMBEDDER];
	help[0][DV_ROLE_EMBEDDER] = bad;
	j = run(DV_OP_RECOGNIZE, img, len, 2);
	is_int(j->res.err, DV_EPLUGIN, "a failing helper part fails the request");
	ok(strstr(j->res.errmsg, "fail is set (1 chips)") != NULL, "... with the helper's reason, not another thread's");
	if (!strstr(j->res.errmsg, "fail is set"))
		printf("#  errmsg: %s\n", j->res.errmsg);
	dv_job_free(j);
	help[0][DV_ROLE_EMBEDDER] = mine;
	dv_instance_free(bad);
	dv_gen_unref(gen2);
	dv_conf_errs_fini(&e2);
	dv_par_free(ctx.par);
	ctx.par = NULL;
	ctx.hinst = NULL;
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		dv_instance_free(help[0][r]);

	/* faces limit: 5 squares, limit 3 */
	struct testsq many[5];
	for (int i = 0; i < 5; i++)
		many[i] = (struct testsq){5 + i * 19, 5, 12, 255, 255, 255};
	uint8_t *img5 = testimg_ppm(100, 30, many, 5, &len);
	j = run(DV_OP_DETECT, img5, len, 0);
	contains(j->res.reply.data, "\"face_count\":3,\"faces_truncated\":true,\"faces_limit\":3",
	    "faces over the limit are cut and flagged");
	dv_job_free(j);
	free(img5);

	/* errors travel in the job */
	j = run(DV_OP_DETECT, (const uint8_t *)"junk", 4, 0);
	is_int(j->res.err, DV_EMEDIATYPE, "undecodable body");
	ok(j->res.errmsg[0] != 0 && j->res.reply.len == 0, "error message set, no reply body");
	dv_job_free(j);
	j = run(DV_OP_DETECT, (const uint8_t *)"P6 5 5 255 abc", 14, 0);
	is_int(j->res.err, DV_EBADIMAGE, "truncated image");
	dv_job_free(j);

	ok(dv_similarity(0.6, 0.6) == 0.5 && dv_similarity(0, 0.6) > 0.99 && dv_similarity(1.2, 0.6) < 0.01,
	    "similarity is 0.5 at the threshold");

	free(img);
	for (int r = 0; r < DV_ROLE_COUNT; r++)
		if (!gen->shared[r])
			dv_instance_free(ctx.inst[r]);
	dv_gen_unref(gen);
	dv_conf_errs_fini(&e);
	return tap_done();
}
