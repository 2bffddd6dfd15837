/* check_detect — golden check of the detect_darknet plugin, loaded through
 * the daemon's own plugin loader, against face-api.js's expected
 * TinyFaceDetector boxes and scores for faces.jpg (input size 416).
 *   check_detect PLUGIN_DIR MODEL_DIR faces.jpg faces_jpg_reference.json
 * Prints TAP. Faces are matched in face-api.js's order: by the distance of
 * the box's top-left corner to (0, 0). */
#include "../util.h"
#include "../tap.h"
#include "dv_conf.h"
#include "dv_gen.h"
#include "dv_image.h"
#include "dv_jsonp.h"
#include <math.h>
#include <stdlib.h>


static int by_corner(const void *a, const void *b)
{
	const struct dv_face *x = a, *y = b;
	double dx = hypot(x->x, x->y), dy = hypot(y->x, y->y);
	return dx < dy ? -1 : dx > dy;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	char text[2048];
	snprintf(text, sizeof text, "plugin_dir: \"%s\"\nmodel_dir: \"%s\"\nplugins:\n  detector: {so: detect_darknet, input_size: 416}\n",
	    argv[1], argv[2]);
	struct dv_conf_errs e = {0};
	struct dv_conf *c = dv_conf_parse("check.yaml", text, strlen(text), &e);
	struct dv_gen *g = NULL;
	if (!ok(e.n == 0 && dv_gen_build(c, 1, &g, &e) == 0, "detect_darknet loads through the plugin loader")) {
		for (int i = 0; i < e.n; i++)
			printf("#   %s\n", e.msg[i]);
		return tap_done();
	}
	struct dv_instance *in;
	char err[512];
	ok(dv_instance_new(g->mods[DV_ROLE_DETECTOR], &in, err, sizeof err) == 0, "and creates an instance");
	size_t n;
	char *jpg = test_slurp(argv[3], &n);
	struct dv_img im;
	ok(dv_image_decode((uint8_t *)jpg, n, 1LL << 30, &im, err, sizeof err) == 0, "faces.jpg decodes");
	struct dv_image v = {im.pixels, im.width, im.height, im.width * 3, 3};
	struct dv_face faces[32];
	int nf = 0;
	ok(in->mod->desc->detect(in->inst, &v, faces, 32, &nf) == 0, "detect runs");
	is_int(nf, 6, "the six faces are found");
	qsort(faces, (size_t)nf, sizeof *faces, by_corner);
	char *rt = test_slurp(argv[4], &n);
	struct dv_jv *ref = dv_jsonp_parse(rt, n, err, sizeof err);
	const struct dv_jv *rf = dv_jv_get(ref, "faces");
	const struct dv_jv *sc = dv_jv_get(dv_jv_get(dv_jv_get(ref, "expected_scores"), "tiny_face_detector_inputSize416"), "scores");
	for (int i = 0; i < nf && rf && i < rf->n; i++) {
		const struct dv_jv *b = dv_jv_get(rf->items[i], "tiny_face_detector_box");
		double bx = dv_jv_get(b, "x")->num, by = dv_jv_get(b, "y")->num, bw = dv_jv_get(b, "width")->num,
		       bh = dv_jv_get(b, "height")->num, s = sc->items[i]->num;
		double d = fmax(fmax(fabs(faces[i].x - bx), fabs(faces[i].y - by)),
		    fmax(fabs(faces[i].w - bw), fabs(faces[i].h - bh)));
		printf("# face %d: box %.1f %.1f %.1f %.1f score %.3f; reference %.0f %.0f %.0f %.0f score %.2f\n", i,
		    faces[i].x, faces[i].y, faces[i].w, faces[i].h, faces[i].score, bx, by, bw, bh, s);
		ok(d <= 5, "face %d: box within 5 px of face-api.js (%.2f)", i, d);
		ok(fabs(faces[i].score - s) <= 0.05, "face %d: score within 0.05 of face-api.js", i);
	}
	dv_jv_free(ref);
	free(rt);
	free(jpg);
	dv_img_fini(&im);
	dv_instance_free(in);
	dv_gen_unref(g);
	dv_conf_errs_fini(&e);
	return tap_done();
}
