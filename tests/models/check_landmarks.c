/* check_landmarks — golden check of landmarks_darknet, loaded through the
 * daemon's plugin loader, on the face-api.js fixtures: the whole image is
 * the face box, as in face-api.js's own tests.
 *   check_landmarks PLUGIN_DIR MODEL_DIR MODEL REF_DIR TOL_SQUARE TOL_RECT
 * Prints TAP. REF_DIR is ../shared/testdata/reference/faceapi. */
#include "../util.h"
#include "../tap.h"
#include "dv_conf.h"
#include "dv_gen.h"
#include "dv_image.h"
#include "dv_jsonp.h"
#include <math.h>
#include <stdlib.h>


int main(int argc, char **argv)
{
	if (argc != 7)
		return 2;
	const char *model = argv[3], *R = argv[4];
	int tiny = strstr(model, "tiny") != NULL;
	char text[2048];
	snprintf(text, sizeof text, "plugin_dir: \"%s\"\nmodel_dir: \"%s\"\nplugins:\n  landmarker: {so: landmarks_darknet, model: %s}\n",
	    argv[1], argv[2], model);
	struct dv_conf_errs e = {0};
	struct dv_conf *c = dv_conf_parse("check.yaml", text, strlen(text), &e);
	struct dv_gen *g = NULL;
	if (!ok(e.n == 0 && dv_gen_build(c, 1, &g, &e) == 0, "landmarks_darknet (%s) loads", model)) {
		for (int i = 0; i < e.n; i++)
			printf("#   %s\n", e.msg[i]);
		return tap_done();
	}
	struct dv_instance *in;
	char err[512];
	ok(dv_instance_new(g->mods[DV_ROLE_LANDMARKER], &in, err, sizeof err) == 0, "and creates an instance");
	static const char *const imgs[3] = {"face1", "face2", "face_rectangular"};
	static const char *const refs[3] = {"faceLandmarkPositions1", "faceLandmarkPositions2", "faceLandmarkPositionsRect"};
	for (int t = 0; t < 3; t++) {
		char path[4096];
		size_t n;
		snprintf(path, sizeof path, "%s/images/%s.png", R, imgs[t]);
		char *png = test_slurp(path, &n);
		struct dv_img im;
		dv_image_decode((uint8_t *)png, n, 1 << 30, &im, err, sizeof err);
		struct dv_image v = {im.pixels, im.width, im.height, im.width * 3, 3};
		struct dv_face f = {.x = 0, .y = 0, .w = (float)im.width, .h = (float)im.height, .score = 1};
		in->mod->desc->landmarks(in->inst, &v, &f, 1);
		snprintf(path, sizeof path, "%s/data/%s%s.json", R, refs[t], tiny ? "Tiny" : "");
		char *rt = test_slurp(path, &n);
		struct dv_jv *ref = dv_jsonp_parse(rt, n, err, sizeof err);
		double worst = 0, sum = 0;
		for (int k = 0; k < 68 && ref && k < ref->n; k++) {
			double dx = f.landmarks[k][0] - dv_jv_get(ref->items[k], "x")->num;
			double dy = f.landmarks[k][1] - dv_jv_get(ref->items[k], "y")->num;
			double dd = hypot(dx, dy);
			worst = fmax(worst, dd);
			sum += dd;
		}
		double tol = atof(argv[t == 2 ? 6 : 5]);
		printf("# %s: mean %.2f px, worst %.2f px\n", imgs[t], sum / 68, worst);
		is_int(f.n_landmarks, 68, "68 points");
		ok(worst <= tol, "%s: every point within %.0f px of face-api.js (worst %.2f)", imgs[t], tol, worst);
		dv_jv_free(ref);
		free(rt);
		free(png);
		dv_img_fini(&im);
	}
	dv_instance_free(in);
	dv_gen_unref(g);
	dv_conf_errs_fini(&e);
	return tap_done();
}
